<?php
/**
 * Pressluft node helper: drives one WordPress environment from the command line.
 *
 *   php helper.php COMMAND --path=/srv/pressluft/ENV/current [--key=value ...]
 *
 * Prints exactly one JSON object on stdout: {"ok":true,...} or
 * {"ok":false,"error":{"code":"...","message":"..."}} with exit code 1.
 * Secrets are read as JSON from stdin, never from argv.
 *
 * The library part (argument parsing, serialized-safe search-replace) has no
 * WordPress dependency, so the tests load this file without running main.
 */

declare(strict_types=1);

const PL_HELPER_VERSION = '1';
const PL_MAX_STDIN_BYTES = 1048576;
const PL_MAX_DEPTH = 512;
const PL_SR_BATCH = 500;

// ---------------------------------------------------------------------------
// Errors and CLI arguments
// ---------------------------------------------------------------------------

final class Pl_Error extends RuntimeException
{
    public string $errorCode;

    public function __construct(string $code, string $message)
    {
        parent::__construct($message);
        $this->errorCode = $code;
    }
}

/** Thrown by the wp_die handler so WordPress errors end up in the JSON result. */
final class Pl_WpDie extends RuntimeException
{
}

/** Options each command accepts, besides --path and --allow-root. */
function pl_commands(): array
{
    return [
        'version' => ['options' => [], 'path' => false, 'stdin' => false],
        'install' => ['options' => [], 'path' => true, 'stdin' => true],
        'option-get' => ['options' => ['name'], 'path' => true, 'stdin' => false],
        'option-set' => ['options' => ['name', 'autoload'], 'path' => true, 'stdin' => true],
        'health' => ['options' => [], 'path' => true, 'stdin' => false],
        'search-replace' => ['options' => ['from', 'to', 'dry-run'], 'path' => true, 'stdin' => false],
        'flush' => ['options' => [], 'path' => true, 'stdin' => false],
        'cron' => ['options' => [], 'path' => true, 'stdin' => false],
    ];
}

/**
 * Parses argv into ['command' => ..., 'options' => [...]].
 * Options are --key=value or --flag (true); anything else is a usage error.
 */
function pl_parse_args(array $argv): array
{
    $args = array_slice($argv, 1);
    if ($args === [] || str_starts_with((string) $args[0], '--')) {
        throw new Pl_Error('usage', 'usage: helper.php COMMAND --path=DIR [--key=value ...]; commands: ' . implode(', ', array_keys(pl_commands())));
    }
    $command = (string) array_shift($args);
    $spec = pl_commands()[$command] ?? null;
    if ($spec === null) {
        throw new Pl_Error('usage', "unknown command '$command'");
    }
    $allowed = array_merge($spec['options'], ['path', 'allow-root']);
    $options = [];
    foreach ($args as $arg) {
        if (!preg_match('/^--([a-z][a-z-]*)(?:=(.*))?$/s', (string) $arg, $m)) {
            throw new Pl_Error('usage', "unexpected argument '$arg'");
        }
        if (!in_array($m[1], $allowed, true)) {
            throw new Pl_Error('usage', "command '$command' does not take --{$m[1]}");
        }
        $options[$m[1]] = array_key_exists(2, $m) ? $m[2] : true;
    }
    if ($spec['path'] && (!isset($options['path']) || !is_string($options['path']) || $options['path'] === '')) {
        throw new Pl_Error('usage', "command '$command' needs --path=DIR");
    }
    return ['command' => $command, 'options' => $options, 'spec' => $spec];
}

function pl_option_string(array $options, string $name): string
{
    $value = $options[$name] ?? null;
    if (!is_string($value) || $value === '') {
        throw new Pl_Error('usage', "--$name=VALUE is required");
    }
    return $value;
}

/** Reads the stdin JSON object (secrets travel here, not in argv). */
function pl_read_stdin_json($stream): array
{
    if (function_exists('posix_isatty') && posix_isatty($stream)) {
        throw new Pl_Error('invalid_input', 'this command reads a JSON object from stdin');
    }
    $raw = stream_get_contents($stream, PL_MAX_STDIN_BYTES + 1);
    if ($raw === false || strlen($raw) > PL_MAX_STDIN_BYTES) {
        throw new Pl_Error('invalid_input', 'stdin is unreadable or larger than ' . PL_MAX_STDIN_BYTES . ' bytes');
    }
    $data = json_decode($raw, true);
    if (!is_array($data) || array_is_list($data) && $data !== []) {
        throw new Pl_Error('invalid_input', 'stdin must be a JSON object');
    }
    return $data;
}

// ---------------------------------------------------------------------------
// Serialized PHP: a parser that never instantiates anything
// ---------------------------------------------------------------------------
//
// Nodes:  ['s', string]               a string (the only thing search-replace edits)
//         ['x', string]               any other token kept byte-for-byte (i, d, b, N, r, R, C, E)
//         ['a', string, list]         array or object: raw header ('a:2:{' or 'O:8:"stdClass":2:{'),
//                                     items as [raw key, node]; keys are never edited

/** True when $data has the shape of a serialized value (like WordPress's is_serialized()). */
function pl_looks_serialized(string $data): bool
{
    $data = trim($data);
    if ($data === 'N;') {
        return true;
    }
    if (strlen($data) < 4 || $data[1] !== ':') {
        return false;
    }
    $last = $data[strlen($data) - 1];
    if ($last !== ';' && $last !== '}') {
        return false;
    }
    return (bool) preg_match('/^(?:[saOCE]:\d+:|[bid]:[^;]*;$|[rR]:\d+;$)/s', $data);
}

/** Parses a complete serialized value; null when it is not exactly one valid value. */
function pl_ser_parse(string $data): ?array
{
    $pos = 0;
    $node = pl_ser_parse_value($data, $pos, 0);
    return ($node !== null && $pos === strlen($data)) ? $node : null;
}

function pl_ser_match(string $pattern, string $data, int $pos, ?array &$m): bool
{
    return preg_match($pattern, $data, $m, 0, $pos) === 1;
}

function pl_ser_parse_value(string $d, int &$p, int $depth): ?array
{
    $len = strlen($d);
    if ($p >= $len || $depth > PL_MAX_DEPTH) {
        return null;
    }
    $m = null;
    switch ($d[$p]) {
        case 'N':
            if (substr($d, $p, 2) !== 'N;') {
                return null;
            }
            $p += 2;
            return ['x', 'N;'];
        case 'b':
            $ok = pl_ser_match('/\Gb:[01];/', $d, $p, $m);
            break;
        case 'i':
            $ok = pl_ser_match('/\Gi:[+-]?\d{1,19};/', $d, $p, $m);
            break;
        case 'd':
            $ok = pl_ser_match('/\Gd:(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|NAN|-?INF);/', $d, $p, $m);
            break;
        case 'r':
        case 'R':
            $ok = pl_ser_match('/\G[rR]:0*[1-9]\d{0,18};/', $d, $p, $m);
            break;
        case 's':
            $str = pl_ser_read_string($d, $p, 's');
            if ($str === null || substr($d, $p, 1) !== ';') {
                return null;
            }
            $p += 1;
            return ['s', $str];
        case 'E':
            $start = $p;
            $name = pl_ser_read_string($d, $p, 'E');
            if ($name === null || substr($d, $p, 1) !== ';' || !preg_match('/^[A-Za-z0-9_\\\\\x80-\xff]+:[A-Za-z0-9_\x80-\xff]+$/', $name)) {
                return null;
            }
            $p += 1;
            return ['x', substr($d, $start, $p - $start)];
        case 'a':
            if (!pl_ser_match('/\Ga:(\d{1,10}):\{/', $d, $p, $m)) {
                return null;
            }
            $p += strlen($m[0]);
            return pl_ser_parse_items($d, $p, $depth, (int) $m[1], $m[0]);
        case 'O':
            $start = $p;
            $class = pl_ser_read_string($d, $p, 'O');
            if ($class === null || !pl_ser_valid_class($class) || !pl_ser_match('/\G:(\d{1,10}):\{/', $d, $p, $m)) {
                return null;
            }
            $p += strlen($m[0]);
            return pl_ser_parse_items($d, $p, $depth, (int) $m[1], substr($d, $start, $p - $start));
        case 'C':
            // Custom-serialized objects have an opaque payload: kept as they are.
            $start = $p;
            $class = pl_ser_read_string($d, $p, 'C');
            if ($class === null || !pl_ser_valid_class($class) || !pl_ser_match('/\G:(\d{1,10}):\{/', $d, $p, $m)) {
                return null;
            }
            $p += strlen($m[0]);
            $n = (int) $m[1];
            if ($p + $n >= $len || $d[$p + $n] !== '}') {
                return null;
            }
            $p += $n + 1;
            return ['x', substr($d, $start, $p - $start)];
        default:
            return null;
    }
    if (!$ok) {
        return null;
    }
    $p += strlen($m[0]);
    return ['x', $m[0]];
}

/** Reads T:<len>:"<bytes>" and returns the bytes, leaving $p after the closing quote. */
function pl_ser_read_string(string $d, int &$p, string $type): ?string
{
    if (!preg_match('/\G' . $type . ':(\d{1,10}):"/', $d, $m, 0, $p)) {
        return null;
    }
    $n = (int) $m[1];
    $start = $p + strlen($m[0]);
    if ($start + $n >= strlen($d) || $d[$start + $n] !== '"') {
        return null;
    }
    $p = $start + $n + 1;
    return substr($d, $start, $n);
}

function pl_ser_valid_class(string $class): bool
{
    return preg_match('/^[A-Za-z0-9_\\\\\x80-\xff]+$/', $class) === 1;
}

function pl_ser_parse_items(string $d, int &$p, int $depth, int $count, string $head): ?array
{
    $items = [];
    for ($i = 0; $i < $count; $i++) {
        $keyStart = $p;
        $kind = $d[$p] ?? '';
        if ($kind === 'i') {
            if (!pl_ser_match('/\Gi:[+-]?\d{1,19};/', $d, $p, $m)) {
                return null;
            }
            $p += strlen($m[0]);
        } elseif ($kind === 's') {
            if (pl_ser_read_string($d, $p, 's') === null || substr($d, $p, 1) !== ';') {
                return null;
            }
            $p += 1;
        } else {
            return null;
        }
        $key = substr($d, $keyStart, $p - $keyStart);
        $value = pl_ser_parse_value($d, $p, $depth + 1);
        if ($value === null) {
            return null;
        }
        $items[] = [$key, $value];
    }
    if (($d[$p] ?? '') !== '}') {
        return null;
    }
    $p += 1;
    return ['a', $head, $items];
}

function pl_ser_build(array $node): string
{
    if ($node[0] === 's') {
        return 's:' . strlen($node[1]) . ':"' . $node[1] . '";';
    }
    if ($node[0] === 'x') {
        return $node[1];
    }
    $out = $node[1];
    foreach ($node[2] as [$key, $value]) {
        $out .= $key . pl_ser_build($value);
    }
    return $out . '}';
}

// ---------------------------------------------------------------------------
// Search-replace on one value
// ---------------------------------------------------------------------------

/**
 * Replaces one string by another, plus its JSON-escaped form (\/\/old.host).
 * When the search ends in a host character, a match must not continue the host
 * (//old.host never matches //old.host.example or //old.hostname), which also makes
 * a second run a no-op when the new host extends the old one.
 */
final class Pl_Replacer
{
    /** @var list<array{string,string,string}> [needle, regex, replacement] */
    private array $rules = [];

    public function __construct(string $from, string $to)
    {
        if ($from === '') {
            throw new Pl_Error('usage', 'the search string is empty');
        }
        $pairs = [[$from, $to]];
        $jsonFrom = str_replace('/', '\/', $from);
        if ($jsonFrom !== $from) {
            $pairs[] = [$jsonFrom, str_replace('/', '\/', $to)];
        }
        foreach ($pairs as [$f, $t]) {
            $guard = preg_match('/[A-Za-z0-9]$/', $f) ? '(?![A-Za-z0-9_-]|\.[A-Za-z0-9])' : '';
            $this->rules[] = [$f, '/' . preg_quote($f, '/') . $guard . '/', $t];
        }
    }

    /** @return list<string> the literal strings a value must contain to be affected */
    public function needles(): array
    {
        return array_column($this->rules, 0);
    }

    public function mentions(string $s): bool
    {
        foreach ($this->rules as [$needle]) {
            if (str_contains($s, $needle)) {
                return true;
            }
        }
        return false;
    }

    public function replacePlain(string $s): string
    {
        foreach ($this->rules as [$needle, $regex, $replacement]) {
            if (!str_contains($s, $needle)) {
                continue;
            }
            $out = preg_replace_callback($regex, static fn () => $replacement, $s);
            if ($out === null) {
                throw new Pl_Error('internal', 'regex failure: ' . preg_last_error_msg());
            }
            $s = $out;
        }
        return $s;
    }
}

/**
 * Search-replace on one stored value. Returns [new value, status] with status
 * 'unchanged', 'changed' or 'unparseable' (looks serialized but is broken: untouched).
 */
function pl_sr_value(string $value, Pl_Replacer $r): array
{
    $broken = 0;
    $out = pl_sr_string($value, $r, 0, $broken);
    if ($out !== $value) {
        return [$out, 'changed'];
    }
    return [$value, $broken > 0 ? 'unparseable' : 'unchanged'];
}

function pl_sr_string(string $value, Pl_Replacer $r, int $depth, int &$broken): string
{
    if (!$r->mentions($value)) {
        return $value;
    }
    if (!pl_looks_serialized($value)) {
        return $r->replacePlain($value);
    }
    // WordPress trims before unserializing, so surrounding whitespace is kept aside.
    $core = trim($value);
    $lead = strspn($value, " \t\n\r\0\x0B");
    $node = $depth < PL_MAX_DEPTH ? pl_ser_parse($core) : null;
    if ($node === null) {
        $broken++;
        return $value;
    }
    $changed = false;
    $node = pl_sr_node($node, $r, $depth, $broken, $changed);
    if (!$changed) {
        return $value;
    }
    return substr($value, 0, $lead) . pl_ser_build($node) . substr($value, $lead + strlen($core));
}

function pl_sr_node(array $node, Pl_Replacer $r, int $depth, int &$broken, bool &$changed): array
{
    if ($node[0] === 's') {
        $new = pl_sr_string($node[1], $r, $depth + 1, $broken);
        if ($new !== $node[1]) {
            $changed = true;
            return ['s', $new];
        }
        return $node;
    }
    if ($node[0] === 'a') {
        foreach ($node[2] as $i => [$key, $value]) {
            $node[2][$i][1] = pl_sr_node($value, $r, $depth + 1, $broken, $changed);
        }
    }
    return $node;
}

// ---------------------------------------------------------------------------
// Running inside WordPress
// ---------------------------------------------------------------------------

/** Collects warnings and stray output so stdout carries only the JSON result. */
final class Pl_Output
{
    public static array $warnings = [];
    public static string $captured = '';
    public static bool $emitted = false;

    public static function start(): void
    {
        ini_set('display_errors', 'stderr');
        ini_set('log_errors', '0');
        set_error_handler([self::class, 'onError']);
        // Not removable: WordPress's shutdown flush cannot push stray output to stdout.
        ob_start([self::class, 'capture'], 0, PHP_OUTPUT_HANDLER_CLEANABLE | PHP_OUTPUT_HANDLER_FLUSHABLE);
        register_shutdown_function([self::class, 'onShutdown']);
    }

    public static function onError(int $level, string $message, string $file = '', int $line = 0): bool
    {
        if ((error_reporting() & $level) && count(self::$warnings) < 50) {
            self::$warnings[] = sprintf('%s in %s:%d', $message, $file, $line);
        }
        return true;
    }

    public static function capture(string $buffer): string
    {
        if (strlen(self::$captured) < 8192) {
            self::$captured .= substr($buffer, 0, 8192 - strlen(self::$captured));
        }
        return '';
    }

    /** Writes the result straight to the stdout stream, past any output buffer. */
    public static function emit(array $result): void
    {
        if (self::$emitted) {
            return;
        }
        self::$emitted = true;
        // Upper buffers drain into the capturing one, which refuses to be removed.
        while (ob_get_level() > 1 && @ob_end_flush()) {
        }
        if (ob_get_level() > 0) {
            @ob_flush();
        }
        $warnings = self::$warnings;
        if (trim(self::$captured) !== '') {
            $warnings[] = 'output: ' . trim(self::$captured);
        }
        if ($warnings !== []) {
            $result['warnings'] = $warnings;
        }
        $json = json_encode($result, JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE | JSON_PARTIAL_OUTPUT_ON_ERROR);
        fwrite(STDOUT, $json . "\n");
    }

    public static function fail(string $code, string $message): void
    {
        self::emit(['ok' => false, 'error' => ['code' => $code, 'message' => $message]]);
    }

    public static function onShutdown(): void
    {
        if (self::$emitted) {
            return;
        }
        $error = error_get_last();
        if ($error !== null && in_array($error['type'], [E_ERROR, E_PARSE, E_CORE_ERROR, E_COMPILE_ERROR, E_USER_ERROR, E_RECOVERABLE_ERROR], true)) {
            self::fail('php_fatal', sprintf('%s in %s:%d', $error['message'], $error['file'], $error['line']));
        } else {
            self::fail('wp_exit', 'WordPress ended the process before the command finished');
        }
        exit(1);
    }
}

function pl_wp_die_handler(): string
{
    return 'pl_wp_die_throw';
}

function pl_wp_die_throw($message, $title = '', $args = []): void
{
    if (is_object($message) && method_exists($message, 'get_error_message')) {
        $message = $message->get_error_message();
    }
    $text = trim(preg_replace('/\s+/', ' ', html_entity_decode(strip_tags((string) $message), ENT_QUOTES)) ?? '');
    throw new Pl_WpDie($text !== '' ? $text : 'wp_die() without a message');
}

function pl_block_http($preempt, $args, $url)
{
    return new WP_Error('http_request_blocked', 'outgoing HTTP is disabled in the Pressluft helper');
}

/**
 * Sets the process up as WordPress expects a request to look, and registers
 * early hooks through the pre-initialised $wp_filter that plugin.php reads.
 */
function pl_prepare_wordpress(string $command, string $path, string $host, bool $https): void
{
    $_SERVER['HTTP_HOST'] = $host;
    $_SERVER['SERVER_NAME'] = $host;
    $_SERVER['SERVER_PORT'] = $https ? '443' : '80';
    $_SERVER['REQUEST_METHOD'] = 'GET';
    $_SERVER['REQUEST_URI'] = '/';
    $_SERVER['SERVER_PROTOCOL'] = 'HTTP/1.1';
    $_SERVER['REMOTE_ADDR'] = '127.0.0.1';
    $_SERVER['HTTP_USER_AGENT'] = 'pressluft-helper/' . PL_HELPER_VERSION;
    if ($https) {
        $_SERVER['HTTPS'] = 'on';
    }
    if ($command === 'install') {
        // wp_guess_url() derives siteurl from these during wp_install().
        $_SERVER['SCRIPT_FILENAME'] = $path . '/wp-admin/install.php';
        $_SERVER['PHP_SELF'] = $_SERVER['SCRIPT_NAME'] = '/wp-admin/install.php';
    } else {
        $_SERVER['SCRIPT_FILENAME'] = $path . '/index.php';
        $_SERVER['PHP_SELF'] = $_SERVER['SCRIPT_NAME'] = '/index.php';
    }

    define('WP_DISABLE_FATAL_ERROR_HANDLER', true);
    if ($command === 'cron') {
        define('DOING_CRON', true);
    } elseif ($command !== 'flush') {
        // Minimal load: no plugins or theme, and no redirect when WordPress is not installed.
        define('WP_INSTALLING', true);
    }

    $filters = ['wp_die_handler' => [1 => [['function' => 'pl_wp_die_handler', 'accepted_args' => 1]]]];
    if ($command !== 'cron') {
        $filters['pre_http_request'] = [1 => [['function' => 'pl_block_http', 'accepted_args' => 3]]];
        pl_define_silent_mail();
    }
    $GLOBALS['wp_filter'] = $filters;
}

/** Pluggable functions defined before WordPress loads win: helper commands send no mail. */
function pl_define_silent_mail(): void
{
    if (!function_exists('wp_mail')) {
        function wp_mail($to, $subject, $message, $headers = '', $attachments = [])
        {
            return true;
        }
    }
    if (!function_exists('wp_new_blog_notification')) {
        function wp_new_blog_notification($blog_title, $blog_url, $user_id, $password)
        {
        }
    }
}

/** Resolves --path (usually the current symlink) to the real WordPress root. */
function pl_resolve_path(string $path): string
{
    $real = realpath($path);
    if ($real === false || !is_file($real . '/wp-load.php')) {
        throw new Pl_Error('not_found', "no WordPress at $path");
    }
    return $real;
}

function pl_validate_url(string $url): array
{
    $parts = parse_url($url);
    if (!is_array($parts) || !in_array($parts['scheme'] ?? '', ['http', 'https'], true) || empty($parts['host'])
        || isset($parts['user']) || isset($parts['query']) || isset($parts['fragment'])) {
        throw new Pl_Error('invalid_input', 'url must be an http(s) URL without credentials, query or fragment');
    }
    return $parts;
}

// ---------------------------------------------------------------------------
// Commands (run after WordPress is loaded)
// ---------------------------------------------------------------------------

function pl_cmd_install(array $in): array
{
    global $wp_rewrite;
    foreach (['url', 'title', 'admin_user', 'admin_email', 'admin_password'] as $key) {
        if (!isset($in[$key]) || !is_string($in[$key]) || $in[$key] === '') {
            throw new Pl_Error('invalid_input', "stdin field '$key' is required");
        }
    }
    if (is_blog_installed()) {
        return ['already_installed' => true];
    }
    $url = untrailingslashit($in['url']);
    if (!is_email($in['admin_email'])) {
        throw new Pl_Error('invalid_input', 'admin_email is not a valid e-mail address');
    }
    if (sanitize_user($in['admin_user'], true) !== $in['admin_user']) {
        throw new Pl_Error('invalid_input', 'admin_user contains characters WordPress does not allow');
    }
    $public = !isset($in['public']) || (bool) $in['public'];

    // Slashed like every WordPress form submits it: wp-login.php checks the slashed password too.
    $result = wp_install($in['title'], $in['admin_user'], $in['admin_email'], $public, '', wp_slash($in['admin_password']));
    $userId = (int) $result['user_id'];
    update_option('siteurl', $url);
    update_option('home', $url);
    $wp_rewrite->set_permalink_structure('/%postname%/');
    // Rules are rebuilt on the first request, with the theme and plugins loaded.
    delete_option('rewrite_rules');
    wp_cache_flush();

    return ['already_installed' => false, 'user_id' => $userId, 'url' => $url, 'db_version' => (int) get_option('db_version')];
}

function pl_cmd_option_get(string $name): array
{
    $missing = new stdClass();
    $value = get_option($name, $missing);
    if ($value === $missing) {
        return ['name' => $name, 'exists' => false, 'value' => null];
    }
    return ['name' => $name, 'exists' => true, 'value' => $value];
}

function pl_cmd_option_set(string $name, array $in, $autoload): array
{
    if (!array_key_exists('value', $in)) {
        throw new Pl_Error('invalid_input', "stdin field 'value' is required");
    }
    if ($autoload !== null && !in_array($autoload, ['yes', 'no'], true)) {
        throw new Pl_Error('usage', '--autoload must be yes or no');
    }
    $changed = update_option($name, $in['value'], $autoload);
    // The minimal load writes around the alloptions cache; a persistent object cache must not keep the old value.
    wp_cache_delete('alloptions', 'options');
    wp_cache_delete('notoptions', 'options');
    wp_cache_delete($name, 'options');
    return ['name' => $name, 'changed' => $changed];
}

function pl_cmd_health(): array
{
    global $wpdb;
    $dbOk = $wpdb->get_var('SELECT 1') === '1';
    $installed = $dbOk && is_blog_installed();
    $facts = [
        'installed' => $installed,
        'wp_version' => $GLOBALS['wp_version'] ?? null,
        'php_version' => PHP_VERSION,
        'db_ok' => $dbOk,
        'siteurl' => null,
        'home' => null,
        'title' => null,
        'title_html' => null,
        'active_plugins' => [],
        'theme' => null,
    ];
    if ($installed) {
        $facts['siteurl'] = get_option('siteurl');
        $facts['home'] = get_option('home');
        $facts['title'] = get_option('blogname');
        // As wp_get_document_title() prints it: texturized (-- becomes &#8212;), escaped.
        $facts['title_html'] = capital_P_dangit(esc_html(convert_chars(wptexturize(get_bloginfo('name', 'display')))));
        $facts['active_plugins'] = array_values((array) get_option('active_plugins', []));
        $facts['theme'] = get_option('stylesheet');
    }
    return $facts;
}

function pl_cmd_flush(): array
{
    wp_cache_flush();
    flush_rewrite_rules(false);
    return ['flushed' => ['object_cache', 'rewrite_rules']];
}

/** Runs the WP-Cron events that are due, as wp-cron.php does (system cron replaces WP-Cron). */
function pl_cmd_cron(): array
{
    $now = microtime(true);
    $lock = sprintf('%.22F', $now);
    set_transient('doing_cron', $lock);
    $ran = [];
    $errors = [];
    foreach (wp_get_ready_cron_jobs() as $timestamp => $hooks) {
        foreach ($hooks as $hook => $events) {
            foreach ($events as $event) {
                if (!empty($event['schedule'])) {
                    wp_reschedule_event($timestamp, $event['schedule'], $hook, $event['args']);
                }
                wp_unschedule_event($timestamp, $hook, $event['args']);
                try {
                    do_action_ref_array($hook, $event['args']);
                    $ran[] = $hook;
                } catch (Throwable $e) {
                    $errors[] = $hook . ': ' . $e->getMessage();
                }
            }
        }
    }
    if (get_transient('doing_cron') === $lock) {
        delete_transient('doing_cron');
    }
    return ['ran' => $ran, 'errors' => $errors];
}

function pl_quote_ident(string $name): string
{
    return '`' . str_replace('`', '``', $name) . '`';
}

function pl_is_text_type(string $type): bool
{
    return preg_match('/^(?:(?:var)?char|(?:tiny|medium|long)?text|(?:tiny|medium|long)?blob|json)\b/i', $type) === 1;
}

/**
 * The columns search-replace edits, from SHOW COLUMNS rows: every text-ish column
 * except guid (a post's GUID is its permanent identity, not a link).
 */
function pl_sr_columns(array $showColumns): array
{
    $columns = [];
    foreach ($showColumns as $col) {
        if (strtolower($col['Field']) !== 'guid' && pl_is_text_type($col['Type'])) {
            $columns[] = $col['Field'];
        }
    }
    return $columns;
}

/** Search-replace across every table with the site's prefix, in primary-key order. */
function pl_cmd_search_replace(string $from, string $to, bool $dryRun): array
{
    global $wpdb;
    if ($from === $to) {
        throw new Pl_Error('usage', '--from and --to are the same');
    }
    if (strlen($from) < 4) {
        throw new Pl_Error('usage', '--from must be at least 4 characters');
    }
    $r = new Pl_Replacer($from, $to);
    /** @var mysqli $db */
    $db = $wpdb->dbh;
    $report = ['dry_run' => $dryRun, 'from' => $from, 'to' => $to, 'tables' => [], 'skipped_tables' => [],
        'total_rows' => 0, 'total_cells' => 0, 'unparseable' => ['count' => 0, 'cells' => []]];

    $tables = pl_sql_rows($db, "SHOW FULL TABLES WHERE Table_type = 'BASE TABLE'", [], MYSQLI_NUM);
    foreach ($tables as [$table]) {
        if (!str_starts_with($table, $wpdb->prefix)) {
            continue;
        }
        $columns = pl_sr_columns(pl_sql_rows($db, 'SHOW COLUMNS FROM ' . pl_quote_ident($table)));
        $keys = array_column(pl_sql_rows($db, 'SHOW KEYS FROM ' . pl_quote_ident($table) . " WHERE Key_name = 'PRIMARY'"), 'Column_name', 'Seq_in_index');
        ksort($keys);
        $keys = array_values($keys);
        if ($columns === []) {
            continue;
        }
        if ($keys === []) {
            $report['skipped_tables'][] = ['table' => $table, 'reason' => 'no primary key'];
            continue;
        }
        $stats = pl_sr_table($db, $table, $keys, $columns, $r, $dryRun, $report['unparseable']);
        $report['tables'][$table] = $stats;
        $report['total_rows'] += $stats['rows_changed'];
        $report['total_cells'] += $stats['cells_changed'];
    }
    $report['tables'] = (object) $report['tables'];
    return $report;
}

function pl_sr_table(mysqli $db, string $table, array $keys, array $columns, Pl_Replacer $r, bool $dryRun, array &$unparseable): array
{
    $stats = ['rows_changed' => 0, 'cells_changed' => 0];
    $q = 'pl_quote_ident';
    $keyList = implode(', ', array_map($q, $keys));
    $filters = [];
    $filterArgs = [];
    foreach ($columns as $col) {
        foreach ($r->needles() as $needle) {
            $filters[] = $q($col) . ' LIKE ?';
            $filterArgs[] = '%' . addcslashes($needle, '_%\\') . '%';
        }
    }
    $select = 'SELECT ' . $keyList . ', ' . implode(', ', array_map($q, $columns)) . ' FROM ' . $q($table)
        . ' WHERE (' . implode(' OR ', $filters) . ')';
    $after = count($keys) === 1 ? $q($keys[0]) . ' > ?' : '(' . $keyList . ') > (' . implode(', ', array_fill(0, count($keys), '?')) . ')';
    $where = ' AND ' . implode(' AND ', array_map(static fn ($k) => $q($k) . ' = ?', $keys));

    $last = null;
    if (!$dryRun) {
        $db->begin_transaction();
    }
    try {
        while (true) {
            $sql = $select . ($last === null ? '' : ' AND ' . $after) . ' ORDER BY ' . $keyList . ' LIMIT ' . PL_SR_BATCH;
            $rows = pl_sql_rows($db, $sql, array_merge($filterArgs, $last ?? []));
            foreach ($rows as $row) {
                $set = [];
                foreach ($columns as $col) {
                    if ($row[$col] === null) {
                        continue;
                    }
                    [$new, $status] = pl_sr_value((string) $row[$col], $r);
                    if ($status === 'changed') {
                        $set[$col] = $new;
                    } elseif ($status === 'unparseable') {
                        $unparseable['count']++;
                        if (count($unparseable['cells']) < 20) {
                            $unparseable['cells'][] = ['table' => $table, 'column' => $col, 'key' => array_map(static fn ($k) => $row[$k], $keys)];
                        }
                    }
                }
                if ($set !== []) {
                    $stats['rows_changed']++;
                    $stats['cells_changed'] += count($set);
                    if (!$dryRun) {
                        $sql = 'UPDATE ' . $q($table) . ' SET ' . implode(', ', array_map(static fn ($c) => $q($c) . ' = ?', array_keys($set)))
                            . ' WHERE ' . substr($where, 5);
                        pl_sql_exec($db, $sql, array_merge(array_values($set), array_map(static fn ($k) => $row[$k], $keys)));
                    }
                }
            }
            if (count($rows) < PL_SR_BATCH) {
                break;
            }
            $lastRow = $rows[count($rows) - 1];
            $last = array_map(static fn ($k) => $lastRow[$k], $keys);
        }
        if (!$dryRun) {
            $db->commit();
        }
    } catch (Throwable $e) {
        if (!$dryRun) {
            $db->rollback();
        }
        throw $e;
    }
    return $stats;
}

function pl_sql_stmt(mysqli $db, string $sql, array $args): mysqli_stmt
{
    $stmt = $db->prepare($sql);
    if ($stmt === false) {
        throw new Pl_Error('db_error', $db->error);
    }
    if ($args !== []) {
        $args = array_map(static fn ($a) => $a === null ? null : (string) $a, $args);
        $stmt->bind_param(str_repeat('s', count($args)), ...$args);
    }
    if (!$stmt->execute()) {
        throw new Pl_Error('db_error', $stmt->error);
    }
    return $stmt;
}

function pl_sql_rows(mysqli $db, string $sql, array $args = [], int $mode = MYSQLI_ASSOC): array
{
    if ($args === []) {
        $result = $db->query($sql);
        if (!$result instanceof mysqli_result) {
            throw new Pl_Error('db_error', $db->error);
        }
        return $result->fetch_all($mode);
    }
    $stmt = pl_sql_stmt($db, $sql, $args);
    $result = $stmt->get_result();
    if ($result === false) {
        throw new Pl_Error('db_error', $stmt->error);
    }
    $rows = $result->fetch_all($mode);
    $stmt->close();
    return $rows;
}

function pl_sql_exec(mysqli $db, string $sql, array $args): void
{
    pl_sql_stmt($db, $sql, $args)->close();
}

function pl_dispatch(array $cli, array $stdin): array
{
    $o = $cli['options'];
    switch ($cli['command']) {
        case 'install':
            return pl_cmd_install($stdin);
        case 'option-get':
            return pl_cmd_option_get(pl_option_string($o, 'name'));
        case 'option-set':
            return pl_cmd_option_set(pl_option_string($o, 'name'), $stdin, $o['autoload'] ?? null);
        case 'health':
            return pl_cmd_health();
        case 'search-replace':
            return pl_cmd_search_replace(pl_option_string($o, 'from'), pl_option_string($o, 'to'), isset($o['dry-run']));
        case 'flush':
            return pl_cmd_flush();
        case 'cron':
            return pl_cmd_cron();
    }
    throw new Pl_Error('usage', 'unknown command');
}

// ---------------------------------------------------------------------------
// Main: top-level code so WordPress loads in the global scope
// ---------------------------------------------------------------------------

if (PHP_SAPI === 'cli' && isset($argv[0]) && realpath($argv[0]) === __FILE__) {
    Pl_Output::start();
    try {
        $pl_cli = pl_parse_args($argv);
        if ($pl_cli['command'] === 'version') {
            Pl_Output::emit(['ok' => true, 'version' => PL_HELPER_VERSION, 'php_version' => PHP_VERSION]);
            exit(0);
        }
        if (function_exists('posix_geteuid') && posix_geteuid() === 0 && !isset($pl_cli['options']['allow-root'])) {
            throw new Pl_Error('run_as_root', 'WordPress operations run as the environment user; pass --allow-root to override');
        }
        $pl_stdin = $pl_cli['spec']['stdin'] ? pl_read_stdin_json(STDIN) : [];
        $pl_path = pl_resolve_path((string) $pl_cli['options']['path']);
        $pl_host = 'localhost';
        $pl_https = false;
        if ($pl_cli['command'] === 'install' && isset($pl_stdin['url']) && is_string($pl_stdin['url'])) {
            $pl_url = pl_validate_url($pl_stdin['url']);
            $pl_host = $pl_url['host'] . (isset($pl_url['port']) ? ':' . $pl_url['port'] : '');
            $pl_https = $pl_url['scheme'] === 'https';
        }
        chdir($pl_path);
        pl_prepare_wordpress($pl_cli['command'], $pl_path, $pl_host, $pl_https);
        try {
            require_once $pl_path . '/wp-load.php';
            if ($pl_cli['command'] === 'install') {
                require_once ABSPATH . 'wp-admin/includes/upgrade.php';
            }
        } catch (Pl_WpDie $e) {
            $pl_db_down = isset($wpdb) && is_object($wpdb) && empty($wpdb->ready);
            throw new Pl_Error($pl_db_down ? 'db_unreachable' : 'wp_load_failed', $e->getMessage());
        }
        $pl_result = pl_dispatch($pl_cli, $pl_stdin);
        Pl_Output::emit(['ok' => true] + $pl_result);
        exit(0);
    } catch (Pl_Error $e) {
        Pl_Output::fail($e->errorCode, $e->getMessage());
    } catch (Pl_WpDie $e) {
        Pl_Output::fail('wp_error', $e->getMessage());
    } catch (Error $e) {
        Pl_Output::fail('php_error', sprintf('%s: %s in %s:%d', get_class($e), $e->getMessage(), $e->getFile(), $e->getLine()));
    } catch (Throwable $e) {
        Pl_Output::fail('internal', get_class($e) . ': ' . $e->getMessage());
    }
    exit(1);
}

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
        'search-replace' => ['options' => ['from', 'to', 'dry-run', 'database'], 'path' => true, 'stdin' => false],
        'search-replace-many' => ['options' => ['dry-run', 'database'], 'path' => true, 'stdin' => true],
        'flush' => ['options' => [], 'path' => true, 'stdin' => false],
        'cache-flush' => ['options' => [], 'path' => true, 'stdin' => false],
        'cron' => ['options' => [], 'path' => true, 'stdin' => false],
        'updates' => ['options' => ['check'], 'path' => true, 'stdin' => false],
        'update' => ['options' => [], 'path' => true, 'stdin' => true],
        'db-upgrade' => ['options' => [], 'path' => true, 'stdin' => false],
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
// Serialized PHP: what WordPress takes for serialized data
// ---------------------------------------------------------------------------

/** What PHP's trim() and so WordPress's is_serialized() strip. */
const PL_WS = " \t\n\r\0\x0B";
const PL_DIGITS = '0123456789';

/** True when WordPress's is_serialized($data) (strict, the default) is true. */
function pl_looks_serialized(string $data): bool
{
    return pl_looks_serialized_at($data, 0, strlen($data));
}

/**
 * is_serialized() on the bytes $d[$start, $end), without copying them. Same steps:
 * trim; 'N;'; at least 4 bytes, ':' second, ';' or '}' last; then s (with '"'
 * before the last byte), a, O, E: /^T:[0-9]+:/; b, i, d: /^T:[0-9.E+-]+;$/. Anything
 * else (C:, r:, R:, ...) is plain text. Every scan is a single forward pass.
 */
function pl_looks_serialized_at(string $d, int $start, int $end): bool
{
    $start += strspn($d, PL_WS, $start, $end - $start);
    if ($start >= $end) {
        return false;
    }
    $token = $d[$start];
    // Refused early without the trailing trim: each of these ends in false below too.
    if ($token !== 'N' && ($end - $start < 4 || $d[$start + 1] !== ':' || !str_contains('saOEbid', $token))) {
        return false;
    }
    while (str_contains(PL_WS, $d[$end - 1])) {
        $end--;
    }
    $len = $end - $start;
    if ($token === 'N') {
        return $len === 2 && $d[$start + 1] === ';';
    }
    if ($len < 4) {
        return false;
    }
    $last = $d[$end - 1];
    if ($last !== ';' && $last !== '}') {
        return false;
    }
    switch ($token) {
        case 's':
            if ($d[$end - 2] !== '"') {
                return false;
            }
            // Falls through, as in WordPress.
        case 'a':
        case 'O':
        case 'E':
            $n = strspn($d, PL_DIGITS, $start + 2, $len - 2);
            return $n > 0 && $d[$start + 2 + $n] === ':';
        default:
            $n = strspn($d, PL_DIGITS . '.E+-', $start + 2, $len - 2);
            return $n > 0 && $start + 2 + $n === $end - 1 && $last === ';';
    }
}

/** True when $data is exactly one serialized value the helper can parse (whitespace around allowed). */
function pl_ser_valid(string $data): bool
{
    return (new Pl_SrValue($data, null))->parses();
}

// ---------------------------------------------------------------------------
// Host forms: JSON escapes and IDN (punycode, RFC 3492)
// ---------------------------------------------------------------------------

/** The code points of a UTF-8 string; null when it is not valid UTF-8. */
function pl_utf8_decode(string $s): ?array
{
    if (preg_match('//u', $s) !== 1) {
        return null;
    }
    $cps = [];
    foreach (preg_split('//u', $s, -1, PREG_SPLIT_NO_EMPTY) as $ch) {
        $b = array_values(unpack('C*', $ch));
        $cps[] = match (count($b)) {
            1 => $b[0],
            2 => (($b[0] & 0x1f) << 6) | ($b[1] & 0x3f),
            3 => (($b[0] & 0x0f) << 12) | (($b[1] & 0x3f) << 6) | ($b[2] & 0x3f),
            default => (($b[0] & 0x07) << 18) | (($b[1] & 0x3f) << 12) | (($b[2] & 0x3f) << 6) | ($b[3] & 0x3f),
        };
    }
    return $cps;
}

function pl_utf8_encode(array $cps): string
{
    $s = '';
    foreach ($cps as $c) {
        if ($c < 0x80) {
            $s .= chr($c);
        } elseif ($c < 0x800) {
            $s .= chr(0xc0 | $c >> 6) . chr(0x80 | $c & 0x3f);
        } elseif ($c < 0x10000) {
            $s .= chr(0xe0 | $c >> 12) . chr(0x80 | $c >> 6 & 0x3f) . chr(0x80 | $c & 0x3f);
        } else {
            $s .= chr(0xf0 | $c >> 18) . chr(0x80 | $c >> 12 & 0x3f) . chr(0x80 | $c >> 6 & 0x3f) . chr(0x80 | $c & 0x3f);
        }
    }
    return $s;
}

function pl_punycode_adapt(int $delta, int $points, bool $first): int
{
    $delta = $first ? intdiv($delta, 700) : intdiv($delta, 2);
    $delta += intdiv($delta, $points);
    $k = 0;
    while ($delta > 455) {
        $delta = intdiv($delta, 35);
        $k += 36;
    }
    return $k + intdiv(36 * $delta, $delta + 38);
}

function pl_punycode_threshold(int $k, int $bias): int
{
    return $k <= $bias ? 1 : ($k >= $bias + 26 ? 26 : $k - $bias);
}

/** Punycode of one label's code points (without the xn-- prefix). */
function pl_punycode_encode(array $cps): string
{
    $out = '';
    foreach ($cps as $c) {
        if ($c < 0x80) {
            $out .= chr($c);
        }
    }
    $b = strlen($out);
    $h = $b;
    if ($b > 0) {
        $out .= '-';
    }
    $n = 128;
    $delta = 0;
    $bias = 72;
    $digit = static fn (int $d): string => chr($d < 26 ? 97 + $d : 22 + $d);
    while ($h < count($cps)) {
        $m = min(array_filter($cps, static fn ($c) => $c >= $n));
        $delta += ($m - $n) * ($h + 1);
        $n = $m;
        foreach ($cps as $c) {
            if ($c < $n) {
                $delta++;
            } elseif ($c === $n) {
                $q = $delta;
                for ($k = 36; ; $k += 36) {
                    $t = pl_punycode_threshold($k, $bias);
                    if ($q < $t) {
                        break;
                    }
                    $out .= $digit($t + ($q - $t) % (36 - $t));
                    $q = intdiv($q - $t, 36 - $t);
                }
                $out .= $digit($q);
                $bias = pl_punycode_adapt($delta, $h + 1, $h === $b);
                $delta = 0;
                $h++;
            }
        }
        $delta++;
        $n++;
    }
    return $out;
}

/** Code points of one punycode label (without xn--); null when it is not valid punycode. */
function pl_punycode_decode(string $label): ?array
{
    $cut = strrpos($label, '-');
    $out = [];
    if ($cut !== false) {
        foreach (str_split(substr($label, 0, $cut)) as $ch) {
            if (ord($ch) >= 0x80) {
                return null;
            }
            $out[] = ord($ch);
        }
    }
    $in = $cut === false ? 0 : $cut + 1;
    $len = strlen($label);
    $n = 128;
    $i = 0;
    $bias = 72;
    while ($in < $len) {
        $old = $i;
        $w = 1;
        for ($k = 36; ; $k += 36) {
            if ($in >= $len) {
                return null;
            }
            $c = ord($label[$in++]);
            $d = match (true) {
                $c >= 97 && $c <= 122 => $c - 97,
                $c >= 65 && $c <= 90 => $c - 65,
                $c >= 48 && $c <= 57 => $c - 22,
                default => -1,
            };
            if ($d < 0 || $d * $w > 0x10ffff * 64) {
                return null;
            }
            $i += $d * $w;
            $t = pl_punycode_threshold($k, $bias);
            if ($d < $t) {
                break;
            }
            $w *= 36 - $t;
        }
        $count = count($out) + 1;
        $bias = pl_punycode_adapt($i - $old, $count, $old === 0);
        $n += intdiv($i, $count);
        $i %= $count;
        if ($n > 0x10ffff || ($n >= 0xd800 && $n <= 0xdfff)) {
            return null;
        }
        array_splice($out, $i, 0, [$n]);
        $i++;
    }
    return $out;
}

/** A host with each non-ASCII label in its xn-- form; null when it is not valid UTF-8. */
function pl_idn_to_ascii(string $host): ?string
{
    $labels = [];
    foreach (explode('.', $host) as $label) {
        if (preg_match('/[\x80-\xff]/', $label)) {
            $cps = pl_utf8_decode($label);
            if ($cps === null) {
                return null;
            }
            $label = 'xn--' . pl_punycode_encode($cps);
        }
        $labels[] = $label;
    }
    return implode('.', $labels);
}

/** A host with each xn-- label decoded to UTF-8; null when one is not valid punycode. */
function pl_idn_to_unicode(string $host): ?string
{
    $labels = [];
    foreach (explode('.', $host) as $label) {
        if (strncasecmp($label, 'xn--', 4) === 0) {
            $cps = pl_punycode_decode(substr($label, 4));
            if ($cps === null || $cps === []) {
                return null;
            }
            $label = pl_utf8_encode($cps);
        }
        $labels[] = $label;
    }
    return implode('.', $labels);
}

/**
 * The URL with its host in the other IDN form: punycode when the host is given in
 * Unicode, Unicode when it is given as xn-- labels; null when there is no other form.
 * The host is what follows '//' (or the start) up to '/', ':', '?', '#' or the end.
 */
function pl_idn_other_form(string $url): ?string
{
    $at = strpos($url, '//');
    $start = $at === false ? 0 : $at + 2;
    $len = strcspn($url, '/:?#\\', $start);
    $host = substr($url, $start, $len);
    if (preg_match('/[\x80-\xff]/', $host)) {
        $other = pl_idn_to_ascii($host);
    } elseif (preg_match('/(?:^|\.)xn--/i', $host)) {
        $other = pl_idn_to_unicode($host);
    } else {
        return null;
    }
    return $other === null ? null : substr_replace($url, $other, $start, $len);
}

/** The JSON string body of $s as json_encode() writes it; null when $s is not valid UTF-8. */
function pl_json_body(string $s, int $flags = 0): ?string
{
    $json = json_encode($s, $flags);
    return $json === false ? null : substr($json, 1, -1);
}

// ---------------------------------------------------------------------------
// Search-replace on one value
// ---------------------------------------------------------------------------

/**
 * Replaces one URL by another in every form it is stored in: as given, JSON-escaped
 * (\/\/old.host, and \u00fc for each non-ASCII character, as json_encode() writes them),
 * and with an IDN host also in its other form (xn-- or Unicode), JSON-escaped too.
 * When the search ends in a host character, a match must not continue the host
 * (//old.host never matches //old.host.example or //old.hostname), which
 * also makes a second run a no-op when the new host extends the old one.
 */
final class Pl_Replacer
{
    /** @var list<array{string,string,string}> [needle, regex, replacement], applied in order */
    private array $rules = [];
    /** @var list<string> per rule: regex that matches (empty) where a match ends at a host boundary */
    private array $boundaries = [];

    public function __construct(string $from, string $to)
    {
        if ($from === '') {
            throw new Pl_Error('usage', 'the search string is empty');
        }
        $bases = [[$from, $to]];
        $otherFrom = pl_idn_other_form($from);
        if ($otherFrom !== null) {
            $bases[] = [$otherFrom, pl_idn_other_form_like($to, $otherFrom)];
        }
        $pairs = [];
        foreach ($bases as [$f, $t]) {
            $pairs[] = [$f, $t];
            // json_encode()'s own spelling first: for an ASCII URL it is the \/ form, and
            // the new URL is then written as json_encode() would write it.
            foreach ([0, JSON_UNESCAPED_SLASHES] as $flags) {
                $jf = pl_json_body($f, $flags);
                $jt = pl_json_body($t, $flags);
                if ($jf !== null && $jt !== null) {
                    $pairs[] = [$jf, $jt];
                }
            }
            $pairs[] = [str_replace('/', '\/', $f), str_replace('/', '\/', $t)];
        }
        $seen = [];
        foreach ($pairs as [$f, $t]) {
            if (isset($seen[$f])) {
                continue;
            }
            $seen[$f] = true;
            $boundary = preg_match('/[A-Za-z0-9\x80-\xff]$/', $f) ? '(?![A-Za-z0-9_-]|\.[A-Za-z0-9])' : '';
            // Literal replacement text: preg_replace would read \1 and $1 in it.
            $this->rules[] = [$f, '/' . preg_quote($f, '/') . $boundary . '/', str_replace(['\\', '$'], ['\\\\', '\\$'], $t)];
            $this->boundaries[] = '/\G' . $boundary . '/';
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

    /** True when needle $rule, found in $s at $pos, ends at a host boundary (and so would be replaced). */
    public function matchesAt(int $rule, string $s, int $pos): bool
    {
        return preg_match($this->boundaries[$rule], $s, $m, 0, $pos + strlen($this->rules[$rule][0])) === 1;
    }

    public function replacePlain(string $s): string
    {
        foreach ($this->rules as [$needle, $regex, $replacement]) {
            if (!str_contains($s, $needle)) {
                continue;
            }
            $out = preg_replace($regex, $replacement, $s);
            if ($out === null) {
                throw new Pl_Error('internal', 'regex failure: ' . preg_last_error_msg());
            }
            $s = $out;
        }
        return $s;
    }
}

/** $to with its host in the same IDN form as $form's host (xn-- when $form's is ASCII). */
function pl_idn_other_form_like(string $to, string $form): string
{
    $other = pl_idn_other_form($to);
    if ($other === null) {
        return $to;
    }
    $formIsAscii = !preg_match('/[\x80-\xff]/', $form);
    $otherIsAscii = !preg_match('/[\x80-\xff]/', $other);
    return $formIsAscii === $otherIsAscii ? $other : $to;
}

/**
 * Search-replace on one stored value. Returns [new value, status]: 'changed',
 * 'unchanged', or 'unparseable' when a part that could not be parsed (a value
 * WordPress takes for serialized that does not parse or nests deeper than
 * PL_MAX_DEPTH, or a C: payload) still holds the search string; the rest of an
 * unparseable value may still have been rewritten (compare the value to see).
 */
function pl_sr_value(string $value, Pl_Replacer $r): array
{
    if (!$r->mentions($value)) {
        return [$value, 'unchanged'];
    }
    $sr = new Pl_SrValue($value, $r);
    $out = $sr->rewrite();
    return [$out, $sr->leftOld ? 'unparseable' : ($out === $value ? 'unchanged' : 'changed')];
}

/**
 * Rewrites one value in a single pass over its bytes. Serialized strings nested in
 * serialized data are parsed in place, by offset, so no level copies the levels below
 * it; numbers are scanned without backtracking. The new value is collected as pieces
 * (new text, or [start, end) spans of the old value kept as they are) and joined once.
 * Every serialized value is parsed as a whole before its rewrite is kept: a part
 * that does not parse is kept byte for byte.
 */
final class Pl_SrValue
{
    /** A part that could not be parsed still holds the search string. */
    public bool $leftOld = false;

    /** @var list<string|int> new text, or two ints: a span of $d kept as it is */
    private array $out = [];
    private int $outLen = 0;
    /** Start of the bytes of the serialized value being parsed that are not yet in $out. */
    private int $copy = 0;
    /** @var list<string> per rule: the needle */
    private array $needles = [];
    /**
     * @var list<int|false> per rule: the first offset of the needle at or after the
     * last start mentions() was asked about (-1: not looked for yet; false: none left).
     * Strings are visited in document order, so each needle is searched for once over the value.
     */
    private array $next = [];
    /** @var list<list<int>>|null per rule: every offset of the needle, once holdsOld() needs them */
    private ?array $hits = null;
    /** @var list<list<int>> per rule: prefix counts of the hits that end at a host boundary */
    private array $real = [];

    public function __construct(private string $d, private ?Pl_Replacer $r)
    {
        if ($r !== null) {
            $this->needles = $r->needles();
            $this->next = array_fill(0, count($this->needles), -1);
        }
    }

    public function rewrite(): string
    {
        $end = strlen($this->d);
        if (!$this->string(0, $end, 0)) {
            return $this->d;
        }
        $s = '';
        $out = $this->out;
        for ($i = 0, $n = count($out); $i < $n; $i++) {
            $piece = $out[$i];
            $s .= is_int($piece) ? substr($this->d, $piece, $out[++$i] - $piece) : $piece;
        }
        return $s;
    }

    public function parses(): bool
    {
        $end = strlen($this->d);
        $p = strspn($this->d, PL_WS);
        return $this->value($p, $end, 0) && $p + strspn($this->d, PL_WS, $p) === $end;
    }

    /** True when a needle lies wholly inside $d[$a, $b); $a never decreases from one call to the next. */
    private function mentions(int $a, int $b): bool
    {
        foreach ($this->needles as $i => $needle) {
            $next = $this->next[$i];
            if ($next !== false && $next < $a) {
                $next = $this->next[$i] = strpos($this->d, $needle, $a);
            }
            if ($next !== false && $next + strlen($needle) <= $b) {
                return true;
            }
        }
        return false;
    }

    /**
     * True when $d[$a, $b) holds a match that a rewrite would replace. The host
     * boundary is judged on the whole value: the byte after a nested string is its
     * closing quote, which continues no host, so the answer is the same.
     */
    private function holdsOld(int $a, int $b): bool
    {
        // One index of the whole value answers every range: searching from $a alone could
        // run past $b to the end of the value, once per broken part.
        $this->index();
        foreach ($this->needles as $i => $needle) {
            $from = self::firstAtLeast($this->hits[$i], $a);
            $to = self::firstAtLeast($this->hits[$i], $b - strlen($needle) + 1);
            if ($to > $from && $this->real[$i][$to] > $this->real[$i][$from]) {
                return true;
            }
        }
        return false;
    }

    private function index(): void
    {
        if ($this->hits !== null) {
            return;
        }
        foreach ($this->needles as $i => $needle) {
            $hits = [];
            $prefix = [0];
            for ($pos = strpos($this->d, $needle); $pos !== false; $pos = strpos($this->d, $needle, $pos + 1)) {
                $prefix[] = $prefix[count($hits)] + ($this->r->matchesAt($i, $this->d, $pos) ? 1 : 0);
                $hits[] = $pos;
            }
            $this->hits[$i] = $hits;
            $this->real[$i] = $prefix;
        }
    }

    private static function firstAtLeast(array $sorted, int $x): int
    {
        $lo = 0;
        $hi = count($sorted);
        while ($lo < $hi) {
            $mid = ($lo + $hi) >> 1;
            if ($sorted[$mid] < $x) {
                $lo = $mid + 1;
            } else {
                $hi = $mid;
            }
        }
        return $lo;
    }

    private function span(int $a, int $b): void
    {
        if ($b > $a) {
            $this->out[] = $a;
            $this->out[] = $b;
            $this->outLen += $b - $a;
        }
    }

    private function rewind(int $mark, int $markLen): void
    {
        while (count($this->out) > $mark) {
            array_pop($this->out);
        }
        $this->outLen = $markLen;
    }

    /**
     * Rewrites the string $d[$a, $b) (the whole value, or a string inside serialized
     * data); adds its new bytes to $out and returns true, or returns false when it
     * stays as it is.
     */
    private function string(int $a, int $b, int $depth): bool
    {
        if (!$this->mentions($a, $b)) {
            return false;
        }
        // Most strings start with a byte no serialized value starts with: skip the full check.
        if (!str_contains("saOEbidN \t\n\r\0\x0B", $this->d[$a]) || !pl_looks_serialized_at($this->d, $a, $b)) {
            $old = substr($this->d, $a, $b - $a);
            $new = $this->r->replacePlain($old);
            if ($new === $old) {
                return false;
            }
            $this->out[] = $new;
            $this->outLen += strlen($new);
            return true;
        }
        $mark = count($this->out);
        $markLen = $this->outLen;
        $outer = $this->copy;
        // WordPress trims before unserializing: the whitespace around is kept as it is.
        $this->copy = $a;
        $p = $a + strspn($this->d, PL_WS, $a, $b - $a);
        $ok = $this->value($p, $b, $depth) && $p + strspn($this->d, PL_WS, $p, $b - $p) === $b;
        $changed = $ok && count($this->out) > $mark;
        if ($changed) {
            $this->span($this->copy, $b);
        } else {
            $this->rewind($mark, $markLen);
            if (!$ok && !$this->leftOld && $this->holdsOld($a, $b)) {
                $this->leftOld = true;
            }
        }
        $this->copy = $outer;
        return $changed;
    }

    /** A serialized string whose bytes are $d[$a, $b), its header starting at $head. */
    private function nested(int $head, int $a, int $b, int $depth): void
    {
        $mark = count($this->out);
        $markLen = $this->outLen;
        $this->span($this->copy, $head);
        $slot = count($this->out);
        $this->out[] = '';
        $before = $this->outLen;
        if (!$this->string($a, $b, $depth)) {
            $this->rewind($mark, $markLen);
            return;
        }
        $header = 's:' . ($this->outLen - $before) . ':"';
        $this->out[$slot] = $header;
        $this->outLen += strlen($header);
        $this->copy = $b;
    }

    /** Length of the run of ASCII digits at $p, not past $end. */
    private function digits(int $p, int $end): int
    {
        return $p < $end ? strspn($this->d, PL_DIGITS, $p, $end - $p) : 0;
    }

    private function at(int $p, int $end): string
    {
        return $p < $end ? $this->d[$p] : '';
    }

    /** Reads 'T:<len>:"<bytes>"' at $p; sets [$a, $b) to the bytes and $p after the closing quote. */
    private function sized(int &$p, int $end, string $type, ?int &$a, ?int &$b): bool
    {
        $d = $this->d;
        $q = $p + 2;
        if ($q >= $end || $d[$p] !== $type || $d[$p + 1] !== ':') {
            return false;
        }
        $n = strspn($d, PL_DIGITS, $q, $end - $q);
        $q += $n;
        if ($n < 1 || $n > 10 || $q + 1 >= $end || $d[$q] !== ':' || $d[$q + 1] !== '"') {
            return false;
        }
        $a = $q + 2;
        $b = $a + (int) substr($d, $p + 2, $n);
        if ($b >= $end || $d[$b] !== '"') {
            return false;
        }
        $p = $b + 1;
        return true;
    }

    /** Reads ':<count>:{' at $p into $count. */
    private function count(int &$p, int $end, ?int &$count): bool
    {
        $n = $this->digits($p + 1, $end);
        if ($this->at($p, $end) !== ':' || $n < 1 || $n > 10 || $this->at($p + 1 + $n, $end) !== ':' || $this->at($p + 2 + $n, $end) !== '{') {
            return false;
        }
        $count = (int) substr($this->d, $p + 1, $n);
        $p += 3 + $n;
        return true;
    }

    /** Reads 'i:[+-]<1 to 19 digits>;' at $p. */
    private function int(int &$p, int $end): bool
    {
        $d = $this->d;
        $q = $p + 2;
        if ($q >= $end || $d[$p + 1] !== ':') {
            return false;
        }
        if ($d[$q] === '+' || $d[$q] === '-') {
            $q++;
        }
        $n = $q < $end ? strspn($d, PL_DIGITS, $q, $end - $q) : 0;
        $q += $n;
        if ($n < 1 || $n > 19 || $q >= $end || $d[$q] !== ';') {
            return false;
        }
        $p = $q + 1;
        return true;
    }

    /** Reads 'd:' then [+-](digits[.digits]|.digits)[(e|E)[+-]digits], NAN, INF or -INF, then ';'. */
    private function float(int &$p, int $end): bool
    {
        $q = $p + 2;
        if ($this->at($p + 1, $end) !== ':') {
            return false;
        }
        foreach (['NAN;', 'INF;', '-INF;'] as $word) {
            if ($q + strlen($word) <= $end && substr_compare($this->d, $word, $q, strlen($word)) === 0) {
                $p = $q + strlen($word);
                return true;
            }
        }
        if (($c = $this->at($q, $end)) === '+' || $c === '-') {
            $q++;
        }
        $int = $this->digits($q, $end);
        $q += $int;
        if ($this->at($q, $end) === '.') {
            $frac = $this->digits($q + 1, $end);
            if ($int === 0 && $frac === 0) {
                return false;
            }
            $q += 1 + $frac;
        } elseif ($int === 0) {
            return false;
        }
        if (($c = $this->at($q, $end)) === 'e' || $c === 'E') {
            $q++;
            if (($c = $this->at($q, $end)) === '+' || $c === '-') {
                $q++;
            }
            $exp = $this->digits($q, $end);
            if ($exp === 0) {
                return false;
            }
            $q += $exp;
        }
        if ($this->at($q, $end) !== ';') {
            return false;
        }
        $p = $q + 1;
        return true;
    }

    /** Parses one serialized value at $p, not past $end, rewriting the strings in it. */
    private function value(int &$p, int $end, int $depth): bool
    {
        if ($p >= $end || $depth > PL_MAX_DEPTH) {
            return false;
        }
        $d = $this->d;
        switch ($d[$p]) {
            case 'N':
                if ($this->at($p + 1, $end) !== ';') {
                    return false;
                }
                $p += 2;
                return true;
            case 'b':
                if ($this->at($p + 1, $end) !== ':' || !in_array($this->at($p + 2, $end), ['0', '1'], true) || $this->at($p + 3, $end) !== ';') {
                    return false;
                }
                $p += 4;
                return true;
            case 'i':
                return $this->int($p, $end);
            case 'd':
                return $this->float($p, $end);
            case 'r':
            case 'R':
                // A reference: 1 to 19 significant digits, leading zeros allowed.
                if ($this->at($p + 1, $end) !== ':') {
                    return false;
                }
                $q = $p + 2;
                $q += $q < $end ? strspn($d, '0', $q, $end - $q) : 0;
                $n = $this->digits($q, $end);
                if ($n < 1 || $n > 19 || $this->at($q + $n, $end) !== ';') {
                    return false;
                }
                $p = $q + $n + 1;
                return true;
            case 's':
                $head = $p;
                if (!$this->sized($p, $end, 's', $a, $b) || $p >= $end || $d[$p] !== ';') {
                    return false;
                }
                $p++;
                if ($this->r !== null) {
                    $this->nested($head, $a, $b, $depth + 1);
                }
                return true;
            case 'E':
                if (!$this->sized($p, $end, 'E', $a, $b) || $this->at($p, $end) !== ';'
                    || !preg_match('/^[A-Za-z0-9_\\\\\x80-\xff]++:[A-Za-z0-9_\x80-\xff]++$/', substr($d, $a, $b - $a))) {
                    return false;
                }
                $p++;
                return true;
            case 'a':
                $p++;
                return $this->count($p, $end, $count) && $this->items($p, $end, $depth, $count);
            case 'O':
                return $this->sized($p, $end, 'O', $a, $b) && pl_ser_valid_class(substr($d, $a, $b - $a))
                    && $this->count($p, $end, $count) && $this->items($p, $end, $depth, $count);
            case 'C':
                // Custom-serialized objects have an opaque payload: kept as they are.
                if (!$this->sized($p, $end, 'C', $a, $b) || !pl_ser_valid_class(substr($d, $a, $b - $a)) || !$this->count($p, $end, $n)) {
                    return false;
                }
                if ($p + $n >= $end || $d[$p + $n] !== '}') {
                    return false;
                }
                if ($this->r !== null && !$this->leftOld && $this->holdsOld($p, $p + $n)) {
                    $this->leftOld = true;
                }
                $p += $n + 1;
                return true;
            default:
                return false;
        }
    }

    /** Reads $count key/value pairs and the closing brace; keys are never edited. */
    private function items(int &$p, int $end, int $depth, int $count): bool
    {
        for ($i = 0; $i < $count; $i++) {
            $kind = $p < $end ? $this->d[$p] : '';
            if ($kind === 'i') {
                if (!$this->int($p, $end)) {
                    return false;
                }
            } elseif ($kind !== 's' || !$this->sized($p, $end, 's', $a, $b) || $p >= $end || $this->d[$p] !== ';') {
                return false;
            } else {
                $p++;
            }
            if (!$this->value($p, $end, $depth + 1)) {
                return false;
            }
        }
        if ($this->at($p, $end) !== '}') {
            return false;
        }
        $p++;
        return true;
    }
}

function pl_ser_valid_class(string $class): bool
{
    return preg_match('/^[A-Za-z0-9_\\\\\x80-\xff]++$/', $class) === 1;
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
    if (Pl_Http::allows((string) $url)) {
        return $preempt;
    }
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

/**
 * Written last by install. is_blog_installed() is true as soon as wp_install()
 * has written its default options, so an install cut short (its process
 * stopped with the job) would pass for a finished one: without its title,
 * administrator or URLs.
 */
const PL_INSTALLED_OPTION = 'pressluft_installed';

function pl_cmd_install(array $in): array
{
    global $wp_rewrite;
    foreach (['url', 'title', 'admin_user', 'admin_email', 'admin_password'] as $key) {
        if (!isset($in[$key]) || !is_string($in[$key]) || $in[$key] === '') {
            throw new Pl_Error('invalid_input', "stdin field '$key' is required");
        }
    }
    $restarted = false;
    if (is_blog_installed()) {
        if (get_option(PL_INSTALLED_OPTION)) {
            return ['already_installed' => true];
        }
        // Only the install cut short wrote to the new environment's database.
        pl_drop_wordpress_tables();
        $restarted = true;
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
    update_option(PL_INSTALLED_OPTION, '1');

    return ['already_installed' => false, 'restarted' => $restarted, 'user_id' => $userId, 'url' => $url,
        'db_version' => (int) get_option('db_version')];
}

/** Drops the tables of this WordPress (its prefix, in its own database). */
function pl_drop_wordpress_tables(): void
{
    global $wpdb;
    $tables = $wpdb->get_col($wpdb->prepare('SHOW TABLES LIKE %s', $wpdb->esc_like($wpdb->prefix) . '%'));
    foreach ($tables as $table) {
        $wpdb->query('DROP TABLE IF EXISTS `' . str_replace('`', '``', $table) . '`');
    }
    wp_cache_flush();
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
        // The database's schema version and the one the code expects (a core update raises it).
        'db_version' => 0,
        'wp_db_version' => (int) ($GLOBALS['wp_db_version'] ?? 0),
    ];
    if ($installed) {
        $facts['siteurl'] = get_option('siteurl');
        $facts['home'] = get_option('home');
        $facts['title'] = get_option('blogname');
        // As wp_get_document_title() prints it: texturized (-- becomes &#8212;), escaped.
        $facts['title_html'] = capital_P_dangit(esc_html(convert_chars(wptexturize(get_bloginfo('name', 'display')))));
        $facts['active_plugins'] = array_values((array) get_option('active_plugins', []));
        $facts['theme'] = get_option('stylesheet');
        $facts['db_version'] = (int) get_option('db_version');
    }
    return $facts;
}

function pl_cmd_flush(): array
{
    wp_cache_flush();
    flush_rewrite_rules(false);
    return ['flushed' => ['object_cache', 'rewrite_rules']];
}

/**
 * Empties the object cache only, with WordPress loaded minimally: after a
 * restore the cache must forget the old content, and nothing may write to
 * the database (the restored tables stay row for row as backed up).
 */
function pl_cmd_cache_flush(): array
{
    wp_cache_flush();
    return ['flushed' => ['object_cache']];
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

/**
 * --database=NAME points the search-replace commands at another database
 * on the same server (a restore rewrites its copy before swapping it in):
 * WordPress loads with its own, then the connection switches.
 */
function pl_use_database(array $options): void
{
    global $wpdb;
    if (!isset($options['database'])) {
        return;
    }
    $name = pl_option_string($options, 'database');
    if (!preg_match('/^[a-z][a-z0-9_]{1,63}$/', $name)) {
        throw new Pl_Error('usage', '--database must be a database name of lowercase letters, digits and _');
    }
    /** @var mysqli $db */
    $db = $wpdb->dbh;
    try {
        $ok = $db->select_db($name);
    } catch (mysqli_sql_exception $e) {
        $ok = false;
    }
    if (!$ok) {
        throw new Pl_Error('db_error', "cannot use database $name: " . $db->error);
    }
    $wpdb->dbname = $name;
}

/**
 * Several search-replace passes in one process, in order (a copy rewrites
 * the source's hosts, then the scheme), so WordPress loads once. stdin:
 * {"pairs": [{"from": ..., "to": ...}, ...]}. Answers each pass's report in
 * `runs`, their `total_cells`, and in `unparseable.count` the largest count
 * of any pass (exact when one pass can find anything, else a lower bound).
 */
function pl_cmd_search_replace_many($pairs, bool $dryRun): array
{
    if (!is_array($pairs) || $pairs === [] || !array_is_list($pairs)) {
        throw new Pl_Error('invalid_input', 'stdin needs "pairs": a non-empty list of {"from", "to"}');
    }
    $out = ['runs' => [], 'total_cells' => 0, 'unparseable' => ['count' => 0]];
    foreach ($pairs as $i => $pair) {
        if (!is_array($pair) || !is_string($pair['from'] ?? null) || !is_string($pair['to'] ?? null)) {
            throw new Pl_Error('invalid_input', "pairs[$i] needs string \"from\" and \"to\"");
        }
        $report = pl_cmd_search_replace($pair['from'], $pair['to'], $dryRun);
        $out['runs'][] = $report;
        $out['total_cells'] += $report['total_cells'];
        $out['unparseable']['count'] = max($out['unparseable']['count'], $report['unparseable']['count']);
    }
    return $out;
}

/**
 * Search-replace on one row's columns: [new values of the cells that changed,
 * columns whose cell still holds the old URL in a part that could not be parsed].
 * A cell can be in both: the parts that parse are rewritten all the same.
 */
function pl_sr_row(array $row, array $columns, Pl_Replacer $r): array
{
    $set = [];
    $leftOld = [];
    foreach ($columns as $col) {
        if ($row[$col] === null) {
            continue;
        }
        $value = (string) $row[$col];
        [$new, $status] = pl_sr_value($value, $r);
        if ($new !== $value) {
            $set[$col] = $new;
        }
        if ($status === 'unparseable') {
            $leftOld[] = $col;
        }
    }
    return [$set, $leftOld];
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
                [$set, $leftOld] = pl_sr_row($row, $columns, $r);
                foreach ($leftOld as $col) {
                    $unparseable['count']++;
                    if (count($unparseable['cells']) < 20) {
                        $unparseable['cells'][] = ['table' => $table, 'column' => $col, 'key' => array_map(static fn ($k) => $row[$k], $keys)];
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
            pl_use_database($o);
            return pl_cmd_search_replace(pl_option_string($o, 'from'), pl_option_string($o, 'to'), isset($o['dry-run']));
        case 'search-replace-many':
            pl_use_database($o);
            return pl_cmd_search_replace_many($stdin['pairs'] ?? null, isset($o['dry-run']));
        case 'flush':
            return pl_cmd_flush();
        case 'cache-flush':
            return pl_cmd_cache_flush();
        case 'cron':
            return pl_cmd_cron();
        case 'updates':
            return pl_cmd_updates(isset($o['check']));
        case 'update':
            return pl_cmd_update($stdin);
        case 'db-upgrade':
            return pl_cmd_db_upgrade();
    }
    throw new Pl_Error('usage', 'unknown command');
}

// ---------------------------------------------------------------------------
// Updates through WordPress's own upgrader classes
// ---------------------------------------------------------------------------

/** Hosts the update commands may reach (everything else stays blocked). */
const PL_WPORG_HOSTS = ['api.wordpress.org', 'downloads.wordpress.org', 'wordpress.org'];
/** Seconds an update check waits for api.wordpress.org: a page that lists updates must not hang. */
const PL_WPORG_TIMEOUT = 5;

/** Whether the HTTP blocker lets wordpress.org through (set by the update commands only). */
final class Pl_Http
{
    public static bool $wordpressOrg = false;

    public static function allows(string $url): bool
    {
        $parts = parse_url($url);
        return self::$wordpressOrg && is_array($parts) && in_array($parts['scheme'] ?? '', ['http', 'https'], true)
            && in_array(strtolower($parts['host'] ?? ''), PL_WPORG_HOSTS, true);
    }
}

/** Caps wordpress.org's API calls at PL_WPORG_TIMEOUT seconds (downloads get longer). */
function pl_wporg_http_args(array $args, string $url): array
{
    $host = strtolower((string) parse_url($url, PHP_URL_HOST));
    $limit = $host === 'downloads.wordpress.org' ? 120 : PL_WPORG_TIMEOUT;
    $args['timeout'] = min((float) ($args['timeout'] ?? $limit), $limit);
    return $args;
}

/** A plugin's slug: its directory, or the file name of a single-file plugin. */
function pl_plugin_slug(string $file): string
{
    $dir = dirname($file);
    return $dir === '.' ? basename($file, '.php') : $dir;
}

/** The version in a WordPress tree's wp-includes/version.php, read afresh (the global keeps the loaded one). */
function pl_core_version(string $root): string
{
    $src = @file_get_contents(rtrim($root, '/') . '/wp-includes/version.php');
    return is_string($src) && preg_match('/\$wp_version\s*=\s*[\'"]([^\'"]+)[\'"]/', $src, $m) ? $m[1] : '';
}

/** What WordPress admin screens need, and the upgrader classes. */
function pl_load_admin(): void
{
    require_once ABSPATH . 'wp-admin/includes/admin.php';
    require_once ABSPATH . 'wp-admin/includes/class-wp-upgrader.php';
    // Language packs would be fetched after each upgrade: not part of an update here.
    remove_action('upgrader_process_complete', ['Language_Pack_Upgrader', 'async_upgrade'], 20);
}

/**
 * WordPress itself, the plugins and the themes, with versions read from the
 * files (an update in this process changed them). Plugins carry their file.
 */
function pl_installed(): array
{
    $items = [['type' => 'core', 'slug' => 'core', 'name' => 'WordPress', 'version' => pl_core_version(ABSPATH), 'available' => '', 'active' => true]];
    wp_clean_plugins_cache(false);
    foreach (get_plugins() as $file => $data) {
        $items[] = ['type' => 'plugin', 'slug' => pl_plugin_slug((string) $file), 'name' => (string) $data['Name'],
            'version' => (string) $data['Version'], 'available' => '', 'active' => is_plugin_active($file), 'file' => (string) $file];
    }
    $stylesheet = get_option('stylesheet');
    $template = get_option('template');
    search_theme_directories(true);
    foreach (wp_get_themes() as $slug => $theme) {
        $slug = (string) $slug;
        $headers = get_file_data($theme->get_stylesheet_directory() . '/style.css', ['Name' => 'Theme Name', 'Version' => 'Version']);
        $items[] = ['type' => 'theme', 'slug' => $slug, 'name' => (string) $headers['Name'], 'version' => (string) $headers['Version'],
            'available' => '', 'active' => $slug === $stylesheet || $slug === $template];
    }
    return $items;
}

/** $items without the keys the agent does not read. */
function pl_public_items(array $items): array
{
    return array_map(static function (array $it): array {
        unset($it['file']);
        return $it;
    }, $items);
}

/**
 * Asks wordpress.org what is available (core, plugins, themes: WordPress's
 * own checks, which store their answers as usual). Returns null when every
 * check answered, else why not.
 */
function pl_ask_wordpress_org(): ?string
{
    if (defined('WP_HTTP_BLOCK_EXTERNAL') && WP_HTTP_BLOCK_EXTERNAL) {
        $accessible = defined('WP_ACCESSIBLE_HOSTS') ? (string) WP_ACCESSIBLE_HOSTS : '';
        if (!str_contains($accessible, 'api.wordpress.org') && !str_contains($accessible, '*')) {
            return 'this node is offline (WP_HTTP_BLOCK_EXTERNAL): wordpress.org is not asked';
        }
    }
    Pl_Http::$wordpressOrg = true;
    add_filter('http_request_args', 'pl_wporg_http_args', 99, 2);
    $probe = wp_remote_get('https://api.wordpress.org/core/version-check/1.7/', ['timeout' => PL_WPORG_TIMEOUT]);
    if (is_wp_error($probe)) {
        return 'wordpress.org did not answer: ' . $probe->get_error_message();
    }
    if ((int) wp_remote_retrieve_response_code($probe) !== 200) {
        return 'wordpress.org answered HTTP ' . wp_remote_retrieve_response_code($probe);
    }
    // The checks return early while WordPress is installing (the helper's minimal load).
    wp_installing(false);
    try {
        foreach (['update_core', 'update_plugins', 'update_themes'] as $transient) {
            delete_site_transient($transient);
        }
        wp_version_check([], true);
        wp_update_plugins();
        wp_update_themes();
    } finally {
        wp_installing(true);
    }
    $core = get_site_transient('update_core');
    if (!is_object($core) || empty($core->updates)) {
        return 'wordpress.org did not answer the core version check';
    }
    foreach (['update_plugins' => 'plugin', 'update_themes' => 'theme'] as $transient => $what) {
        $t = get_site_transient($transient);
        if (!is_object($t) || !isset($t->response)) {
            return "wordpress.org did not answer the $what update check";
        }
    }
    return null;
}

/** What wordpress.org offers: ['core' => offer|null, 'plugins' => [file => object], 'themes' => [slug => array]]. */
function pl_wporg_offers(): array
{
    $core = null;
    foreach ((array) (get_site_transient('update_core')->updates ?? []) as $offer) {
        if (is_object($offer) && ($offer->response ?? '') === 'upgrade') {
            $core = $offer;
            break;
        }
    }
    $plugins = get_site_transient('update_plugins');
    $themes = get_site_transient('update_themes');
    return [
        'core' => $core,
        'plugins' => is_object($plugins) ? (array) ($plugins->response ?? []) : [],
        'themes' => is_object($themes) ? (array) ($themes->response ?? []) : [],
    ];
}

/** Fills in the versions wordpress.org offers. */
function pl_with_available(array $items, array $offers): array
{
    foreach ($items as &$it) {
        if ($it['type'] === 'core' && $offers['core'] !== null) {
            $it['available'] = (string) ($offers['core']->version ?? $offers['core']->current ?? '');
        } elseif ($it['type'] === 'plugin' && isset($offers['plugins'][$it['file']])) {
            $it['available'] = (string) ($offers['plugins'][$it['file']]->new_version ?? '');
        } elseif ($it['type'] === 'theme' && isset($offers['themes'][$it['slug']])) {
            $it['available'] = (string) ($offers['themes'][$it['slug']]['new_version'] ?? '');
        }
    }
    return $items;
}

function pl_cmd_updates(bool $check): array
{
    pl_load_admin();
    $items = pl_installed();
    if (!$check) {
        return ['items' => pl_public_items($items), 'checked' => false, 'problem' => 'wordpress.org was not asked'];
    }
    $problem = pl_ask_wordpress_org();
    if ($problem !== null) {
        return ['items' => pl_public_items($items), 'checked' => false, 'problem' => $problem];
    }
    return ['items' => pl_public_items(pl_with_available($items, pl_wporg_offers())), 'checked' => true, 'problem' => ''];
}

/**
 * Decides what an update replaces. $items are slugs ("core" is WordPress);
 * none means every package given, or, without packages, everything in the
 * scope that wordpress.org has an update for. Each target takes its package
 * (a local zip) or, without one, wordpress.org's. Returns
 * ['core' => bool, 'core_package' => ?string, 'plugins' => [file => ?package],
 *  'themes' => [slug => ?package], 'wporg' => bool, 'all_available' => bool].
 */
function pl_update_plan(string $scope, array $items, array $packages, array $installed): array
{
    if (!in_array($scope, ['core', 'plugins', 'themes', 'all'], true)) {
        throw new Pl_Error('invalid_input', 'scope must be core, plugins, themes or all');
    }
    $plugins = [];
    $themes = [];
    foreach ($installed as $it) {
        if ($it['type'] === 'plugin') {
            $plugins[$it['slug']] = $it['file'];
        } elseif ($it['type'] === 'theme') {
            $themes[$it['slug']] = true;
        }
    }
    $plan = ['core' => false, 'core_package' => null, 'plugins' => [], 'themes' => [], 'wporg' => false, 'all_available' => false];
    foreach (array_keys($packages) as $slug) {
        if ($items !== [] && !in_array($slug, $items, true)) {
            throw new Pl_Error('invalid_input', "there is a package for $slug, which is not among the items to update");
        }
    }
    $targets = $items !== [] ? array_values(array_unique($items)) : array_keys($packages);
    if ($targets === []) {
        $plan['core'] = $scope === 'core' || $scope === 'all';
        $plan['wporg'] = $plan['all_available'] = true;
        return $plan;
    }
    $withPlugins = $scope === 'plugins' || $scope === 'all';
    $withThemes = $scope === 'themes' || $scope === 'all';
    foreach ($targets as $slug) {
        $slug = (string) $slug;
        $package = $packages[$slug] ?? null;
        if ($slug === 'core') {
            if ($scope !== 'core' && $scope !== 'all') {
                throw new Pl_Error('invalid_input', 'WordPress itself is updated with scope core or all');
            }
            $plan['core'] = true;
            $plan['core_package'] = $package;
        } else {
            if ($scope === 'core') {
                throw new Pl_Error('invalid_input', "scope core updates WordPress itself, not $slug");
            }
            $isPlugin = $withPlugins && isset($plugins[$slug]);
            $isTheme = $withThemes && isset($themes[$slug]);
            if ($isPlugin && $isTheme) {
                throw new Pl_Error('invalid_input', "$slug is a plugin and a theme: update it with scope plugins or themes");
            }
            if (!$isPlugin && !$isTheme) {
                $what = ['plugins' => 'plugin', 'themes' => 'theme', 'all' => 'plugin or theme'][$scope];
                throw new Pl_Error('not_found', "$slug is not an installed $what");
            }
            if ($isPlugin) {
                $plan['plugins'][$plugins[$slug]] = $package;
            } else {
                $plan['themes'][$slug] = $package;
            }
        }
        if ($package === null) {
            $plan['wporg'] = true;
        }
    }
    return $plan;
}

/** What changed between two pl_installed() lists: [{type, slug, from, to}]. */
function pl_changes(array $before, array $after): array
{
    $old = [];
    foreach ($before as $it) {
        $old[$it['type'] . "\0" . $it['slug']] = $it['version'];
    }
    $changes = [];
    foreach ($after as $it) {
        $from = $old[$it['type'] . "\0" . $it['slug']] ?? '';
        if ($from !== $it['version']) {
            $changes[] = ['type' => $it['type'], 'slug' => $it['slug'], 'from' => $from, 'to' => $it['version']];
        }
    }
    return $changes;
}

/** Throws update_failed naming what failed, with the upgrader's own messages. */
function pl_upgrade_failed(string $what, $result, Automatic_Upgrader_Skin $skin): void
{
    $message = is_wp_error($result) ? $result->get_error_message() : 'the upgrader could not write the files';
    $said = array_slice(array_filter(array_map(static fn($m) => trim(strip_tags((string) $m)), $skin->get_upgrade_messages())), -5);
    throw new Pl_Error('update_failed', "$what: $message" . ($said !== [] ? ' (upgrader: ' . implode('; ', $said) . ')' : ''));
}

/**
 * Runs WordPress's upgraders on the tree at ABSPATH (a new release) with
 * local packages or wordpress.org's. stdin: {scope, items, packages:
 * {slug: path}, temp_dir}. The database is the live one: plugin and theme
 * updates write only WordPress's update bookkeeping there; a core update
 * leaves the database upgrade to after the switch (db-upgrade).
 */
function pl_cmd_update(array $in): array
{
    $scope = $in['scope'] ?? null;
    $items = $in['items'] ?? [];
    $packages = $in['packages'] ?? [];
    if (!is_string($scope) || !is_array($items) || !array_is_list($items) || !is_array($packages)
        || array_filter($items, 'is_string') !== $items || array_filter($packages, 'is_string') !== $packages) {
        throw new Pl_Error('invalid_input', 'stdin must be {scope, items: [slugs], packages: {slug: path}}');
    }
    foreach ($packages as $slug => $path) {
        if (!is_string($slug) || !is_file($path) || !is_readable($path)) {
            throw new Pl_Error('invalid_input', "the package for $slug is not a readable file");
        }
    }
    $temp = $in['temp_dir'] ?? null;
    if (is_string($temp) && is_dir($temp) && !defined('WP_TEMP_DIR')) {
        define('WP_TEMP_DIR', rtrim($temp, '/') . '/');
    }
    if (!defined('FS_METHOD')) {
        define('FS_METHOD', 'direct');
    }
    pl_load_admin();
    $before = pl_installed();
    $plan = pl_update_plan($scope, $items, $packages, $before);
    $offers = ['core' => null, 'plugins' => [], 'themes' => []];
    if ($plan['wporg']) {
        $problem = pl_ask_wordpress_org();
        if ($problem !== null) {
            throw new Pl_Error('update_unavailable', "no package URL was given, and $problem");
        }
        $offers = pl_wporg_offers();
    }
    $skipped = [];
    if ($plan['all_available']) {
        foreach ($before as $it) {
            if ($it['type'] === 'plugin' && ($scope === 'plugins' || $scope === 'all') && isset($offers['plugins'][$it['file']])) {
                $plan['plugins'][$it['file']] = null;
            } elseif ($it['type'] === 'theme' && ($scope === 'themes' || $scope === 'all') && isset($offers['themes'][$it['slug']])) {
                $plan['themes'][$it['slug']] = null;
            }
        }
    }
    $skin = new Automatic_Upgrader_Skin();

    // Plugins: WordPress's bulk upgrade (no deactivation, unlike the single one), from a response list that names the packages.
    $response = [];
    foreach ($plan['plugins'] as $file => $package) {
        if ($package !== null) {
            $response[$file] = (object) ['slug' => pl_plugin_slug($file), 'plugin' => $file, 'new_version' => '', 'url' => '', 'package' => $package];
        } elseif (isset($offers['plugins'][$file])) {
            $response[$file] = $offers['plugins'][$file];
        } else {
            $skipped[] = 'plugin ' . pl_plugin_slug($file) . ' is up to date';
        }
    }
    if ($response !== []) {
        $transient = static fn() => (object) ['last_checked' => time(), 'response' => $response, 'translations' => [], 'no_update' => [], 'checked' => []];
        add_filter('pre_site_transient_update_plugins', $transient);
        $results = (new Plugin_Upgrader($skin))->bulk_upgrade(array_keys($response), ['clear_update_cache' => false]);
        remove_filter('pre_site_transient_update_plugins', $transient);
        foreach (array_keys($response) as $file) {
            $result = is_array($results) ? ($results[$file] ?? false) : false;
            if (!is_array($result) && $result !== true) {
                pl_upgrade_failed('plugin ' . pl_plugin_slug($file), $result, $skin);
            }
        }
    }

    // Themes, the same way.
    $response = [];
    foreach ($plan['themes'] as $slug => $package) {
        if ($package !== null) {
            $response[$slug] = ['theme' => $slug, 'new_version' => '', 'url' => '', 'package' => $package, 'requires' => false, 'requires_php' => false];
        } elseif (isset($offers['themes'][$slug])) {
            $response[$slug] = $offers['themes'][$slug];
        } else {
            $skipped[] = "theme $slug is up to date";
        }
    }
    if ($response !== []) {
        $transient = static fn() => (object) ['last_checked' => time(), 'response' => $response, 'translations' => [], 'no_update' => [], 'checked' => []];
        add_filter('pre_site_transient_update_themes', $transient);
        $results = (new Theme_Upgrader($skin))->bulk_upgrade(array_map('strval', array_keys($response)), ['clear_update_cache' => false]);
        remove_filter('pre_site_transient_update_themes', $transient);
        foreach (array_keys($response) as $slug) {
            $result = is_array($results) ? ($results[$slug] ?? false) : false;
            if (!is_array($result) && $result !== true) {
                pl_upgrade_failed("theme $slug", $result, $skin);
            }
        }
    }

    // WordPress itself: the Core_Upgrader copies the package over ABSPATH.
    if ($plan['core']) {
        $offer = $offers['core'];
        if ($plan['core_package'] !== null) {
            $pkg = $plan['core_package'];
            $offer = (object) ['response' => 'upgrade', 'download' => $pkg, 'locale' => get_locale(), 'current' => '', 'version' => '',
                'php_version' => '5.6.20', 'mysql_version' => '5.0', 'new_bundled' => '', 'partial_version' => false,
                'packages' => (object) ['full' => $pkg, 'no_content' => false, 'new_bundled' => false, 'partial' => false, 'rollback' => false]];
        }
        if ($offer === null) {
            $skipped[] = 'WordPress is up to date';
        } else {
            // The agent holds the environment's lock: a lock left by a killed run must not stop this one.
            WP_Upgrader::release_lock('core_updater');
            $result = (new Core_Upgrader($skin))->upgrade($offer, ['pre_check_md5' => false, 'attempt_rollback' => false, 'allow_relaxed_file_ownership' => true]);
            if (is_wp_error($result) || $result === false || $result === null) {
                pl_upgrade_failed('WordPress', $result, $skin);
            }
        }
    }
    return ['changed' => pl_changes($before, pl_installed()), 'skipped' => $skipped];
}

/**
 * Runs WordPress's database upgrade (as wp-admin/upgrade.php does) when the
 * code expects a newer database than the one it finds; an older code
 * (a rollback) leaves the database alone.
 */
function pl_cmd_db_upgrade(): array
{
    global $wp_db_version;
    require_once ABSPATH . 'wp-admin/includes/upgrade.php';
    if (!is_blog_installed()) {
        throw new Pl_Error('not_found', 'WordPress is not installed');
    }
    $from = (int) get_option('db_version');
    if ($from >= (int) $wp_db_version) {
        return ['upgraded' => false, 'from' => $from, 'to' => $from];
    }
    wp_upgrade();
    wp_cache_flush();
    wp_cache_delete('alloptions', 'options');
    return ['upgraded' => true, 'from' => $from, 'to' => (int) get_option('db_version')];
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

<?php
/**
 * The helper as a process: argument handling, one JSON object on stdout whatever
 * WordPress prints, and stdin for values. WordPress is replaced by small stubs.
 */

declare(strict_types=1);

/** Runs the helper; returns [exit code, stdout, stderr]. */
function pl_t_helper(array $args, string $stdin = ''): array
{
    $cmd = array_merge([PHP_BINARY, '-d', 'display_errors=1', __DIR__ . '/../helper.php'], $args);
    $proc = proc_open($cmd, [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
    fwrite($pipes[0], $stdin);
    fclose($pipes[0]);
    $out = stream_get_contents($pipes[1]);
    $err = stream_get_contents($pipes[2]);
    fclose($pipes[1]);
    fclose($pipes[2]);
    return [proc_close($proc), $out, $err];
}

/** Asserts stdout is exactly one JSON object on one line and returns it decoded. */
function pl_t_json(string $stdout): array
{
    pl_t_true(substr_count($stdout, "\n") === 1 && str_ends_with($stdout, "\n"), 'stdout is one line: ' . pl_t_show($stdout));
    $data = json_decode($stdout, true);
    pl_t_true(is_array($data) && isset($data['ok']), 'stdout is a JSON result: ' . pl_t_show($stdout));
    return $data;
}

/** A directory with a stub wp-load.php made of $body (WordPress functions the command needs). */
function pl_t_stub_wordpress(string $body): string
{
    $dir = sys_get_temp_dir() . '/pl-helper-test-' . bin2hex(random_bytes(6));
    mkdir($dir);
    file_put_contents($dir . '/wp-load.php', "<?php\n" . $body);
    register_shutdown_function(static function () use ($dir) {
        array_map('unlink', glob($dir . '/*'));
        rmdir($dir);
    });
    return $dir;
}

const PL_T_STUB_HEALTH = <<<'PHP'
$GLOBALS['wp_version'] = '6.1.9';
$wpdb = new class { public function get_var($q) { return '1'; } };
function is_blog_installed() { return defined('WP_INSTALLING'); }
function get_bloginfo($show, $filter) { return get_option('blogname'); }
function wptexturize($s) { return str_replace('--', '&#8212;', $s); }
function convert_chars($s) { return $s; }
function esc_html($s) { return $s; }
function capital_P_dangit($s) { return $s; }
function get_option($name, $default = false) {
    return ['siteurl' => 'http://a.test', 'home' => 'http://a.test', 'blogname' => 'Acme -- Co', 'active_plugins' => ['x/x.php'], 'stylesheet' => 'twentytwentythree'][$name] ?? $default;
}
PHP;

pl_test('cli: version needs no WordPress', function () {
    [$code, $out] = pl_t_helper(['version']);
    pl_t_same(0, $code);
    $data = pl_t_json($out);
    pl_t_same(true, $data['ok']);
    pl_t_same(PL_HELPER_VERSION, $data['version']);
});

pl_test('cli: usage errors are JSON with exit code 1', function () {
    $cases = [
        [[], 'usage'],
        [['frobnicate'], 'usage'],
        [['health'], 'usage'],
        [['health', '--path=/x', 'stray'], 'usage'],
        [['option-get', '--path=/x', '--secret=1'], 'usage'],
        [['health', '--path=/nonexistent', '--allow-root'], 'not_found'],
    ];
    foreach ($cases as [$args, $want]) {
        [$code, $out] = pl_t_helper($args);
        pl_t_same(1, $code, implode(' ', $args));
        $data = pl_t_json($out);
        pl_t_same(false, $data['ok']);
        pl_t_same($want, $data['error']['code'], implode(' ', $args));
    }
});

pl_test('cli: argument parsing', function () {
    $cli = pl_parse_args(['helper.php', 'search-replace', '--path=/p', '--from=//a.test', '--to=//b=c', '--dry-run']);
    pl_t_same('search-replace', $cli['command']);
    pl_t_same(['path' => '/p', 'from' => '//a.test', 'to' => '//b=c', 'dry-run' => true], $cli['options']);
});

pl_test('cli: search-replace takes --database, and only a database name', function () {
    $cli = pl_parse_args(['helper.php', 'search-replace-many', '--path=/p', '--database=plr_0123abcd']);
    pl_t_same(['path' => '/p', 'database' => 'plr_0123abcd'], $cli['options']);
    foreach (['', 'Upper', 'a`b', 'x; DROP', '1abc', str_repeat('a', 65)] as $name) {
        try {
            pl_use_database(['database' => $name]);
            pl_t_true(false, 'accepted ' . pl_t_show($name));
        } catch (Pl_Error $e) {
            pl_t_same('usage', $e->errorCode, pl_t_show($name));
        }
    }
    pl_use_database([]); // no option: nothing to do
});

pl_test('cli: cache-flush empties the object cache only, with WordPress loaded minimally', function () {
    $dir = pl_t_stub_wordpress('function wp_cache_flush() { file_put_contents(__DIR__ . "/flushed", defined("WP_INSTALLING") ? "minimal" : "full"); return true; }'
        . "\nfunction flush_rewrite_rules(\$hard = true) { file_put_contents(__DIR__ . '/rewrote', '1'); }\n");
    [$code, $out] = pl_t_helper(['cache-flush', '--path=' . $dir, '--allow-root']);
    pl_t_same([0, ['ok' => true, 'flushed' => ['object_cache']]], [$code, pl_t_json($out)], $out);
    pl_t_same('minimal', file_get_contents($dir . '/flushed'));
    pl_t_true(!file_exists($dir . '/rewrote'), 'rewrite rules (options) untouched');
});

pl_test('cli: refuses to run WordPress as root unless told to', function () {
    $dir = pl_t_stub_wordpress(PL_T_STUB_HEALTH);
    [$code, $out] = pl_t_helper(['health', '--path=' . $dir]);
    $data = pl_t_json($out);
    if (posix_geteuid() === 0) {
        pl_t_same([1, 'run_as_root'], [$code, $data['error']['code']]);
    } else {
        pl_t_same([0, true], [$code, $data['ok']], 'not root: runs');
    }
});

pl_test('cli: health reports facts; noise and warnings stay out of stdout', function () {
    $dir = pl_t_stub_wordpress("echo 'stray output';\ntrigger_error('stub warning', E_USER_WARNING);\n"
        . "register_shutdown_function(function () { echo 'late output'; });\n" . PL_T_STUB_HEALTH);
    [$code, $out, $err] = pl_t_helper(['health', '--path=' . $dir, '--allow-root']);
    pl_t_same(0, $code, 'exit code; stderr ' . $err);
    $data = pl_t_json($out);
    pl_t_same(true, $data['installed'], 'minimal load (WP_INSTALLING) for health');
    pl_t_same(['6.1.9', true, 'http://a.test', 'Acme -- Co', 'Acme &#8212; Co', ['x/x.php'], 'twentytwentythree'],
        [$data['wp_version'], $data['db_ok'], $data['home'], $data['title'], $data['title_html'], $data['active_plugins'], $data['theme']]);
    $warnings = implode("\n", $data['warnings'] ?? []);
    pl_t_true(str_contains($warnings, 'stub warning') && str_contains($warnings, 'stray output'), 'warnings reported: ' . $warnings);
});

pl_test('cli: WordPress exiting early or dying fatally still yields one JSON error', function () {
    $cases = [
        "echo 'bye'; exit(0);" => 'wp_exit',
        'function pl_twice() {} function pl_twice() {}' => 'php_fatal',
        'pl_no_such_function();' => 'php_error',
    ];
    foreach ($cases as $body => $want) {
        [$code, $out] = pl_t_helper(['health', '--path=' . pl_t_stub_wordpress($body), '--allow-root']);
        pl_t_same(1, $code, $body);
        pl_t_same($want, pl_t_json($out)['error']['code'], $body);
    }
});

pl_test('cli: option-set takes the value from stdin, not argv', function () {
    $dir = pl_t_stub_wordpress('function update_option($n, $v, $a = null) { file_put_contents(__DIR__ . "/got.json", json_encode([$n, $v, $a])); return true; }'
        . "\nfunction wp_cache_delete(\$k, \$g) {}\n");
    $value = ['url' => 'https://a.test/', 'n' => [1, 2], 'quote' => "it's \"x\" \\ ü"];
    [$code, $out] = pl_t_helper(['option-set', '--path=' . $dir, '--name=pl_test', '--autoload=no', '--allow-root'], json_encode(['value' => $value]));
    pl_t_same(0, $code, $out);
    pl_t_same(['ok' => true, 'name' => 'pl_test', 'changed' => true], pl_t_json($out));
    pl_t_same(['pl_test', $value, 'no'], json_decode(file_get_contents($dir . '/got.json'), true));

    [$code, $out] = pl_t_helper(['option-set', '--path=' . $dir, '--name=pl_test', '--allow-root'], 'not json');
    pl_t_same([1, 'invalid_input'], [$code, pl_t_json($out)['error']['code']]);
});

pl_test('cli: search-replace-many wants a list of from/to pairs', function () {
    foreach ([null, [], ['from' => '//a.test', 'to' => '//b.test'], [['from' => '//a.test']], [['from' => 1, 'to' => '//b.test']]] as $pairs) {
        try {
            pl_cmd_search_replace_many($pairs, false);
            pl_t_true(false, 'accepted ' . pl_t_show($pairs));
        } catch (Pl_Error $e) {
            pl_t_same('invalid_input', $e->errorCode, pl_t_show($pairs));
        }
    }
});

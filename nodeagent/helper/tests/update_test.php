<?php
/**
 * Updates: what an update replaces (pure), what changed, and the update,
 * updates and db-upgrade commands as processes on a small WordPress tree
 * whose upgrader classes unpack local zips the way WordPress's do (the
 * real classes run on the end-to-end nodes).
 */

declare(strict_types=1);

const PL_T_INSTALLED = [
    ['type' => 'core', 'slug' => 'core', 'name' => 'WordPress', 'version' => '6.1.9', 'available' => '', 'active' => true],
    ['type' => 'plugin', 'slug' => 'hello', 'name' => 'Hello', 'version' => '1.0', 'available' => '', 'active' => true, 'file' => 'hello/hello.php'],
    ['type' => 'plugin', 'slug' => 'solo', 'name' => 'Solo', 'version' => '2.0', 'available' => '', 'active' => false, 'file' => 'solo.php'],
    ['type' => 'plugin', 'slug' => 'twin', 'name' => 'Twin plugin', 'version' => '1', 'available' => '', 'active' => false, 'file' => 'twin/twin.php'],
    ['type' => 'theme', 'slug' => 'twin', 'name' => 'Twin theme', 'version' => '1', 'available' => '', 'active' => false],
    ['type' => 'theme', 'slug' => 'plain', 'name' => 'Plain', 'version' => '1.0', 'available' => '', 'active' => true],
];

function pl_t_plan_error(callable $fn): string
{
    try {
        $fn();
    } catch (Pl_Error $e) {
        return $e->errorCode;
    }
    return 'accepted';
}

pl_test('update: plugin slugs are directories, or file names of single-file plugins', function () {
    pl_t_same('hello-dolly', pl_plugin_slug('hello-dolly/hello.php'));
    pl_t_same('hello', pl_plugin_slug('hello.php'));
});

pl_test('update: the plan takes packages, wordpress.org or everything with an update', function () {
    $plan = pl_update_plan('plugins', [], ['hello' => '/p/hello.zip'], PL_T_INSTALLED);
    pl_t_same(['hello/hello.php' => '/p/hello.zip'], $plan['plugins'], 'a package alone');
    pl_t_same([false, false, false], [$plan['wporg'], $plan['all_available'], $plan['core']]);

    $plan = pl_update_plan('all', ['hello', 'plain', 'solo'], ['hello' => '/p/hello.zip', 'plain' => '/p/plain.zip'], PL_T_INSTALLED);
    pl_t_same(['hello/hello.php' => '/p/hello.zip', 'solo.php' => null], $plan['plugins'], 'items: with and without a package');
    pl_t_same(['plain' => '/p/plain.zip'], $plan['themes']);
    pl_t_same(true, $plan['wporg'], 'solo comes from wordpress.org');

    $plan = pl_update_plan('all', [], [], PL_T_INSTALLED);
    pl_t_same([true, true, true, [], []], [$plan['wporg'], $plan['all_available'], $plan['core'], $plan['plugins'], $plan['themes']], 'nothing named');
    $plan = pl_update_plan('themes', [], [], PL_T_INSTALLED);
    pl_t_same(false, $plan['core'], 'themes only');

    $plan = pl_update_plan('core', [], ['core' => '/p/wordpress.zip'], PL_T_INSTALLED);
    pl_t_same([true, '/p/wordpress.zip', false], [$plan['core'], $plan['core_package'], $plan['wporg']], 'core from a package');
    $plan = pl_update_plan('themes', ['twin'], [], PL_T_INSTALLED);
    pl_t_same(['twin' => null], $plan['themes'], 'the scope tells a plugin from a theme');
});

pl_test('update: the plan refuses what it cannot do', function () {
    $cases = [
        'unknown scope' => [fn() => pl_update_plan('everything', [], [], PL_T_INSTALLED), 'invalid_input'],
        'not installed' => [fn() => pl_update_plan('plugins', ['nope'], [], PL_T_INSTALLED), 'not_found'],
        'a theme in plugins' => [fn() => pl_update_plan('plugins', ['plain'], [], PL_T_INSTALLED), 'not_found'],
        'plugin and theme' => [fn() => pl_update_plan('all', ['twin'], [], PL_T_INSTALLED), 'invalid_input'],
        'core in plugins' => [fn() => pl_update_plan('plugins', ['core'], [], PL_T_INSTALLED), 'invalid_input'],
        'a plugin in core' => [fn() => pl_update_plan('core', ['hello'], [], PL_T_INSTALLED), 'invalid_input'],
        'package not an item' => [fn() => pl_update_plan('plugins', ['solo'], ['hello' => '/p/h.zip'], PL_T_INSTALLED), 'invalid_input'],
    ];
    foreach ($cases as $name => [$fn, $want]) {
        pl_t_same($want, pl_t_plan_error($fn), $name);
    }
});

pl_test('update: changes compare versions by type and slug', function () {
    $after = PL_T_INSTALLED;
    $after[1]['version'] = '1.1';
    $after[5]['version'] = '2.0';
    $after[] = ['type' => 'theme', 'slug' => 'fresh', 'version' => '0.1'];
    pl_t_same([
        ['type' => 'plugin', 'slug' => 'hello', 'from' => '1.0', 'to' => '1.1'],
        ['type' => 'theme', 'slug' => 'plain', 'from' => '1.0', 'to' => '2.0'],
        ['type' => 'theme', 'slug' => 'fresh', 'from' => '', 'to' => '0.1'],
    ], pl_changes(PL_T_INSTALLED, $after));
    pl_t_same([], pl_changes(PL_T_INSTALLED, PL_T_INSTALLED));
});

// ---------------------------------------------------------------------------
// The commands as processes
// ---------------------------------------------------------------------------

/** WordPress functions the update commands call, over the files of the tree. */
const PL_T_STUB_UPDATE = <<<'PHP'
define('ABSPATH', __DIR__ . '/');
define('WP_CONTENT_DIR', __DIR__ . '/wp-content');
define('WP_PLUGIN_DIR', WP_CONTENT_DIR . '/plugins');
if (is_file(__DIR__ . '/offline')) {
    define('WP_HTTP_BLOCK_EXTERNAL', true);
}
$GLOBALS['wp_version'] = '6.1.9';
$GLOBALS['wp_db_version'] = 53496;
$GLOBALS['pl_stub_filters'] = [];
$GLOBALS['pl_stub_options'] = json_decode((string) @file_get_contents(__DIR__ . '/options.json'), true) ?: [];
class WP_Error { public function __construct(public $code = '', public $message = '') {} public function get_error_message() { return $this->message; } }
function is_wp_error($x) { return $x instanceof WP_Error; }
function add_filter($hook, $fn, $prio = 10, $args = 1) { $GLOBALS['pl_stub_filters'][$hook][] = $fn; return true; }
function remove_filter($hook, $fn) { $GLOBALS['pl_stub_filters'][$hook] = array_filter($GLOBALS['pl_stub_filters'][$hook] ?? [], fn($f) => $f !== $fn); return true; }
function remove_action($hook, $fn, $prio = 10) { return true; }
function apply_filters($hook, $value, ...$args) { foreach ($GLOBALS['pl_stub_filters'][$hook] ?? [] as $fn) { $value = $fn($value, ...$args); } return $value; }
function get_site_transient($name) { $pre = apply_filters('pre_site_transient_' . $name, false, $name); return $pre !== false ? $pre : ($GLOBALS['pl_stub_transients'][$name] ?? false); }
function wp_remote_get($url, $args = []) {
    if (!is_file(ABSPATH . 'wporg.json')) {
        return new WP_Error('http_request_failed', 'cURL error 6: Could not resolve host: api.wordpress.org');
    }
    return ['response' => ['code' => 200]];
}
function wp_remote_retrieve_response_code($r) { return $r['response']['code'] ?? ''; }
function wp_installing($set = null) { return true; }
function delete_site_transient($name) { unset($GLOBALS['pl_stub_transients'][$name]); }
function set_site_transient($name, $value) { $GLOBALS['pl_stub_transients'][$name] = $value; }
// wordpress.org's answers, as WordPress's own checks store them.
function pl_stub_wporg() { return json_decode((string) file_get_contents(ABSPATH . 'wporg.json')); }
function wp_version_check($extra = [], $force = false) { set_site_transient('update_core', (object) ['updates' => [pl_stub_wporg()->core]]); }
function wp_update_plugins() { set_site_transient('update_plugins', (object) ['response' => (array) pl_stub_wporg()->plugins]); }
function wp_update_themes() { set_site_transient('update_themes', (object) ['response' => json_decode(json_encode(pl_stub_wporg()->themes), true)]); }
function get_option($name, $default = false) { return $GLOBALS['pl_stub_options'][$name] ?? $default; }
function update_option($name, $value) { $GLOBALS['pl_stub_options'][$name] = $value; file_put_contents(ABSPATH . 'options.json', json_encode($GLOBALS['pl_stub_options'])); return true; }
function is_blog_installed() { return true; }
function get_locale() { return 'en_US'; }
function wp_cache_flush() { return true; }
function wp_cache_delete($k, $g = '') { return true; }
function wp_clean_plugins_cache($clear = true) {}
function search_theme_directories($force = false) {}
function get_file_data($file, $headers) {
    $src = (string) @file_get_contents($file);
    $out = [];
    foreach ($headers as $key => $label) {
        $out[$key] = preg_match('/^[ \t\/*#@]*' . preg_quote($label, '/') . ':(.*)$/mi', $src, $m) ? trim($m[1]) : '';
    }
    return $out;
}
function get_plugins() {
    $plugins = [];
    foreach (array_merge(glob(WP_PLUGIN_DIR . '/*.php'), glob(WP_PLUGIN_DIR . '/*/*.php')) as $path) {
        $data = get_file_data($path, ['Name' => 'Plugin Name', 'Version' => 'Version']);
        if ($data['Name'] !== '') {
            $plugins[substr($path, strlen(WP_PLUGIN_DIR) + 1)] = $data;
        }
    }
    ksort($plugins);
    return $plugins;
}
function is_plugin_active($file) { return in_array($file, get_option('active_plugins', []), true); }
function wp_get_themes() {
    $themes = [];
    foreach (glob(WP_CONTENT_DIR . '/themes/*/style.css') as $css) {
        $dir = dirname($css);
        $themes[basename($dir)] = new class($dir) { public function __construct(private string $dir) {} public function get_stylesheet_directory() { return $this->dir; } };
    }
    return $themes;
}
PHP;

/** Upgrader classes that unpack a package's top directory over the old one, as WordPress's do. */
const PL_T_STUB_UPGRADER = <<<'PHP'
<?php
function pl_stub_unpack(string $zip, string $into): string {
    $tmp = sys_get_temp_dir() . '/pl-unpack-' . bin2hex(random_bytes(4));
    (new PharData($zip))->extractTo($tmp, null, true);
    $top = glob($tmp . '/*')[0];
    $dest = $into . '/' . basename($top);
    exec('rm -rf ' . escapeshellarg($dest));
    rename($top, $dest);
    rmdir($tmp);
    return basename($top);
}
class Automatic_Upgrader_Skin { public $messages = []; public function get_upgrade_messages() { return $this->messages; } }
class WP_Upgrader {
    public static $released = [];
    public function __construct(public $skin = null) {}
    public static function release_lock($name) { self::$released[] = $name; }
}
class Plugin_Upgrader extends WP_Upgrader {
    public function bulk_upgrade($plugins, $args = []) {
        $current = get_site_transient('update_plugins');
        $results = [];
        foreach ($plugins as $file) {
            $package = $current->response[$file]->package;
            if (!str_ends_with($package, '.zip')) {
                $this->skin->messages[] = 'Download failed.';
                $results[$file] = new WP_Error('download_failed', 'Download failed.');
                continue;
            }
            $results[$file] = ['destination_name' => pl_stub_unpack($package, WP_PLUGIN_DIR)];
        }
        return $results;
    }
}
class Theme_Upgrader extends WP_Upgrader {
    public function bulk_upgrade($themes, $args = []) {
        $current = get_site_transient('update_themes');
        $results = [];
        foreach ($themes as $slug) {
            $results[$slug] = ['destination_name' => pl_stub_unpack($current->response[$slug]['package'], WP_CONTENT_DIR . '/themes')];
        }
        return $results;
    }
}
class Core_Upgrader extends WP_Upgrader {
    public function upgrade($offer, $args = []) {
        $tmp = sys_get_temp_dir() . '/pl-core-' . bin2hex(random_bytes(4));
        (new PharData($offer->packages->full))->extractTo($tmp, null, true);
        copy($tmp . '/wordpress/wp-includes/version.php', ABSPATH . 'wp-includes/version.php');
        exec('rm -rf ' . escapeshellarg($tmp));
        return '6.2';
    }
}
PHP;

/** A WordPress tree with plugin hello 1.0 (active), theme plain 1.0 and the stubs; removed at exit. */
function pl_t_update_tree(): string
{
    $dir = sys_get_temp_dir() . '/pl-update-test-' . bin2hex(random_bytes(6));
    $files = [
        'wp-load.php' => "<?php\n" . PL_T_STUB_UPDATE,
        'wp-admin/includes/admin.php' => "<?php\n",
        'wp-admin/includes/upgrade.php' => "<?php\nfunction wp_upgrade() { update_option('db_version', \$GLOBALS['wp_db_version']); }\n",
        'wp-admin/includes/class-wp-upgrader.php' => PL_T_STUB_UPGRADER,
        'wp-includes/version.php' => "<?php\n\$wp_version = '6.1.9';\n",
        'wp-content/plugins/hello/hello.php' => "<?php\n/*\n * Plugin Name: Hello\n * Version: 1.0\n */\n",
        'wp-content/themes/plain/style.css' => "/*\nTheme Name: Plain\nVersion: 1.0\n*/\n",
        'options.json' => json_encode(['active_plugins' => ['hello/hello.php'], 'stylesheet' => 'plain', 'template' => 'plain', 'db_version' => 53000]),
    ];
    foreach ($files as $name => $content) {
        @mkdir(dirname("$dir/$name"), 0777, true);
        file_put_contents("$dir/$name", $content);
    }
    register_shutdown_function(static fn() => exec('rm -rf ' . escapeshellarg($dir)));
    return $dir;
}

/** A zip package holding $files (name => content). */
function pl_t_zip(string $dir, string $name, array $files): string
{
    $path = "$dir/$name.zip";
    $zip = new PharData($path, 0, null, Phar::ZIP);
    foreach ($files as $file => $content) {
        $zip->addFromString($file, $content);
    }
    unset($zip);
    return $path;
}

pl_test('update: a plugin and a theme from local zips, changes reported', function () {
    $dir = pl_t_update_tree();
    $plugin = pl_t_zip($dir, 'hello-1.1', ['hello/hello.php' => "<?php\n/*\n * Plugin Name: Hello\n * Version: 1.1\n */\n"]);
    $theme = pl_t_zip($dir, 'plain-2.0', ['plain/style.css' => "/*\nTheme Name: Plain\nVersion: 2.0\n*/\n"]);
    $stdin = json_encode(['scope' => 'all', 'items' => [], 'packages' => ['hello' => $plugin, 'plain' => $theme], 'temp_dir' => $dir]);
    [$code, $out, $err] = pl_t_helper(['update', '--path=' . $dir, '--allow-root'], $stdin);
    pl_t_same(0, $code, "exit code; stdout $out; stderr $err");
    $data = pl_t_json($out);
    pl_t_same([
        ['type' => 'plugin', 'slug' => 'hello', 'from' => '1.0', 'to' => '1.1'],
        ['type' => 'theme', 'slug' => 'plain', 'from' => '1.0', 'to' => '2.0'],
    ], $data['changed']);
    pl_t_true(str_contains((string) file_get_contents("$dir/wp-content/plugins/hello/hello.php"), 'Version: 1.1'), 'the new plugin is in the tree');
});

pl_test('update: WordPress itself from a local zip', function () {
    $dir = pl_t_update_tree();
    $core = pl_t_zip($dir, 'wordpress-6.2', ['wordpress/wp-includes/version.php' => "<?php\n\$wp_version = '6.2';\n"]);
    [$code, $out] = pl_t_helper(['update', '--path=' . $dir, '--allow-root'], json_encode(['scope' => 'core', 'packages' => ['core' => $core]]));
    pl_t_same(0, $code, $out);
    pl_t_same([['type' => 'core', 'slug' => 'core', 'from' => '6.1.9', 'to' => '6.2']], pl_t_json($out)['changed']);
});

pl_test('update: without a package and without wordpress.org, update_unavailable at once', function () {
    foreach (['offline node' => true, 'wordpress.org unreachable' => false] as $name => $offline) {
        $dir = pl_t_update_tree();
        if ($offline) {
            touch("$dir/offline");
        }
        $start = microtime(true);
        [$code, $out] = pl_t_helper(['update', '--path=' . $dir, '--allow-root'], json_encode(['scope' => 'plugins', 'items' => ['hello']]));
        $data = pl_t_json($out);
        pl_t_same([1, 'update_unavailable'], [$code, $data['error']['code'] ?? null], "$name: $out");
        pl_t_true(microtime(true) - $start < 5, "$name: answered quickly");
    }
});

pl_test('update: an upgrader failure is update_failed naming the item', function () {
    $dir = pl_t_update_tree();
    $bad = "$dir/hello.tar";
    file_put_contents($bad, 'not a zip');
    [$code, $out] = pl_t_helper(['update', '--path=' . $dir, '--allow-root'], json_encode(['scope' => 'plugins', 'packages' => ['hello' => $bad]]));
    $data = pl_t_json($out);
    pl_t_same([1, 'update_failed'], [$code, $data['error']['code'] ?? null], $out);
    pl_t_true(str_contains($data['error']['message'], 'plugin hello') && str_contains($data['error']['message'], 'Download failed'), $data['error']['message']);
});

pl_test('update: bad input on stdin is refused before anything runs', function () {
    $dir = pl_t_update_tree();
    foreach ([
        ['scope' => 1],
        ['scope' => 'plugins', 'items' => 'hello'],
        ['scope' => 'plugins', 'items' => [1]],
        ['scope' => 'plugins', 'packages' => ['hello' => "$dir/missing.zip"]],
        ['scope' => 'plugins', 'items' => ['nope'], 'packages' => []],
    ] as $in) {
        [$code, $out] = pl_t_helper(['update', '--path=' . $dir, '--allow-root'], json_encode($in));
        pl_t_same(1, $code, json_encode($in));
        pl_t_true(in_array(pl_t_json($out)['error']['code'], ['invalid_input', 'not_found'], true), json_encode($in) . ': ' . $out);
    }
});

pl_test('updates: lists what is installed and says why nothing is available', function () {
    $dir = pl_t_update_tree();
    touch("$dir/offline");
    [$code, $out] = pl_t_helper(['updates', '--path=' . $dir, '--check', '--allow-root']);
    pl_t_same(0, $code, $out);
    $data = pl_t_json($out);
    pl_t_same([false, true], [$data['checked'], str_contains($data['problem'], 'offline')], $data['problem']);
    pl_t_same([
        ['type' => 'core', 'slug' => 'core', 'name' => 'WordPress', 'version' => '6.1.9', 'available' => '', 'active' => true],
        ['type' => 'plugin', 'slug' => 'hello', 'name' => 'Hello', 'version' => '1.0', 'available' => '', 'active' => true],
        ['type' => 'theme', 'slug' => 'plain', 'name' => 'Plain', 'version' => '1.0', 'available' => '', 'active' => true],
    ], $data['items']);
});

pl_test('db-upgrade: runs only when the code expects a newer database', function () {
    $dir = pl_t_update_tree();
    [$code, $out] = pl_t_helper(['db-upgrade', '--path=' . $dir, '--allow-root']);
    pl_t_same(0, $code, $out);
    pl_t_same(['ok' => true, 'upgraded' => true, 'from' => 53000, 'to' => 53496], pl_t_json($out));
    [$code, $out] = pl_t_helper(['db-upgrade', '--path=' . $dir, '--allow-root']);
    pl_t_same(['ok' => true, 'upgraded' => false, 'from' => 53496, 'to' => 53496], pl_t_json($out), 'a second run');
});

pl_test('updates and update: what wordpress.org offers', function () {
    $dir = pl_t_update_tree();
    $plugin = pl_t_zip($dir, 'hello-1.2', ['hello/hello.php' => "<?php\n/*\n * Plugin Name: Hello\n * Version: 1.2\n */\n"]);
    file_put_contents("$dir/wporg.json", json_encode([
        'core' => ['response' => 'upgrade', 'version' => '6.2', 'current' => '6.2'],
        'plugins' => ['hello/hello.php' => ['slug' => 'hello', 'new_version' => '1.2', 'package' => $plugin]],
        'themes' => (object) [],
    ]));
    [$code, $out] = pl_t_helper(['updates', '--path=' . $dir, '--check', '--allow-root']);
    $data = pl_t_json($out);
    pl_t_same([0, true, ''], [$code, $data['checked'], $data['problem']], $out);
    pl_t_same(['6.2', '1.2', ''], array_column($data['items'], 'available'));

    // Every plugin wordpress.org has an update for, from its package.
    [$code, $out] = pl_t_helper(['update', '--path=' . $dir, '--allow-root'], json_encode(['scope' => 'plugins']));
    pl_t_same(0, $code, $out);
    pl_t_same([['type' => 'plugin', 'slug' => 'hello', 'from' => '1.0', 'to' => '1.2']], pl_t_json($out)['changed']);
    // Named and up to date: skipped, nothing changed.
    [$code, $out] = pl_t_helper(['update', '--path=' . $dir, '--allow-root'], json_encode(['scope' => 'themes', 'items' => ['plain']]));
    $data = pl_t_json($out);
    pl_t_same([0, [], ['theme plain is up to date']], [$code, $data['changed'], $data['skipped']], $out);
});

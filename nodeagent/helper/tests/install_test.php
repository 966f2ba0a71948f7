<?php
/**
 * install converges: an install cut short inside wp_install() (its process
 * stopped with its job) is removed and done again, a finished one is left.
 * WordPress is a stub that keeps its tables and options in state.json.
 */

declare(strict_types=1);

const PL_T_STUB_INSTALL = <<<'PHP'
function pl_t_state(?array $set = null): array {
    if ($set !== null) { file_put_contents(__DIR__ . '/state.json', json_encode($set)); }
    return json_decode((string) @file_get_contents(__DIR__ . '/state.json'), true) ?: ['tables' => [], 'options' => [], 'log' => []];
}
function pl_t_log(string $what): void { $s = pl_t_state(); $s['log'][] = $what; pl_t_state($s); }
function is_blog_installed() { return isset(pl_t_state()['options']['siteurl']); }
function get_option($name, $default = false) { return pl_t_state()['options'][$name] ?? $default; }
function update_option($name, $value, $autoload = null) { $s = pl_t_state(); $s['options'][$name] = $value; pl_t_state($s); return true; }
function delete_option($name) { $s = pl_t_state(); unset($s['options'][$name]); pl_t_state($s); return true; }
function wp_cache_flush() { return true; }
function is_email($e) { return str_contains($e, '@'); }
function sanitize_user($u, $strict = false) { return $u; }
function untrailingslashit($s) { return rtrim($s, '/'); }
function wp_slash($s) { return $s; }
function wp_install($title, $user, $email, $public, $deprecated = '', $password = '') {
    pl_t_state(['tables' => ['wp_options', 'wp_users'], 'options' => ['siteurl' => 'http://guessed', 'blogname' => 'My Site'],
        'log' => array_merge(pl_t_state()['log'], ['wp_install'])]);
    if (getenv('PL_T_CUT_SHORT')) { posix_kill(getmypid(), SIGKILL); } // stopped after the default options, as with its job
    update_option('blogname', $title);
    return ['user_id' => 1];
}
$wp_rewrite = new class { public function set_permalink_structure($s) { update_option('permalink_structure', $s); } };
$wpdb = new class {
    public $prefix = 'wp_';
    public function esc_like($s) { return addcslashes($s, '_%\\'); }
    public function prepare($q, ...$args) { return str_replace('%s', "'" . $args[0] . "'", $q); }
    public function get_col($q) { return pl_t_state()['tables']; }
    public function query($q) {
        pl_t_log($q);
        $s = pl_t_state();
        if (preg_match('/^DROP TABLE IF EXISTS `(.+)`$/', $q, $m)) {
            $s['tables'] = array_values(array_diff($s['tables'], [$m[1]]));
            if ($s['tables'] === []) { $s['options'] = []; }
        }
        pl_t_state($s);
        return true;
    }
};
PHP;

pl_test('install: an install cut short is removed and done again; a finished one is left', function () {
    // ABSPATH holds the wp-admin/includes/upgrade.php install loads.
    $abs = sys_get_temp_dir() . '/pl-helper-abspath-' . bin2hex(random_bytes(6));
    mkdir($abs . '/wp-admin/includes', 0o755, true);
    file_put_contents($abs . '/wp-admin/includes/upgrade.php', "<?php\n");
    register_shutdown_function(static function () use ($abs) {
        unlink($abs . '/wp-admin/includes/upgrade.php');
        rmdir($abs . '/wp-admin/includes');
        rmdir($abs . '/wp-admin');
        rmdir($abs);
    });
    $dir = pl_t_stub_wordpress("define('ABSPATH', " . var_export($abs . '/', true) . ");\n" . PL_T_STUB_INSTALL);
    $stdin = json_encode(['url' => 'http://acme.test', 'title' => 'Acme', 'admin_user' => 'admin', 'admin_email' => 'a@acme.test',
        'admin_password' => 'secret-password']);
    $state = fn() => json_decode((string) file_get_contents($dir . '/state.json'), true);

    putenv('PL_T_CUT_SHORT=1');
    [$code] = pl_t_helper(['install', '--path=' . $dir, '--allow-root'], $stdin);
    putenv('PL_T_CUT_SHORT');
    pl_t_true($code !== 0, 'the first run stops inside wp_install');
    pl_t_same('My Site', $state()['options']['blogname'], 'the cut-short install left the defaults');

    [$code, $out] = pl_t_helper(['install', '--path=' . $dir, '--allow-root'], $stdin);
    $data = pl_t_json($out);
    pl_t_same([0, false, true], [$code, $data['already_installed'], $data['restarted']], $out);
    $s = $state();
    pl_t_same(['wp_install', 'DROP TABLE IF EXISTS `wp_options`', 'DROP TABLE IF EXISTS `wp_users`', 'wp_install'], $s['log']);
    pl_t_same(['Acme', 'http://acme.test', '/%postname%/', '1'],
        [$s['options']['blogname'], $s['options']['home'], $s['options']['permalink_structure'], $s['options'][PL_INSTALLED_OPTION]]);

    [$code, $out] = pl_t_helper(['install', '--path=' . $dir, '--allow-root'], $stdin);
    pl_t_same([0, true], [$code, pl_t_json($out)['already_installed']], $out);
    pl_t_same(4, count($state()['log']), 'a finished install is left as it is');
});

<?php
/**
 * Time the node helper's search-replace takes per value, on adversarial values of
 * 1 MB and 5 MB. Prints one line per value: seconds, MB/s, the memory the rewrite
 * needed beyond the value (peak MB) and the status.
 *
 *   php bench/search-replace.php [--helper=PATH] [--sizes=1,5] [--only=NAME,...]
 *
 * --helper measures another copy of the helper (for example an older one).
 */

declare(strict_types=1);

$opts = getopt('', ['helper:', 'sizes:', 'only:']);
require $opts['helper'] ?? __DIR__ . '/../nodeagent/helper/helper.php';
$sizes = array_map('floatval', explode(',', $opts['sizes'] ?? '1,5'));
$only = isset($opts['only']) ? explode(',', $opts['only']) : null;

const URL = 's:15:"http://old.host";';

/** Repeats $unit until the result has about $bytes bytes. */
function fill(string $unit, int $bytes): string
{
    return str_repeat($unit, max(1, intdiv($bytes, strlen($unit))));
}

/** $s nested in $levels serialized strings. */
function nest(string $s, int $levels): string
{
    for ($i = 0; $i < $levels; $i++) {
        $s = serialize($s);
    }
    return $s;
}

/** name => builder of a value of about $bytes bytes. */
$cases = [
    // The float pattern once backtracked over every digit when no ';' follows them.
    'float-digits-broken' => fn (int $n) => 'a:2:{i:0;d:' . fill('1', $n) . 'x;i:1;' . URL . '}',
    'float-digits-valid' => fn (int $n) => 'a:2:{i:0;d:' . fill('1', $n) . ';i:1;' . URL . '}',
    'float-fraction-broken' => fn (int $n) => 'a:2:{i:0;d:1.' . fill('1', $n) . 'E;i:1;' . URL . '}',
    'plain-d-lookalike' => fn (int $n) => 'd:' . fill('1', $n) . ' http://old.host;',
    'deep-arrays-over-limit' => fn (int $n) => fill('a:1:{i:0;', intdiv($n * 9, 10)) . URL . fill('}', intdiv($n, 10)),
    'deep-arrays-at-limit' => fn (int $n) => str_repeat('a:1:{i:0;', 500) . serialize(fill('http://old.host/ ', $n)) . str_repeat('}', 500),
    'nested-strings-at-limit' => fn (int $n) => nest(fill('http://old.host/ ', $n), 500),
    's-lookalikes-in-string' => fn (int $n) => serialize([fill(URL, $n)]),
    's-lookalikes-broken-lengths' => fn (int $n) => 'a:1:{i:0;' . fill('s:99:"http://old.host";', $n) . '}',
    'many-small-strings' => function (int $n) {
        $items = '';
        for ($k = 0; strlen($items) < $n; $k++) {
            $items .= 'i:' . $k . ';' . URL;
        }
        return "a:$k:{" . $items . '}';
    },
    // Each broken part is checked for the old URL; none may search the rest of the value.
    'many-broken-parts' => fn (int $n) => serialize(array_merge(array_fill(0, intdiv($n, 80), 'a:1:{//old.hostname}'), [fill('x', intdiv($n, 2)) . 'http://old.host'])),
    'many-c-payloads' => function (int $n) {
        $items = '';
        for ($k = 0; strlen($items) < $n; $k++) {
            $items .= 'i:' . $k . ';C:3:"Foo":14:{//old.hostname}';
        }
        return 'a:' . ($k + 1) . ':{' . $items . 'i:' . $k . ';' . URL . '}';
    },
    'plain-html' => fn (int $n) => fill('<p><a href="https://old.host/page">x</a> https://old.hostname/ ü</p>', $n),
    'json-escaped' => fn (int $n) => json_encode([fill('https://old.host/x ', $n)]),
];

printf("%-28s %6s %10s %9s %8s  %s\n", 'value', 'MB', 'seconds', 'MB/s', 'peak MB', 'status');
$r = new Pl_Replacer('//old.host', '//new.example');
foreach ($cases as $name => $build) {
    if ($only !== null && !in_array($name, $only, true)) {
        continue;
    }
    foreach ($sizes as $mb) {
        $value = $build((int) ($mb * 1048576));
        $size = strlen($value) / 1048576;
        memory_reset_peak_usage();
        $base = memory_get_usage();
        $start = hrtime(true);
        [$out, $status] = pl_sr_value($value, $r);
        $seconds = (hrtime(true) - $start) / 1e9;
        // Memory the rewrite needed beyond the value itself (nodes run the helper with a 256 MB limit).
        $peak = (memory_get_peak_usage() - $base) / 1048576;
        printf("%-28s %6.2f %10.4f %9.1f %8.1f  %s\n", $name, $size, $seconds, $size / $seconds, $peak, $status);
        unset($value, $out);
    }
}

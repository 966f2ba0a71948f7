<?php
/**
 * What counts as serialized: exactly what WordPress's is_serialized() (strict) accepts.
 * Text it refuses is plain text to WordPress, so it gets a plain replace.
 */

declare(strict_types=1);

/**
 * is_serialized() restated as three patterns, written apart from the helper's
 * scanner: after trim, 'N;', T:digits: ... ending in ; or } (a, O, E), the same
 * with '"' before the end (s), or T:[0-9.E+-]+; as the whole value (b, i, d).
 */
function pl_t_wp_is_serialized(string $data): bool
{
    $data = trim($data);
    return $data === 'N;'
        || preg_match('/^[aOE]:[0-9]+:.*[;}]$/s', $data) === 1
        || preg_match('/^s:[0-9]+:.*"[;}]$/s', $data) === 1
        || preg_match('/^[bid]:[0-9.E+-]+;$/', $data) === 1;
}

pl_test('wordpress rules: text WordPress does not take for serialized is rewritten as plain text', function () {
    $plain = [
        'i:see http://old.host;',
        'b:see http://old.host;',
        'd:see http://old.host;',
        'i:5; http://old.host;',
        's:9:not quoted http://old.host;',
        's:15:"http://old.host;',
        'C:3:"Foo":22:{s:15:"http://old.host"}',
        'r:1;http://old.host;',
        'R:http://old.host;',
        'x:1:{http://old.host;}',
        "d:1.5;\nhttp://old.host;",
        'a:{http://old.host}',
        'N; http://old.host',
    ];
    foreach ($plain as $value) {
        pl_t_true(!pl_looks_serialized($value), "plain text: $value");
        pl_t_same([str_replace('//old.host', '//new.example', $value), 'changed'], pl_t_sr($value), $value);
    }
});

pl_test('wordpress rules: what WordPress takes for serialized but cannot read keeps the URL and is reported', function () {
    $broken = [
        'a:1:{http://old.host}',
        'O:3:"Foo":1:{http://old.host}',
        's:3:"http://old.host";',
        'E:3:"http://old.host";',
        ' a:1:{s:1:"u";s:15:"http://old.host"} ',
    ];
    foreach ($broken as $value) {
        pl_t_true(pl_looks_serialized($value), "looks serialized: $value");
        pl_t_same([$value, 'unparseable'], pl_t_sr($value), $value);
    }
});

pl_test('wordpress rules: the scanner agrees with is_serialized() on edge shapes', function () {
    $cases = ['N;', ' N; ', "N;\n", 'N;;', 'b:1;', 'b:;', 'i:-5;', 'i:1.5E+3;', 'd:INF;', 'd:-0;', 'd:1e5;', 'i:5;;', 'i:5;}',
        's:1:"a";', 's:1:"a"}', 's:1:a";', 's::"a";', 'a:0:{}', 'a:0:;', 'a:x:{}', 'O:8:"stdClass":0:{}', 'E:4:"A:B";', 'C:1:"A":0:{}',
        'r:1;', 'R:1;', 'a:1', 'a:1:', 'a:1:}', "\0a:0:{}\x0B", "\x0Ca:0:{}", 'a:0:{} x', 's:0:"";', 's:0:""}', "i:5;\n", "i:5\n;"];
    foreach ($cases as $value) {
        pl_t_same(pl_t_wp_is_serialized($value), pl_looks_serialized($value), pl_t_show($value));
    }
});

pl_test('wordpress rules: the scanner agrees with is_serialized() on random text', function () {
    $rnd = new Random\Randomizer(new Random\Engine\Mt19937(pl_fuzz_seed() + 10));
    $alphabet = ['s', 'a', 'O', 'E', 'C', 'b', 'i', 'd', 'N', 'r', 'x', ':', ';', '{', '}', '"', '1', '0', '9', '.', 'E', '+', '-', ' ', "\n", "\0", "\x0B", 'ü'];
    $cases = pl_fuzz_cases(5000) * 4;
    $yes = 0;
    for ($i = 0; $i < $cases; $i++) {
        // Mostly shaped T:...; so so that both answers are common.
        $s = $rnd->getInt(0, 3) ? $alphabet[$rnd->getInt(0, 10)] . ':' : '';
        $pool = [$alphabet, ['0', '1', '9', '.', 'E', '+', '-'], ['1', '2', ':', '"', 'x']][$rnd->getInt(0, 2)];
        for ($n = $rnd->getInt(0, 7); $n > 0; $n--) {
            $s .= $pool[$rnd->getInt(0, count($pool) - 1)];
        }
        $s .= ['', ';', '}', '";', '"}', ";\n", ' '][$rnd->getInt(0, 6)];
        $want = pl_t_wp_is_serialized($s);
        pl_t_same($want, pl_looks_serialized($s), "case $i " . pl_t_show($s));
        $yes += $want ? 1 : 0;
    }
    pl_t_true($yes > $cases / 100 && $yes < $cases, "both answers occur ($yes of $cases)");
});

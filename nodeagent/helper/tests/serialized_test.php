<?php
/** Serialized PHP values: the cases that break naive search-replace. */

declare(strict_types=1);

/** Has private and protected properties: serialize() names them "\0Class\0prop" and "\0*\0prop". */
final class Pl_TestWidget
{
    public $title;
    protected $url;
    private $meta;

    public function __construct($title, $url, $meta)
    {
        $this->title = $title;
        $this->url = $url;
        $this->meta = $meta;
    }
}

pl_test('serialized: nested arrays', function () {
    $in = ['a' => ['b' => ['c' => 'http://old.host/x', 'd' => [1, 2.5, true, null, 'https://old.host']]], 'n' => 7];
    $want = ['a' => ['b' => ['c' => 'http://new.example/x', 'd' => [1, 2.5, true, null, 'https://new.example']]], 'n' => 7];
    pl_t_sr_serialized($in, $want);
});

pl_test('serialized: multibyte strings are measured in bytes', function () {
    $in = ['t' => 'Grüße aus Köln — http://old.host/über/日本', 'e' => '😀http://old.host😀'];
    $want = ['t' => 'Grüße aus Köln — http://new.example/über/日本', 'e' => '😀http://new.example😀'];
    pl_t_sr_serialized($in, $want);
});

pl_test('serialized: strings containing ";, braces and serialized-looking text', function () {
    $in = ['x' => 'a";s:3:"abc";} { http://old.host/";i:1;', 'y' => '}', 'a:1:{' => '{s:5:"http://old.host";'];
    $want = ['x' => 'a";s:3:"abc";} { http://new.example/";i:1;', 'y' => '}', 'a:1:{' => '{s:5:"http://new.example";'];
    pl_t_sr_serialized($in, $want);
});

pl_test('serialized: objects keep class and private/protected property names', function () {
    $in = new Pl_TestWidget('http://old.host/t', 'https://old.host/', ['http://old.host/m' => 'http://old.host/m']);
    $want = new Pl_TestWidget('http://new.example/t', 'https://new.example/', ['http://old.host/m' => 'http://new.example/m']);
    $s = serialize($in);
    pl_t_true(str_contains($s, "\0*\0url") && str_contains($s, "\0Pl_TestWidget\0meta"), 'fixture has mangled names');
    pl_t_sr_serialized($in, $want, [Pl_TestWidget::class]);
});

pl_test('serialized: stdClass and objects are never instantiated while parsing', function () {
    $s = 'O:12:"Pl_NoSuchOne":1:{s:3:"url";s:15:"http://old.host";}';
    [$out, $status] = pl_t_sr($s);
    pl_t_same('O:12:"Pl_NoSuchOne":1:{s:3:"url";s:18:"http://new.example";}', $out);
    pl_t_same('changed', $status);
    pl_t_true(!class_exists('Pl_NoSuchOne', false), 'no class was declared');
});

pl_test('serialized: array keys are not rewritten', function () {
    pl_t_sr_serialized(['http://old.host' => 'http://old.host'], ['http://old.host' => 'http://new.example']);
});

pl_test('serialized: JSON inside a serialized string', function () {
    $in = ['json' => json_encode(['home' => 'https://old.host/', 'list' => ['//old.host/a']])];
    $want = ['json' => json_encode(['home' => 'https://new.example/', 'list' => ['//new.example/a']])];
    pl_t_sr_serialized($in, $want);
});

pl_test('serialized: double-serialized values are rewritten inside', function () {
    $in = ['inner' => serialize(['u' => 'http://old.host/ü'])];
    $want = ['inner' => serialize(['u' => 'http://new.example/ü'])];
    pl_t_sr_serialized($in, $want);
    pl_t_sr_serialized(serialize(serialize('http://old.host')), serialize(serialize('http://new.example')));
});

pl_test('serialized: references r: and R: survive', function () {
    $in = ['x' => 'http://old.host/'];
    $in['y'] = &$in['x'];
    $o = new stdClass();
    $o->u = 'http://old.host/o';
    $in['o1'] = $o;
    $in['o2'] = $o;
    $s = serialize($in);
    pl_t_true(str_contains($s, 'R:') && str_contains($s, 'r:'), 'fixture has both reference kinds');
    [$out, $status] = pl_t_sr($s);
    pl_t_same('changed', $status);
    $back = unserialize($out, ['allowed_classes' => [stdClass::class]]);
    pl_t_same('http://new.example/', $back['x']);
    $back['x'] = 'changed';
    pl_t_same('changed', $back['y'], 'R: reference still binds x and y');
    pl_t_true($back['o1'] === $back['o2'], 'r: still points at the same object');
    pl_t_same('http://new.example/o', $back['o2']->u);
});

pl_test('serialized: C: payloads and enums are kept as they are', function () {
    $c = 'a:2:{i:0;C:11:"ArrayObject":21:{x:i:0;a:0:{};m:a:0:{}}i:1;s:15:"http://old.host";}';
    pl_t_same(['a:2:{i:0;C:11:"ArrayObject":21:{x:i:0;a:0:{};m:a:0:{}}i:1;s:18:"http://new.example";}', 'changed'], pl_t_sr($c));
    $e = 'a:2:{i:0;E:10:"Suit:Heart";i:1;s:15:"http://old.host";}';
    pl_t_same('a:2:{i:0;E:10:"Suit:Heart";i:1;s:18:"http://new.example";}', pl_t_sr($e)[0]);
});

pl_test('serialized: scalars keep their exact spelling', function () {
    $in = 'a:5:{i:0;d:0.1;i:1;d:-INF;i:2;d:1.0E+25;i:3;i:-42;i:4;s:15:"http://old.host";}';
    pl_t_same('a:5:{i:0;d:0.1;i:1;d:-INF;i:2;d:1.0E+25;i:3;i:-42;i:4;s:18:"http://new.example";}', pl_t_sr($in)[0]);
});

pl_test('serialized: whitespace around a value is kept (WordPress trims before unserializing)', function () {
    [$out] = pl_t_sr("  \ns:15:\"http://old.host\";\n");
    pl_t_same("  \ns:18:\"http://new.example\";\n", $out);
});

pl_test('serialized: broken values are left untouched', function () {
    $broken = [
        's:99:"http://old.host";',                                  // wrong length
        'a:1:{s:3:"url";s:20:"http://old.host/";}',                 // wrong inner length
        'a:2:{s:3:"url";s:16:"http://old.host/";}',                 // wrong count
        'a:1:{s:3:"url";s:16:"http://old.host/";',                  // truncated
        'a:1:{s:3:"url";s:16:"http://old.host/";}trailing;',        // trailing data
        'O:8:"std Class":1:{s:1:"u";s:15:"http://old.host";}',      // invalid class name
        'a:1:{d:1.5;s:15:"http://old.host";}',                      // float key
    ];
    foreach ($broken as $value) {
        pl_t_same([$value, 'unparseable'], pl_t_sr($value), $value);
    }
});

pl_test('serialized: a broken value nested in a string is untouched, the rest is rewritten', function () {
    $in = serialize(['bad' => 's:99:"http://old.host";', 'good' => 'http://old.host']);
    [$out, $status] = pl_t_sr($in);
    pl_t_same('unparseable', $status, 'the broken part still holds the old URL');
    pl_t_same(['bad' => 's:99:"http://old.host";', 'good' => 'http://new.example'], unserialize($out));
});

pl_test('serialized: values that do not look serialized get a plain replace', function () {
    foreach (['s:abc http://old.host', 'a:{http://old.host}', 'x:1:{http://old.host;}'] as $value) {
        [$out, $status] = pl_t_sr($value);
        pl_t_same('changed', $status, $value);
        pl_t_same(str_replace('//old.host', '//new.example', $value), $out);
    }
});

pl_test('serialized: looks-serialized matches WordPress on common shapes', function () {
    foreach (['N;', 'b:1;', 'i:5;', 'd:0.5;', 's:1:"a";', 'a:0:{}', 'O:8:"stdClass":0:{}', ' a:0:{} '] as $yes) {
        pl_t_true(pl_looks_serialized($yes), "looks serialized: $yes");
    }
    foreach (['', 'N', 'hello', 'i:5', 'a:0:{', 's:1:"a"', '{"a":1}', 'x:1;'] as $no) {
        pl_t_true(!pl_looks_serialized($no), "does not look serialized: $no");
    }
});

pl_test('serialized: a second run changes nothing', function () {
    $in = serialize(['a' => 'http://old.host', 'b' => json_encode('https://old.host/x'), 'c' => serialize(['//old.host'])]);
    [$once] = pl_t_sr($in);
    pl_t_same([$once, 'unchanged'], pl_t_sr($once));
});

pl_test('serialized: the parser accepts what serialize() produces', function () {
    $values = [null, true, false, 0, -1, PHP_INT_MAX, PHP_INT_MIN, 0.1, -0.0, INF, -INF, NAN, 1e100, 1.5e-300, '', "\0", [], [[]],
        ['a' => [1 => ['b' => 'c']]], new stdClass(), new Pl_TestWidget(1, [2], null), new ArrayObject([1])];
    foreach ($values as $value) {
        $s = serialize($value);
        pl_t_true(pl_ser_valid($s), 'parses ' . pl_t_show($s));
        pl_t_true(pl_ser_valid(" \n$s\t"), 'parses with whitespace around ' . pl_t_show($s));
        pl_t_true(!pl_ser_valid(substr($s, 0, -1)), 'refuses truncated ' . pl_t_show($s));
    }
});

pl_test('serialized: hostile shapes end as unparseable', function () {
    $deep = str_repeat('a:1:{i:0;', 200000) . 's:15:"http://old.host";' . str_repeat('}', 200000);
    pl_t_same([$deep, 'unparseable'], pl_t_sr($deep), 'very deep nesting');
    $nested = 's:15:"http://old.host";';
    for ($i = 0; $i < PL_MAX_DEPTH + 2; $i++) {
        $nested = serialize($nested);
    }
    pl_t_same([$nested, 'unparseable'], pl_t_sr($nested), 'serialized strings nested deeper than the limit');
    pl_t_same('unparseable', pl_t_sr('a:2147483647:{i:0;s:15:"http://old.host";}')[1], 'huge count');
    pl_t_same('unparseable', pl_t_sr('s:9999999999:"http://old.host";')[1], 'huge length');
    pl_t_same('unparseable', pl_t_sr('a:2:{i:0;R:99999999999999999999;i:1;s:15:"http://old.host";}')[1], 'overlong number');
});

pl_test('serialized: numbers with very many digits are read in one pass', function () {
    $digits = str_repeat('1', 600000);
    $url = 's:15:"http://old.host";';
    $good = "a:2:{i:0;d:$digits.$digits" . "E+$digits;i:1;$url}";
    pl_t_same(str_replace($url, 's:18:"http://new.example";', $good), pl_t_sr($good)[0], 'a long float is kept as it is');
    // Each of these used to make the number pattern backtrack over every digit.
    foreach (["d:$digits", "d:$digits.$digits", "d:.$digits", "d:{$digits}E", "d:1E$digits", "i:$digits", "R:$digits", "r:" . str_repeat('0', 600000)] as $bad) {
        $value = "a:2:{i:0;{$bad}x;i:1;$url}";
        pl_t_same([$value, 'unparseable'], pl_t_sr($value), substr($bad, 0, 12));
    }
    pl_t_true(pl_ser_valid("d:$digits;") && pl_ser_valid("d:-.$digits;") && pl_ser_valid('r:' . str_repeat('0', 600000) . '7;'), 'long numbers that are complete parse');
    pl_t_true(!pl_ser_valid("i:$digits;"), 'an integer is at most 19 digits');
});

pl_test('serialized: the number scanner accepts exactly the numbers of the reference patterns', function () {
    // The patterns are fine on short input; the scanner must also be on long input.
    $patterns = [
        'd' => '/^d:(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|NAN|-?INF);$/D',
        'i' => '/^i:[+-]?\d{1,19};$/D',
        'r' => '/^r:0*[1-9]\d{0,18};$/D',
        'b' => '/^b:[01];$/D',
    ];
    $rnd = new Random\Randomizer(new Random\Engine\Mt19937(pl_fuzz_seed() + 3));
    $alphabet = str_split('0123456789000.eE+-NAIF;x');
    $accepted = 0;
    for ($i = 0; $i < pl_fuzz_cases(5000) * 4; $i++) {
        $body = '';
        for ($n = $rnd->getInt(0, 22); $n > 0; $n--) {
            $body .= $alphabet[$rnd->getInt(0, count($alphabet) - 1)];
        }
        $body .= $rnd->getInt(0, 3) ? ';' : '';
        foreach ($patterns as $type => $pattern) {
            $value = "$type:$body";
            $want = preg_match($pattern, $value) === 1;
            pl_t_same($want, pl_ser_valid($value), pl_t_show($value));
            $accepted += $want ? 1 : 0;
        }
    }
    pl_t_true($accepted > 100, "the random numbers include valid ones ($accepted)");
});

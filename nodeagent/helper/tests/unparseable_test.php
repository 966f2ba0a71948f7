<?php
/**
 * Reporting: a value is 'unparseable' when a part the helper could not parse still
 * holds the old URL, whether or not the rest of it was rewritten.
 */

declare(strict_types=1);

pl_test('unparseable: a cell rewritten around a broken part still counts', function () {
    $in = serialize(['ok' => 'http://old.host/a', 'inner' => 'a:1:{s:1:"u";s:40:"http://old.host/b";}']);
    [$out, $status] = pl_t_sr($in);
    pl_t_same('unparseable', $status);
    pl_t_same(['ok' => 'http://new.example/a', 'inner' => 'a:1:{s:1:"u";s:40:"http://old.host/b";}'], unserialize($out));
});

pl_test('unparseable: a C: payload holding the old URL counts, the rest is rewritten', function () {
    $payload = 'x:i:0;a:1:{i:0;s:15:"http://old.host";};m:a:0:{}';
    $in = 'a:2:{i:0;C:11:"ArrayObject":' . strlen($payload) . ':{' . $payload . '}i:1;s:15:"http://old.host";}';
    [$out, $status] = pl_t_sr($in);
    pl_t_same('unparseable', $status);
    pl_t_same('a:2:{i:0;C:11:"ArrayObject":' . strlen($payload) . ':{' . $payload . '}i:1;s:18:"http://new.example";}', $out);

    $only = 'a:1:{i:0;C:11:"ArrayObject":' . strlen($payload) . ':{' . $payload . '}}';
    pl_t_same([$only, 'unparseable'], pl_t_sr($only), 'nothing else to rewrite');
});

pl_test('unparseable: broken parts that hold no match of the old URL do not count', function () {
    $cases = [
        'a:1:{s:1:"u";s:99:"http://old.hostname/";}',
        'a:1:{i:0;C:3:"Foo":21:{http://old.host.example}}',
        's:3:"http://old.host-2";',
    ];
    foreach ($cases as $value) {
        pl_t_same([$value, 'unchanged'], pl_t_sr($value), $value);
    }
    $in = serialize(['a' => 'http://old.host', 'b' => 's:1:"http://old.hostname";']);
    [$out, $status] = pl_t_sr($in);
    pl_t_same('changed', $status, 'the broken part mentions only another host');
    pl_t_same(['a' => 'http://new.example', 'b' => 's:1:"http://old.hostname";'], unserialize($out));
});

pl_test('unparseable: JSON and IDN forms of the old URL count in a broken part', function () {
    $r = new Pl_Replacer('//bücher.example', '//neu.example');
    foreach (['a:1:{s:1:"u";s:1:"http:\/\/b\u00fccher.example";}', 'a:1:{i:0;s:1:"https://xn--bcher-kva.example/";}'] as $value) {
        pl_t_same([$value, 'unparseable'], pl_sr_value($value, $r), $value);
    }
});

pl_test('unparseable: a value that parses and is rewritten in full is changed', function () {
    $in = serialize(['a' => ['http://old.host/x', serialize(['http://old.host/y'])], 'j' => json_encode('http://old.host/z')]);
    pl_t_same('changed', pl_t_sr($in)[1]);
});

pl_test('unparseable: a row reports changed cells and cells left pointing at the source apart', function () {
    $row = [
        'id' => 7,
        'plain' => 'see http://old.host/',
        'mixed' => serialize(['http://old.host/a', 'a:1:{http://old.host/b}']),
        'broken' => 'a:1:{s:1:"u";s:99:"http://old.host/";}',
        'other' => 'http://old.hostname/',
        'empty' => null,
    ];
    [$set, $leftOld] = pl_sr_row($row, ['plain', 'mixed', 'broken', 'other', 'empty'], new Pl_Replacer('//old.host', '//new.example'));
    pl_t_same(['plain' => 'see http://new.example/', 'mixed' => serialize(['http://new.example/a', 'a:1:{http://old.host/b}'])], $set);
    pl_t_same(['mixed', 'broken'], $leftOld);
});

<?php
/** Non-ASCII hosts: JSON \uXXXX escapes and IDN hosts in their punycode (xn--) form. */

declare(strict_types=1);

pl_test('idn: punycode of known labels', function () {
    $labels = ['bücher' => 'bcher-kva', 'münchen' => 'mnchen-3ya', 'пример' => 'e1afmkfd', '日本語' => 'wgv71a119e',
        'ü' => 'tda', 'straße' => 'strae-oqa', '😀' => 'e28h'];
    foreach ($labels as $unicode => $ace) {
        pl_t_same($ace, pl_punycode_encode(pl_utf8_decode($unicode)), $unicode);
        pl_t_same($unicode, pl_utf8_encode(pl_punycode_decode($ace)), $ace);
    }
    pl_t_same('xn--bcher-kva.example', pl_idn_to_ascii('bücher.example'));
    pl_t_same('bücher.example', pl_idn_to_unicode('xn--bcher-kva.example'));
    pl_t_same('bücher.example', pl_idn_to_unicode('XN--bcher-kva.example'), 'the prefix in capitals');
    pl_t_same(null, pl_idn_to_unicode('xn--99999999999.example'), 'a label that decodes past Unicode');
    pl_t_same(null, pl_idn_to_unicode('xn--a!b.example'), 'a character punycode does not use');
    pl_t_same(null, pl_idn_to_ascii("b\xfccher.example"), 'invalid UTF-8');
});

pl_test('idn: punycode round-trips random labels', function () {
    $rnd = new Random\Randomizer(new Random\Engine\Mt19937(pl_fuzz_seed() + 20));
    $chars = [0x61, 0x7a, 0x30, 0x2d, 0xe4, 0xfc, 0xdf, 0x3b1, 0x43f, 0x5d0, 0x65e5, 0xac00, 0x1f600, 0x10fffd];
    for ($i = 0; $i < 2000; $i++) {
        $cps = [];
        for ($n = $rnd->getInt(1, 12); $n > 0; $n--) {
            $c = $chars[$rnd->getInt(0, count($chars) - 1)];
            $cps[] = $rnd->getInt(0, 3) ? $c : min(0x10ffff, $c + $rnd->getInt(0, 40));
        }
        $ace = pl_punycode_encode($cps);
        pl_t_true(preg_match('/^[\x00-\x7f]+$/', $ace) === 1, "case $i: ASCII output $ace");
        pl_t_same($cps, pl_punycode_decode($ace), "case $i: $ace");
    }
});

pl_test('idn: the other form of a URL', function () {
    pl_t_same('//xn--bcher-kva.example', pl_idn_other_form('//bücher.example'));
    pl_t_same('https://xn--bcher-kva.example:8443/pfad/ü', pl_idn_other_form('https://bücher.example:8443/pfad/ü'));
    pl_t_same('//bücher.example', pl_idn_other_form('//xn--bcher-kva.example'));
    pl_t_same('//shop.bücher.example', pl_idn_other_form('//shop.xn--bcher-kva.example'));
    pl_t_same(null, pl_idn_other_form('//old.host/ü'), 'an ASCII host with a non-ASCII path');
    pl_t_same(null, pl_idn_other_form('//old.host'));
});

const PL_T_IDN_FROM = 'http://bücher.example';

pl_test('json: \u escapes of a non-ASCII host are rewritten (the issue example)', function () {
    $value = '{"u":"http:\/\/b\u00fccher.example\/x"}';
    pl_t_same(['{"u":"http:\/\/new.example\/x"}', 'changed'], pl_t_sr($value, PL_T_IDN_FROM, 'http://new.example'));
});

pl_test('json: every JSON spelling of a non-ASCII URL decodes to the rewritten URL', function () {
    $doc = ['home' => 'http://bücher.example/', 'list' => ['http://bücher.example/a?b=ü', 'http://bücher.example.org/', 'text http://bücher.example']];
    $want = ['home' => 'https://neu.test/', 'list' => ['https://neu.test/a?b=ü', 'http://bücher.example.org/', 'text https://neu.test']];
    foreach ([0, JSON_UNESCAPED_SLASHES, JSON_UNESCAPED_UNICODE, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE] as $flags) {
        [$out, $status] = pl_t_sr(json_encode($doc, $flags), PL_T_IDN_FROM, 'https://neu.test');
        pl_t_same('changed', $status, "flags $flags");
        pl_t_same($want, json_decode($out, true), "flags $flags");
        pl_t_same(json_encode($want, $flags), $out, "flags $flags: written as json_encode() writes it");
    }
});

pl_test('json: a non-ASCII new URL is written in the form of the match', function () {
    $r = new Pl_Replacer('//old.host', '//bücher.example');
    pl_t_same(['//bücher.example/x', 'changed'], pl_sr_value('//old.host/x', $r));
    pl_t_same(['\/\/b\u00fccher.example\/x', 'changed'], pl_sr_value('\/\/old.host\/x', $r));
    $json = json_encode(['u' => 'https://old.host/']);
    pl_t_same(['u' => 'https://bücher.example/'], json_decode(pl_sr_value($json, $r)[0], true));
});

pl_test('json: the host boundary holds for escaped forms', function () {
    foreach (['http:\/\/b\u00fccher.example.org\/', 'http://b\u00fccher.examples', 'http:\/\/xn--bcher-kva.example-2\/'] as $value) {
        pl_t_same([$value, 'unchanged'], pl_t_sr($value, PL_T_IDN_FROM, 'http://new.example'), $value);
    }
});

pl_test('idn: the punycode form of the old host is rewritten too', function () {
    $r = new Pl_Replacer('//bücher.example', '//neu.example');
    pl_t_same(['<a href="https://neu.example/">', 'changed'], pl_sr_value('<a href="https://xn--bcher-kva.example/">', $r));
    pl_t_same(['https:\/\/neu.example\/', 'changed'], pl_sr_value('https:\/\/xn--bcher-kva.example\/', $r));
    pl_t_same(['//xn--bcher-kva.examples', 'unchanged'], pl_sr_value('//xn--bcher-kva.examples', $r));
});

pl_test('idn: an old host given in punycode also matches its Unicode form', function () {
    $r = new Pl_Replacer('//xn--bcher-kva.example', '//xn--mnchen-3ya.example');
    $cases = [
        'https://xn--bcher-kva.example/a' => 'https://xn--mnchen-3ya.example/a',
        'https://bücher.example/a' => 'https://münchen.example/a',
        json_encode('https://bücher.example/a') => json_encode('https://münchen.example/a'),
        json_encode('https://bücher.example/a', JSON_UNESCAPED_SLASHES) => json_encode('https://münchen.example/a', JSON_UNESCAPED_SLASHES),
        serialize(['https://bücher.example/a']) => serialize(['https://münchen.example/a']),
    ];
    foreach ($cases as $in => $want) {
        pl_t_same([$want, 'changed'], pl_sr_value($in, $r), $in);
    }
});

pl_test('idn: the search needles cover every form (the SQL filter uses them)', function () {
    $needles = (new Pl_Replacer('//bücher.example', '//neu.example'))->needles();
    pl_t_same(['//bücher.example', '\/\/b\u00fccher.example', '//b\u00fccher.example', '\/\/bücher.example',
        '//xn--bcher-kva.example', '\/\/xn--bcher-kva.example'], $needles);
    pl_t_same(['//old.host', '\/\/old.host'], (new Pl_Replacer('//old.host', '//new.example'))->needles());
});

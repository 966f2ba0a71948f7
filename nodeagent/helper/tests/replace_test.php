<?php
/** Plain (non-serialized) values and the host-boundary rule. */

declare(strict_types=1);

pl_test('plain: both schemes and protocol-relative URLs are rewritten', function () {
    [$out, $status] = pl_t_sr('<a href="http://old.host/a">x</a> <img src="https://old.host/b.png"> //old.host');
    pl_t_same('<a href="http://new.example/a">x</a> <img src="https://new.example/b.png"> //new.example', $out);
    pl_t_same('changed', $status);
});

pl_test('plain: a longer host that starts with the old one is left alone', function () {
    foreach (['http://old.host.example.com/', 'http://old.hostname/', 'http://old.host-2/', 'http://old.host_x/'] as $value) {
        pl_t_same([$value, 'unchanged'], pl_t_sr($value), $value);
    }
});

pl_test('plain: ports, paths, sentence ends and quotes still match', function () {
    $cases = [
        'http://old.host:8080/x' => 'http://new.example:8080/x',
        'see http://old.host.' => 'see http://new.example.',
        'see http://old.host. Next' => 'see http://new.example. Next',
        '"http://old.host"' => '"http://new.example"',
        'http://old.host?x=1#y' => 'http://new.example?x=1#y',
    ];
    foreach ($cases as $in => $want) {
        pl_t_same([$want, 'changed'], pl_t_sr($in), $in);
    }
});

pl_test('plain: JSON-escaped URLs are rewritten', function () {
    $json = json_encode(['url' => 'https://old.host/wp-json/', 'other' => 'https://old.hostname/']);
    [$out] = pl_t_sr($json);
    pl_t_same(json_encode(['url' => 'https://new.example/wp-json/', 'other' => 'https://old.hostname/']), $out);
    pl_t_same(['url' => 'https://new.example/wp-json/', 'other' => 'https://old.hostname/'], json_decode($out, true));
});

pl_test('plain: a new host that extends the old one is stable on a second run', function () {
    $from = '//example.com';
    $to = '//example.com.staging.test';
    [$once] = pl_t_sr('http://example.com/a and http:\/\/example.com\/b', $from, $to);
    pl_t_same('http://example.com.staging.test/a and http:\/\/example.com.staging.test\/b', $once);
    pl_t_same([$once, 'unchanged'], pl_t_sr($once, $from, $to));
});

pl_test('plain: replacement text with $ and backslashes is literal', function () {
    [$out] = pl_t_sr('http://old.host/', '//old.host', '//n$1.ex\\0');
    pl_t_same('http://n$1.ex\\0/', $out);
});

pl_test('plain: values without the search string are returned as they are', function () {
    foreach (['', 'hello', "\xff\xfe binary \0", str_repeat('x', 100000)] as $value) {
        pl_t_same([$value, 'unchanged'], pl_t_sr($value));
    }
});

pl_test('plain: invalid UTF-8 around a URL is kept byte for byte', function () {
    [$out] = pl_t_sr("\xff\xc3 http://old.host/\xe2\x82");
    pl_t_same("\xff\xc3 http://new.example/\xe2\x82", $out);
});

pl_test('columns: guid and non-text columns are skipped', function () {
    $columns = pl_sr_columns([
        ['Field' => 'ID', 'Type' => 'bigint(20) unsigned'],
        ['Field' => 'post_content', 'Type' => 'longtext'],
        ['Field' => 'post_title', 'Type' => 'text'],
        ['Field' => 'post_name', 'Type' => 'varchar(200)'],
        ['Field' => 'guid', 'Type' => 'varchar(255)'],
        ['Field' => 'post_date', 'Type' => 'datetime'],
        ['Field' => 'ping_status', 'Type' => 'varchar(20)'],
        ['Field' => 'payload', 'Type' => 'mediumblob'],
        ['Field' => 'code', 'Type' => 'char(2)'],
        ['Field' => 'data', 'Type' => 'json'],
        ['Field' => 'state', 'Type' => "enum('a','b')"],
        ['Field' => 'raw', 'Type' => 'varbinary(16)'],
        ['Field' => 'menu_order', 'Type' => 'int(11)'],
    ]);
    pl_t_same(['post_content', 'post_title', 'post_name', 'ping_status', 'payload', 'code', 'data'], $columns);
});

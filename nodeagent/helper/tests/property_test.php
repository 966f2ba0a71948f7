<?php
/**
 * Property test: random nested PHP values (arrays, stdClass, objects of classes that
 * are not loaded, multibyte strings, JSON strings, serialized strings and text that
 * looks serialized) are serialized and rewritten by the helper; PHP unserializes the
 * same bytes and a reference rewrites that structure, string by string, and serializes
 * it again. Both must agree byte for byte, and on the status. Seeded by PL_FUZZ_SEED;
 * PL_FUZZ_CASES sets the number of values per host.
 */

declare(strict_types=1);

/** An object of a class that is not loaded: serialized by hand, never instantiated. */
final class Pl_PropObject
{
    /** @param array<string, mixed> $props */
    public function __construct(public string $class, public array $props)
    {
    }
}

/** serialize(), plus objects of classes that are not loaded (Pl_PropObject). */
function pl_prop_serialize($v): string
{
    if (is_array($v)) {
        $s = 'a:' . count($v) . ':{';
        foreach ($v as $k => $x) {
            $s .= serialize($k) . pl_prop_serialize($x);
        }
        return $s . '}';
    }
    if ($v instanceof stdClass) {
        $v = new Pl_PropObject('stdClass', get_object_vars($v));
    }
    if ($v instanceof Pl_PropObject) {
        $s = 'O:' . strlen($v->class) . ':"' . $v->class . '":' . count($v->props) . ':{';
        foreach ($v->props as $k => $x) {
            $s .= serialize((string) $k) . pl_prop_serialize($x);
        }
        return $s . '}';
    }
    return serialize($v);
}

/** One host and every form the reference rewrites, in the helper's order, listed by hand. */
final class Pl_PropHost
{
    /** @param list<array{string,string}> $forms */
    public function __construct(public string $from, public string $to, public array $forms, public array $urls)
    {
    }

    /** Plain rewrite: each form in turn, skipping matches that continue the host. */
    public function plain(string $s): string
    {
        foreach ($this->forms as [$from, $to]) {
            $out = '';
            $pos = 0;
            while (($hit = strpos($s, $from, $pos)) !== false) {
                $next = $hit + strlen($from);
                $c = $s[$next] ?? '';
                $c2 = $s[$next + 1] ?? '';
                $continues = ($c !== '' && (ctype_alnum($c) || $c === '-' || $c === '_'))
                    || ($c === '.' && $c2 !== '' && ctype_alnum($c2));
                $out .= substr($s, $pos, $hit - $pos) . ($continues ? $from : $to);
                $pos = $next;
            }
            $s = $out . substr($s, $pos);
        }
        return $s;
    }
}

function pl_prop_hosts(): array
{
    return [
        new Pl_PropHost('//old.host', '//new.example.test', [
            ['//old.host', '//new.example.test'],
            ['\/\/old.host', '\/\/new.example.test'],
        ], ['http://old.host', 'https://old.host/p?q=1', '//old.host:8080/', '//old.hostname', '//old.host.example.com', 'http:\/\/old.host\/x']),
        new Pl_PropHost('//bücher.example', '//neu.example.test', [
            ['//bücher.example', '//neu.example.test'],
            ['\/\/b\u00fccher.example', '\/\/neu.example.test'],
            ['//b\u00fccher.example', '//neu.example.test'],
            ['\/\/bücher.example', '\/\/neu.example.test'],
            ['//xn--bcher-kva.example', '//neu.example.test'],
            ['\/\/xn--bcher-kva.example', '\/\/neu.example.test'],
        ], ['https://bücher.example/ü', '//bücher.example.org', 'http://xn--bcher-kva.example/', '//b\u00fccher.example\/x', 'http:\/\/b\u00fccher.example']),
    ];
}

final class Pl_PropGen
{
    private const TEXT = ['"', ';', '";', '{', '}', ':', 's:5:"', 'a:2:{', 'i:1;', 'N;', 'ü', '日本語', '😀', 'Grüße', "\0", "\n", ' ', 'abc', '.', '-', '0', '\\', '\\"'];
    private const CLASSES = ['Pl_NotLoaded', 'Vendor\\Plugin\\Settings', 'WC_Legacy_Item'];

    private Random\Randomizer $rnd;

    public function __construct(int $seed, private Pl_PropHost $host)
    {
        $this->rnd = new Random\Randomizer(new Random\Engine\Mt19937($seed));
    }

    private function int(int $min, int $max): int
    {
        return $this->rnd->getInt($min, $max);
    }

    private function pick(array $items)
    {
        return $items[$this->int(0, count($items) - 1)];
    }

    /** Text made of URLs, multibyte characters and serialization punctuation; never serialized-looking. */
    public function text(): string
    {
        $s = '';
        for ($i = $this->int(0, 6); $i > 0; $i--) {
            $s .= $this->int(0, 2) === 0 ? $this->pick($this->host->urls) : $this->pick(self::TEXT);
        }
        return pl_t_wp_is_serialized($s) ? 'x' . $s : $s;
    }

    /** A string value of any kind the tables hold. */
    public function string(int $depth): string
    {
        $url = $this->pick($this->host->urls);
        switch ($this->int(0, 9)) {
            case 0:
                // A serialized value stored as a string, sometimes with whitespace around.
                return $this->pick(['', ' ', "\n"]) . pl_prop_serialize($this->value($depth + 1)) . $this->pick(['', "\t", "\r\n"]);
            case 1:
                $list = [];
                for ($i = $this->int(1, 3); $i > 0; $i--) {
                    $list[$this->text()] = $this->int(0, 1) ? $this->text() : [$this->text(), $this->int(0, 9)];
                }
                $flags = $this->pick([0, JSON_UNESCAPED_SLASHES, JSON_UNESCAPED_UNICODE, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE]);
                return (string) json_encode($list, $flags | JSON_INVALID_UTF8_SUBSTITUTE);
            case 2:
                // Looks serialized to a naive check, plain text to WordPress.
                return $this->pick(["i:see $url;", "b:$url;", "d:1.5 $url;", 's:9:not quoted ' . $url . ';', 'C:3:"Foo":5:{' . $url . '}', "r:1;$url;", "N; $url"]);
            case 3:
                // Serialized to WordPress, but broken.
                $broken = pl_prop_serialize([$url, $this->text()]);
                return $this->pick(["a:1:{{$url}}", 's:1:"' . $url . '";', substr($broken, 0, -1) . ';', str_replace('a:2:', 'a:3:', $broken)]);
            default:
                return $this->text();
        }
    }

    public function value(int $depth)
    {
        switch ($this->int(0, $depth >= 4 ? 4 : 9)) {
            case 0:
            case 1:
            case 2:
                return $this->string($depth);
            case 3:
                return $this->pick([0, -1, PHP_INT_MAX, PHP_INT_MIN, $this->int(-1000, 1000), 0.1, -0.0, 1e300, -INF, 2 / 3]);
            case 4:
                return $this->pick([true, false, null]);
            case 5:
            case 6:
                $a = [];
                for ($i = $this->int(0, 4); $i > 0; $i--) {
                    $a[$this->int(0, 1) ? $this->int(-3, 30) : $this->text()] = $this->value($depth + 1);
                }
                return $a;
            case 7:
                $o = new stdClass();
                for ($i = $this->int(0, 3); $i > 0; $i--) {
                    // PHP refuses property names that start with NUL on stdClass.
                    $o->{$this->int(0, 2) ? 'p' . $this->int(0, 9) : 'p' . $this->text()} = $this->value($depth + 1);
                }
                return $o;
            default:
                $props = [];
                for ($i = $this->int(0, 3); $i > 0; $i--) {
                    // Public, protected ("\0*\0") and private ("\0Class\0") property names.
                    $name = $this->pick(['url', 'opts', 'title']) . $this->int(0, 9);
                    $props[$this->pick([$name, "\0*\0$name", "\0Pl_NotLoaded\0$name"])] = $this->value($depth + 1);
                }
                return new Pl_PropObject($this->pick(self::CLASSES), $props);
        }
    }
}

/** The reference: rewrites the unserialized structure, string by string. */
final class Pl_PropReference
{
    /** A part WordPress would take for serialized but cannot read still holds the old URL. */
    public bool $leftOld = false;

    public function __construct(private Pl_PropHost $host)
    {
    }

    public function string(string $s): string
    {
        if (!pl_t_wp_is_serialized($s)) {
            return $this->host->plain($s);
        }
        $core = trim($s);
        $value = $this->read($core);
        if ($value === null) {
            $this->leftOld = $this->leftOld || $this->host->plain($s) !== $s;
            return $s;
        }
        $lead = substr($s, 0, strspn($s, " \t\n\r\0\x0B"));
        return $lead . pl_prop_serialize($this->value($value[0])) . substr($s, strlen($lead) + strlen($core));
    }

    /** [value] when PHP reads $core exactly (nothing left over), else null. */
    private function read(string $core): ?array
    {
        $value = @unserialize($core, ['allowed_classes' => [stdClass::class]]);
        if ($value === false && $core !== 'b:0;') {
            return null;
        }
        $value = $this->unwrap($value);
        return pl_prop_serialize($value) === $core ? [$value] : null;
    }

    /** Objects of classes that are not loaded, as Pl_PropObject with their stored property names. */
    private function unwrap($v)
    {
        if ($v instanceof __PHP_Incomplete_Class) {
            $props = (array) $v;
            $class = $props['__PHP_Incomplete_Class_Name'];
            unset($props['__PHP_Incomplete_Class_Name']);
            return new Pl_PropObject($class, array_map(fn ($x) => $this->unwrap($x), $props));
        }
        if ($v instanceof stdClass) {
            return new Pl_PropObject('stdClass', array_map(fn ($x) => $this->unwrap($x), get_object_vars($v)));
        }
        return is_array($v) ? array_map(fn ($x) => $this->unwrap($x), $v) : $v;
    }

    public function value($v)
    {
        if (is_string($v)) {
            return $this->string($v);
        }
        if ($v instanceof Pl_PropObject) {
            return new Pl_PropObject($v->class, array_map(fn ($x) => $this->value($x), $v->props));
        }
        return is_array($v) ? array_map(fn ($x) => $this->value($x), $v) : $v;
    }
}

pl_test('property: the helper rewrites serialized bytes as a rewrite of the unserialized structure', function () {
    $cases = pl_fuzz_cases(2500);
    foreach (pl_prop_hosts() as $h => $host) {
        $gen = new Pl_PropGen(pl_fuzz_seed() + 30 + $h, $host);
        $r = new Pl_Replacer($host->from, $host->to);
        $seen = ['changed' => 0, 'unchanged' => 0, 'unparseable' => 0];
        for ($i = 0; $i < $cases; $i++) {
            $value = $gen->value(0);
            // Half the time the top level is a string value as stored (plain, JSON or serialized-looking).
            $input = $i % 2 ? $gen->string(0) : pl_prop_serialize($value);
            if (!$value instanceof Pl_PropObject && $i % 2 === 0 && !str_contains($input, 'Pl_NotLoaded') && !str_contains($input, 'WC_') && !str_contains($input, 'Vendor')) {
                pl_t_same(serialize($value), $input, "host $h case $i: the hand serializer is PHP's");
            }
            $ref = new Pl_PropReference($host);
            $want = $ref->string($input);
            $wantStatus = $ref->leftOld ? 'unparseable' : ($want === $input ? 'unchanged' : 'changed');
            [$out, $status] = pl_sr_value($input, $r);
            if ($out !== $want) {
                throw new Pl_TestFailure("host $h case $i: input " . pl_t_show($input) . "\n     expected " . pl_t_show($want) . "\n     got      " . pl_t_show($out));
            }
            pl_t_same($wantStatus, $status, "host $h case $i status for " . pl_t_show($input));
            $seen[$status]++;
            $again = pl_sr_value($out, $r);
            pl_t_same([$out, $status === 'changed' ? 'unchanged' : $status], $again, "host $h case $i: a second run changes nothing");
        }
        foreach ($seen as $status => $n) {
            pl_t_true($n > $cases / 50, "host $h: '$status' is exercised ($n of $cases)");
        }
    }
});

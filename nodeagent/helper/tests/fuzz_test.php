<?php
/**
 * Property tests with seeded random data:
 *  - random nested values, serialized by PHP, come out of search-replace exactly as
 *    serialize() of the same values with the replacement applied (and unserialize again);
 *  - random byte mutations of serialized data never crash or hang the parser, and what
 *    it accepts stays readable by PHP after a rewrite.
 * PL_FUZZ_SEED and PL_FUZZ_CASES in the environment change the seed and the size.
 */

declare(strict_types=1);

final class Pl_FuzzThing
{
    public $pub;
    protected $prot;
    private $priv;

    public function __construct($pub, $prot, $priv)
    {
        $this->pub = $pub;
        $this->prot = $prot;
        $this->priv = $priv;
    }
}

const PL_FUZZ_FROM = '//old.host';
const PL_FUZZ_TO = '//new.example.test';

final class Pl_Fuzz
{
    private const FRAGMENTS = ['http://old.host', 'https://old.host/p?q=1', '//old.host', '//old.host.example.com',
        '//old.hostname', '//old.host:8080', '//old.host.', 'http://', 'old.host', '"', ';', '";', '{', '}', ':',
        's:5:"', 'a:2:{', 'i:1;', 'N;', 'ü', '日本語', '😀', "\0", "\n", ' ', 'abc', 'Z', '-', '.', '_', '0'];
    private const ESCAPED = ['http:\/\/old.host\/x', '\/\/old.host', '\/\/old.hostname', '\\', '\\"'];

    public Random\Randomizer $rnd;

    public function __construct(int $seed)
    {
        $this->rnd = new Random\Randomizer(new Random\Engine\Mt19937($seed));
    }

    public function int(int $min, int $max): int
    {
        return $this->rnd->getInt($min, $max);
    }

    public function pick(array $items)
    {
        return $items[$this->int(0, count($items) - 1)];
    }

    public function string(bool $withBackslashes = true): string
    {
        $pool = $withBackslashes ? array_merge(self::FRAGMENTS, self::ESCAPED) : self::FRAGMENTS;
        $s = '';
        for ($i = $this->int(0, 6); $i > 0; $i--) {
            $s .= $this->int(0, 9) === 0 ? $this->rnd->getBytes($this->int(1, 3)) : $this->pick($pool);
        }
        // A plain string that happens to look serialized would be judged by other rules.
        return pl_looks_serialized($s) ? 'x' . $s : $s;
    }

    /** Returns [value, the same value with the replacement applied]. */
    public function value(int $depth): array
    {
        $kind = $this->int(0, $depth >= 4 ? 5 : 11);
        switch ($kind) {
            case 0:
            case 1:
            case 2:
                $s = $this->string();
                return [$s, pl_fuzz_expected_string($s)];
            case 3:
                $i = $this->pick([0, 1, -1, PHP_INT_MAX, PHP_INT_MIN, $this->int(-100000, 100000)]);
                return [$i, $i];
            case 4:
                $f = $this->pick([0.1, -0.0, 1e300, -1.5e-300, INF, -INF, $this->rnd->getInt(-1000, 1000) / 7]);
                return [$f, $f];
            case 5:
                $v = $this->pick([true, false, null]);
                return [$v, $v];
            case 6:
            case 7:
                $a = [];
                $e = [];
                for ($i = $this->int(0, 4); $i > 0; $i--) {
                    $key = $this->int(0, 1) ? $this->int(-5, 50) : $this->string();
                    [$a[$key], $e[$key]] = $this->value($depth + 1);
                }
                return [$a, $e];
            case 8:
                $a = new stdClass();
                $e = new stdClass();
                for ($i = $this->int(0, 3); $i > 0; $i--) {
                    $prop = $this->int(0, 3) ? 'p' . $this->int(0, 9) : 'p' . $this->string();
                    [$a->{$prop}, $e->{$prop}] = $this->value($depth + 1);
                }
                return [$a, $e];
            case 9:
                [$a1, $e1] = $this->value($depth + 1);
                [$a2, $e2] = $this->value($depth + 1);
                [$a3, $e3] = $this->value($depth + 1);
                return [new Pl_FuzzThing($a1, $a2, $a3), new Pl_FuzzThing($e1, $e2, $e3)];
            case 10:
                [$a, $e] = $this->value($depth + 1);
                return [serialize($a), serialize($e)];
            default:
                $a = [];
                $e = [];
                for ($i = $this->int(1, 3); $i > 0; $i--) {
                    $s = $this->string(false);
                    $a[] = $s;
                    $e[] = pl_fuzz_expected_string($s);
                }
                $flags = JSON_INVALID_UTF8_SUBSTITUTE;
                return [json_encode($a, $flags), json_encode($e, $flags)];
        }
    }

    public function mutate(string $s): string
    {
        for ($n = $this->int(1, 3); $n > 0; $n--) {
            $len = strlen($s);
            $at = $len > 0 ? $this->int(0, $len - 1) : 0;
            switch ($this->int(0, 6)) {
                case 0:
                    $s = substr_replace($s, $this->rnd->getBytes(1), $at, 1);
                    break;
                case 1:
                    $s = substr_replace($s, $this->pick(str_split(':;"{}0123456789saOiNdbrRCE-.')), $at, 1);
                    break;
                case 2:
                    $s = substr_replace($s, '', $at, 1);
                    break;
                case 3:
                    $s = substr_replace($s, $this->pick(str_split(':;"{}019sa')), $at, 0);
                    break;
                case 4:
                    $s = substr($s, 0, $at);
                    break;
                case 5:
                    $s = substr_replace($s, substr($s, $at, $this->int(1, 20)), $this->int(0, $len), 0);
                    break;
                default:
                    // Nudge a length or count digit.
                    if (preg_match_all('/\d+/', $s, $m, PREG_OFFSET_CAPTURE) > 0) {
                        [$digits, $pos] = $this->pick($m[0]);
                        $s = substr_replace($s, (string) max(0, (int) $digits + $this->int(-2, 2)), $pos, strlen($digits));
                    }
            }
        }
        return $s;
    }
}

/**
 * Reference rewrite of a plain string, written independently of Pl_Replacer: scans for
 * each search form and checks the host boundary by hand.
 */
function pl_fuzz_expected_string(string $s): string
{
    $forms = [[PL_FUZZ_FROM, PL_FUZZ_TO], [str_replace('/', '\/', PL_FUZZ_FROM), str_replace('/', '\/', PL_FUZZ_TO)]];
    foreach ($forms as [$from, $to]) {
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

function pl_fuzz_cases(int $default): int
{
    $n = getenv('PL_FUZZ_CASES');
    return $n !== false && ctype_digit($n) ? (int) $n : $default;
}

function pl_fuzz_seed(): int
{
    $seed = getenv('PL_FUZZ_SEED');
    return $seed !== false && ctype_digit($seed) ? (int) $seed : 20261125;
}

pl_test('fuzz: random values rewrite like serialize() of the rewritten value', function () {
    $fuzz = new Pl_Fuzz(pl_fuzz_seed());
    $r = new Pl_Replacer(PL_FUZZ_FROM, PL_FUZZ_TO);
    $classes = [stdClass::class, Pl_FuzzThing::class];
    $changed = 0;
    $cases = pl_fuzz_cases(5000);
    for ($i = 0; $i < $cases; $i++) {
        [$value, $expected] = $fuzz->value(0);
        $input = is_string($value) && !$fuzz->int(0, 3) ? $value : serialize($value);
        $want = $input === $value ? $expected : serialize($expected);
        [$out, $status] = pl_sr_value($input, $r);
        if ($out !== $want) {
            throw new Pl_TestFailure("case $i: input " . pl_t_show($input) . "\n     expected " . pl_t_show($want) . "\n     got      " . pl_t_show($out));
        }
        pl_t_same($out !== $input ? 'changed' : 'unchanged', $status, "case $i status");
        if ($input !== $value) {
            pl_t_same($want, serialize(unserialize($out, ['allowed_classes' => $classes])), "case $i unserialized");
        }
        pl_t_same([$out, 'unchanged'], pl_sr_value($out, $r), "case $i second run");
        $changed += $status === 'changed' ? 1 : 0;
    }
    pl_t_true($changed > $cases / 5, "a good share of the cases exercise a rewrite ($changed of $cases)");
});

pl_test('fuzz: mutated serialized data never crashes or hangs the parser', function () {
    $fuzz = new Pl_Fuzz(pl_fuzz_seed() + 1);
    $r = new Pl_Replacer(PL_FUZZ_FROM, PL_FUZZ_TO);
    $parsed = 0;
    $cases = pl_fuzz_cases(5000);
    for ($i = 0; $i < $cases; $i++) {
        [$value] = $fuzz->value(0);
        $input = $fuzz->mutate(serialize($value));
        $valid = pl_ser_valid($input);
        [$out, $status] = pl_sr_value($input, $r);
        pl_t_true(in_array($status, ['changed', 'unchanged', 'unparseable'], true), "case $i status");
        if ($status === 'unparseable' && !$valid && pl_looks_serialized($input)) {
            pl_t_same($input, $out, "case $i: an unparseable value is returned untouched");
        }
        if (!$valid) {
            continue;
        }
        $parsed++;
        if ($out !== $input && pl_looks_serialized($input)) {
            pl_t_true(pl_ser_valid($out), "case $i: the rewritten value parses: " . pl_t_show($out));
        }
        // Whatever PHP could read before the rewrite, it can still read after it.
        $phpReads = static fn (string $s): bool => $s === 'b:0;' || @unserialize($s, ['allowed_classes' => false]) !== false;
        if ($phpReads($input)) {
            pl_t_true($phpReads($out), "case $i: PHP reads the rewritten " . pl_t_show($out));
        }
    }
    pl_t_true($parsed > 0 && $parsed < $cases, "mutations produce both parseable and broken data ($parsed of $cases parse)");
});

pl_test('fuzz: the parser accepts nothing PHP rejects (plain values without C:, E: or references)', function () {
    $fuzz = new Pl_Fuzz(pl_fuzz_seed() + 2);
    $cases = pl_fuzz_cases(5000);
    for ($i = 0; $i < $cases; $i++) {
        [$value] = $fuzz->value(0);
        $input = $fuzz->mutate(serialize($value));
        if (!pl_ser_valid($input) || preg_match('/(?:^|[;{}])[CErR]:/', $input)) {
            continue;
        }
        // WordPress trims before unserializing.
        $ok = trim($input) === 'b:0;' || @unserialize(trim($input), ['allowed_classes' => false]) !== false;
        pl_t_true($ok, "case $i: parser accepted what PHP rejects: " . pl_t_show($input));
    }
});

<?php
/** A minimal test harness: pl_test() registers, pl_t_run() runs, assertions throw. */

declare(strict_types=1);

final class Pl_TestFailure extends Exception
{
}

final class Pl_Tests
{
    /** @var array<string, callable> */
    public static array $tests = [];
}

function pl_test(string $name, callable $fn): void
{
    if (isset(Pl_Tests::$tests[$name])) {
        throw new LogicException("duplicate test name: $name");
    }
    Pl_Tests::$tests[$name] = $fn;
}

function pl_t_run(string $filter): bool
{
    $passed = 0;
    $failed = 0;
    foreach (Pl_Tests::$tests as $name => $fn) {
        if ($filter !== '' && !str_contains($name, $filter)) {
            continue;
        }
        $start = microtime(true);
        try {
            $fn();
            $passed++;
            printf("ok   %s (%.2fs)\n", $name, microtime(true) - $start);
        } catch (Throwable $e) {
            $failed++;
            printf("FAIL %s\n     %s: %s\n     at %s:%d\n", $name, get_class($e), $e->getMessage(), $e->getFile(), $e->getLine());
        }
    }
    printf("%d passed, %d failed\n", $passed, $failed);
    return $failed === 0 && $passed > 0;
}

/** Shows bytes readably in failure messages (NUL and control characters escaped). */
function pl_t_show($value): string
{
    if (is_string($value)) {
        return '"' . addcslashes($value, "\0..\37\\\"\177..\377") . '"';
    }
    return var_export($value, true);
}

function pl_t_same($expected, $actual, string $what = ''): void
{
    if ($expected !== $actual) {
        throw new Pl_TestFailure(($what !== '' ? "$what: " : '') . 'expected ' . pl_t_show($expected) . ', got ' . pl_t_show($actual));
    }
}

function pl_t_true(bool $condition, string $what): void
{
    if (!$condition) {
        throw new Pl_TestFailure($what);
    }
}

/** Runs search-replace on one value and returns [output, status]. */
function pl_t_sr(string $value, string $from = '//old.host', string $to = '//new.example'): array
{
    return pl_sr_value($value, new Pl_Replacer($from, $to));
}

/** Asserts that serialized $input becomes serialize($expected) and still unserializes to it. */
function pl_t_sr_serialized($input, $expected, array $classes = []): void
{
    [$out, $status] = pl_t_sr(serialize($input));
    pl_t_same(serialize($expected), $out, 'serialized output');
    pl_t_same('changed', $status, 'status');
    $back = unserialize($out, ['allowed_classes' => $classes]);
    pl_t_same(serialize($expected), serialize($back), 'unserialized output');
    [$again, $status2] = pl_t_sr($out);
    pl_t_same($out, $again, 'second run');
    pl_t_same('unchanged', $status2, 'second run status');
}

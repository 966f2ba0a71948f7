<?php
/**
 * Test runner for the node helper (plain PHP, no dependencies):
 *   php nodeagent/helper/tests/run.php [FILTER]
 * Runs every *_test.php here; exits non-zero when a test fails.
 */

declare(strict_types=1);

require __DIR__ . '/../helper.php';
require __DIR__ . '/lib.php';

foreach (glob(__DIR__ . '/*_test.php') as $file) {
    require $file;
}

exit(pl_t_run($argv[1] ?? '') ? 0 : 1);

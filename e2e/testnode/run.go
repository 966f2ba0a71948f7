package testnode

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// run executes a host command and returns its stdout; a failure carries the
// command line and stderr so the suite's log says what went wrong.
func run(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

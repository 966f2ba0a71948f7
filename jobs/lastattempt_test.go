package jobs

import (
	"context"
	"testing"

	"github.com/pressluft/pressluft"
)

// Whether a failed deploy may remove its upload: only when no attempt
// will read it again.
func TestLastAttempt(t *testing.T) {
	t.Parallel()
	shutdown, stop := context.WithCancelCause(context.Background())
	stop(errShutdown)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	live := context.Background()
	transient := pressluft.Errorf(pressluft.EAgentLost, "lost")
	permanent := pressluft.Errorf(pressluft.EUnsafeArchive, "traversal")
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		attempt int
		err     error
		want    bool
	}{
		{"handed back at shutdown", shutdown, 3, transient, false},
		{"cancelled", cancelled, 1, transient, true},
		{"retried", live, 1, transient, false},
		{"transient on the last attempt", live, 3, transient, true},
		{"permanent", live, 1, permanent, true},
	} {
		if got := lastAttempt(tc.ctx, &pressluft.Job{Attempt: tc.attempt, MaxAttempts: 3}, tc.err); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

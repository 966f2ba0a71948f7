package nodeagent

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pressluft/pressluft/agent/protocol"
)

func TestLockKeepsASecondAgentOut(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first, err := lockEnv(t.Context(), dir, "shop", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, err = lockEnv(t.Context(), dir, "shop", 200*time.Millisecond)
	var e *Error
	if !errors.As(err, &e) || e.Code != protocol.ErrEnvLocked {
		t.Fatalf("second lock: %v, want env_locked", err)
	}
	other, err := lockEnv(t.Context(), dir, "shop-staging", 0)
	if err != nil {
		t.Fatalf("another environment's lock: %v", err)
	}
	other.release()
	first.release()
	again, err := lockEnv(t.Context(), dir, "shop", 0)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	again.release()
}

func TestLockWaitsForTheHolder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first, err := lockEnv(t.Context(), dir, "shop", 0)
	if err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	go func() {
		time.Sleep(150 * time.Millisecond)
		close(released)
		first.release()
	}()
	second, err := lockEnv(t.Context(), dir, "shop", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-released:
	default:
		t.Fatal("the second lock was taken while the first was held")
	}
	second.release()
}

func TestLockWaitEndsWithCancel(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first, err := lockEnv(t.Context(), dir, "shop", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer first.release()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = lockEnv(ctx, dir, "shop", time.Minute)
	var e *Error
	if !errors.As(err, &e) || e.Code != protocol.ErrCancelled {
		t.Fatalf("err = %v, want cancelled", err)
	}
}

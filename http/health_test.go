package http_test

import (
	"testing"

	"github.com/pressluft/pressluft"
)

func TestAPI_HealthShowsTheRunningVersion(t *testing.T) {
	t.Parallel()
	ts := mustServer(t)
	got := ts.client(t).expect("GET", "/api/health", "", 200, "")
	if got["status"] != "ok" || got["version"] != pressluft.Version || pressluft.Version == "" {
		t.Fatalf("health = %v, want status ok and version %q", got, pressluft.Version)
	}
}

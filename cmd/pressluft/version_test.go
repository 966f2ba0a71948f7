package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/pressluft/pressluft"
)

func TestVersionCommand(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, &out); err != nil {
		t.Fatal(err)
	}
	if want := "pressluft " + pressluft.Version + "\n"; out.String() != want {
		t.Fatalf("version printed %q, want %q", out.String(), want)
	}
}

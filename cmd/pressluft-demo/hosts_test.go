package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestHostsBlock(t *testing.T) {
	t.Parallel()
	const orig = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n"
	names := map[string]string{"demo-production.10-77-3-2.sslip.io": "10.77.3.2", "b.example": "10.77.3.2"}
	want := orig + hostsBegin + "\n10.77.3.2\tb.example\n10.77.3.2\tdemo-production.10-77-3-2.sslip.io\n" + hostsEnd + "\n"

	for _, tc := range []struct {
		name, in, want string
		names          map[string]string
	}{
		{"added", orig, want, names},
		{"replaced, not doubled", want, want, names},
		{"added after a last line without newline", "127.0.0.1\tlocalhost", "127.0.0.1\tlocalhost\n" + hostsBegin + "\n10.77.3.2\tb.example\n10.77.3.2\tdemo-production.10-77-3-2.sslip.io\n" + hostsEnd + "\n", names},
		{"removed exactly", want, orig, nil},
		{"nothing to remove", orig, orig, nil},
		{"a block in the middle is removed, lines after it kept", orig + hostsBegin + "\n1.2.3.4\tx\n" + hostsEnd + "\n10.0.0.1\tother\n", orig + "10.0.0.1\tother\n", nil},
	} {
		if got := withHostsBlock(tc.in, tc.names); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
	if n := hostsBlockLines(want); n != 2 {
		t.Errorf("hostsBlockLines = %d, want 2", n)
	}
	if n := hostsBlockLines(orig); n != 0 {
		t.Errorf("hostsBlockLines without a block = %d", n)
	}
}

func TestSetHostsWritesInPlace(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(path, []byte("127.0.0.1\tlocalhost\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(path)
	if _, err := setHosts(path, map[string]string{"a.example": "10.77.1.2"}); err != nil {
		t.Fatal(err)
	}
	removed, err := setHosts(path, nil)
	if err != nil || removed != 1 {
		t.Fatalf("removed %d entries, err %v; want 1", removed, err)
	}
	after, _ := os.Stat(path)
	if !os.SameFile(before, after) {
		t.Error("the file was replaced instead of rewritten in place")
	}
	if b, _ := os.ReadFile(path); string(b) != "127.0.0.1\tlocalhost\n" {
		t.Errorf("after removal: %q", b)
	}
}

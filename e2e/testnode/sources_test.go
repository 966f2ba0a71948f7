package testnode

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseDeb822Sources(t *testing.T) {
	t.Parallel()
	in := `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://src.example.org/debian
Suites: bookworm
Components: main

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Enabled: yes

Types: deb
URIs: http://disabled.example.org/debian
Suites: bookworm
Components: main
Enabled: no
`
	got, err := parseDeb822Sources(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []AptSource{
		{URI: "http://deb.debian.org/debian", Suites: []string{"bookworm", "bookworm-updates"}, Components: []string{"main"}},
		{URI: "http://deb.debian.org/debian-security", Suites: []string{"bookworm-security"}, Components: []string{"main"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if hosts := MirrorHosts(got); !reflect.DeepEqual(hosts, []string{"deb.debian.org"}) {
		t.Fatalf("hosts = %v", hosts)
	}
	mirror, err := DebianMirror(got)
	if err != nil || mirror != "http://deb.debian.org/debian" {
		t.Fatalf("mirror = %q, %v", mirror, err)
	}
	list := sourcesList(got)
	for _, line := range []string{
		"deb http://deb.debian.org/debian bookworm main\n",
		"deb http://deb.debian.org/debian bookworm-updates main\n",
		"deb http://deb.debian.org/debian-security bookworm-security main\n",
	} {
		if !strings.Contains(list, line) {
			t.Errorf("sources.list lacks %q:\n%s", line, list)
		}
	}
}

func TestParseOneLineSources(t *testing.T) {
	t.Parallel()
	in := `# comment
deb http://deb.debian.org/debian bookworm main contrib
deb [signed-by=/usr/share/keyrings/x.gpg arch=amd64] http://security.debian.org/debian-security bookworm-security main # trailing
deb-src http://deb.debian.org/debian bookworm main
deb https://tls.example.org/debian bookworm main
`
	got, err := parseOneLineSources(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d sources: %+v", len(got), got)
	}
	if got[1].URI != "http://security.debian.org/debian-security" || got[1].Suites[0] != "bookworm-security" {
		t.Fatalf("options not skipped: %+v", got[1])
	}
	// https sources cannot go through a plain HTTP proxy: not allowlisted.
	want := []string{"deb.debian.org", "security.debian.org"}
	if hosts := MirrorHosts(got); !reflect.DeepEqual(hosts, want) {
		t.Fatalf("hosts = %v, want %v", hosts, want)
	}
}

func TestValidName(t *testing.T) {
	t.Parallel()
	for name, ok := range map[string]bool{
		"n1": true, "web-1": true, "a": true,
		"": false, "1n": false, "N1": false, "a_b": false, "../x": false,
		"a-very-long-node-name-x": false,
	} {
		if err := ValidName(name); (err == nil) != ok {
			t.Errorf("ValidName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}

func TestUnescapeMount(t *testing.T) {
	t.Parallel()
	if got := unescapeMount(`/var/lib/a\040b`); got != "/var/lib/a b" {
		t.Fatalf("got %q", got)
	}
}

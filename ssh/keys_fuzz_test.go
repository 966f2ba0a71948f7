package ssh

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"strings"
	"testing"

	"github.com/pressluft/pressluft"
	"golang.org/x/crypto/ssh"
)

// FuzzHostKey parses a pinned host key as the SSH client and the Ansible
// runner do: a known_hosts line is made only of a valid key and names
// exactly the node's address, and the pin accepts exactly the pinned key.
func FuzzHostKey(f *testing.F) {
	pub, _, _ := ed25519.GenerateKey(bytes.NewReader(make([]byte, 64)))
	sshPub, _ := ssh.NewPublicKey(pub)
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))
	for _, host := range []string{"10.77.1.2", "web.example.com", "::1", "a b", "x\n10.0.0.1"} {
		f.Add(host, 22, line, sshPub.Marshal())
		f.Add(host, 2222, line+" comment", []byte("garbage"))
	}
	f.Add("h", 22, "ssh-ed25519 AAAA", []byte{0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, host string, port int, pinned string, offered []byte) {
		if pressluft.ValidateHost("host", host) == nil && port > 0 && port < 65536 {
			khLine, err := KnownHostsLine(host, port, pinned)
			if err == nil {
				marker, hosts, key, _, rest, err := ssh.ParseKnownHosts([]byte(khLine + "\n"))
				want := host
				if port != 22 {
					want = fmt.Sprintf("[%s]:%d", host, port)
				}
				if err != nil || marker != "" || len(bytes.TrimSpace(rest)) != 0 || len(hosts) != 1 || hosts[0] != want {
					t.Fatalf("KnownHostsLine(%q, %d, %q) = %q: hosts %q, rest %q, err %v", host, port, pinned, khLine, hosts, rest, err)
				}
				p, _, _, _, _ := ssh.ParseAuthorizedKey([]byte(pinned))
				if !bytes.Equal(key.Marshal(), p.Marshal()) {
					t.Fatalf("known_hosts pins another key than %q", pinned)
				}
			}
		}
		key, err := ssh.ParsePublicKey(offered)
		if err != nil {
			return
		}
		var seen string
		n := &pressluft.Node{Host: host, HostKey: pinned}
		err = (&Pool{}).hostKeyCallback(context.Background(), n, &seen)(host, nil, key)
		p, _, _, _, perr := ssh.ParseAuthorizedKey([]byte(pinned))
		same := perr == nil && bytes.Equal(p.Marshal(), key.Marshal())
		switch {
		case pinned == "" && err != nil:
			t.Fatalf("first contact refused: %v", err)
		case pinned != "" && (err == nil) != same:
			t.Fatalf("pinned %q, offered %x: accepted=%v", pinned, offered, err == nil)
		}
		if seen != strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key))) {
			t.Fatalf("seen key %q", seen)
		}
	})
}

package ssh_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pressluft/pressluft"
	plssh "github.com/pressluft/pressluft/ssh"
	"golang.org/x/crypto/ssh"
)

// fakeNode is the remote side: an SSH server on loopback that lets in one
// key for user root and answers every command with exit status 0.
func fakeNode(t *testing.T, clientKey ssh.PublicKey) (port int, hostKey ssh.Signer) {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	hostKey, _ = ssh.NewSignerFromKey(priv)
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(c ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
		if c.User() == "root" && string(k.Marshal()) == string(clientKey.Marshal()) {
			return nil, nil
		}
		return nil, net.ErrClosed
	}}
	cfg.AddHostKey(hostKey)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(conn, cfg)
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, hostKey
}

func serve(conn net.Conn, cfg *ssh.ServerConfig) {
	_, chans, reqs, err := ssh.NewServerConn(conn, cfg)
	if err != nil {
		conn.Close()
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		go func() {
			for r := range creqs {
				if r.Type == "exec" {
					r.Reply(true, nil)
					status := make([]byte, 4)
					binary.BigEndian.PutUint32(status, 0)
					ch.SendRequest("exit-status", false, status)
					ch.Close()
					return
				}
				r.Reply(false, nil)
			}
		}()
	}
}

func newPool(t *testing.T) (*plssh.Pool, ssh.PublicKey, *[]string) {
	t.Helper()
	key, err := plssh.NewKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := ssh.ParsePrivateKey(key)
	pinned := &[]string{}
	p, err := plssh.NewPool(key, func(_ context.Context, _, hostKey, fp string) error {
		*pinned = append(*pinned, fp)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	p.DialTimeout = 2 * time.Second
	t.Cleanup(p.Close)
	return p, signer.PublicKey(), pinned
}

func TestPool_PinsHostKeyAndRefusesAChangedOne(t *testing.T) {
	t.Parallel()
	p, pub, pinned := newPool(t)
	port, hostKey := fakeNode(t, pub)
	n := &pressluft.Node{ID: "n1", Host: "127.0.0.1", SSHPort: port, SSHUser: "root"}
	if err := p.Probe(context.Background(), n, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if len(*pinned) != 1 || (*pinned)[0] != ssh.FingerprintSHA256(hostKey.PublicKey()) || n.HostKey == "" {
		t.Fatalf("pinned %v", *pinned)
	}
	res, err := p.Run(context.Background(), n, "true", nil)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("Run = %+v, %v", res, err)
	}

	// The same address now presents another key (a reinstalled or
	// impersonated server): refused, and nothing is re-pinned.
	port2, _ := fakeNode(t, pub)
	n.SSHPort = port2
	p.Forget(n.ID)
	err = p.Probe(context.Background(), n, 5*time.Second)
	if pressluft.ErrorCode(err) != pressluft.EHostKeyMismatch {
		t.Fatalf("changed host key: %v", err)
	}
	if len(*pinned) != 1 {
		t.Fatal("a changed host key was pinned")
	}
}

func TestPool_ClearErrors(t *testing.T) {
	t.Parallel()
	p, pub, _ := newPool(t)
	port, _ := fakeNode(t, pub)
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()
	silent, _ := net.Listen("tcp", "127.0.0.1:0")
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	for _, tc := range []struct {
		name, user string
		port       int
		code, text string
	}{
		{"wrong user", "deploy", port, pressluft.ESSHAuthFailed, "authorized_keys"},
		{"wrong port", "root", closedPort, pressluft.ENodeUnreachable, "connection refused"},
		{"no answer", "root", silent.Addr().(*net.TCPAddr).Port, pressluft.ENodeUnreachable, ""},
	} {
		n := &pressluft.Node{ID: tc.name, Host: "127.0.0.1", SSHPort: tc.port, SSHUser: tc.user}
		err := p.Probe(context.Background(), n, 3*time.Second)
		if pressluft.ErrorCode(err) != tc.code || !strings.Contains(pressluft.ErrorMessage(err), tc.text) {
			t.Errorf("%s: %v, want %s mentioning %q", tc.name, err, tc.code, tc.text)
		}
		// Nothing ran on the node: a job failing with this leaves its resource as it was.
		if !pressluft.IsUntouched(err) {
			t.Errorf("%s: probe error not marked untouched", tc.name)
		}
		if tc.code == pressluft.ENodeUnreachable {
			if _, err := p.Run(context.Background(), n, "true", nil); pressluft.ErrorCode(err) != tc.code || !pressluft.IsUntouched(err) {
				t.Errorf("%s: Run = %v (untouched %v)", tc.name, err, pressluft.IsUntouched(err))
			}
		}
	}
}

func TestKnownHostsLine(t *testing.T) {
	t.Parallel()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	s, _ := ssh.NewSignerFromKey(priv)
	key := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.PublicKey())))
	for port, prefix := range map[int]string{22: "10.0.0.1 ssh-ed25519 ", 2222: "[10.0.0.1]:2222 ssh-ed25519 "} {
		line, err := plssh.KnownHostsLine("10.0.0.1", port, key)
		if err != nil || !strings.HasPrefix(line, prefix) {
			t.Errorf("port %s: %q %v", strconv.Itoa(port), line, err)
		}
	}
	if _, err := plssh.KnownHostsLine("10.0.0.1", 22, "garbage"); err == nil {
		t.Error("garbage host key accepted")
	}
}

// Package ssh reaches nodes over SSH with golang.org/x/crypto/ssh: the
// control plane's key pair, host-key pinning, reused connections, commands
// and reachability probes.
package ssh

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// NewKeyPair returns a new ed25519 key as an OpenSSH PEM private key.
func NewKeyPair() ([]byte, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "pressluft control plane")
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(block), nil
}

// PublicKeyLine returns the authorized_keys line of a PEM private key.
func PublicKeyLine(privatePEM []byte) (string, error) {
	signer, err := ssh.ParsePrivateKey(privatePEM)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))) + " pressluft", nil
}

// KnownHostsLine is the known_hosts entry that pins hostKey (an
// authorized_keys-format key) for host and port, for OpenSSH clients such as
// the one Ansible runs.
func KnownHostsLine(host string, port int, hostKey string) (string, error) {
	pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(hostKey))
	if err != nil {
		return "", fmt.Errorf("parse pinned host key: %w", err)
	}
	addr := host
	if port != 22 {
		addr = fmt.Sprintf("[%s]:%d", host, port)
	}
	return addr + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk))), nil
}

// Package ansible runs the playbooks shipped inside the binary against a
// node, turning Ansible's progress into job events and its failures into
// stable error codes.
package ansible

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

//go:embed ansible.cfg plugins playbooks roles
var files embed.FS

// contentHash identifies this build's playbooks, so each version extracts
// into its own directory and a running job never sees files change.
func contentHash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(b))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:16], err
}

// Extract writes the embedded tree under base/<hash> (once) and returns that
// directory.
func Extract(base string) (string, error) {
	hash, err := contentHash()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(base, hash)
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return dir, nil
	}
	tmp, err := os.MkdirTemp(base, ".extract-")
	if err != nil {
		if err := os.MkdirAll(base, 0o700); err != nil {
			return "", err
		}
		if tmp, err = os.MkdirTemp(base, ".extract-"); err != nil {
			return "", err
		}
	}
	defer os.RemoveAll(tmp)
	err = fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(tmp, path)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := files.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), nil, 0o644); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil && !os.IsExist(err) {
		if _, statErr := os.Stat(filepath.Join(dir, ".complete")); statErr != nil {
			return "", err
		}
	}
	return dir, nil
}

package nodeagent

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pressluft/pressluft/agent/protocol"
)

// writeBackup makes a complete backup of scope full in a temporary
// directory and returns it with its manifest's sha256.
func writeBackup(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	m := &protocol.Manifest{Format: 1, BackupID: "b1", Scope: "full", Environment: "acme-production",
		URL: "http://acme.test", SiteURL: "http://acme.test", TablePrefix: "wp_", CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Tables: map[string]int64{"wp_posts": 2}}
	for name, content := range map[string]string{protocol.PartDB: "INSERT INTO `wp_posts` VALUES (1),(2);\n", protocol.PartFiles: noise(5000)} {
		w, err := createPart(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, content)
		part, err := w.finish(name)
		if err != nil {
			t.Fatal(err)
		}
		if part.Unpacked != int64(len(content)) || part.Size == 0 {
			t.Fatalf("part %+v", part)
		}
		m.Parts = append(m.Parts, part)
	}
	data := encodeManifest(m)
	if err := os.WriteFile(filepath.Join(dir, protocol.PartManifest), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, sha256Hex(data)
}

// noise is incompressible text.
func noise(n int) string {
	b := make([]byte, n)
	rand.New(rand.NewSource(int64(n))).Read(b)
	return string(b)
}

func TestCompressedPartRoundTrip(t *testing.T) {
	t.Parallel()
	dir, _ := writeBackup(t)
	r, err := openPart(filepath.Join(dir, protocol.PartFiles))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil || string(got) != noise(5000) {
		t.Fatalf("read back %d bytes, %v", len(got), err)
	}
}

func TestManifestVerification(t *testing.T) {
	t.Parallel()
	dir, sum := writeBackup(t)
	data, err := readManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseManifest(data, "b1", sum)
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyParts(dir, m); err != nil {
		t.Fatalf("intact backup: %v", err)
	}
	if _, err := parseManifest(data, "b1", strings.Repeat("0", 64)); !hasCode(err, protocol.ErrChecksumMismatch) {
		t.Errorf("other manifest sha: %v", err)
	}
	if _, err := parseManifest(data, "b2", sum); !hasCode(err, protocol.ErrUnsafeArchive) {
		t.Errorf("other backup id: %v", err)
	}

	// One flipped byte in each part, one at a time.
	for _, p := range m.Parts {
		path := filepath.Join(dir, p.Name)
		orig, _ := os.ReadFile(path)
		flipped := append([]byte(nil), orig...)
		flipped[len(flipped)/2] ^= 0x01
		os.WriteFile(path, flipped, 0o600)
		if err := verifyParts(dir, m); !hasCode(err, protocol.ErrChecksumMismatch) || !strings.Contains(err.Error(), p.Name) {
			t.Errorf("%s with a flipped byte: %v", p.Name, err)
		}
		os.WriteFile(path, orig[:len(orig)-1], 0o600)
		if err := verifyParts(dir, m); !hasCode(err, protocol.ErrChecksumMismatch) {
			t.Errorf("%s cut short: %v", p.Name, err)
		}
		os.WriteFile(path, orig, 0o600)
	}
	os.Remove(filepath.Join(dir, protocol.PartDB))
	if err := verifyParts(dir, m); !hasCode(err, protocol.ErrChecksumMismatch) {
		t.Errorf("missing part: %v", err)
	}

	// Manifests that name other parts, or paths, are refused.
	for name, mutate := range map[string]func(*protocol.Manifest){
		"a path as part":   func(m *protocol.Manifest) { m.Parts[0].Name = "../../etc/shadow" },
		"a missing part":   func(m *protocol.Manifest) { m.Parts = m.Parts[:1] },
		"an extra part":    func(m *protocol.Manifest) { m.Parts = append(m.Parts, m.Parts[0]) },
		"a wrong scope":    func(m *protocol.Manifest) { m.Scope = "db" },
		"an unknown scope": func(m *protocol.Manifest) { m.Scope = "everything" },
		"a bad checksum":   func(m *protocol.Manifest) { m.Parts[0].SHA256 = "x" },
		"a format 2":       func(m *protocol.Manifest) { m.Format = 2 },
		"an env path":      func(m *protocol.Manifest) { m.Environment = "../acme" },
		"a url with path":  func(m *protocol.Manifest) { m.SiteURL = "http://acme.test/../../x" },
	} {
		var copy protocol.Manifest
		json.Unmarshal(data, &copy)
		mutate(&copy)
		raw := encodeManifest(&copy)
		if _, err := parseManifest(raw, "b1", sha256Hex(raw)); !hasCode(err, protocol.ErrUnsafeArchive) {
			t.Errorf("manifest with %s: %v", name, err)
		}
	}
	raw := []byte(strings.Replace(string(data), `"format"`, `"shell": "rm -rf /", "format"`, 1))
	if _, err := parseManifest(raw, "b1", sha256Hex(raw)); !hasCode(err, protocol.ErrUnsafeArchive) {
		t.Errorf("manifest with an unknown field: %v", err)
	}
}

func hasCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// readFramed splits a backup_read answer into its JSON line and the bytes after it.
func readFramed(t *testing.T, out []byte) (protocol.Message, []byte) {
	t.Helper()
	r := bufio.NewReader(bytes.NewReader(out))
	line, err := r.ReadBytes('\n')
	if err != nil {
		t.Fatalf("no JSON line in %q", out)
	}
	var m protocol.Message
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatalf("first line %q: %v", line, err)
	}
	rest, _ := io.ReadAll(r)
	return m, rest
}

func TestReadFraming(t *testing.T) {
	t.Parallel()
	dir, _ := writeBackup(t)
	whole, _ := os.ReadFile(filepath.Join(dir, protocol.PartFiles))
	size := int64(len(whole))
	for _, c := range []struct {
		offset, length int64
		want           []byte
	}{
		{0, -1, whole},
		{10, 20, whole[10:30]},
		{size - 5, -1, whole[size-5:]},
		{size - 5, 100, whole[size-5:]},
		{size, -1, nil},
		{size + 10, -1, nil},
		{3, 0, nil},
	} {
		var out bytes.Buffer
		w := NewWriter(&out)
		code := streamPart(w, &out, dir, &protocol.Backup{ID: "b1", Part: protocol.PartFiles, Offset: c.offset, Length: c.length})
		m, rest := readFramed(t, out.Bytes())
		var res protocol.ReadResult
		json.Unmarshal(m.Result, &res)
		if code != 0 || m.Type != protocol.TypeResult || res.Size != size || !bytes.Equal(rest, c.want) {
			t.Errorf("range %d+%d: exit %d, %s %+v, %d bytes (want %d)", c.offset, c.length, code, m.Type, res, len(rest), len(c.want))
		}
	}
	// A part that is not there: one error line and nothing after it.
	for _, c := range []struct{ dir, part string }{{dir, "missing.zst"}, {t.TempDir(), protocol.PartDB}} {
		var out bytes.Buffer
		code := streamPart(NewWriter(&out), &out, c.dir, &protocol.Backup{ID: "b1", Part: c.part, Length: -1})
		m, rest := readFramed(t, out.Bytes())
		if code != 1 || m.Type != protocol.TypeError || m.Code != protocol.ErrBackupUnavailable || len(rest) != 0 {
			t.Errorf("%s: exit %d, %+v, %d bytes after", c.part, code, m, len(rest))
		}
	}
	// An incomplete backup (no manifest yet) is not readable.
	os.Remove(filepath.Join(dir, protocol.PartManifest))
	var out bytes.Buffer
	streamPart(NewWriter(&out), &out, dir, &protocol.Backup{ID: "b1", Part: protocol.PartDB, Length: -1})
	if m, _ := readFramed(t, out.Bytes()); m.Code != protocol.ErrBackupUnavailable {
		t.Errorf("incomplete backup: %+v", m)
	}
}

func TestCheckSpace(t *testing.T) {
	t.Parallel()
	free := func(path string) (int64, uint64, error) {
		switch {
		case strings.HasPrefix(path, "/srv"):
			return 1 << 30, 1, nil
		case strings.HasPrefix(path, "/var/lib/mysql"):
			return 1 << 30, 1, nil // the same filesystem
		}
		return 10 << 30, 2, nil
	}
	if err := checkSpace([]spaceNeed{{"/srv/pressluft", 500 << 20, "files"}}, free); err != nil {
		t.Errorf("500 MB on 1 GB: %v", err)
	}
	err := checkSpace([]spaceNeed{{"/srv/pressluft", 500 << 20, "files"}, {"/var/lib/mysql", 400 << 20, "database"}}, free)
	if !hasCode(err, protocol.ErrInsufficientSpace) || !strings.Contains(err.Error(), "files 524.3 MB, database 419.4 MB") || !strings.Contains(err.Error(), "1.1 GB free") {
		t.Errorf("900 MB and the margin on one 1 GB filesystem: %v", err)
	}
	if err := checkSpace([]spaceNeed{{"/srv/pressluft", 500 << 20, "files"}, {"/data/mysql", 4 << 30, "database"}}, free); err != nil {
		t.Errorf("two filesystems: %v", err)
	}
}

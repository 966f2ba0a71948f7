package nodeagent

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pressluft/pressluft/agent/protocol"
)

// manifestFormat is the version of manifest.json this agent writes and reads.
const manifestFormat = 1

// maxManifestBytes bounds what is read as a manifest.
const maxManifestBytes = 16 << 20

// partsFor are the data parts a backup of scope holds.
func partsFor(scope string) []string {
	switch scope {
	case "db":
		return []string{protocol.PartDB}
	case "files":
		return []string{protocol.PartFiles}
	case "full":
		return []string{protocol.PartDB, protocol.PartFiles}
	}
	return nil
}

// encodeManifest is manifest.json's exact content.
func encodeManifest(m *protocol.Manifest) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		panic(err) // a struct of strings, numbers and a map: always encodes
	}
	return buf.Bytes()
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// hashFile is the sha256 and size of a file.
func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, f, make([]byte, 1<<20))
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// readManifest reads dir/manifest.json and its sha256.
func readManifest(dir string) ([]byte, error) {
	f, err := os.Open(filepath.Join(dir, protocol.PartManifest))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxManifestBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxManifestBytes {
		return nil, errorf(protocol.ErrUnsafeArchive, "manifest.json is larger than %d bytes", maxManifestBytes)
	}
	return data, nil
}

// parseManifest checks the manifest's own bytes against wantSHA and its
// content against what a backup of id may hold: the exact parts of its
// scope, well-formed checksums and names. It changes nothing.
func parseManifest(data []byte, id, wantSHA string) (*protocol.Manifest, error) {
	if got := sha256Hex(data); got != wantSHA {
		return nil, errorf(protocol.ErrChecksumMismatch,
			"manifest.json of backup %s hashes to %s, but the backup was recorded as %s: it was changed or damaged; nothing was touched", id, got, wantSHA)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m protocol.Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, errorf(protocol.ErrUnsafeArchive, "manifest.json of backup %s is unreadable: %s", id, describeJSONError(err))
	}
	if m.Format != manifestFormat {
		return nil, errorf(protocol.ErrUnsafeArchive, "manifest.json of backup %s has format %d; this agent reads format %d", id, m.Format, manifestFormat)
	}
	if m.BackupID != id {
		return nil, errorf(protocol.ErrUnsafeArchive, "manifest.json names backup %q, not %s", truncate(m.BackupID, 80), id)
	}
	if !envNamePattern.MatchString(m.Environment) {
		return nil, errorf(protocol.ErrUnsafeArchive, "manifest.json names an invalid environment %q", truncate(m.Environment, 80))
	}
	for field, u := range map[string]string{"url": m.URL, "site_url": m.SiteURL} {
		if u != "" && validateURL(field, u) != nil {
			return nil, errorf(protocol.ErrUnsafeArchive, "manifest.json has an invalid %s %q", field, truncate(u, 200))
		}
	}
	want := partsFor(m.Scope)
	if want == nil {
		return nil, errorf(protocol.ErrUnsafeArchive, "manifest.json has an unknown scope %q", truncate(m.Scope, 40))
	}
	var got []string
	for _, p := range m.Parts {
		if !sha256Pattern.MatchString(p.SHA256) || p.Size < 0 || p.Unpacked < 0 {
			return nil, errorf(protocol.ErrUnsafeArchive, "manifest.json describes part %q with an invalid size or checksum", truncate(p.Name, 80))
		}
		got = append(got, p.Name)
	}
	sort.Strings(got)
	sorted := append([]string(nil), want...)
	sort.Strings(sorted)
	if strings.Join(got, ",") != strings.Join(sorted, ",") {
		return nil, errorf(protocol.ErrUnsafeArchive, "manifest.json of a %s backup must list exactly %s, not %s",
			m.Scope, strings.Join(want, " and "), truncate(strings.Join(got, ", "), 200))
	}
	return &m, nil
}

// verifyParts checks each part's size and sha256 in dir against m.
func verifyParts(dir string, m *protocol.Manifest) error {
	for _, p := range m.Parts {
		path := filepath.Join(dir, p.Name)
		fi, err := os.Stat(path)
		if errors.Is(err, os.ErrNotExist) {
			return errorf(protocol.ErrChecksumMismatch, "backup %s lacks %s; nothing was touched", m.BackupID, p.Name)
		} else if err != nil {
			return err
		}
		if fi.Size() != p.Size {
			return errorf(protocol.ErrChecksumMismatch, "%s of backup %s holds %d bytes, its manifest says %d: it was changed or damaged; nothing was touched",
				p.Name, m.BackupID, fi.Size(), p.Size)
		}
		sum, _, err := hashFile(path)
		if err != nil {
			return err
		}
		if sum != p.SHA256 {
			return errorf(protocol.ErrChecksumMismatch, "%s of backup %s hashes to %s, its manifest says %s: it was changed or damaged; nothing was touched",
				p.Name, m.BackupID, sum, p.SHA256)
		}
	}
	return nil
}

// partOf returns the manifest's entry for name.
func partOf(m *protocol.Manifest, name string) (protocol.ManifestPart, bool) {
	for _, p := range m.Parts {
		if p.Name == name {
			return p, true
		}
	}
	return protocol.ManifestPart{}, false
}

// backupSize is the parts and the manifest together.
func backupSize(m *protocol.Manifest, manifestBytes int) int64 {
	n := int64(manifestBytes)
	for _, p := range m.Parts {
		n += p.Size
	}
	return n
}

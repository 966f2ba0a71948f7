package nodeagent

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/pressluft/pressluft/agent/protocol"
	"golang.org/x/sys/unix"
)

// extractTargets are the staging directories an archive is unpacked into;
// nothing is ever written anywhere else. Each must not exist yet.
type extractTargets struct {
	// WPContent receives wp-content/**, Uploads receives uploads/**; ""
	// checks those entries and writes nothing. config/** is only checked:
	// the target keeps its own configuration.
	WPContent string
	Uploads   string
	UID, GID  int
}

type extractStats struct {
	Files int64
	Bytes int64
}

// extract unpacks a files.tar (already decompressed) into t. It refuses
// with unsafe_archive, before or while writing (into the staging
// directories only), any entry named with "..", an absolute path or a
// name outside wp-content/, uploads/ and config/; a symlink whose target
// leaves its tree; a hard link, device, fifo or other special file; an
// entry below a symlink; the same name twice; and wp-content/uploads,
// which is the link to shared/uploads.
func extract(ctx context.Context, r io.Reader, t extractTargets) (extractStats, error) {
	x := &extractor{t: t, dirs: map[string]bool{}, seen: map[string]bool{}, buf: make([]byte, 1<<20)}
	for _, root := range []string{t.WPContent, t.Uploads} {
		if root == "" {
			continue
		}
		if err := os.Mkdir(root, 0o755); err != nil {
			return x.stats, err
		}
		if err := os.Lchown(root, t.UID, t.GID); err != nil {
			return x.stats, err
		}
		x.dirs[root] = true
	}
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return x.stats, errorf(protocol.ErrCancelled, "cancelled while extracting the files")
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return x.stats, errorf(protocol.ErrUnsafeArchive, "files.tar.zst is not a readable tar archive: %v", err)
		}
		if err := x.entry(hdr, tr); err != nil {
			return x.stats, err
		}
	}
	// Directory times last: creating their entries changed them.
	for i := len(x.dirTimes) - 1; i >= 0; i-- {
		d := x.dirTimes[i]
		if err := os.Chtimes(d.path, d.mtime, d.mtime); err != nil {
			return x.stats, err
		}
	}
	return x.stats, nil
}

type extractor struct {
	t        extractTargets
	dirs     map[string]bool // directories this extraction created (or the roots)
	seen     map[string]bool
	dirTimes []dirTime
	stats    extractStats
	buf      []byte
}

func unsafeEntry(name, format string, args ...any) error {
	return errorf(protocol.ErrUnsafeArchive, "files.tar.zst: entry %q %s; nothing outside the staging directories was touched",
		truncate(name, 200), fmt.Sprintf(format, args...))
}

// entry checks one header and writes it into its staging directory.
func (x *extractor) entry(hdr *tar.Header, body io.Reader) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	raw := hdr.Name
	name := strings.TrimSuffix(raw, "/")
	switch {
	case name == "" || strings.ContainsRune(name, 0):
		return unsafeEntry(raw, "has no usable name")
	case path.IsAbs(name) || strings.HasPrefix(name, "/"):
		return unsafeEntry(raw, "is an absolute path")
	case containsDotDot(name):
		return unsafeEntry(raw, "contains ..")
	case path.Clean(name) != name:
		return unsafeEntry(raw, "is not a clean path")
	}
	top, rest, _ := strings.Cut(name, "/")
	var root string
	switch top {
	case archWPContent:
		root = x.t.WPContent
		if rest == "uploads" || strings.HasPrefix(rest, "uploads/") {
			return unsafeEntry(raw, "would replace wp-content/uploads, the link to the shared uploads")
		}
	case archUploads:
		root = x.t.Uploads
	case archConfig:
		if rest == "" || rest != "wp-config.php" && rest != "wp-config.d" && !strings.HasPrefix(rest, "wp-config.d/") {
			return unsafeEntry(raw, "is not config/wp-config.php or under config/wp-config.d/")
		}
	default:
		return unsafeEntry(raw, "is outside wp-content/, uploads/ and config/")
	}
	if x.seen[name] {
		return unsafeEntry(raw, "appears twice")
	}
	x.seen[name] = true
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeDir:
	case tar.TypeSymlink:
		if !linkStaysInside(name, hdr.Linkname, topOf(name)) {
			return unsafeEntry(raw, "is a symlink to %q, which leaves %s/", truncate(hdr.Linkname, 200), topOf(name))
		}
	case tar.TypeLink:
		return unsafeEntry(raw, "is a hard link")
	case tar.TypeChar, tar.TypeBlock:
		return unsafeEntry(raw, "is a device file")
	case tar.TypeFifo:
		return unsafeEntry(raw, "is a fifo")
	default:
		return unsafeEntry(raw, "has the unsupported type %q", string(hdr.Typeflag))
	}
	if top == archConfig || root == "" {
		return nil // checked, not written
	}
	dst := root
	if rest != "" {
		dst = filepath.Join(root, filepath.FromSlash(rest))
	}
	if rest == "" {
		// The tree's own directory: its mode and time.
		if hdr.Typeflag != tar.TypeDir {
			return unsafeEntry(raw, "must be a directory")
		}
		if err := os.Chmod(dst, safeMode(hdr.Mode, true)); err != nil {
			return err
		}
		x.dirTimes = append(x.dirTimes, dirTime{dst, hdr.ModTime})
		return nil
	}
	if err := x.parents(root, dst, raw); err != nil {
		return err
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := os.Mkdir(dst, safeMode(hdr.Mode, true)|0o700); err != nil {
			return x.exists(raw, err)
		}
		if err := os.Lchown(dst, x.t.UID, x.t.GID); err != nil {
			return err
		}
		// Mode again: Mkdir applied the umask, and chown clears set-id bits.
		if err := os.Chmod(dst, safeMode(hdr.Mode, true)); err != nil {
			return err
		}
		x.dirs[dst] = true
		x.dirTimes = append(x.dirTimes, dirTime{dst, hdr.ModTime})
	case tar.TypeSymlink:
		if err := os.Symlink(hdr.Linkname, dst); err != nil {
			return x.exists(raw, err)
		}
		if err := os.Lchown(dst, x.t.UID, x.t.GID); err != nil {
			return err
		}
		tv := unix.NsecToTimeval(hdr.ModTime.UnixNano())
		if err := unix.Lutimes(dst, []unix.Timeval{tv, tv}); err != nil {
			return err
		}
	case tar.TypeReg:
		return x.file(hdr, body, dst, raw)
	}
	return nil
}

// parents creates the directories above dst that the archive did not
// list, and refuses to write below anything that is not a directory this
// extraction made (a symlink above an entry would lead out).
func (x *extractor) parents(root, dst, raw string) error {
	var missing []string
	for dir := filepath.Dir(dst); !x.dirs[dir]; dir = filepath.Dir(dir) {
		if dir == root || len(dir) < len(root) {
			break
		}
		if _, err := os.Lstat(dir); err == nil {
			return unsafeEntry(raw, "lies below %s, which is not a directory of the archive", strings.TrimPrefix(dir, root+"/"))
		}
		missing = append(missing, dir)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := os.Mkdir(missing[i], 0o755); err != nil {
			return err
		}
		if err := os.Lchown(missing[i], x.t.UID, x.t.GID); err != nil {
			return err
		}
		x.dirs[missing[i]] = true
	}
	return nil
}

func (x *extractor) exists(raw string, err error) error {
	if errors.Is(err, os.ErrExist) {
		return unsafeEntry(raw, "collides with an earlier entry")
	}
	return err
}

// file writes a regular file: created exclusively (never through a link).
func (x *extractor) file(hdr *tar.Header, body io.Reader, dst, raw string) error {
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return x.exists(raw, err)
	}
	n, err := io.CopyBuffer(f, body, x.buf)
	if err == nil {
		err = f.Chown(x.t.UID, x.t.GID)
	}
	if err == nil {
		err = f.Chmod(safeMode(hdr.Mode, false))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chtimes(dst, hdr.ModTime, hdr.ModTime)
	}
	if err != nil {
		return fmt.Errorf("extract %s: %w", raw, err)
	}
	x.stats.Files++
	x.stats.Bytes += n
	return nil
}

// safeMode keeps the permission bits only: no set-id or sticky bits come
// from an archive. A directory stays traversable by its owner.
func safeMode(mode int64, dir bool) os.FileMode {
	m := os.FileMode(mode) & 0o777
	if dir {
		m |= 0o700
	}
	return m
}

func containsDotDot(name string) bool {
	for _, seg := range strings.Split(name, "/") {
		if seg == ".." {
			return true
		}
	}
	return false
}

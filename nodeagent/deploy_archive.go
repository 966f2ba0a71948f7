package nodeagent

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/pressluft/pressluft/agent/protocol"
)

// maxDeployEntries bounds the entries of a deploy archive: a tar of empty
// files costs nothing to send but a directory entry each to write.
const maxDeployEntries = 500_000

// deployStats is what unpacking a deploy's wp-content wrote and left out.
type deployStats struct {
	Files   int64
	Bytes   int64
	Uploads int64 // entries under wp-content/uploads, left out: uploads stay shared
	Outside int64 // entries outside wp-content/, left out
}

// archiveFormat tells a deploy archive's format from its first bytes.
func archiveFormat(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return "zip"
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return "tar.gz"
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return "tar.zst"
	}
	return ""
}

var errExtractStopped = errors.New("the extraction stopped")

// entrySource yields an archive's entries as tar headers and bodies.
type entrySource interface {
	next() (*tar.Header, io.Reader, error)
}

// unpackArchive unpacks the wp-content/ of the archive f into dst (which
// must not exist) through the safe extraction of backups.
func unpackArchive(ctx context.Context, f *os.File, dst string, uid, gid int, maxBytes int64) (deployStats, error) {
	head := make([]byte, 8)
	n, _ := io.ReadFull(f, head)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return deployStats{}, err
	}
	var src entrySource
	switch archiveFormat(head[:n]) {
	case "zip":
		fi, err := f.Stat()
		if err != nil {
			return deployStats{}, err
		}
		zr, err := zip.NewReader(f, fi.Size())
		if err != nil {
			return deployStats{}, errorf(protocol.ErrUnsafeArchive, "the deploy archive is not a readable zip file: %v", err)
		}
		src = &zipSource{files: zr.File}
	case "tar.gz":
		gz, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<20))
		if err != nil {
			return deployStats{}, errorf(protocol.ErrUnsafeArchive, "the deploy archive is not a readable .tar.gz file: %v", err)
		}
		defer gz.Close()
		src = &tarSource{tr: tar.NewReader(gz)}
	case "tar.zst":
		zr, err := zstd.NewReader(f, zstd.WithDecoderConcurrency(2), zstd.WithDecoderMaxWindow(64<<20))
		if err != nil {
			return deployStats{}, err
		}
		defer zr.Close()
		src = &tarSource{tr: tar.NewReader(zr)}
	default:
		return deployStats{}, errorf(protocol.ErrUnsafeArchive, "the deploy archive is not a .zip, .tar.gz or .tar.zst file")
	}
	return unpackEntries(ctx, src, dst, uid, gid, maxBytes)
}

// unpackEntries passes the wp-content/ entries of src, renamed to nothing
// and checked, as one tar stream to extract, which writes them under dst.
// Names with "..", absolute names, links, devices and fifos are refused
// anywhere in the archive, even where nothing would be written.
func unpackEntries(ctx context.Context, src entrySource, dst string, uid, gid int, maxBytes int64) (deployStats, error) {
	pr, pw := io.Pipe()
	f := &deployFilter{max: maxBytes, tops: map[string]bool{}}
	done := make(chan error, 1)
	go func() {
		err := f.run(ctx, src, tar.NewWriter(pw))
		pw.CloseWithError(err)
		done <- err
	}()
	x, xerr := extract(ctx, pr, extractTargets{WPContent: dst, UID: uid, GID: gid})
	pr.CloseWithError(errExtractStopped)
	ferr := <-done
	f.stats.Files, f.stats.Bytes = x.Files, x.Bytes
	// The filter's own refusal comes first; its write into a stopped extraction does not count.
	if ferr != nil && !errors.Is(ferr, errExtractStopped) {
		return f.stats, ferr
	}
	if xerr != nil {
		if code, _ := errorCode(xerr); code == protocol.ErrUnsafeArchive {
			// extract names its input after the backup part it was written for.
			_, msg := errorCode(xerr)
			return f.stats, errorf(protocol.ErrUnsafeArchive, "%s", strings.Replace(msg, protocol.PartFiles, "the deploy archive", 1))
		}
		if code, _ := errorCode(xerr); code == protocol.ErrCancelled {
			return f.stats, xerr
		}
		return f.stats, errorf(protocol.ErrCommandFailed, "unpacking the deploy archive: %v", xerr)
	}
	if !f.sawWPContent {
		return f.stats, f.missing()
	}
	return f.stats, nil
}

// deployFilter copies the wp-content/ part of an archive into a tar
// stream and checks every entry on its way.
type deployFilter struct {
	max          int64
	unpacked     int64
	entries      int
	sawWPContent bool
	tops         map[string]bool
	stats        deployStats
}

func (f *deployFilter) run(ctx context.Context, src entrySource, tw *tar.Writer) error {
	for {
		if ctx.Err() != nil {
			return errorf(protocol.ErrCancelled, "cancelled while unpacking the deploy archive")
		}
		hdr, body, err := src.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				return e
			}
			return errorf(protocol.ErrUnsafeArchive, "the deploy archive is not readable: %v", err)
		}
		if f.entries++; f.entries > maxDeployEntries {
			return errorf(protocol.ErrArchiveTooLarge, "the deploy archive has more than %d entries", maxDeployEntries)
		}
		if err := f.entry(hdr, body, tw); err != nil {
			return err
		}
	}
	return tw.Close()
}

func unsafeDeployEntry(name, format string, args ...any) error {
	return errorf(protocol.ErrUnsafeArchive, "the deploy archive's entry %q %s; nothing was switched",
		truncate(name, 200), fmt.Sprintf(format, args...))
}

// entry checks one entry and passes it on when it belongs to wp-content/.
func (f *deployFilter) entry(hdr *tar.Header, body io.Reader, tw *tar.Writer) error {
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader:
		return nil
	case tar.TypeReg, tar.TypeDir, tar.TypeSymlink:
	case tar.TypeLink:
		return unsafeDeployEntry(hdr.Name, "is a hard link")
	case tar.TypeChar, tar.TypeBlock:
		return unsafeDeployEntry(hdr.Name, "is a device file")
	case tar.TypeFifo:
		return unsafeDeployEntry(hdr.Name, "is a fifo")
	default:
		return unsafeDeployEntry(hdr.Name, "has the unsupported type %q", string(hdr.Typeflag))
	}
	raw := hdr.Name
	// "tar -C dir ." writes ./wp-content/...
	name := strings.TrimSuffix(strings.TrimPrefix(raw, "./"), "/")
	switch {
	case raw == "./" || name == ".":
		return nil
	case name == "" || strings.ContainsRune(name, 0):
		return unsafeDeployEntry(raw, "has no usable name")
	case strings.ContainsRune(name, '\\'):
		return unsafeDeployEntry(raw, "contains a backslash")
	case path.IsAbs(name):
		return unsafeDeployEntry(raw, "is an absolute path")
	case containsDotDot(name):
		return unsafeDeployEntry(raw, "contains ..")
	case path.Clean(name) != name:
		return unsafeDeployEntry(raw, "is not a clean path")
	}
	if hdr.Typeflag == tar.TypeReg {
		if hdr.Size < 0 {
			return unsafeDeployEntry(raw, "has a negative size")
		}
		if f.unpacked += hdr.Size; f.unpacked > f.max {
			return errorf(protocol.ErrArchiveTooLarge, "the deploy archive unpacks to more than the limit of %s", mb(f.max))
		}
	}
	top, rest, _ := strings.Cut(name, "/")
	if top != archWPContent {
		f.tops[top] = true
		f.stats.Outside++
		return nil
	}
	if rest == "uploads" || strings.HasPrefix(rest, "uploads/") {
		f.stats.Uploads++
		return nil
	}
	f.sawWPContent = true
	out := &tar.Header{
		Typeflag: hdr.Typeflag,
		Name:     name,
		Linkname: hdr.Linkname,
		Mode:     releaseMode(hdr),
		ModTime:  hdr.ModTime,
	}
	if hdr.Typeflag == tar.TypeDir {
		out.Name += "/"
	}
	if hdr.Typeflag == tar.TypeReg {
		out.Size = hdr.Size
	}
	if err := tw.WriteHeader(out); err != nil {
		return err
	}
	if hdr.Typeflag != tar.TypeReg {
		return nil
	}
	if _, err := io.CopyN(tw, body, hdr.Size); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return unsafeDeployEntry(raw, "is shorter than its header says")
		}
		return err
	}
	return nil
}

// releaseMode is the mode a deployed entry gets, as in every release:
// directories 0755, files 0644 (0755 when the archive marks them
// executable). nginx reads the static files; only the owner writes.
func releaseMode(hdr *tar.Header) int64 {
	switch {
	case hdr.Typeflag == tar.TypeDir:
		return 0o755
	case hdr.Mode&0o100 != 0:
		return 0o755
	}
	return 0o644
}

// missing explains an archive or repository without wp-content/ at its root.
func (f *deployFilter) missing() error {
	var tops []string
	for t := range f.tops {
		tops = append(tops, t)
	}
	sort.Strings(tops)
	if len(tops) > 8 {
		tops = append(tops[:8], "…")
	}
	if f.tops["plugins"] || f.tops["themes"] || f.tops["mu-plugins"] {
		return errorf(protocol.ErrWPContentMissing,
			"the source holds plugins/ or themes/ at its root; a deploy carries a wp-content/ directory at its root (move them into wp-content/)")
	}
	if len(tops) == 0 {
		return errorf(protocol.ErrWPContentMissing, "the source is empty; a deploy carries a wp-content/ directory at its root")
	}
	return errorf(protocol.ErrWPContentMissing, "the source has no wp-content/ at its root (it holds %s); a deploy carries a wp-content/ directory at its root",
		strings.Join(tops, ", "))
}

// tarSource reads a tar stream.
type tarSource struct{ tr *tar.Reader }

func (s *tarSource) next() (*tar.Header, io.Reader, error) {
	hdr, err := s.tr.Next()
	if err != nil {
		return nil, nil, err
	}
	return hdr, s.tr, nil
}

// zipSource turns a zip file's entries into tar headers.
type zipSource struct {
	files []*zip.File
	i     int
	open  io.ReadCloser
}

func (s *zipSource) next() (*tar.Header, io.Reader, error) {
	if s.open != nil {
		s.open.Close()
		s.open = nil
	}
	if s.i >= len(s.files) {
		return nil, nil, io.EOF
	}
	zf := s.files[s.i]
	s.i++
	if zf.Flags&0x1 != 0 {
		return nil, nil, unsafeDeployEntry(zf.Name, "is encrypted")
	}
	mode := zf.Mode()
	hdr := &tar.Header{Name: zf.Name, Mode: int64(mode.Perm()), ModTime: zf.Modified}
	switch {
	case mode&fs.ModeSymlink != 0:
		rc, err := zf.Open()
		if err != nil {
			return nil, nil, err
		}
		target, err := io.ReadAll(io.LimitReader(rc, 4097))
		rc.Close()
		if err != nil {
			return nil, nil, err
		}
		if len(target) > 4096 {
			return nil, nil, unsafeDeployEntry(zf.Name, "is a symlink with a target longer than 4096 bytes")
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, string(target)
		return hdr, nil, nil
	case mode.IsDir() || strings.HasSuffix(zf.Name, "/"):
		hdr.Typeflag = tar.TypeDir
		if hdr.Mode == 0 {
			hdr.Mode = 0o755
		}
		return hdr, nil, nil
	case mode&(fs.ModeDevice|fs.ModeCharDevice) != 0:
		hdr.Typeflag = tar.TypeChar
		return hdr, nil, nil
	case mode&fs.ModeNamedPipe != 0:
		hdr.Typeflag = tar.TypeFifo
		return hdr, nil, nil
	case !mode.IsRegular():
		return nil, nil, unsafeDeployEntry(zf.Name, "has an unsupported file type")
	}
	if zf.UncompressedSize64 > 1<<40 {
		return nil, nil, errorf(protocol.ErrArchiveTooLarge, "the deploy archive's entry %q claims %d bytes", truncate(zf.Name, 200), zf.UncompressedSize64)
	}
	hdr.Typeflag, hdr.Size = tar.TypeReg, int64(zf.UncompressedSize64)
	if hdr.Mode == 0 {
		// Zip files written on Windows carry no Unix mode.
		hdr.Mode = 0o644
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, nil, err
	}
	s.open = rc
	return hdr, rc, nil
}

package nodeagent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/pressluft/pressluft/agent/protocol"
	"golang.org/x/sys/unix"
)

// An upload lies in the environment's tmp/ as upload-<id>.partial while it
// arrives and as upload-<id>.archive once complete; release_build reads it
// from there (Deploy.ArchivePath) and removes it.
const (
	uploadPrefix = "upload-"
	// uploadStaleAfter is the age after which an upload no deploy took is
	// removed: by then its job has ended one way or another.
	uploadStaleAfter = 24 * time.Hour
)

var (
	uploadIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)
	uploadName      = regexp.MustCompile(`^upload-[A-Za-z0-9][A-Za-z0-9_-]{0,63}\.(archive|partial)$`)
)

func isUploadOp(op string) bool {
	return op == protocol.OpArchiveReceive || op == protocol.OpArchiveDiscard
}

// validateUploadRequest checks the fields of archive_receive and archive_discard.
func validateUploadRequest(req *protocol.Request) error {
	if req.Backup != nil || req.Offsite != nil {
		return badField("backup", "is only used by the backup operations")
	}
	if err := validatePartialEnv("env", req.Env, false); err != nil {
		return err
	}
	u := req.Upload
	if u == nil {
		return badField("upload", "is required")
	}
	if !uploadIDPattern.MatchString(u.ID) {
		return badField("upload.id", "must match %s", uploadIDPattern)
	}
	if req.Op == protocol.OpArchiveDiscard {
		if u.Size != 0 || u.MaxBytes != 0 {
			return badField("upload.size", "is only used by %s", protocol.OpArchiveReceive)
		}
		return nil
	}
	if u.Size <= 0 {
		return badField("upload.size", "must be the positive number of bytes that follow the request")
	}
	if u.MaxBytes < 0 || u.MaxBytes > maxMaxBytes {
		return badField("upload.max_bytes", "must be between 0 (the default, 512 MiB) and %d", int64(maxMaxBytes))
	}
	return nil
}

// uploadPath is where upload id lies once complete, relative to the
// environment's root: what release_build takes as Deploy.ArchivePath.
func uploadPath(id string) string {
	return tmpArchiveDir + "/" + uploadPrefix + id + ".archive"
}

// serveReceive answers archive_receive: the request was read from in, the
// archive's bytes follow it.
func serveReceive(ctx context.Context, w *Writer, in io.Reader, req *protocol.Request) int {
	if os.Geteuid() != 0 {
		w.Error(protocol.ErrInternal, "the agent must run as root for "+req.Op)
		return 1
	}
	res, err := receiveUpload(ctx, w, in, protocol.Root, req.Env.Name, req.Upload, time.Now())
	if err != nil {
		code, msg := errorCode(err)
		w.Error(code, msg)
		return 1
	}
	if err := w.Result(res); err != nil {
		w.Error(protocol.ErrInternal, err.Error())
		return 1
	}
	return 0
}

// receiveUpload writes exactly u.Size bytes of in into the tmp/ of
// environment env under root. The environment's user owns tmp/, so the
// directory is reached without following links and the file is created
// afresh (never opened through a name the user may have put there).
func receiveUpload(ctx context.Context, w *Writer, in io.Reader, root, env string, u *protocol.Upload, now time.Time) (*protocol.ReceiveResult, error) {
	max := u.MaxBytes
	if max == 0 {
		max = defaultMaxBytes
	}
	if u.Size > max {
		return nil, errorf(protocol.ErrArchiveTooLarge, "the upload (%s) is larger than the limit of %s; nothing was written", mb(u.Size), mb(max))
	}
	dir, err := openTmpDir(root, env)
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	if n := sweepUploads(dir, now); n > 0 {
		w.Event("upload", "info", fmt.Sprintf("removed %d uploads older than a day that no deploy took", n))
	}
	if err := checkSpace([]spaceNeed{{path: dir.Name(), bytes: u.Size, what: "the upload"}}, freeSpace); err != nil {
		return nil, err
	}
	partial := uploadPrefix + u.ID + ".partial"
	f, err := createIn(dir, partial)
	if err != nil {
		return nil, err
	}
	w.write(protocol.Message{Type: protocol.TypeReady})
	start := time.Now()
	h := sha256.New()
	n, err := io.CopyN(io.MultiWriter(f, h), in, u.Size)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && ctx.Err() != nil {
		err = errorf(protocol.ErrCancelled, "cancelled")
	}
	if err != nil {
		_ = unix.Unlinkat(int(dir.Fd()), partial, 0)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errorf(protocol.ErrCancelled, "the upload ended after %d of %d bytes (stdin closed); nothing was kept", n, u.Size)
		}
		return nil, err
	}
	if err := unix.Renameat(int(dir.Fd()), partial, int(dir.Fd()), uploadPrefix+u.ID+".archive"); err != nil {
		_ = unix.Unlinkat(int(dir.Fd()), partial, 0)
		return nil, fmt.Errorf("rename the upload: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	w.Event("upload", "info", fmt.Sprintf("received %s in %.2f s (sha256 %s)", mb(n), time.Since(start).Seconds(), sum[:16]))
	return &protocol.ReceiveResult{Path: uploadPath(u.ID), Size: n, SHA256: sum}, nil
}

// discardUpload removes upload id of env, complete or not; an upload (or
// an environment) already gone is no error.
func discardUpload(root, env, id string) error {
	dir, err := openTmpDir(root, env)
	if code, _ := errorCode(err); code == protocol.ErrNotFound {
		return nil
	} else if err != nil {
		return err
	}
	defer dir.Close()
	for _, name := range []string{uploadPrefix + id + ".archive", uploadPrefix + id + ".partial"} {
		if err := unix.Unlinkat(int(dir.Fd()), name, 0); err != nil && err != unix.ENOENT {
			return fmt.Errorf("remove %s: %w", name, err)
		}
	}
	return nil
}

// openTmpDir opens <root>/<env>/tmp without following any symlink.
func openTmpDir(root, env string) (*os.File, error) {
	dirfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if err == unix.ENOENT {
			return nil, errorf(protocol.ErrNotFound, "environment %s is not on this node", env)
		}
		return nil, fmt.Errorf("open %s: %w", root, err)
	}
	defer unix.Close(dirfd)
	rel := env + "/" + tmpArchiveDir
	fd, err := unix.Openat2(dirfd, rel, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC | unix.O_NOFOLLOW,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	switch {
	case err == unix.ENOENT:
		return nil, errorf(protocol.ErrNotFound, "environment %s has no %s directory on this node", env, tmpArchiveDir)
	case err == unix.ELOOP || err == unix.EXDEV || err == unix.ENOTDIR:
		return nil, errorf(protocol.ErrUnsafeArchive, "the path to %s holds a symlink or a file", rel)
	case err != nil:
		return nil, fmt.Errorf("open %s: %w", rel, err)
	}
	return os.NewFile(uintptr(fd), filepath.Join(root, rel)), nil
}

// createIn creates name in dir for writing, owned by the agent (root) and
// readable by nobody else; whatever had that name is removed first.
func createIn(dir *os.File, name string) (*os.File, error) {
	dfd := int(dir.Fd())
	if err := unix.Unlinkat(dfd, name, 0); err != nil && err != unix.ENOENT {
		return nil, fmt.Errorf("remove %s: %w", name, err)
	}
	fd, err := unix.Openat(dfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	return os.NewFile(uintptr(fd), filepath.Join(dir.Name(), name)), nil
}

// sweepUploads removes the uploads in dir last written more than a day
// before now and answers how many.
func sweepUploads(dir *os.File, now time.Time) int {
	entries, err := dir.ReadDir(-1)
	if err != nil {
		return 0
	}
	removed := 0
	for _, e := range entries {
		if !uploadName.MatchString(e.Name()) {
			continue
		}
		var st unix.Stat_t
		if unix.Fstatat(int(dir.Fd()), e.Name(), &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
			continue
		}
		if now.Sub(time.Unix(st.Mtim.Unix())) > uploadStaleAfter && unix.Unlinkat(int(dir.Fd()), e.Name(), 0) == nil {
			removed++
		}
	}
	return removed
}

package nodeagent

import (
	"errors"
	"io"
	"os"
	"path/filepath"

	"github.com/pressluft/pressluft/agent/protocol"
)

// serveRead answers backup_read in raw mode: one JSON line (the part's
// size, or an error), then exactly the bytes of the range. It takes no
// lock: a complete backup never changes, and a part being deleted stays
// readable through the open file until the read ends.
func serveRead(w *Writer, out io.Writer, req *protocol.Request) int {
	if os.Geteuid() != 0 {
		w.Error(protocol.ErrInternal, "the agent must run as root for "+req.Op)
		return 1
	}
	return streamPart(w, out, backupPathsFor(req.Env.Name, req.Backup.ID).Dir, req.Backup)
}

// streamPart writes the answer of backup_read for the backup in dir.
func streamPart(w *Writer, out io.Writer, dir string, b *protocol.Backup) int {
	f, err := os.Open(filepath.Join(dir, b.Part))
	if errors.Is(err, os.ErrNotExist) {
		// A backup is readable once complete: its manifest is written last.
		w.Error(protocol.ErrBackupUnavailable, "backup "+b.ID+" has no "+b.Part+" on this node")
		return 1
	} else if err != nil {
		w.Error(protocol.ErrInternal, err.Error())
		return 1
	}
	defer f.Close()
	if !exists(filepath.Join(dir, protocol.PartManifest)) {
		w.Error(protocol.ErrBackupUnavailable, "backup "+b.ID+" is not complete on this node")
		return 1
	}
	fi, err := f.Stat()
	if err != nil {
		w.Error(protocol.ErrInternal, err.Error())
		return 1
	}
	size := fi.Size()
	offset := min(b.Offset, size)
	n := size - offset
	if b.Length >= 0 && b.Length < n {
		n = b.Length
	}
	if err := w.Result(protocol.ReadResult{Size: size}); err != nil {
		w.Error(protocol.ErrInternal, err.Error())
		return 1
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return 1
	}
	// The reader counts what it expected: a short stream is a failure there.
	if _, err := io.Copy(out, io.LimitReader(f, n)); err != nil {
		return 1
	}
	return 0
}

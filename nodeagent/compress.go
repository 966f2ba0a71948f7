package nodeagent

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"os"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/pressluft/pressluft/agent/protocol"
)

// partWriter writes one part of a backup: what it is given is counted
// (the unpacked size), compressed with zstd and hashed on its way into the
// file. Compression runs in this process: no extra program, no pipe.
type partWriter struct {
	path string
	f    *os.File
	enc  *zstd.Encoder
	out  *hashedFile
	in   int64
	done bool
	// synced is how long the final fsync took.
	synced time.Duration
}

type hashedFile struct {
	f    *os.File
	sha  hash.Hash
	size int64
}

func (h *hashedFile) Write(p []byte) (int, error) {
	n, err := h.f.Write(p)
	h.sha.Write(p[:n])
	h.size += int64(n)
	return n, err
}

// createPart creates path (0600, root) for a new part.
func createPart(path string) (*partWriter, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	out := &hashedFile{f: f, sha: sha256.New()}
	// Level 3, zstd's default; checksummed frames let a decompressor tell
	// a damaged part even without the manifest.
	enc, err := zstd.NewWriter(out, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderCRC(true))
	if err != nil {
		f.Close()
		return nil, err
	}
	return &partWriter{path: path, f: f, enc: enc, out: out}, nil
}

func (w *partWriter) Write(p []byte) (int, error) {
	n, err := w.enc.Write(p)
	w.in += int64(n)
	return n, err
}

// finish flushes and syncs the part and describes it for the manifest.
func (w *partWriter) finish(name string) (protocol.ManifestPart, error) {
	w.done = true
	err := w.enc.Close()
	if err == nil {
		start := time.Now()
		err = w.f.Sync()
		w.synced = time.Since(start)
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return protocol.ManifestPart{}, err
	}
	return protocol.ManifestPart{Name: name, Size: w.out.size, SHA256: hex.EncodeToString(w.out.sha.Sum(nil)), Unpacked: w.in}, nil
}

// abort closes a part that was not finished (its directory is removed
// by the next run).
func (w *partWriter) abort() {
	if !w.done {
		w.enc.Close()
		w.f.Close()
	}
}

// openPart returns a reader of the decompressed content of a part.
func openPart(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	dec, err := zstd.NewReader(f, zstd.WithDecoderConcurrency(2), zstd.WithDecoderMaxWindow(64<<20))
	if err != nil {
		f.Close()
		return nil, err
	}
	return &partReader{dec: dec, f: f}, nil
}

type partReader struct {
	dec *zstd.Decoder
	f   *os.File
}

func (r *partReader) Read(p []byte) (int, error) { return r.dec.Read(p) }
func (r *partReader) Close() error {
	r.dec.Close()
	return r.f.Close()
}

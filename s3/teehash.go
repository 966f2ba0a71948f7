package s3

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
	"sync/atomic"
)

const (
	chunkSize = 1 << 20
	chunks    = 8 // read ahead: 8 MiB
)

// teeHasher reads its source ahead in chunks and hands every chunk to the
// uploader (through Read) and to two hashing goroutines: MD5 (of the whole,
// or of each part of a multipart upload) and SHA-256. The uploader never
// waits for a hash, and the two hashes run side by side.
type teeHasher struct {
	src       io.Reader
	partSize  int64
	multipart bool

	free    chan []byte
	out     chan *chunk
	md5In   chan *chunk
	shaIn   chan *chunk
	stop    chan struct{}
	stopped sync.Once
	done    sync.WaitGroup

	cur *chunk
	off int

	// Written by the producer before it closes out.
	n       int64
	eof     bool
	readErr error

	etag   string
	sha256 string
}

type chunk struct {
	b    []byte
	refs atomic.Int32
	free chan []byte
}

func (c *chunk) release() {
	if c.refs.Add(-1) == 0 {
		c.free <- c.b[:cap(c.b)]
	}
}

type teeSums struct {
	n       int64
	eof     bool
	readErr error
	etag    string // the ETag an MD5-scheme server gives the object
	sha256  string
}

func newTeeHasher(src io.Reader, partSize int64, multipart bool) *teeHasher {
	h := &teeHasher{src: src, partSize: partSize, multipart: multipart,
		free: make(chan []byte, chunks), out: make(chan *chunk, chunks), md5In: make(chan *chunk, chunks),
		shaIn: make(chan *chunk, chunks), stop: make(chan struct{})}
	for range chunks {
		h.free <- make([]byte, chunkSize)
	}
	h.done.Add(3)
	go h.produce()
	go h.hashMD5()
	go h.hashSHA256()
	return h
}

// produce reads the source into chunks until its end, an error, or stop.
func (h *teeHasher) produce() {
	defer h.done.Done()
	defer close(h.out)
	defer close(h.md5In)
	defer close(h.shaIn)
	for {
		var buf []byte
		select {
		case buf = <-h.free:
		case <-h.stop:
			return
		}
		n, err := io.ReadFull(h.src, buf)
		if n > 0 {
			h.n += int64(n)
			c := &chunk{b: buf[:n], free: h.free}
			c.refs.Store(3)
			for _, ch := range []chan *chunk{h.md5In, h.shaIn, h.out} {
				select {
				case ch <- c:
				case <-h.stop:
					return
				}
			}
		}
		switch {
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			h.eof = true
			return
		case err != nil:
			h.readErr = err
			return
		}
	}
}

// Read hands the uploader the chunks in order.
func (h *teeHasher) Read(p []byte) (int, error) {
	if h.cur == nil {
		c, ok := <-h.out
		if !ok {
			// The producer has ended: its fields are written.
			if h.readErr != nil {
				return 0, h.readErr
			}
			return 0, io.EOF
		}
		h.cur, h.off = c, 0
	}
	n := copy(p, h.cur.b[h.off:])
	h.off += n
	if h.off == len(h.cur.b) {
		h.cur.release()
		h.cur = nil
	}
	return n, nil
}

// hashMD5 computes the ETag an MD5-scheme server gives the object: the MD5
// of the content, or for a multipart upload the MD5 of the parts' MD5s
// followed by "-<number of parts>".
func (h *teeHasher) hashMD5() {
	defer h.done.Done()
	whole, part := md5.New(), md5.New()
	var inPart int64
	var parts [][]byte
	for c := range h.md5In {
		b := c.b
		if !h.multipart {
			whole.Write(b)
		}
		for h.multipart && len(b) > 0 {
			take := min(int64(len(b)), h.partSize-inPart)
			part.Write(b[:take])
			inPart += take
			b = b[take:]
			if inPart == h.partSize {
				parts = append(parts, part.Sum(nil))
				part.Reset()
				inPart = 0
			}
		}
		c.release()
	}
	if !h.multipart {
		h.etag = hex.EncodeToString(whole.Sum(nil))
		return
	}
	if inPart > 0 {
		parts = append(parts, part.Sum(nil))
	}
	all := md5.New()
	for _, p := range parts {
		all.Write(p)
	}
	h.etag = fmt.Sprintf("%s-%d", hex.EncodeToString(all.Sum(nil)), len(parts))
}

func (h *teeHasher) hashSHA256() {
	defer h.done.Done()
	var s hash.Hash = sha256.New()
	for c := range h.shaIn {
		s.Write(c.b)
		c.release()
	}
	h.sha256 = hex.EncodeToString(s.Sum(nil))
}

// finish stops reading (when the uploader gave up early), waits for the
// hashes and returns what was read and its sums.
func (h *teeHasher) finish() teeSums {
	h.stopped.Do(func() { close(h.stop) })
	// Chunks the uploader did not take are released for the producer.
	go func() {
		for c := range h.out {
			c.release()
		}
	}()
	if h.cur != nil {
		h.cur.release()
		h.cur = nil
	}
	h.done.Wait()
	return teeSums{n: h.n, eof: h.eof, readErr: h.readErr, etag: h.etag, sha256: h.sha256}
}

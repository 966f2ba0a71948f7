package s3

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"strings"

	"github.com/minio/minio-go/v7"
)

// PartSize is the size of each part of a multipart upload. Objects up to
// this size go up in one PUT.
const PartSize = 16 << 20

// maxParts is S3's limit on the parts of one upload.
const maxParts = 10000

// Uploaded describes an object after its copy was checked.
type Uploaded struct {
	Size   int64
	ETag   string
	SHA256 string // of what was sent
	// Verified says how the copy was checked: "etag" when the server's
	// ETag is the MD5 (or multipart MD5) of what was sent, "read-back" when
	// the object was read back and hashed.
	Verified string
}

// partSizeFor keeps an upload within maxParts parts.
func partSizeFor(size int64) int64 {
	ps := int64(PartSize)
	if size > ps*maxParts {
		ps = (size + maxParts - 1) / maxParts
		ps = (ps + 1<<20 - 1) &^ (1<<20 - 1) // whole MiB
	}
	return ps
}

// Upload streams size bytes from r to key (multipart above PartSize, parts
// sent in parallel) and then checks the copy by its size and content: the
// server's ETag must be the MD5 of the bytes sent (for a multipart upload,
// the MD5 of the parts' MD5s with "-N"), and where the server's ETag
// follows another scheme (encrypted buckets, some gateways) the object is
// read back and its SHA-256 compared.
func Upload(ctx context.Context, t Target, key string, r io.Reader, size int64) (*Uploaded, error) {
	if size < 0 {
		return nil, &Error{Code: CodeFailed, Message: "the upload size must be known"}
	}
	c, err := client(t)
	if err != nil {
		return nil, err
	}
	ps := partSizeFor(size)
	h := newPartHasher(r, ps)
	opts := minio.PutObjectOptions{
		ContentType: "application/octet-stream",
		PartSize:    uint64(ps),
		// Parts are read in order (so they can be hashed as they pass) and
		// sent four at a time.
		ConcurrentStreamParts: true,
		NumThreads:            4,
		// UNSIGNED-PAYLOAD instead of signing every chunk: the copy is
		// checked whole afterwards, and the node's CPU is spent on the
		// backup, not on a second SHA-256 of it.
		DisableContentSha256: true,
	}
	_, err = c.PutObject(ctx, t.Bucket, key, h, size, opts)
	if h.n != size && h.eof {
		return nil, &Error{Code: CodeFailed, Message: fmt.Sprintf("uploading %s: the source ended after %d of %d bytes", key, h.n, size)}
	}
	if err != nil {
		return nil, wrap(err, t, "uploading "+key)
	}
	if h.n != size {
		return nil, &Error{Code: CodeFailed, Message: fmt.Sprintf("uploading %s: %d bytes were read, %d expected", key, h.n, size)}
	}
	sum := hex.EncodeToString(h.sha.Sum(nil))
	stat, err := c.StatObject(ctx, t.Bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return nil, wrap(err, t, "checking the copy of "+key)
	}
	if stat.Size != size {
		return nil, &Error{Code: CodeFailed, Message: fmt.Sprintf(
			"The copy of %s holds %d bytes instead of %d: the upload was damaged; it will be sent again on the next attempt.", key, stat.Size, size)}
	}
	up := &Uploaded{Size: size, ETag: cleanETag(stat.ETag), SHA256: sum}
	if contains(h.etags(size > ps), up.ETag) {
		up.Verified = "etag"
		return up, nil
	}
	// Another ETag scheme (encrypted buckets, some gateways), or other
	// bytes than were sent: the copy is read back and hashed to tell.
	got, n, err := readBackSHA256(ctx, c, t, key)
	if err != nil {
		return nil, err
	}
	if n != size || got != sum {
		return nil, mismatch(key)
	}
	up.Verified = "read-back"
	return up, nil
}

func mismatch(key string) error {
	return &Error{Code: CodeFailed, Message: fmt.Sprintf(
		"The copy of %s does not match what was sent (checksum mismatch); it will be sent again on the next attempt.", key)}
}

func readBackSHA256(ctx context.Context, c *minio.Client, t Target, key string) (string, int64, error) {
	obj, err := c.GetObject(ctx, t.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return "", 0, wrap(err, t, "reading back "+key)
	}
	defer obj.Close()
	h := sha256.New()
	n, err := io.Copy(h, obj)
	if err != nil {
		return "", n, wrap(err, t, "reading back "+key)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// partHasher hashes what the uploader reads: the MD5 of the whole, the MD5
// of each part of partSize bytes, and the SHA-256 of the whole. It hides
// any ReadAt of the source, so the uploader reads it once, in order.
type partHasher struct {
	r        io.Reader
	partSize int64
	n        int64
	eof      bool
	whole    hash.Hash
	sha      hash.Hash
	part     hash.Hash
	inPart   int64
	partMD5s [][]byte
}

func newPartHasher(r io.Reader, partSize int64) *partHasher {
	return &partHasher{r: r, partSize: partSize, whole: md5.New(), sha: sha256.New(), part: md5.New()}
}

func (h *partHasher) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if err == io.EOF {
		h.eof = true
	}
	b := p[:n]
	h.n += int64(n)
	h.whole.Write(b)
	h.sha.Write(b)
	for len(b) > 0 {
		take := min(int64(len(b)), h.partSize-h.inPart)
		h.part.Write(b[:take])
		h.inPart += take
		b = b[take:]
		if h.inPart == h.partSize {
			h.partMD5s = append(h.partMD5s, h.part.Sum(nil))
			h.part.Reset()
			h.inPart = 0
		}
	}
	return n, err
}

// etags are the ETags a server that follows S3's MD5 scheme may give the
// object: the MD5 of the content, and for a multipart upload the MD5 of
// the parts' MD5s with "-<parts>" (what S3 and MinIO answer).
func (h *partHasher) etags(multipart bool) []string {
	out := []string{hex.EncodeToString(h.whole.Sum(nil))}
	if multipart {
		parts := h.partMD5s
		if h.inPart > 0 {
			parts = append(parts, h.part.Sum(nil))
		}
		all := md5.New()
		for _, p := range parts {
			all.Write(p)
		}
		out = append(out, fmt.Sprintf("%s-%d", hex.EncodeToString(all.Sum(nil)), len(parts)))
	}
	return out
}

func cleanETag(s string) string { return strings.ToLower(strings.Trim(s, `"`)) }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func bytesReader(s string) io.Reader { return bytes.NewReader([]byte(s)) }

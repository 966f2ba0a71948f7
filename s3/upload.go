package s3

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/minio/minio-go/v7"
)

// PartSize is the size of each part of a multipart upload. Objects up to
// SinglePutMax go up in one streamed PUT.
const (
	PartSize     = 16 << 20
	SinglePutMax = 512 << 20
)

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

// limits are where an upload turns multipart, and its part size.
type limits struct{ singlePutMax, partSize int64 }

var defaultLimits = limits{singlePutMax: SinglePutMax, partSize: PartSize}

// partSizeFor keeps an upload within maxParts parts.
func (l limits) partSizeFor(size int64) int64 {
	ps := l.partSize
	if size > ps*maxParts {
		ps = (size + maxParts - 1) / maxParts
		ps = (ps + 1<<20 - 1) &^ (1<<20 - 1) // whole MiB
	}
	return ps
}

// Upload streams size bytes from r to key and then checks the copy by its
// size and content. Up to SinglePutMax it is one PUT; above, a multipart
// upload of PartSize parts sent four at a time. The bytes are hashed on
// their way (MD5 for the ETag S3 gives them, SHA-256 for the caller) in
// goroutines of their own, so hashing does not slow the transfer. The
// check: the object's ETag, or the ETag the server answered the upload
// with, both computed by the server from the bytes it received, must be
// the MD5 of what was sent (for a multipart upload the MD5 of the parts'
// MD5s with "-N"); a server whose ETags follow another scheme (encrypted
// buckets, some gateways) has the object read back and its SHA-256 compared.
func Upload(ctx context.Context, t Target, key string, r io.Reader, size int64) (*Uploaded, error) {
	return upload(ctx, t, key, r, size, defaultLimits)
}

func upload(ctx context.Context, t Target, key string, r io.Reader, size int64, l limits) (*Uploaded, error) {
	if size < 0 {
		return nil, &Error{Code: CodeFailed, Message: "the upload size must be known"}
	}
	c, err := client(t)
	if err != nil {
		return nil, err
	}
	ps := l.partSizeFor(size)
	multipart := size > l.singlePutMax
	opts := minio.PutObjectOptions{
		ContentType: "application/octet-stream",
		// UNSIGNED-PAYLOAD instead of signing every chunk: the copy is
		// checked whole afterwards, and the node's CPU is spent on the
		// backup, not on a second SHA-256 of it.
		DisableContentSha256: true,
	}
	if multipart {
		// Parts are read in order (so they can be hashed as they pass) and
		// sent four at a time.
		opts.PartSize, opts.ConcurrentStreamParts, opts.NumThreads = uint64(ps), true, 4
	} else {
		opts.DisableMultipart = true
	}
	h := newTeeHasher(r, ps, multipart)
	info, err := c.PutObject(ctx, t.Bucket, key, h, size, opts)
	sums := h.finish()
	if sums.n != size && sums.eof {
		return nil, &Error{Code: CodeFailed, Message: fmt.Sprintf("uploading %s: the source ended after %d of %d bytes", key, sums.n, size)}
	}
	if err != nil {
		return nil, wrap(err, t, "uploading "+key)
	}
	if sums.readErr != nil {
		return nil, &Error{Code: CodeFailed, Message: fmt.Sprintf("uploading %s: reading the source: %v", key, sums.readErr), Err: sums.readErr}
	}
	if sums.n != size {
		return nil, &Error{Code: CodeFailed, Message: fmt.Sprintf("uploading %s: %d bytes were read, %d expected", key, sums.n, size)}
	}
	stat, err := c.StatObject(ctx, t.Bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return nil, wrap(err, t, "checking the copy of "+key)
	}
	if stat.Size != size {
		return nil, &Error{Code: CodeFailed, Message: fmt.Sprintf(
			"The copy of %s holds %d bytes instead of %d: the upload was damaged; it will be sent again on the next attempt.", key, stat.Size, size)}
	}
	up := &Uploaded{Size: size, ETag: cleanETag(stat.ETag), SHA256: sums.sha256}
	if up.ETag == sums.etag || cleanETag(info.ETag) == sums.etag {
		up.Verified = "etag"
		return up, nil
	}
	// Another ETag scheme, or other bytes than were sent: the copy is read
	// back and hashed to tell.
	got, n, err := readBackSHA256(ctx, c, t, key)
	if err != nil {
		return nil, err
	}
	if n != size || got != sums.sha256 {
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

func cleanETag(s string) string { return strings.ToLower(strings.Trim(s, `"`)) }

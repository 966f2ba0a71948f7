// Package s3 copies backups to and from an S3-compatible bucket (AWS S3,
// MinIO, and the like) with minio-go. It imports nothing of the project:
// its error codes are the project's offsite codes as plain strings.
package s3

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Target is one bucket and the credentials that reach it.
type Target struct {
	Endpoint  string // host[:port], no scheme
	UseTLS    bool
	Region    string // "" lets the client ask the bucket for it
	Bucket    string
	AccessKey string
	SecretKey string
}

// client builds a minio client for t. Retries are few and timeouts short:
// a wrong endpoint must fail the job in seconds, not after minutes of
// backoff, and the job itself is retried later.
func client(t Target) (*minio.Client, error) {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:                 nil, // the node talks to the target directly
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 2 * time.Minute,
		ExpectContinueTimeout: time.Second,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		WriteBufferSize:       256 << 10,
		ReadBufferSize:        256 << 10,
		DisableCompression:    true,
	}
	c, err := minio.New(t.Endpoint, &minio.Options{
		Creds:      credentials.NewStaticV4(t.AccessKey, t.SecretKey, ""),
		Secure:     t.UseTLS,
		Region:     t.Region,
		Transport:  tr,
		MaxRetries: 3,
	})
	if err != nil {
		return nil, &Error{Code: CodeFailed, Message: fmt.Sprintf("The offsite endpoint %q is not usable: %v.", t.Endpoint, err), Err: err}
	}
	return c, nil
}

// Download copies the whole object at key to w and returns its size.
func Download(ctx context.Context, t Target, key string, w io.Writer) (int64, error) {
	c, err := client(t)
	if err != nil {
		return 0, err
	}
	obj, err := c.GetObject(ctx, t.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return 0, wrap(err, t, "downloading "+key)
	}
	defer obj.Close()
	n, err := io.Copy(w, obj)
	if err != nil {
		return n, wrap(err, t, "downloading "+key)
	}
	return n, nil
}

// Open reads length bytes (-1: to the end) of the object at key from
// offset, and reports the whole object's size.
func Open(ctx context.Context, t Target, key string, offset, length int64) (io.ReadCloser, int64, error) {
	if offset < 0 || length < -1 {
		return nil, 0, &Error{Code: CodeFailed, Message: fmt.Sprintf("invalid range %d+%d", offset, length)}
	}
	c, err := client(t)
	if err != nil {
		return nil, 0, err
	}
	info, err := c.StatObject(ctx, t.Bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return nil, 0, wrap(err, t, "reading "+key)
	}
	if offset > info.Size || length == 0 || offset == info.Size {
		return io.NopCloser(&emptyReader{}), info.Size, nil
	}
	opts := minio.GetObjectOptions{}
	// The ETag pins the version that was measured: a replaced object fails
	// the read instead of mixing two versions.
	if err := opts.SetMatchETag(info.ETag); err != nil {
		return nil, 0, wrap(err, t, "reading "+key)
	}
	end := info.Size - 1
	if length > 0 && offset+length-1 < end {
		end = offset + length - 1
	}
	if offset > 0 || end < info.Size-1 {
		if err := opts.SetRange(offset, end); err != nil {
			return nil, 0, wrap(err, t, "reading "+key)
		}
	}
	obj, err := c.GetObject(ctx, t.Bucket, key, opts)
	if err != nil {
		return nil, 0, wrap(err, t, "reading "+key)
	}
	return &object{obj: obj, t: t, key: key}, info.Size, nil
}

// object maps the errors of a ranged read to the package's codes.
type object struct {
	obj *minio.Object
	t   Target
	key string
}

func (o *object) Read(p []byte) (int, error) {
	n, err := o.obj.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = wrap(err, o.t, "reading "+o.key)
	}
	return n, err
}

func (o *object) Close() error { return o.obj.Close() }

type emptyReader struct{}

func (*emptyReader) Read([]byte) (int, error) { return 0, io.EOF }

// Delete removes every object whose key starts with prefix; nothing there
// is fine. Pass a prefix ending in "/" to stay inside one "directory".
func Delete(ctx context.Context, t Target, prefix string) (int, error) {
	if prefix == "" || prefix == "/" {
		return 0, &Error{Code: CodeFailed, Message: "refusing to delete a whole bucket: the prefix is empty"}
	}
	c, err := client(t)
	if err != nil {
		return 0, err
	}
	objects := make(chan minio.ObjectInfo)
	listErr := make(chan error, 1)
	listCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(objects)
		for o := range c.ListObjects(listCtx, t.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
			if o.Err != nil {
				listErr <- o.Err
				return
			}
			select {
			case objects <- o:
			case <-listCtx.Done():
				return
			}
		}
	}()
	removed := 0
	counted := make(chan minio.ObjectInfo)
	go func() {
		defer close(counted)
		for o := range objects {
			removed++
			counted <- o
		}
	}()
	var firstErr error
	for r := range c.RemoveObjects(ctx, t.Bucket, counted, minio.RemoveObjectsOptions{}) {
		if r.Err != nil && firstErr == nil && minio.ToErrorResponse(r.Err).Code != minio.NoSuchKey {
			firstErr = r.Err
		}
	}
	select {
	case err := <-listErr:
		if firstErr == nil {
			firstErr = err
		}
	default:
	}
	if firstErr != nil {
		return 0, wrap(firstErr, t, "deleting "+prefix)
	}
	return removed, nil
}

// Test checks that the bucket exists and that the credentials may write,
// read and delete an object under prefix (which may be "").
func Test(ctx context.Context, t Target, prefix string) error {
	c, err := client(t)
	if err != nil {
		return err
	}
	ok, err := c.BucketExists(ctx, t.Bucket)
	if err != nil {
		return wrap(err, t, "looking up the bucket")
	}
	if !ok {
		return &Error{Code: CodeFailed, Message: fmt.Sprintf("The bucket %q does not exist at %s: create it, or correct the bucket name.", t.Bucket, t.Endpoint)}
	}
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	key := ".pressluft-probe-" + hex.EncodeToString(nonce[:])
	if prefix != "" {
		key = prefix + "/" + key
	}
	const probe = "pressluft offsite probe\n"
	if _, err := Upload(ctx, t, key, strings.NewReader(probe), int64(len(probe))); err != nil {
		return err
	}
	if err := c.RemoveObject(ctx, t.Bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return wrap(err, t, "deleting the probe object "+key)
	}
	return nil
}

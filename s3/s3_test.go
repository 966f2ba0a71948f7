package s3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log"
	"math/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7"
)

// fakeS3 serves an in-memory bucket "backups" on 127.0.0.1.
func fakeS3(t *testing.T) (Target, *s3mem.Backend) {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("backups"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	return Target{
		Endpoint: strings.TrimPrefix(srv.URL, "http://"), Region: "us-east-1", Bucket: "backups",
		AccessKey: "AKIAEXAMPLE", SecretKey: "secret-key-example-1234",
	}, backend
}

// small keeps the tests' uploads small: multipart above 6 MiB, in parts
// of 5 MiB (S3's smallest).
var small = limits{singlePutMax: 6 << 20, partSize: 5 << 20}

func randomBytes(n int, seed int64) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func TestUploadVerifiesAndDownloads(t *testing.T) {
	t.Parallel()
	target, _ := fakeS3(t)
	for _, tc := range []struct {
		name string
		size int
	}{
		{"empty", 0},
		{"small", 1234},
		{"the largest single PUT", 6 << 20},
		{"multipart, parts and a bit", 2*(5<<20) + 17},
		{"multipart, whole parts", 3 * (5 << 20)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := randomBytes(tc.size, int64(tc.size))
			key := "site/env/" + strings.ReplaceAll(tc.name, " ", "-") + "/files.tar.zst"
			up, err := upload(ctx(t), target, key, bytes.NewReader(data), int64(len(data)), small)
			if err != nil {
				t.Fatalf("Upload: %v", err)
			}
			sum := sha256.Sum256(data)
			if up.Size != int64(tc.size) || up.SHA256 != hex.EncodeToString(sum[:]) || up.Verified != "etag" {
				t.Errorf("uploaded = %+v", up)
			}
			var buf bytes.Buffer
			n, err := Download(ctx(t), target, key, &buf)
			if err != nil || n != int64(tc.size) || !bytes.Equal(buf.Bytes(), data) {
				t.Fatalf("Download: %d bytes, %v; equal %t", n, err, bytes.Equal(buf.Bytes(), data))
			}
		})
	}
}

// The multipart ETag predicted while hashing is what the server answers
// when it completes an upload made of the same parts.
func TestMultipartETagPrediction(t *testing.T) {
	t.Parallel()
	target, _ := fakeS3(t)
	c, err := client(target)
	if err != nil {
		t.Fatal(err)
	}
	const ps = 5 << 20
	for _, size := range []int{ps + 1, 2 * ps, 3*ps - 5} {
		data := randomBytes(size, 7)
		info, err := c.PutObject(ctx(t), target.Bucket, "mp", bytes.NewReader(data), int64(size),
			minio.PutObjectOptions{PartSize: ps, ConcurrentStreamParts: true, NumThreads: 2, DisableContentSha256: true})
		if err != nil {
			t.Fatal(err)
		}
		h := newTeeHasher(bytes.NewReader(data), ps, true)
		if _, err := io.Copy(io.Discard, h); err != nil {
			t.Fatal(err)
		}
		sums := h.finish()
		if !strings.Contains(cleanETag(info.ETag), "-") || cleanETag(info.ETag) != sums.etag || sums.n != int64(size) {
			t.Errorf("size %d: server ETag %s, predicted %s", size, info.ETag, sums.etag)
		}
	}
	if got := defaultLimits.partSizeFor(200 << 30); got*maxParts < 200<<30 || got%(1<<20) != 0 {
		t.Errorf("part size for 200 GiB: %d", got)
	}
	if got := defaultLimits.partSizeFor(1 << 30); got != PartSize {
		t.Errorf("part size for 1 GiB: %d", got)
	}
}

// A server whose ETags follow no MD5 scheme: the copy is read back.
func TestUploadReadsBackOtherETags(t *testing.T) {
	t.Parallel()
	backend := s3mem.New()
	if err := backend.CreateBucket("backups"); err != nil {
		t.Fatal(err)
	}
	fake := gofakes3.New(backend).Server()
	corrupt := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		fake.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		body := rec.Body.Bytes()
		// Parts keep their ETags (the client sends them back to complete
		// the upload); the object's own ETag follows another scheme.
		if w.Header().Get("ETag") != "" && !r.URL.Query().Has("partNumber") {
			w.Header().Set("ETag", `"kms-0123"`)
		}
		if r.Method == http.MethodPost && r.URL.Query().Has("uploadId") {
			body = regexp.MustCompile(`<ETag>[^<]*</ETag>`).ReplaceAll(body, []byte("<ETag>&#34;kms-0123&#34;</ETag>"))
			w.Header().Del("Content-Length")
		}
		isObject := strings.Count(strings.Trim(r.URL.Path, "/"), "/") >= 1
		if corrupt && r.Method == http.MethodGet && isObject && len(body) > 0 {
			body = append([]byte(nil), body...)
			body[0] ^= 1
		}
		w.WriteHeader(rec.Code)
		w.Write(body)
	}))
	defer srv.Close()
	target := Target{Endpoint: strings.TrimPrefix(srv.URL, "http://"), Region: "us-east-1", Bucket: "backups", AccessKey: "a", SecretKey: "b"}
	for _, size := range []int{5000, 11<<20 + 3} {
		corrupt = false
		data := randomBytes(size, 3)
		up, err := upload(ctx(t), target, "k/db.sql.zst", bytes.NewReader(data), int64(len(data)), small)
		if err != nil || up.Verified != "read-back" {
			t.Fatalf("%d bytes: Upload = %+v, %v", size, up, err)
		}
		corrupt = true
		_, err = upload(ctx(t), target, "k/db.sql.zst", bytes.NewReader(data), int64(len(data)), small)
		if Code(err) != CodeFailed || !strings.Contains(err.Error(), "checksum mismatch") {
			t.Fatalf("%d bytes, damaged copy: %v", size, err)
		}
	}
}

func TestUploadShortReader(t *testing.T) {
	t.Parallel()
	target, _ := fakeS3(t)
	_, err := Upload(ctx(t), target, "short", bytes.NewReader(make([]byte, 10)), 20)
	if Code(err) != CodeFailed {
		t.Fatalf("short reader: %v", err)
	}
}

func TestOpenRanges(t *testing.T) {
	t.Parallel()
	target, _ := fakeS3(t)
	data := randomBytes(100000, 5)
	if _, err := Upload(ctx(t), target, "r/files.tar.zst", bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ offset, length, want int64 }{
		{0, -1, 100000}, {10, 20, 20}, {99990, -1, 10}, {99990, 100, 10}, {100000, -1, 0}, {5, 0, 0},
	} {
		r, size, err := Open(ctx(t), target, "r/files.tar.zst", tc.offset, tc.length)
		if err != nil {
			t.Fatalf("Open(%d, %d): %v", tc.offset, tc.length, err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || size != 100000 || int64(len(got)) != tc.want || !bytes.Equal(got, data[tc.offset:tc.offset+tc.want]) {
			t.Errorf("Open(%d, %d) = %d bytes of %d, %v", tc.offset, tc.length, len(got), size, err)
		}
	}
	if _, _, err := Open(ctx(t), target, "r/missing", 0, -1); Code(err) != CodeFailed {
		t.Errorf("missing object: %v", err)
	}
}

func TestDeletePrefix(t *testing.T) {
	t.Parallel()
	target, _ := fakeS3(t)
	for _, key := range []string{"p/b1/db.sql.zst", "p/b1/manifest.json", "p/b10/manifest.json", "p/b2/manifest.json"} {
		if _, err := Upload(ctx(t), target, key, strings.NewReader("x"), 1); err != nil {
			t.Fatal(err)
		}
	}
	n, err := Delete(ctx(t), target, "p/b1/")
	if err != nil || n != 2 {
		t.Fatalf("Delete = %d, %v", n, err)
	}
	if n, err := Delete(ctx(t), target, "p/b1/"); err != nil || n != 0 {
		t.Fatalf("second Delete = %d, %v", n, err)
	}
	for key, want := range map[string]bool{"p/b1/db.sql.zst": false, "p/b10/manifest.json": true, "p/b2/manifest.json": true} {
		_, _, err := Open(ctx(t), target, key, 0, -1)
		if (err == nil) != want {
			t.Errorf("%s: exists=%t, want %t", key, err == nil, want)
		}
	}
	if _, err := Delete(ctx(t), target, ""); err == nil {
		t.Error("an empty prefix was accepted")
	}
}

func TestTestTarget(t *testing.T) {
	t.Parallel()
	target, backend := fakeS3(t)
	if err := Test(ctx(t), target, "pressluft"); err != nil {
		t.Fatalf("Test: %v", err)
	}
	list, err := backend.ListBucket("backups", nil, gofakes3.ListBucketPage{})
	if err != nil || len(list.Contents) != 0 {
		t.Errorf("the probe was left behind: %v %v", list, err)
	}
	missing := target
	missing.Bucket = "nope"
	if err := Test(ctx(t), missing, ""); Code(err) != CodeFailed || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing bucket: %v", err)
	}
}

// gofakes3 checks no signatures: a server that answers like S3 does to a
// wrong secret stands in for it.
func TestAuthFailures(t *testing.T) {
	t.Parallel()
	for _, code := range []string{"SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			if r.Method != http.MethodHead {
				io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>`+code+`</Code><Message>The request signature we calculated does not match the signature you provided.</Message><RequestId>1</RequestId></Error>`)
			}
		}))
		target := Target{Endpoint: strings.TrimPrefix(srv.URL, "http://"), Region: "us-east-1", Bucket: "backups", AccessKey: "a", SecretKey: "wrong-secret"}
		_, err := Upload(ctx(t), target, "k", strings.NewReader("data"), 4)
		if Code(err) != CodeAuth || !strings.Contains(err.Error(), "secret key") {
			t.Errorf("%s on upload: %v", code, err)
		}
		if err := Test(ctx(t), target, ""); Code(err) != CodeAuth {
			t.Errorf("%s on test: %v", code, err)
		}
		if strings.Contains(err.Error(), "wrong-secret") {
			t.Errorf("the secret is in the message: %v", err)
		}
		srv.Close()
	}
}

func TestUnreachable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	target := Target{Endpoint: addr, Region: "us-east-1", Bucket: "backups", AccessKey: "a", SecretKey: "b"}
	start := time.Now()
	_, err = Upload(ctx(t), target, "k", strings.NewReader("data"), 4)
	if Code(err) != CodeUnreachable || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("closed port: %v", err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("a closed port took %s to fail", took)
	}
	target.Endpoint = "pressluft-no-such-host.invalid:9000"
	if err := Test(ctx(t), target, ""); Code(err) != CodeUnreachable {
		t.Errorf("unknown host: %v", err)
	}
	// TLS against a plain HTTP server, and the reverse.
	plain, _ := fakeS3(t)
	plain.UseTLS = true
	if err := Test(ctx(t), plain, ""); Code(err) != CodeUnreachable {
		t.Errorf("TLS to plain HTTP: %v", err)
	}
	tlsSrv := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	untrusted := Target{Endpoint: strings.TrimPrefix(tlsSrv.URL, "https://"), UseTLS: true, Region: "us-east-1", Bucket: "backups", AccessKey: "a", SecretKey: "b"}
	if err := Test(ctx(t), untrusted, ""); Code(err) != CodeUnreachable || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted certificate: %v", err)
	}
}

func TestCodeOfForeignErrors(t *testing.T) {
	t.Parallel()
	if Code(nil) != "" || Code(io.ErrClosedPipe) != CodeFailed || Code(minio.ErrorResponse{Code: "NoSuchBucket", StatusCode: 404}) != CodeFailed ||
		Code(minio.ErrorResponse{Code: "InvalidAccessKeyId", StatusCode: 403}) != CodeAuth || Code(context.DeadlineExceeded) != CodeUnreachable {
		t.Error("Code maps foreign errors wrongly")
	}
}

package http_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	nethttp "net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pressluft/pressluft"
)

// fakeUploads keeps what the handler streams to "the node".
type fakeUploads struct {
	mu        sync.Mutex
	received  map[string][]byte // upload id → bytes
	discarded []string
	err       error
	// after runs once the body has arrived (a concurrent change).
	after func()
}

func (f *fakeUploads) ReceiveUpload(_ context.Context, _ *pressluft.Node, envName, id string, size, max int64, body io.Reader) (*pressluft.ArchiveUpload, error) {
	if f.err != nil {
		return nil, f.err
	}
	if size > max {
		return nil, pressluft.Errorf(pressluft.EArchiveTooLarge, "too large")
	}
	b, err := io.ReadAll(io.LimitReader(body, size))
	if err != nil || int64(len(b)) != size {
		return nil, pressluft.Errorf(pressluft.EBadRequest, "short body: %d of %d (%v)", len(b), size, err)
	}
	f.mu.Lock()
	f.received[id] = b
	f.mu.Unlock()
	if f.after != nil {
		f.after()
	}
	sum := sha256.Sum256(b)
	return &pressluft.ArchiveUpload{ID: id, Path: "tmp/upload-" + id + ".archive", Size: size, SHA256: hex.EncodeToString(sum[:])}, nil
}

func (f *fakeUploads) DiscardUpload(_ context.Context, _ *pressluft.Node, envName, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.discarded = append(f.discarded, envName+" "+id)
	return nil
}

// upload posts body as an archive; chunked sends it without Content-Length.
func (c *client) upload(path, contentType string, body []byte, chunked bool) response {
	c.tb.Helper()
	var r io.Reader = bytes.NewReader(body)
	if chunked {
		r = io.MultiReader(r) // an unknown length: the client sends it chunked
	}
	req, err := nethttp.NewRequest("POST", c.base+path, r)
	if err != nil {
		c.tb.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	res, err := c.hc.Do(req)
	if err != nil {
		c.tb.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}

func wantError(t *testing.T, res response, status int, code string) {
	t.Helper()
	if res.status != status || !strings.Contains(res.body, `"code":"`+code+`"`) {
		t.Fatalf("status %d %s, want %d %s", res.status, res.body, status, code)
	}
}

func TestAPI_DeployUpload(t *testing.T) {
	t.Parallel()
	ts := mustServer(t)
	ups := &fakeUploads{received: map[string][]byte{}}
	ts.Uploads = ups
	c := ts.loggedIn(t)
	_, envID := activeSite(t, ts, c, "upl1")
	deploy := "/api/environments/" + envID + "/deploy"
	archive := bytes.Repeat([]byte("wp-content/plugins/marker.php "), 4000)

	wantError(t, c.upload(deploy, "application/gzip", archive, true), 411, pressluft.ELengthRequired)
	wantError(t, c.upload(deploy, "text/plain", archive, false), 415, pressluft.EUnsupportedMedia)
	wantError(t, c.upload(deploy, "multipart/form-data; boundary=x", archive, false), 415, pressluft.EUnsupportedMedia)
	wantError(t, c.upload(deploy, "application/zip", nil, false), 400, pressluft.EBadRequest)
	// The node path is the control plane's to choose.
	c.expect("POST", deploy, `{"source_type":"archive","archive_path":"tmp/upload-x.archive"}`, 400, pressluft.EBadRequest)
	c.expect("POST", deploy, `{"source_type":"archive","upload":{"path":"/etc/passwd"}}`, 400, pressluft.EBadRequest)

	// Over the limit: refused from the headers, before the body is sent.
	req, _ := nethttp.NewRequest("POST", c.base+deploy, io.LimitReader(neverRead{t}, pressluft.MaxUploadBytes+1))
	req.ContentLength = pressluft.MaxUploadBytes + 1
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Expect", "100-continue")
	hc := &nethttp.Client{Jar: c.hc.Jar, Transport: &nethttp.Transport{ExpectContinueTimeout: 10 * time.Second}}
	res, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	wantError(t, response{status: res.StatusCode, body: string(body)}, 413, pressluft.EArchiveTooLarge)
	if len(ups.received) != 0 {
		t.Fatalf("refused uploads reached the node: %d", len(ups.received))
	}

	// The node refuses (say, no room): its code is the answer.
	ups.err = pressluft.Errorf(pressluft.EInsufficientSpace, "no room")
	wantError(t, c.upload(deploy, "application/zstd", archive, false), 507, pressluft.EInsufficientSpace)
	ups.err = nil

	ok := c.upload(deploy, "application/gzip", archive, false)
	if ok.status != 202 {
		t.Fatalf("upload: %d %s", ok.status, ok.body)
	}
	acc := ok.json(t)
	up := acc["upload"].(map[string]any)
	sum := sha256.Sum256(archive)
	if up["size"] != float64(len(archive)) || up["sha256"] != hex.EncodeToString(sum[:]) {
		t.Fatalf("answer %v", acc)
	}
	if got := ups.received[up["id"].(string)]; !bytes.Equal(got, archive) {
		t.Fatalf("the node received %d bytes, want %d", len(got), len(archive))
	}
	job := c.expect("GET", "/api/jobs/"+acc["job_id"].(string), "", 200, "")
	pl := job["payload"].(map[string]any)
	if pl["upload"].(map[string]any)["path"] != "tmp/upload-"+up["id"].(string)+".archive" || pl["deploy"].(map[string]any)["source_type"] != "archive" {
		t.Fatalf("job payload %v", pl)
	}
	if e := c.expect("GET", "/api/environments/"+envID, "", 200, ""); e["status"] != pressluft.StatusDeploying {
		t.Fatalf("environment %v", e["status"])
	}
	// A second deploy while the first runs is refused before its body is read.
	wantError(t, c.upload(deploy, "application/gzip", archive, false), 409, pressluft.EConflict)
	if len(ups.received) != 1 {
		t.Fatalf("uploads on the node: %d", len(ups.received))
	}
	audit := c.expect("GET", "/api/audit?action=environment.deploy&resource_id="+envID, "", 200, "")["items"].([]any)
	var details map[string]any
	for _, it := range audit {
		if e := it.(map[string]any); e["status_code"] == float64(202) {
			details, _ = e["details"].(map[string]any)
		}
	}
	if details["source"] != "upload" || details["sha256"] != up["sha256"] {
		t.Fatalf("audit entries %v", audit)
	}
}

// A deploy that cannot start after the body arrived (the environment
// changed meanwhile) removes the upload: no job would.
func TestAPI_DeployUploadRefusedAfterArrival(t *testing.T) {
	t.Parallel()
	ts := mustServer(t)
	ups := &fakeUploads{received: map[string][]byte{}}
	ts.Uploads = ups
	c := ts.loggedIn(t)
	_, envID := activeSite(t, ts, c, "upl2")
	ups.after = func() {
		if err := ts.Sites.SetEnvironmentStatus(context.Background(), envID, pressluft.StatusFailed, "meanwhile"); err != nil {
			t.Error(err)
		}
	}
	wantError(t, c.upload("/api/environments/"+envID+"/deploy", "application/zip", []byte("PK..."), false), 409, pressluft.EConflict)
	if len(ups.received) != 1 || len(ups.discarded) != 1 || !strings.HasPrefix(ups.discarded[0], "upl2-production ") {
		t.Fatalf("received %d, discarded %q", len(ups.received), ups.discarded)
	}
}

// neverRead fails the test when the client sends a body the server refused.
type neverRead struct{ t *testing.T }

func (n neverRead) Read(p []byte) (int, error) {
	n.t.Error("the body of a refused upload was sent")
	return 0, io.ErrUnexpectedEOF
}

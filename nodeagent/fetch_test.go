package nodeagent

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pressluft/pressluft/agent/protocol"
)

func TestAddressClass(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		// public
		"93.184.216.34": "", "1.1.1.1": "", "8.8.8.8": "", "2606:4700:4700::1111": "", "2a00:1450:4001:82b::200e": "",
		"100.63.255.255": "", "100.128.0.0": "", "172.15.255.255": "", "172.32.0.0": "", "192.167.255.255": "", "169.253.1.1": "",
		// refused
		"0.0.0.0": "unspecified", "0.1.2.3": "unspecified", "::": "unspecified",
		"127.0.0.1": "loopback", "127.255.255.254": "loopback", "::1": "loopback",
		"10.0.0.1": "private", "10.77.1.1": "private", "172.16.0.1": "private", "172.31.255.255": "private",
		"192.168.1.1": "private", "fc00::1": "private", "fd12:3456::1": "private",
		"100.64.0.1":      "private (shared address space)",
		"169.254.169.254": "link-local", "fe80::1": "link-local", "fe80::1%eth0": "link-local",
		"224.0.0.1": "multicast", "239.255.255.250": "multicast", "ff02::1": "multicast",
		"255.255.255.255": "reserved", "240.0.0.1": "reserved", "192.0.0.8": "reserved",
		"192.0.2.1": "reserved (documentation)", "2001:db8::1": "reserved (documentation)",
		"198.18.0.1":       "reserved (benchmarking)",
		"::ffff:127.0.0.1": "loopback", "::ffff:10.0.0.1": "private", "::ffff:169.254.169.254": "link-local",
		"64:ff9b::a00:1": "translated (NAT64)", "2002:a00:1::1": "translated (6to4)", "2001:0:a00:1::1": "translated (Teredo)",
		"fec0::1": "reserved (site-local)",
	}
	for s, want := range cases {
		addr := netip.MustParseAddr(s)
		if got := addressClass(addr); got != want {
			t.Errorf("addressClass(%s) = %q, want %q", s, got, want)
		}
		err := checkAddress(addr, "the URL")
		if (err == nil) != (want == "") {
			t.Errorf("checkAddress(%s) = %v", s, err)
		}
		if code, _ := errorCode(err); err != nil && code != protocol.ErrAddressNotAllowed {
			t.Errorf("checkAddress(%s) code %s", s, code)
		}
	}
}

// publicServer serves handler on loopback while the downloader believes it
// dials public addresses: every connection goes to the test server.
func publicServer(t *testing.T, handler http.Handler) (*httptest.Server, func(context.Context, string, string) (net.Conn, error)) {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	var d net.Dialer
	return srv, func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, srv.Listener.Addr().String())
	}
}

func codeOf(err error) string { c, _ := errorCode(err); return c }

func TestDownloaderRefusesPrivateAddresses(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("secret")) }))
	defer srv.Close()
	dir := t.TempDir()
	for _, raw := range []string{srv.URL + "/x", strings.Replace(srv.URL, "127.0.0.1", "[::ffff:127.0.0.1]", 1) + "/x", strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/x"} {
		d := &downloader{maxBytes: 1 << 20}
		_, err := d.fetch(context.Background(), raw, filepath.Join(dir, "a"), os.Getuid(), os.Getgid())
		if codeOf(err) != protocol.ErrAddressNotAllowed {
			t.Errorf("%s: err = %v, want address_not_allowed", raw, err)
		}
		if exists(filepath.Join(dir, "a")) {
			t.Fatalf("%s: a file was written", raw)
		}
	}
	// Allowed in the settings: the same URL downloads.
	d := &downloader{maxBytes: 1 << 20, allowPrivate: true}
	if n, err := d.fetch(context.Background(), srv.URL+"/x", filepath.Join(dir, "b"), os.Getuid(), os.Getgid()); err != nil || n != 6 {
		t.Fatalf("allowPrivate: %d, %v", n, err)
	}
}

func TestDownloaderChecksEveryRedirect(t *testing.T) {
	t.Parallel()
	private := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("metadata")) }))
	defer private.Close()
	_, dial := publicServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-private":
			http.Redirect(w, r, private.URL+"/latest/meta-data", http.StatusFound)
		case "/to-metadata":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data", http.StatusFound)
		case "/to-file":
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/to-public":
			http.Redirect(w, r, "http://93.184.216.35/site.zip", http.StatusFound)
		default:
			w.Write([]byte("archive"))
		}
	}))
	dir := t.TempDir()
	cases := map[string]string{
		"/to-private":  protocol.ErrAddressNotAllowed,
		"/to-metadata": protocol.ErrAddressNotAllowed,
		"/to-file":     protocol.ErrDownloadFailed,
		"/loop":        protocol.ErrDownloadFailed,
		"/to-public":   "",
	}
	for path, want := range cases {
		d := &downloader{maxBytes: 1 << 20, dialer: dial}
		file := filepath.Join(dir, strings.Trim(path, "/"))
		_, err := d.fetch(context.Background(), "http://93.184.216.34"+path, file, os.Getuid(), os.Getgid())
		if codeOf(err) != want {
			t.Errorf("%s: err = %v, want %q", path, err, want)
		}
	}
}

func TestDownloaderSizeLimit(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("x", 1000)
	_, dial := publicServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			w.Header().Set("Transfer-Encoding", "chunked")
			w.(http.Flusher).Flush()
			w.Write([]byte(body))
		case "/missing":
			http.NotFound(w, r)
		case "/short":
			w.Header().Set("Content-Length", "2000")
			w.Write([]byte(body))
		default:
			w.Write([]byte(body))
		}
	}))
	dir := t.TempDir()
	cases := []struct {
		path  string
		limit int64
		code  string
	}{
		{"/exact", 1000, ""},
		{"/declared", 999, protocol.ErrArchiveTooLarge},
		{"/chunked", 999, protocol.ErrArchiveTooLarge},
		{"/chunked", 1000, ""},
		{"/missing", 1000, protocol.ErrDownloadFailed},
		{"/short", 5000, protocol.ErrDownloadFailed},
	}
	for i, c := range cases {
		d := &downloader{maxBytes: c.limit, dialer: dial}
		file := filepath.Join(dir, strings.Trim(c.path, "/")+string(rune('a'+i)))
		n, err := d.fetch(context.Background(), "http://93.184.216.34"+c.path, file, os.Getuid(), os.Getgid())
		if codeOf(err) != c.code {
			t.Errorf("%s limit %d: err = %v, want %q", c.path, c.limit, err, c.code)
			continue
		}
		if c.code != "" {
			if exists(file) {
				t.Errorf("%s: a partial file was left", c.path)
			}
			continue
		}
		if data, _ := os.ReadFile(file); n != 1000 || string(data) != body {
			t.Errorf("%s: %d bytes", c.path, n)
		}
		if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v", c.path, fi.Mode())
		}
	}
}

func TestDownloaderCancel(t *testing.T) {
	t.Parallel()
	_, dial := publicServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	ctx, cancel := context.WithCancel(context.Background())
	d := &downloader{maxBytes: 1000, dialer: dial}
	done := make(chan error, 1)
	go func() {
		_, err := d.fetch(ctx, "http://93.184.216.34/slow", filepath.Join(t.TempDir(), "f"), os.Getuid(), os.Getgid())
		done <- err
	}()
	cancel()
	if err := <-done; codeOf(err) != protocol.ErrCancelled {
		t.Fatalf("err = %v, want cancelled", err)
	}
}

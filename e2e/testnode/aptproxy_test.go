package testnode

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// fakeMirror stands in for deb.debian.org and counts what reaches it.
func fakeMirror(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch {
		case r.URL.Path == "/debian/moved":
			http.Redirect(w, r, "http://elsewhere.example/debian/x.deb", http.StatusFound)
		case strings.HasSuffix(r.URL.Path, ".deb"), strings.Contains(r.URL.Path, "/by-hash/"), strings.HasSuffix(r.URL.Path, "InRelease"):
			fmt.Fprint(w, "content of "+r.URL.Path)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// proxyClient sends requests through the proxy under test.
func proxyClient(t *testing.T, proxy *Proxy) *http.Client {
	ps := httptest.NewServer(proxy)
	t.Cleanup(ps.Close)
	u, _ := url.Parse(ps.URL)
	return &http.Client{
		Transport:     &http.Transport{Proxy: http.ProxyURL(u)},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func get(t *testing.T, c *http.Client, method, u string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestProxyAllowlist(t *testing.T) {
	t.Parallel()
	mirror, _ := fakeMirror(t)
	host := strings.TrimPrefix(mirror.URL, "http://")
	c := proxyClient(t, NewProxy([]string{host}, t.TempDir(), nil))

	tests := []struct {
		name, method, url string
		want              int
	}{
		{"package from mirror", "GET", mirror.URL + "/debian/pool/main/r/rsync/rsync_3.2.7_amd64.deb", 200},
		{"release file", "GET", mirror.URL + "/debian/dists/bookworm/InRelease", 200},
		{"upstream status passes through", "GET", mirror.URL + "/debian/missing", 404},
		{"redirect goes back to apt", "GET", mirror.URL + "/debian/moved", 302},
		{"other host", "GET", "http://example.org/debian/x.deb", 403},
		{"mirror host on another port", "GET", "http://" + strings.Split(host, ":")[0] + ":1/x.deb", 403},
		{"POST", "POST", mirror.URL + "/debian/x.deb", 403},
		{"PUT", "PUT", mirror.URL + "/debian/x.deb", 403},
		{"HEAD", "HEAD", mirror.URL + "/debian/x.deb", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, body := get(t, c, tt.method, tt.url); got != tt.want {
				t.Fatalf("%s %s = %d (%s), want %d", tt.method, tt.url, got, body, tt.want)
			}
		})
	}
}

func TestProxyRefusesConnect(t *testing.T) {
	t.Parallel()
	mirror, _ := fakeMirror(t)
	host := strings.TrimPrefix(mirror.URL, "http://")
	ps := httptest.NewServer(NewProxy([]string{host}, t.TempDir(), nil))
	defer ps.Close()

	conn, err := net.Dial("tcp", strings.TrimPrefix(ps.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", host, host)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("CONNECT = %d, want 403", resp.StatusCode)
	}
}

func TestProxyCachesPackages(t *testing.T) {
	t.Parallel()
	mirror, hits := fakeMirror(t)
	host := strings.TrimPrefix(mirror.URL, "http://")
	cache := t.TempDir()
	c := proxyClient(t, NewProxy([]string{host}, cache, nil))

	deb := mirror.URL + "/debian/pool/main/z/zstd/zstd_1.5.4_amd64.deb"
	for i := 0; i < 3; i++ {
		if code, body := get(t, c, "GET", deb); code != 200 || !strings.HasSuffix(body, "zstd_1.5.4_amd64.deb") {
			t.Fatalf("get %d: %d %q", i, code, body)
		}
	}
	if n := hits.Load(); n != 1 {
		t.Fatalf("mirror saw %d requests for a cached .deb, want 1", n)
	}
	cached := filepath.Join(cache, strings.ReplaceAll(host, ":", "_"), "debian/pool/main/z/zstd/zstd_1.5.4_amd64.deb")
	if _, err := os.Stat(cached); err != nil {
		t.Fatalf("not cached on disk: %v", err)
	}

	// Release files change under the same name: always fetched.
	hits.Store(0)
	for i := 0; i < 2; i++ {
		get(t, c, "GET", mirror.URL+"/debian/dists/bookworm/InRelease")
	}
	if n := hits.Load(); n != 2 {
		t.Fatalf("mirror saw %d requests for InRelease, want 2", n)
	}
}

func TestProxyCachePathStaysInCache(t *testing.T) {
	t.Parallel()
	p := NewProxy(nil, "/cache", nil)
	got, ok := p.cachePath("deb.debian.org", "/debian/../../../etc/x.deb")
	if !ok || got != "/cache/deb.debian.org/etc/x.deb" {
		t.Fatalf("cachePath = %q, %v", got, ok)
	}
}

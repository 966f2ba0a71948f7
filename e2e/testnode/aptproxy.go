package testnode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Proxy is a tiny HTTP forward proxy for apt inside nodes. Nodes have no
// route to the internet (the suite must not turn on forwarding or NAT on the
// host), so this is their only way out: GET requests to the Debian mirror
// hosts are forwarded, everything else is refused with 403. Package files
// are cached on disk so that provisioning a second node is fast.
type Proxy struct {
	allowed  map[string]bool // "host:port"
	cacheDir string
	client   *http.Client
	log      *slog.Logger
}

// NewProxy returns a proxy that forwards to the given hosts ("host" or
// "host:port") and caches into cacheDir. A nil logger discards logs.
func NewProxy(hosts []string, cacheDir string, log *slog.Logger) *Proxy {
	allowed := map[string]bool{}
	for _, h := range hosts {
		allowed[withPort(h)] = true
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.DisableCompression = true // pass bytes through untouched
	return &Proxy{
		allowed:  allowed,
		cacheDir: cacheDir,
		log:      log,
		client: &http.Client{
			Transport: transport,
			// Hand redirects back to apt, so a redirect's target passes the
			// allowlist like any other request.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Host == "" && r.URL.Path == "/" {
		// Addressed to the proxy itself: a liveness answer for the CLI.
		fmt.Fprintln(w, "pressluft-testnode apt proxy")
		return
	}
	if r.Method != http.MethodGet || r.URL.Scheme != "http" || !p.allowed[withPort(r.URL.Host)] {
		p.log.Info("refused", "method", r.Method, "url", r.URL.String())
		http.Error(w, "pressluft-testnode apt proxy: only GET to the Debian mirror is allowed", http.StatusForbidden)
		return
	}
	file, cacheable := p.cachePath(r.URL.Host, r.URL.Path)
	if cacheable {
		if f, err := os.Open(file); err == nil {
			defer f.Close()
			st, _ := f.Stat()
			p.log.Info("hit", "url", r.URL.String())
			http.ServeContent(w, r, path.Base(r.URL.Path), st.ModTime(), f)
			return
		}
	}
	p.forward(w, r, file, cacheable)
}

// forward fetches the URL upstream and streams it to apt, keeping a copy of
// cacheable files that arrive complete.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, file string, cacheable bool) {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, r.URL.String(), nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	pass := []string{"If-Modified-Since", "If-None-Match", "Cache-Control", "User-Agent"}
	if !cacheable { // cached files are fetched whole; ServeContent serves ranges
		pass = append(pass, "Range", "If-Range")
	}
	for _, h := range pass {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	resp, err := p.client.Do(req)
	if err != nil {
		p.log.Warn("upstream", "url", r.URL.String(), "err", err)
		http.Error(w, "upstream: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	p.log.Info("miss", "url", r.URL.String(), "status", resp.StatusCode)

	for _, h := range []string{"Content-Type", "Content-Length", "Content-Range", "Accept-Ranges", "Last-Modified", "ETag", "Location", "Cache-Control", "Expires", "Date"} {
		if v := resp.Header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	if !cacheable || resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(w, resp.Body)
		return
	}
	if err := p.copyAndCache(w, resp, file); err != nil {
		p.log.Warn("cache", "url", r.URL.String(), "err", err)
	}
}

// copyAndCache streams resp to w and into a temp file that is renamed into
// the cache only when the whole body arrived, so a broken download is never
// served later.
func (p *Proxy) copyAndCache(w io.Writer, resp *http.Response, file string) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		_, _ = io.Copy(w, resp.Body)
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".part-")
	if err != nil {
		_, _ = io.Copy(w, resp.Body)
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	n, copyErr := io.Copy(io.MultiWriter(w, tmp), resp.Body)
	closeErr := tmp.Close()
	switch {
	case copyErr != nil:
		return copyErr
	case closeErr != nil:
		return closeErr
	case resp.ContentLength >= 0 && n != resp.ContentLength:
		return fmt.Errorf("short body: %d of %d bytes", n, resp.ContentLength)
	}
	if lm, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		_ = os.Chtimes(tmp.Name(), lm, lm)
	}
	return os.Rename(tmp.Name(), file)
}

// cachePath says where a URL is cached and whether it may be: package files
// and by-hash indexes never change under the same name; Release files and
// plain indexes do, so they always go upstream.
func (p *Proxy) cachePath(host, urlPath string) (string, bool) {
	clean := path.Clean("/" + urlPath)
	if !strings.HasSuffix(clean, ".deb") && !strings.Contains(clean, "/by-hash/") {
		return "", false
	}
	return filepath.Join(p.cacheDir, strings.ReplaceAll(host, ":", "_"), filepath.FromSlash(clean)), true
}

func withPort(host string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return strings.ToLower(host)
	}
	return strings.ToLower(host) + ":80"
}

// ProxyServer is a Proxy listening on one address.
type ProxyServer struct {
	srv  *http.Server
	done chan struct{}
	err  error // set before done is closed
}

// StartProxy serves a proxy for the host's Debian mirrors on addr (a node's
// host-side address, see Node.ProxyAddr) until Close.
func StartProxy(addr string, log *slog.Logger) (*ProxyServer, error) {
	sources, err := HostAptSources()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("testnode: apt proxy: %w", err)
	}
	s := &ProxyServer{
		srv: &http.Server{
			Handler:           NewProxy(MirrorHosts(sources), AptCache, log),
			ReadHeaderTimeout: 30 * time.Second,
		},
		done: make(chan struct{}),
	}
	go func() {
		s.err = s.srv.Serve(ln)
		close(s.done)
	}()
	return s, nil
}

// Close stops serving.
func (s *ProxyServer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if e := s.Wait(); err == nil {
		err = e
	}
	return err
}

// Wait blocks until the server stops; a Close is not an error.
func (s *ProxyServer) Wait() error {
	<-s.done
	if errors.Is(s.err, http.ErrServerClosed) {
		return nil
	}
	return s.err
}

// ProxyRunning reports whether a proxy (possibly another process's) answers
// on addr.
func ProxyRunning(addr string) bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

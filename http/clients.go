package http

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/pressluft/pressluft"
)

// Login limits: attempts a minute per client address and per account. The
// account limit keeps one person's typos from costing other administrators
// behind the same address their attempts; the client limit keeps one address
// from guessing across accounts.
const (
	loginsPerClient  = 20
	loginsPerAccount = 10
)

// ParsePrefixes reads a comma-separated list of addresses and CIDRs; a bare
// address is a prefix of its full length.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if a, err := netip.ParseAddr(f); err == nil {
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an IP address nor a CIDR such as 10.0.0.0/8", f)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// ParseHosts reads a comma-separated list of host names, lower-cased.
func ParseHosts(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.ToLower(strings.TrimSpace(f)); f == "" {
			continue
		}
		if err := pressluft.ValidateHost("host", f); err != nil {
			return nil, fmt.Errorf("%q is not a host name", f)
		}
		out = append(out, f)
	}
	return out, nil
}

// clientIP is the address of the client: the peer, or, when the peer is a
// trusted proxy, the right-most address of X-Forwarded-For that is not one
// of the trusted proxies. Forwarded headers from other peers are ignored, so
// that nobody can pick their own address for the login limit or the audit log.
func (s *Server) clientIP(r *http.Request) string {
	peer := peerAddr(r)
	if !s.trusted(peer) {
		return peer.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a malformed hop: the addresses before it cannot be trusted
		}
		if a = a.Unmap(); !s.trusted(a) {
			return a.String()
		}
	}
	return peer.String()
}

func peerAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// hostAllowed reports whether the request's Host is one this control plane
// answers for: a page of another name that resolves here (DNS rebinding)
// gets nothing.
func (s *Server) hostAllowed(r *http.Request) bool {
	if len(s.AllowedHosts) == 0 {
		return true
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	for _, h := range s.AllowedHosts {
		if host == h {
			return true
		}
	}
	return false
}

// limiter counts attempts per key in a sliding window. It is process-local
// on purpose: it only slows password guessing and holds nothing durable.
type limiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	hits   map[string][]time.Time
}

func newLimiter(max int, window time.Duration) *limiter {
	return &limiter{max: max, window: window, hits: map[string][]time.Time{}}
}

// allow records an attempt for key and reports whether it is within the limit.
func (l *limiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	recent := l.hits[key][:0]
	for _, t := range l.hits[key] {
		if now.Sub(t) < l.window {
			recent = append(recent, t)
		}
	}
	if len(l.hits) > 10000 {
		l.hits = map[string][]time.Time{} // bound memory under a flood of keys
	}
	if len(recent) >= l.max {
		l.hits[key] = recent
		return false
	}
	l.hits[key] = append(recent, now)
	return true
}

// streams counts open event streams per user.
type streams struct {
	mu   sync.Mutex
	open map[string]int
}

// acquire takes a place for user unless max are open already.
func (c *streams) acquire(user string, max int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.open[user] >= max {
		return false
	}
	c.open[user]++
	return true
}

func (c *streams) release(user string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.open[user]--; c.open[user] <= 0 {
		delete(c.open, user)
	}
}

package nodeagent

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"syscall"
	"time"

	"github.com/pressluft/pressluft/agent/protocol"
)

// blockedRanges are the addresses a download (or a git repository) may
// not lead to unless private addresses are allowed: everything that is
// not a public unicast address. Each is named in the refusal.
var blockedRanges = []struct {
	prefix netip.Prefix
	class  string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "private (shared address space)"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.0.0.0/24"), "reserved"},
	{netip.MustParsePrefix("192.0.2.0/24"), "reserved (documentation)"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("198.18.0.0/15"), "reserved (benchmarking)"},
	{netip.MustParsePrefix("198.51.100.0/24"), "reserved (documentation)"},
	{netip.MustParsePrefix("203.0.113.0/24"), "reserved (documentation)"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"}, // includes 255.255.255.255
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("64:ff9b::/96"), "translated (NAT64)"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "translated (NAT64)"},
	{netip.MustParsePrefix("100::/64"), "reserved (discard)"},
	{netip.MustParsePrefix("2001::/32"), "translated (Teredo)"},
	{netip.MustParsePrefix("2001:db8::/32"), "reserved (documentation)"},
	{netip.MustParsePrefix("2002::/16"), "translated (6to4)"},
	{netip.MustParsePrefix("fc00::/7"), "private"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fec0::/10"), "reserved (site-local)"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

// addressClass names why addr is refused, or "" for a public address.
// IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry.
func addressClass(addr netip.Addr) string {
	addr = addr.Unmap().WithZone("")
	if !addr.IsValid() {
		return "invalid"
	}
	for _, r := range blockedRanges {
		if r.prefix.Contains(addr) {
			return r.class
		}
	}
	return ""
}

// checkAddress refuses addr with address_not_allowed unless it is public.
func checkAddress(addr netip.Addr, what string) error {
	if class := addressClass(addr); class != "" {
		return errorf(protocol.ErrAddressNotAllowed,
			"%s leads to %s, a %s address; only public addresses are allowed unless private addresses are allowed in the settings",
			what, addr.Unmap(), class)
	}
	return nil
}

// downloader fetches http(s) URLs with a size limit. Unless allowPrivate,
// every connection it opens (the first and each redirect's) is checked
// on the address actually dialled, after DNS: a name that resolves to a
// private address, or a redirect to one, is refused.
type downloader struct {
	allowPrivate bool
	maxBytes     int64
	// timeout bounds one whole download.
	timeout time.Duration
	// dialer replaces the network (tests); nil dials for real.
	dialer func(ctx context.Context, network, addr string) (net.Conn, error)
}

const maxRedirects = 5

func (d *downloader) client() *http.Client {
	dialer := &net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}
	if !d.allowPrivate {
		dialer.Control = func(network, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			addr, err := netip.ParseAddr(host)
			if err != nil {
				return err
			}
			return checkAddress(addr, "the URL")
		}
	}
	dial := dialer.DialContext
	if d.dialer != nil {
		dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if !d.allowPrivate {
				if err := dialer.Control(network, addr, nil); err != nil {
					return nil, &net.OpError{Op: "dial", Net: network, Err: err}
				}
			}
			return d.dialer(ctx, network, addr)
		}
	}
	transport := &http.Transport{
		Proxy:                  nil, // the node's environment must not route around the check
		DialContext:            dial,
		TLSHandshakeTimeout:    15 * time.Second,
		ResponseHeaderTimeout:  30 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
		ForceAttemptHTTP2:      true,
		DisableCompression:     true, // the size limit counts the bytes as they arrive
	}
	return &http.Client{
		Transport: transport,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return errorf(protocol.ErrDownloadFailed, "more than %d redirects", maxRedirects)
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return errorf(protocol.ErrDownloadFailed, "a redirect leads to a %s: URL", req.URL.Scheme)
			}
			return nil
		},
	}
}

// fetch downloads raw into dst (created, 0600, owned by uid:gid) and
// returns its size. Over maxBytes it stops and fails archive_too_large;
// dst is removed on every failure. Events name the host only: a signed
// URL carries its credentials in the query.
func (d *downloader) fetch(ctx context.Context, raw, dst string, uid, gid int) (int64, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return 0, errorf(protocol.ErrBadRequest, "invalid URL")
	}
	host := u.Host
	if d.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return 0, errorf(protocol.ErrBadRequest, "invalid URL for %s", host)
	}
	req.Header.Set("User-Agent", "pressluft-agent/"+Version)
	resp, err := d.client().Do(req)
	if err != nil {
		return 0, d.failure(ctx, host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, errorf(protocol.ErrDownloadFailed, "%s answered %s", host, resp.Status)
	}
	if resp.ContentLength > d.maxBytes {
		return 0, errorf(protocol.ErrArchiveTooLarge, "the download from %s (%s) is larger than the limit of %s", host, mb(resp.ContentLength), mb(d.maxBytes))
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return 0, err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(dst)
		}
	}()
	if err := f.Chown(uid, gid); err != nil {
		return 0, err
	}
	n, err := io.Copy(f, io.LimitReader(resp.Body, d.maxBytes+1))
	if err != nil {
		return 0, d.failure(ctx, host, err)
	}
	if n > d.maxBytes {
		return 0, errorf(protocol.ErrArchiveTooLarge, "the download from %s is larger than the limit of %s", host, mb(d.maxBytes))
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return 0, errorf(protocol.ErrDownloadFailed, "%s sent %d of %d bytes", host, n, resp.ContentLength)
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	ok = true
	return n, nil
}

// failure turns a transport error into the download's error code: the
// address check's own refusal, a cancel, or download_failed.
func (d *downloader) failure(ctx context.Context, host string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return errorf(protocol.ErrDownloadFailed, "the download from %s took longer than %s", host, d.timeout)
		}
		return errorf(protocol.ErrCancelled, "cancelled while downloading from %s", host)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return errorf(protocol.ErrDownloadFailed, "downloading from %s: %s", host, truncate(err.Error(), 300))
}

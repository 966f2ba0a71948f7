package testnode

import (
	"bufio"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// AptSource is one "deb" repository of the host's apt configuration. Nodes
// use the same repositories as the host, and the proxy allows only their hosts.
type AptSource struct {
	URI        string
	Suites     []string
	Components []string
}

// HostAptSources reads the host's apt sources (one-line and deb822 formats).
func HostAptSources() ([]AptSource, error) {
	files := []string{"/etc/apt/sources.list"}
	for _, pattern := range []string{"/etc/apt/sources.list.d/*.list", "/etc/apt/sources.list.d/*.sources"} {
		m, _ := filepath.Glob(pattern)
		files = append(files, m...)
	}
	var all []AptSource
	for _, f := range files {
		fh, err := os.Open(f)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var got []AptSource
		if strings.HasSuffix(f, ".sources") {
			got, err = parseDeb822Sources(fh)
		} else {
			got, err = parseOneLineSources(fh)
		}
		fh.Close()
		if err != nil {
			return nil, fmt.Errorf("testnode: %s: %w", f, err)
		}
		all = append(all, got...)
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("testnode: no deb sources found in the host's apt configuration")
	}
	return all, nil
}

// parseOneLineSources reads "deb [opts] URI suite component..." lines.
func parseOneLineSources(r io.Reader) ([]AptSource, error) {
	var out []AptSource
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != "deb" {
			continue
		}
		f = f[1:]
		if strings.HasPrefix(f[0], "[") { // options such as [signed-by=...]
			for len(f) > 0 && !strings.HasSuffix(f[0], "]") {
				f = f[1:]
			}
			if len(f) > 0 {
				f = f[1:]
			}
		}
		if len(f) < 2 {
			continue
		}
		out = append(out, AptSource{URI: f[0], Suites: []string{f[1]}, Components: f[2:]})
	}
	return out, sc.Err()
}

// parseDeb822Sources reads stanzas of "Types/URIs/Suites/Components" fields.
func parseDeb822Sources(r io.Reader) ([]AptSource, error) {
	var out []AptSource
	fields := map[string]string{}
	flush := func() {
		if len(fields) == 0 {
			return
		}
		enabled := !strings.EqualFold(fields["enabled"], "no")
		if enabled && slices.Contains(strings.Fields(fields["types"]), "deb") {
			for _, uri := range strings.Fields(fields["uris"]) {
				out = append(out, AptSource{
					URI:        uri,
					Suites:     strings.Fields(fields["suites"]),
					Components: strings.Fields(fields["components"]),
				})
			}
		}
		fields = map[string]string{}
	}
	var last string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "":
			flush()
		case strings.HasPrefix(line, "#"):
		case line[0] == ' ' || line[0] == '\t': // continuation of the previous field
			if last != "" {
				fields[last] += " " + strings.TrimSpace(line)
			}
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			last = strings.ToLower(strings.TrimSpace(k))
			fields[last] = strings.TrimSpace(v)
		}
	}
	flush()
	return out, sc.Err()
}

// MirrorHosts are the host names the sources point at: the proxy's allowlist.
func MirrorHosts(sources []AptSource) []string {
	var hosts []string
	for _, s := range sources {
		u, err := url.Parse(s.URI)
		if err != nil || u.Scheme != "http" || u.Host == "" {
			continue
		}
		if !slices.Contains(hosts, u.Host) {
			hosts = append(hosts, u.Host)
		}
	}
	return hosts
}

// DebianMirror is the first http source serving the main Debian archive,
// used for debootstrap.
func DebianMirror(sources []AptSource) (string, error) {
	for _, s := range sources {
		if strings.HasPrefix(s.URI, "http://") && slices.Contains(s.Suites, "bookworm") {
			return strings.TrimSuffix(s.URI, "/"), nil
		}
	}
	return "", fmt.Errorf("testnode: no http source for bookworm in the host's apt configuration")
}

// sourcesList renders sources as a one-line sources.list for the nodes.
func sourcesList(sources []AptSource) string {
	var b strings.Builder
	b.WriteString("# Same repositories as the host; fetched through the host's apt proxy.\n")
	for _, s := range sources {
		if !strings.HasPrefix(s.URI, "http://") {
			continue
		}
		for _, suite := range s.Suites {
			fmt.Fprintf(&b, "deb %s %s %s\n", s.URI, suite, strings.Join(s.Components, " "))
		}
	}
	return b.String()
}

package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
)

// The sandbox's host names live in one marked block of /etc/hosts, so that
// they resolve without internet DNS and can be removed exactly.
const (
	hostsFile  = "/etc/hosts"
	hostsBegin = "# BEGIN pressluft sandbox (added by make demo, removed by make demo-down)"
	hostsEnd   = "# END pressluft sandbox"
)

// withHostsBlock returns content with the sandbox block replaced by one
// mapping each name to its address; no names removes the block.
func withHostsBlock(content string, names map[string]string) string {
	out := withoutHostsBlock(content)
	if len(names) == 0 {
		return out
	}
	if out != "" && !strings.HasSuffix(out, "\n") {
		out += "\n"
	}
	hosts := make([]string, 0, len(names))
	for h := range names {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	var b strings.Builder
	b.WriteString(out + hostsBegin + "\n")
	for _, h := range hosts {
		fmt.Fprintf(&b, "%s\t%s\n", names[h], h)
	}
	b.WriteString(hostsEnd + "\n")
	return b.String()
}

// withoutHostsBlock removes the sandbox block and nothing else.
func withoutHostsBlock(content string) string {
	var keep []string
	inside := false
	lines := strings.SplitAfter(content, "\n")
	for _, l := range lines {
		switch strings.TrimRight(l, "\n") {
		case hostsBegin:
			inside = true
			continue
		case hostsEnd:
			if inside {
				inside = false
				continue
			}
		}
		if !inside {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "")
}

// hostsBlockLines counts the entries of the sandbox block.
func hostsBlockLines(content string) int {
	d := strings.Count(content, "\n") - strings.Count(withoutHostsBlock(content), "\n")
	if d < 2 {
		return 0
	}
	return d - 2
}

// setHosts writes the block in place: /etc/hosts is often a bind mount that
// cannot be replaced by a rename.
func setHosts(path string, names map[string]string) (removed int, err error) {
	old, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	removed = hostsBlockLines(string(old))
	updated := withHostsBlock(string(old), names)
	if updated == string(old) {
		return removed, nil
	}
	return removed, os.WriteFile(path, []byte(updated), 0o644)
}

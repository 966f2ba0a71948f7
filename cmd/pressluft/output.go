package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/pressluft/pressluft"
)

// table prints rows under a header, columns separated by tabs.
func table(out io.Writer, header string, rows [][]string) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		for i := range r {
			r[i] = clean(r[i])
		}
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// facts prints "key: value" lines, aligned.
func facts(out io.Writer, kv ...string) error {
	tw := tabwriter.NewWriter(out, 0, 4, 1, ' ', 0)
	for i := 0; i+1 < len(kv); i += 2 {
		v := strings.TrimSpace(clean(kv[i+1]))
		if v == "" {
			v = "-"
		}
		fmt.Fprintf(tw, "%s:\t%s\n", kv[i], v)
	}
	return tw.Flush()
}

// clean keeps what the server says from steering the terminal: control
// characters (ESC, tabs, newlines) become spaces or are dropped.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return ' '
		case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029':
			return -1
		}
		return r
	}, s)
}

func when(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

// printForgotten shows what a forget removed and what may remain on the node.
func printForgotten(out io.Writer, what string, f *pressluft.Forgotten) error {
	fmt.Fprintf(out, "forgot %s: %d site(s), %d environment(s) removed from the control plane; %d queued job(s) cancelled\n",
		what, len(f.SiteIDs), len(f.EnvironmentIDs), len(f.CancelledJobs))
	if f.NodeID != "" {
		fmt.Fprintf(out, "node %s is decommissioned; its host can be added again\n", f.NodeID)
	}
	if len(f.MayRemain) == 0 {
		return nil
	}
	fmt.Fprintln(out, "\nNothing on the node was touched. What may remain there, to remove by hand if the server comes back:")
	for _, l := range f.MayRemain {
		fmt.Fprintf(out, "\nenvironment %s on %s\n", l.EnvironmentID, l.NodeHost)
		kv := []string{"  Linux user", l.LinuxUser, "  directory", l.Directory, "  database", l.Database, "  database user", l.DatabaseUser,
			"  PHP-FPM pool", l.PHPFPMPool, "  nginx vhost", l.NginxVhost, "  cron", l.Cron, "  local backups", l.Backups}
		for _, k := range l.OffsiteBackups {
			kv = append(kv, "  offsite backup", k)
		}
		if err := facts(out, kv...); err != nil {
			return err
		}
	}
	return nil
}

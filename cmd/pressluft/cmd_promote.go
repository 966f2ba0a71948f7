package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/pressluft/pressluft"
)

// splitList splits a comma-separated flag ("" is none).
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	for _, it := range strings.Split(s, ",") {
		if it = strings.TrimSpace(it); it != "" {
			out = append(out, it)
		}
	}
	return out
}

func promoteCommands() []command {
	var f struct {
		env, to, preset, tables string
		backupFirst, wait       bool
	}
	envFlag := func(fs *flag.FlagSet) { fs.StringVar(&f.env, "env", "", "id of the staging or clone environment") }
	envPath := func() (string, error) {
		if f.env == "" {
			return "", fmt.Errorf("--env is required")
		}
		return "/api/environments/" + pathID(f.env), nil
	}
	return []command{
		{name: "drift check", usage: "--env ID [--wait]   (compare its source with the state at copy time)",
			flags: func(fs *flag.FlagSet) {
				envFlag(fs)
				fs.BoolVar(&f.wait, "wait", false, "follow the job until it ends")
			},
			run: func(c *client, args []string) error {
				path, err := envPath()
				if err != nil {
					return err
				}
				var r struct {
					JobID string `json:"job_id"`
				}
				if done, err := c.call("POST", path+"/drift-check", nil, &r); done || err != nil {
					return err
				}
				return c.accepted(r.JobID, f.wait)
			}},
		{name: "drift list", usage: "--env ID", flags: envFlag,
			run: func(c *client, args []string) error {
				path, err := envPath()
				if err != nil {
					return err
				}
				var list struct {
					Items []*pressluft.DriftCheck `json:"items"`
				}
				if done, err := c.call("GET", path+"/drift-checks", nil, &list); done || err != nil {
					return err
				}
				var rows [][]string
				for _, d := range list.Items {
					var what []string
					for _, ch := range d.Changes {
						what = append(what, changeText(ch))
					}
					rows = append(rows, []string{d.ID, d.Result, when(&d.CreatedAt), strings.Join(what, "; ")})
				}
				return table(c.out, "ID\tRESULT\tCHECKED\tCHANGES", rows)
			}},
		{name: "promotion show", usage: "--env ID   (what is protected, and whether a promotion would pass its gates now)", flags: envFlag,
			run: func(c *client, args []string) error {
				path, err := envPath()
				if err != nil {
					return err
				}
				var g pressluft.PromotionGates
				if done, err := c.call("GET", path+"/promotion", nil, &g); done || err != nil {
					return err
				}
				fmt.Fprintf(c.out, "target:    %s\npreset:    %s\nprotected: %s and uploads\n", g.TargetEnvironmentID, g.Preset, strings.Join(g.Protected, ", "))
				for _, gt := range []struct {
					name string
					g    pressluft.Gate
				}{{"drift", g.Drift}, {"backup", g.Backup}} {
					state := "ok"
					if !gt.g.OK {
						state = gt.g.Code
					}
					fmt.Fprintf(c.out, "%-10s %s: %s\n", gt.name+":", state, gt.g.Message)
				}
				return nil
			}},
		{name: "promotion protect", usage: "--env ID --preset content-protect|commerce-protect|custom [--tables T,U]",
			flags: func(fs *flag.FlagSet) {
				envFlag(fs)
				fs.StringVar(&f.preset, "preset", "", "content-protect, commerce-protect or custom")
				fs.StringVar(&f.tables, "tables", "", "comma-separated tables or patterns (wp_ prefix optional) protected besides the preset's")
			},
			run: func(c *client, args []string) error {
				path, err := envPath()
				if err != nil {
					return err
				}
				var e pressluft.Environment
				in := pressluft.Protection{Preset: f.preset, Tables: splitList(f.tables)}
				if done, err := c.call("PUT", path+"/promotion", in, &e); done || err != nil {
					return err
				}
				fmt.Fprintf(c.out, "preset %s, protected tables: %s\n", e.PromotionPreset, strings.Join(e.ProtectedTables, ", "))
				return nil
			}},
		{name: "promotion promote", usage: "--env ID --to TARGET_ID [--backup-first] [--wait]",
			flags: func(fs *flag.FlagSet) {
				envFlag(fs)
				fs.StringVar(&f.to, "to", "", "id of the environment to promote into (the one this was copied from)")
				fs.BoolVar(&f.backupFirst, "backup-first", false, "take the target's full backup as the first step")
				fs.BoolVar(&f.wait, "wait", false, "follow the job until it ends")
			},
			run: func(c *client, args []string) error {
				path, err := envPath()
				if err != nil {
					return err
				}
				var r struct {
					JobID string `json:"job_id"`
				}
				in := pressluft.PromoteRequest{TargetEnvironmentID: f.to, BackupFirst: f.backupFirst}
				if done, err := c.call("POST", path+"/promote", in, &r); done || err != nil {
					return err
				}
				return c.accepted(r.JobID, f.wait)
			}},
	}
}

// changeText is one drift change as people read it.
func changeText(ch pressluft.DriftChange) string {
	s := ch.Kind + " " + ch.Name + " " + ch.Change
	if ch.From != "" || ch.To != "" {
		s += " (" + ch.From + " → " + ch.To + ")"
	}
	return s
}

package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/pressluft/pressluft"
)

func releaseCommands() []command {
	var f struct {
		env, repo, ref, archive, scope, items, pkg, release, site string
		archiveFile                                               string
		restoreDB                                                 string
		wait, verify                                              bool
	}
	envFlag := func(fs *flag.FlagSet) { fs.StringVar(&f.env, "env", "", "environment id") }
	waitFlag := func(fs *flag.FlagSet) { fs.BoolVar(&f.wait, "wait", false, "follow the job until it ends") }
	envPath := func() (string, error) {
		if f.env == "" {
			return "", fmt.Errorf("--env is required")
		}
		return "/api/environments/" + pathID(f.env), nil
	}
	// start posts body to the environment's action and follows the job.
	start := func(action string, body func() (any, error)) func(c *client, args []string) error {
		return func(c *client, args []string) error {
			path, err := envPath()
			if err != nil {
				return err
			}
			b, err := body()
			if err != nil {
				return err
			}
			var r struct {
				JobID string `json:"job_id"`
			}
			if done, err := c.call("POST", path+"/"+action, b, &r); done || err != nil {
				return err
			}
			return c.accepted(r.JobID, f.wait)
		}
	}
	deploy := start("deploy", func() (any, error) {
		if f.archive != "" {
			return pressluft.DeployRequest{SourceType: pressluft.ReleaseArchive, ArchiveURL: f.archive}, nil
		}
		return pressluft.DeployRequest{SourceType: pressluft.ReleaseGit, Repository: f.repo, SourceRef: f.ref}, nil
	})
	return []command{
		{name: "release list", usage: "--env ID", flags: envFlag,
			run: func(c *client, args []string) error {
				path, err := envPath()
				if err != nil {
					return err
				}
				var list struct {
					Items []*pressluft.Release `json:"items"`
				}
				if done, err := c.call("GET", path+"/releases", nil, &list); done || err != nil {
					return err
				}
				var rows [][]string
				for _, r := range list.Items {
					cur := ""
					if r.Current {
						cur = "*"
					}
					rows = append(rows, []string{cur, r.ID, r.Dir(), r.Source, r.Ref, r.Health, strconv.FormatInt(r.SizeBytes, 10),
						strconv.FormatBool(r.SnapshotID != ""), when(&r.CreatedAt)})
				}
				return table(c.out, "\tID\tDIRECTORY\tSOURCE\tREF\tHEALTH\tBYTES\tSNAPSHOT\tCREATED", rows)
			}},
		{name: "release deploy", usage: "--env ID (--git URL --ref REF | --archive URL | --archive-file PATH) [--wait]",
			flags: func(fs *flag.FlagSet) {
				envFlag(fs)
				fs.StringVar(&f.repo, "git", "", "git repository URL")
				fs.StringVar(&f.ref, "ref", "", "branch, tag or commit")
				fs.StringVar(&f.archive, "archive", "", "http(s) URL of a .zip, .tar.gz or .tar.zst holding wp-content/")
				fs.StringVar(&f.archiveFile, "archive-file", "", "upload this .zip, .tar.gz or .tar.zst holding wp-content/ (- reads stdin, when it is a file)")
				waitFlag(fs)
			},
			run: func(c *client, args []string) error {
				if f.archiveFile == "" {
					return deploy(c, args)
				}
				if f.archive != "" || f.repo != "" || f.ref != "" {
					return fmt.Errorf("--archive-file is the deploy's whole source: leave out --archive, --git and --ref")
				}
				body, closeFile, err := archiveBody(f.archiveFile, c.in)
				if err != nil {
					return err
				}
				defer closeFile()
				return start("deploy", func() (any, error) { return body, nil })(c, args)
			}},
		{name: "release update", usage: "--env ID --scope core|plugins|themes|all [--items a,b] [--package-url URL] [--verify-on-clone] [--wait]",
			flags: func(fs *flag.FlagSet) {
				envFlag(fs)
				fs.StringVar(&f.scope, "scope", "", "core, plugins, themes or all")
				fs.StringVar(&f.items, "items", "", "comma-separated plugin or theme slugs")
				fs.StringVar(&f.pkg, "package-url", "", "install this package instead of wordpress.org's")
				fs.BoolVar(&f.verify, "verify-on-clone", false, "try the update on a temporary copy first; the live environment is updated only when the copy passes")
				waitFlag(fs)
			},
			run: start("updates", func() (any, error) {
				u := pressluft.UpdateRequest{Scope: f.scope, PackageURL: f.pkg, VerifyOnClone: f.verify}
				if f.items != "" {
					u.Items = strings.Split(f.items, ",")
				}
				return u, nil
			})},
		{name: "release updates", usage: "--env ID   (what runs and what is available)", flags: envFlag,
			run: func(c *client, args []string) error {
				path, err := envPath()
				if err != nil {
					return err
				}
				var info pressluft.UpdateInfo
				if done, err := c.call("GET", path+"/updates", nil, &info); done || err != nil {
					return err
				}
				if !info.Checked {
					fmt.Fprintf(c.out, "available versions unknown: %s\n\n", info.Problem)
				}
				var rows [][]string
				for _, it := range info.Items {
					rows = append(rows, []string{it.Type, it.Slug, it.Version, it.Available, strconv.FormatBool(it.Active)})
				}
				return table(c.out, "TYPE\tSLUG\tVERSION\tAVAILABLE\tACTIVE", rows)
			}},
		{name: "release rollback", usage: "--env ID --release ID --restore-database true|false [--wait]",
			flags: func(fs *flag.FlagSet) {
				envFlag(fs)
				fs.StringVar(&f.release, "release", "", "id of the release to serve again")
				fs.StringVar(&f.restoreDB, "restore-database", "", "true: also restore the database as it was when that release was replaced (content written since is lost)")
				waitFlag(fs)
			},
			run: start("rollback", func() (any, error) {
				req := pressluft.RollbackRequest{ReleaseID: f.release}
				if f.restoreDB != "" {
					v, err := strconv.ParseBool(f.restoreDB)
					if err != nil {
						return nil, fmt.Errorf("--restore-database must be true or false")
					}
					req.RestoreDatabase = &v
				}
				return req, nil
			})},
		{name: "release health-paths", usage: "--env ID [PATH ...]   (checked besides the home page)", flags: envFlag,
			run: func(c *client, args []string) error {
				path, err := envPath()
				if err != nil {
					return err
				}
				var e pressluft.Environment
				if done, err := c.call("PUT", path+"/health-paths", map[string]any{"paths": append([]string{}, args...)}, &e); done || err != nil {
					return err
				}
				fmt.Fprintf(c.out, "health check paths: / %s\n", strings.Join(e.HealthPaths, " "))
				return nil
			}},
		{name: "release deploy-key", usage: "--site ID   (add it read-only to the repository)",
			flags: func(fs *flag.FlagSet) { fs.StringVar(&f.site, "site", "", "site id") },
			run: func(c *client, args []string) error {
				if f.site == "" {
					return fmt.Errorf("--site is required")
				}
				var r struct {
					PublicKey string `json:"public_key"`
				}
				if done, err := c.call("GET", "/api/sites/"+pathID(f.site)+"/deploy-key", nil, &r); done || err != nil {
					return err
				}
				fmt.Fprintln(c.out, r.PublicKey)
				return nil
			}},
	}
}

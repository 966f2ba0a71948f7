package main

import (
	"flag"
	"fmt"

	"github.com/pressluft/pressluft"
)

func siteCommands() []command {
	var f struct {
		name, slug, node, title, email, site, typ, from, preset, protect string
		wait, force                                                      bool
	}
	waitFlag := func(fs *flag.FlagSet) { fs.BoolVar(&f.wait, "wait", false, "follow the job until it ends") }
	deleteFlags := func(fs *flag.FlagSet) {
		waitFlag(fs)
		fs.BoolVar(&f.force, "force", false, "forget it when its node is gone (nothing on the node is touched)")
	}
	del := func(kind, path string) func(c *client, args []string) error {
		return func(c *client, args []string) error {
			id, err := oneID(args, kind)
			if err != nil {
				return err
			}
			if f.force {
				return c.forget(path+id, kind+" "+id)
			}
			var r struct {
				JobID string `json:"job_id"`
			}
			if done, err := c.call("DELETE", path+id, nil, &r); done || err != nil {
				return err
			}
			return c.accepted(r.JobID, f.wait)
		}
	}
	reset := func(kind, path string) func(c *client, args []string) error {
		return func(c *client, args []string) error {
			id, err := oneID(args, kind)
			if err != nil {
				return err
			}
			var r struct {
				Status string `json:"status"`
			}
			if done, err := c.call("POST", path+id+"/reset", nil, &r); done || err != nil {
				return err
			}
			fmt.Fprintf(c.out, "%s %s is %s\n", kind, id, r.Status)
			return nil
		}
	}
	return []command{
		{name: "site list", usage: "",
			run: func(c *client, args []string) error {
				var list struct {
					Items []*pressluft.Site `json:"items"`
				}
				if done, err := c.call("GET", "/api/sites", nil, &list); done || err != nil {
					return err
				}
				var rows [][]string
				for _, s := range list.Items {
					rows = append(rows, []string{s.ID, s.Name, s.Slug, s.Status, s.NodeID})
				}
				return table(c.out, "ID\tNAME\tSLUG\tSTATUS\tNODE", rows)
			}},
		{name: "site create", usage: "--name N --slug S --node ID [--title T] [--admin-email E] [--wait]",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&f.name, "name", "", "site name")
				fs.StringVar(&f.slug, "slug", "", "slug: lower-case letters, digits and dashes, at most 20")
				fs.StringVar(&f.node, "node", "", "id of the node to place it on")
				fs.StringVar(&f.title, "title", "", "WordPress title (default: the name)")
				fs.StringVar(&f.email, "admin-email", "", "WordPress administrator's e-mail (default: yours)")
				waitFlag(fs)
			},
			run: func(c *client, args []string) error {
				var r struct {
					JobID         string          `json:"job_id"`
					Site          *pressluft.Site `json:"site"`
					EnvironmentID string          `json:"environment_id"`
					AdminUser     string          `json:"admin_user"`
					AdminPassword string          `json:"admin_password"`
				}
				body := pressluft.SiteCreate{Name: f.name, Slug: f.slug, NodeID: f.node, Title: f.title, AdminEmail: f.email}
				done, err := c.call("POST", "/api/sites", body, &r)
				if err != nil {
					return err
				}
				if !done {
					if err := facts(c.out, "site", r.Site.ID, "production", r.EnvironmentID, "admin user", r.AdminUser,
						"admin password", r.AdminPassword+"  (shown once; save it now)"); err != nil {
						return err
					}
				}
				return c.accepted(r.JobID, f.wait)
			}},
		{name: "site get", usage: "ID",
			run: func(c *client, args []string) error {
				id, err := oneID(args, "site")
				if err != nil {
					return err
				}
				var s struct {
					pressluft.Site
					Environments []*pressluft.Environment `json:"environments"`
				}
				if done, err := c.call("GET", "/api/sites/"+id, nil, &s); done || err != nil {
					return err
				}
				if err := facts(c.out, "id", s.ID, "name", s.Name, "slug", s.Slug, "status", s.Status, "node", s.NodeID); err != nil {
					return err
				}
				fmt.Fprintln(c.out)
				return envTable(c, s.Environments)
			}},
		{name: "site delete", usage: "ID [--force] [--wait]", flags: deleteFlags, run: del("site", "/api/sites/")},
		{name: "site reset", usage: "ID", run: reset("site", "/api/sites/")},

		{name: "env list", usage: "--site ID",
			flags: func(fs *flag.FlagSet) { fs.StringVar(&f.site, "site", "", "site id") },
			run: func(c *client, args []string) error {
				if f.site == "" {
					return fmt.Errorf("--site is required")
				}
				var list struct {
					Items []*pressluft.Environment `json:"items"`
				}
				if done, err := c.call("GET", "/api/sites/"+pathID(f.site)+"/environments", nil, &list); done || err != nil {
					return err
				}
				return envTable(c, list.Items)
			}},
		{name: "env create", usage: "--site ID --name N --slug S --from ENV_ID [--type staging|clone] [--preset P] [--protect T,U] [--wait]",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&f.site, "site", "", "site id")
				fs.StringVar(&f.name, "name", "", "environment name")
				fs.StringVar(&f.slug, "slug", "", "slug: at most 10 characters, unique within the site")
				fs.StringVar(&f.typ, "type", "staging", "staging or clone")
				fs.StringVar(&f.from, "from", "", "id of the environment to copy")
				fs.StringVar(&f.preset, "preset", "", "promotion preset: content-protect, commerce-protect or custom")
				fs.StringVar(&f.protect, "protect", "", "comma-separated tables or patterns a promotion leaves alone besides the preset's")
				waitFlag(fs)
			},
			run: func(c *client, args []string) error {
				if f.site == "" {
					return fmt.Errorf("--site is required")
				}
				var r struct {
					JobID         string `json:"job_id"`
					EnvironmentID string `json:"environment_id"`
				}
				body := pressluft.EnvironmentCreate{Name: f.name, Slug: f.slug, Type: f.typ, SourceEnvironmentID: f.from, PromotionPreset: f.preset,
					ProtectedTables: splitList(f.protect)}
				done, err := c.call("POST", "/api/sites/"+pathID(f.site)+"/environments", body, &r)
				if err != nil {
					return err
				}
				if !done {
					fmt.Fprintf(c.out, "environment %s\n", r.EnvironmentID)
				}
				return c.accepted(r.JobID, f.wait)
			}},
		{name: "env get", usage: "ID",
			run: func(c *client, args []string) error {
				id, err := oneID(args, "environment")
				if err != nil {
					return err
				}
				var e pressluft.Environment
				if done, err := c.call("GET", "/api/environments/"+id, nil, &e); done || err != nil {
					return err
				}
				return facts(c.out, "id", e.ID, "site", e.SiteID, "name", e.Name, "slug", e.Slug, "type", e.Type, "status", e.Status,
					"node", e.NodeID, "system name", e.SystemName, "url", e.PreviewURL, "release", e.CurrentReleaseID, "last error", e.LastError)
			}},
		{name: "env delete", usage: "ID [--force] [--wait]", flags: deleteFlags, run: del("environment", "/api/environments/")},
		{name: "env reset", usage: "ID", run: reset("environment", "/api/environments/")},
	}
}

func envTable(c *client, envs []*pressluft.Environment) error {
	var rows [][]string
	for _, e := range envs {
		rows = append(rows, []string{e.ID, e.Name, e.Slug, e.Type, e.Status, e.PreviewURL})
	}
	return table(c.out, "ID\tNAME\tSLUG\tTYPE\tSTATUS\tURL", rows)
}

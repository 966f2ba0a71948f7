package main

import (
	"flag"
	"fmt"
	"net/url"
	"strconv"

	"github.com/pressluft/pressluft"
)

func nodeCommands() []command {
	var f struct {
		name, host, user, status string
		port                     int
		local, wait, force       bool
	}
	waitFlag := func(fs *flag.FlagSet) { fs.BoolVar(&f.wait, "wait", false, "follow the job until it ends") }
	jobOn := func(action string) func(c *client, args []string) error {
		return func(c *client, args []string) error {
			id, err := oneID(args, "node")
			if err != nil {
				return err
			}
			var r struct {
				JobID string `json:"job_id"`
			}
			if done, err := c.call("POST", "/api/nodes/"+id+"/"+action, nil, &r); done || err != nil {
				return err
			}
			return c.accepted(r.JobID, f.wait)
		}
	}
	return []command{
		{name: "node list", usage: "[--status S]",
			flags: func(fs *flag.FlagSet) { fs.StringVar(&f.status, "status", "", "only nodes with this status") },
			run: func(c *client, args []string) error {
				var list struct {
					Items []*pressluft.Node `json:"items"`
				}
				if done, err := c.call("GET", "/api/nodes?"+url.Values{"status": {f.status}}.Encode(), nil, &list); done || err != nil {
					return err
				}
				var rows [][]string
				for _, n := range list.Items {
					rows = append(rows, []string{n.ID, n.Name, n.SSHUser + "@" + n.Host + ":" + strconv.Itoa(n.SSHPort), n.Status, n.OSName + " " + n.OSVersion})
				}
				return table(c.out, "ID\tNAME\tADDRESS\tSTATUS\tOS", rows)
			}},
		{name: "node add", usage: "--name N --host H [--port 22] [--user root] [--local]",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&f.name, "name", "", "node name")
				fs.StringVar(&f.host, "host", "", "hostname or IP address")
				fs.IntVar(&f.port, "port", 22, "SSH port")
				fs.StringVar(&f.user, "user", "root", "SSH user (root, or a user with passwordless sudo)")
				fs.BoolVar(&f.local, "local", false, "this is the machine the control plane runs on")
			},
			run: func(c *client, args []string) error {
				var n pressluft.Node
				body := map[string]any{"name": f.name, "host": f.host, "ssh_port": f.port, "ssh_user": f.user, "is_local": f.local}
				if done, err := c.call("POST", "/api/nodes", body, &n); done || err != nil {
					return err
				}
				fmt.Fprintf(c.out, "added node %s (%s); authorise the control plane's key on it ('pressluft node ssh-key'), then run 'pressluft node provision %s'\n",
					clean(n.Name), n.ID, n.ID)
				return nil
			}},
		{name: "node get", usage: "ID",
			run: func(c *client, args []string) error {
				id, err := oneID(args, "node")
				if err != nil {
					return err
				}
				var n pressluft.Node
				if done, err := c.call("GET", "/api/nodes/"+id, nil, &n); done || err != nil {
					return err
				}
				return facts(c.out, "id", n.ID, "name", n.Name, "address", n.SSHUser+"@"+n.Host+":"+strconv.Itoa(n.SSHPort), "status", n.Status,
					"host key", n.HostKeyFingerprint, "os", n.OSName+" "+n.OSVersion, "nginx", n.NginxVersion, "php", n.PHPVersion,
					"mariadb", n.MariaDBVersion, "redis", n.RedisVersion, "last seen", when(n.LastSeenAt), "last error", n.LastError)
			}},
		{name: "node provision", usage: "ID [--wait]", flags: waitFlag, run: jobOn("provision")},
		{name: "node check", usage: "ID [--wait]", flags: waitFlag, run: jobOn("check")},
		{name: "node delete", usage: "ID [--force]",
			flags: func(fs *flag.FlagSet) {
				fs.BoolVar(&f.force, "force", false, "forget a node that is gone, with everything on it (nothing on the server is touched)")
			},
			run: func(c *client, args []string) error {
				id, err := oneID(args, "node")
				if err != nil {
					return err
				}
				if f.force {
					return c.forget("/api/nodes/"+id, "node "+id)
				}
				if done, err := c.call("DELETE", "/api/nodes/"+id, nil, nil); done || err != nil {
					return err
				}
				fmt.Fprintf(c.out, "node %s decommissioned; nothing on the server was removed\n", id)
				return nil
			}},
		{name: "node ssh-key", usage: "",
			run: func(c *client, args []string) error {
				var k struct {
					PublicKey string `json:"public_key"`
				}
				if done, err := c.call("GET", "/api/nodes/ssh-key", nil, &k); done || err != nil {
					return err
				}
				fmt.Fprintln(c.out, clean(k.PublicKey))
				return nil
			}},
	}
}

// forget sends DELETE path?force=true and shows what may remain on the node.
func (c *client) forget(path, what string) error {
	var f pressluft.Forgotten
	if done, err := c.call("DELETE", path+"?force=true", nil, &f); done || err != nil {
		return err
	}
	return printForgotten(c.out, what, &f)
}

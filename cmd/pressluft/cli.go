package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/sqlite"
	"github.com/pressluft/pressluft/ssh"
)

// openForCLI parses --data-dir and the command's own flags and opens the store.
func openForCLI(name string, args []string, define func(fs *flag.FlagSet)) (*Main, *flag.FlagSet, error) {
	m := NewMain()
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.StringVar(&m.Config.DataDir, "data-dir", m.Config.DataDir, "data directory (PRESSLUFT_DATA_DIR)")
	if define != nil {
		define(fs)
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	if err := m.openStore(); err != nil {
		return nil, nil, err
	}
	return m, fs, nil
}

func runAdmin(ctx context.Context, args []string, in io.Reader, out io.Writer) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "reset-password") {
		return fmt.Errorf("usage: pressluft admin create|reset-password --email E --password P|--password-stdin [--revoke-tokens]")
	}
	var email, password string
	var revokeTokens, passwordStdin bool
	m, _, err := openForCLI("admin "+args[0], args[1:], func(fs *flag.FlagSet) {
		fs.StringVar(&email, "email", "", "administrator e-mail")
		fs.StringVar(&password, "password", "", "new password (8 characters to 72 bytes)")
		fs.BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of stdin (keeps it out of the process list)")
		if args[0] == "reset-password" {
			fs.BoolVar(&revokeTokens, "revoke-tokens", false, "also revoke the user's API tokens")
		}
	})
	if err != nil {
		return err
	}
	defer m.Close()
	if passwordStdin {
		line, err := bufio.NewReader(in).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("--password-stdin: no password on stdin")
		}
		password = strings.TrimRight(line, "\r\n")
	}
	auth := sqlite.NewAuthService(m.DB)
	audit := sqlite.NewAuditService(m.DB)
	if args[0] == "create" {
		u, err := auth.CreateUser(ctx, email, password)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "created administrator %s (%s)\n", u.Email, u.ID)
		return audit.Record(ctx, &pressluft.AuditEntry{Actor: "cli", Action: "user.create", ResourceType: "user", ResourceID: u.ID, Result: "success"})
	}
	revoked, err := auth.ResetPassword(ctx, email, password, revokeTokens)
	if err != nil {
		return err
	}
	switch {
	case !revokeTokens:
		fmt.Fprintf(out, "password of %s reset; its sessions were ended; its API tokens were kept (--revoke-tokens revokes them)\n", email)
	case revoked == 1:
		fmt.Fprintf(out, "password of %s reset; its sessions were ended; 1 API token revoked\n", email)
	default:
		fmt.Fprintf(out, "password of %s reset; its sessions were ended; %d API tokens revoked\n", email, revoked)
	}
	if err := audit.Record(ctx, &pressluft.AuditEntry{Actor: "cli", Action: "user.reset_password", ResourceType: "user", ResourceID: email, Result: "success"}); err != nil {
		return err
	}
	if revokeTokens {
		return audit.Record(ctx, &pressluft.AuditEntry{Actor: "cli", Action: "token.revoke", ResourceType: "user", ResourceID: email, Result: "success"})
	}
	return nil
}

func runNode(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: pressluft node ssh-key|list|add|provision")
	}
	var n pressluft.Node
	m, fs, err := openForCLI("node "+args[0], args[1:], func(fs *flag.FlagSet) {
		if args[0] == "add" {
			fs.StringVar(&n.Name, "name", "", "node name")
			fs.StringVar(&n.Host, "host", "", "hostname or IP address")
			fs.IntVar(&n.SSHPort, "port", 22, "SSH port")
			fs.StringVar(&n.SSHUser, "user", "root", "SSH user (root, or a user with passwordless sudo)")
			fs.BoolVar(&n.IsLocal, "local", false, "this is the machine the control plane runs on")
		}
	})
	if err != nil {
		return err
	}
	defer m.Close()
	jobsSvc := sqlite.NewJobService(m.DB)
	nodes := sqlite.NewNodeService(m.DB, jobsSvc)
	audit := sqlite.NewAuditService(m.DB)
	switch args[0] {
	case "ssh-key":
		key, err := controlPlaneKey(ctx, sqlite.NewSecretService(m.DB))
		if err != nil {
			return err
		}
		pub, err := ssh.PublicKeyLine(key)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, pub)
		return nil
	case "list":
		list, err := nodes.FindNodes(ctx, pressluft.NodeFilter{})
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tADDRESS\tSTATUS\tOS")
		for _, n := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s@%s:%d\t%s\t%s %s\n", n.ID, n.Name, n.SSHUser, n.Host, n.SSHPort, n.Status, n.OSName, n.OSVersion)
		}
		return tw.Flush()
	case "add":
		if err := nodes.CreateNode(ctx, &n); err != nil {
			return err
		}
		fmt.Fprintf(out, "added node %s (%s); run 'pressluft node provision %s' once the public key is authorised\n", n.Name, n.ID, n.ID)
		return audit.Record(ctx, &pressluft.AuditEntry{Actor: "cli", Action: "node.create", ResourceType: "node", ResourceID: n.ID, Result: "success"})
	case "provision":
		if fs.NArg() != 1 {
			return fmt.Errorf("usage: pressluft node provision ID")
		}
		j, err := nodes.ProvisionNode(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "queued job %s; a running 'pressluft serve' or 'pressluft worker' carries it out\n", j.ID)
		return audit.Record(ctx, &pressluft.AuditEntry{Actor: "cli", Action: "node.provision", ResourceType: "node", ResourceID: fs.Arg(0), Result: "success"})
	}
	return fmt.Errorf("unknown node command %q", args[0])
}

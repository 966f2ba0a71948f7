package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/sqlite"
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

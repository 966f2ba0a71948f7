// Command pressluft is the Pressluft control plane: API, dashboard, job
// workers and schedulers in one binary, plus administrative commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/pressluft/pressluft"
)

const usage = `Usage: pressluft <command> [flags]

On the control plane's host (these open the data directory: --data-dir or PRESSLUFT_DATA_DIR):
  serve                     run the API, dashboard, job workers and schedulers
  worker                    run job workers and schedulers only
  migrate                   apply database migrations and exit
  admin create --email E --password P|--password-stdin
  admin reset-password --email E --password P|--password-stdin [--revoke-tokens]
  version                   print the version

Anywhere, as a client of the API (--server/PRESSLUFT_SERVER and --token/PRESSLUFT_TOKEN,
else the config file $XDG_CONFIG_HOME/pressluft/config.json or ~/.config/pressluft/config.json):
  login --server URL --email E --password-stdin   create an API token and save it in the config file
  node list|add|get|provision|check|delete [--force]|ssh-key
  site list|create|get|delete [--force]|reset
  env list --site ID|create|get|delete [--force]|reset
  job list|get|cancel|wait
  token list|create|revoke
  backup list|create|get|delete|upload|restore|download|schedule
  offsite get|set|test|delete
  release list|deploy|update|updates|rollback|health-paths|deploy-key

Output is a table; --json prints the API's answer. Commands that start a job print its id;
--wait follows it and fails when the job does. delete --force forgets a resource whose node
is gone (unreachable or decommissioned) and lists what may remain on the node.
Run 'pressluft <command>' for its flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "error:", cliMessage(err))
		os.Exit(1)
	}
}

// cliMessage shows our errors, the API's included, by their message and code.
func cliMessage(err error) string {
	var e *pressluft.Error
	if errors.As(err, &e) && e.Code != "" {
		return fmt.Sprintf("%s (%s)", clean(e.Message), e.Code)
	}
	return clean(err.Error())
}

func run(ctx context.Context, args []string, out io.Writer) error {
	return runWith(ctx, args, osEnv(out))
}

func runWith(ctx context.Context, args []string, e env) error {
	out := e.out
	if len(args) == 0 {
		fmt.Fprint(out, usage)
		return flag.ErrHelp
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve", "worker":
		m := NewMain()
		m.Config.Listen = envOr("PRESSLUFT_LISTEN_ADDR", "127.0.0.1:8080")
		m.Config.ServeHTTP = cmd == "serve"
		if err := m.ParseFlags(cmd, rest); err != nil {
			return err
		}
		if err := m.Run(ctx); err != nil {
			m.Close()
			return err
		}
		<-ctx.Done()
		return m.Close()
	case "migrate":
		m := NewMain()
		if err := m.ParseFlags(cmd, rest); err != nil {
			return err
		}
		if err := m.openStore(); err != nil {
			return err
		}
		fmt.Fprintln(out, "migrations applied to", m.DB.Path)
		return m.Close()
	case "version":
		fmt.Fprintln(out, "pressluft", pressluft.Version)
		return nil
	case "admin":
		return runAdmin(ctx, rest, e.stdin, out)
	case "login":
		return runLogin(ctx, rest, e)
	case "node", "site", "env", "job", "token", "backup", "offsite", "release":
		var cmds []command
		for _, group := range [][]command{nodeCommands(), siteCommands(), jobCommands(), tokenCommands(), backupCommands(), releaseCommands(), promoteCommands()} {
			cmds = append(cmds, group...)
		}
		return runAPI(ctx, cmds, args, e)
	case "help", "-h", "--help":
		fmt.Fprint(out, usage)
		return nil
	}
	fmt.Fprint(out, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

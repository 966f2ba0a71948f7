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

Commands:
  serve                     run the API, dashboard, job workers and schedulers
  worker                    run job workers and schedulers only
  migrate                   apply database migrations and exit
  version                   print the version
  admin create --email E --password P
  admin reset-password --email E --password P [--revoke-tokens]
  node ssh-key              print the control plane's public SSH key
  node list                 list nodes
  node add --name N --host H [--port 22] [--user root]
  node provision ID         queue provisioning of a node

Every command takes --data-dir (or PRESSLUFT_DATA_DIR). Run 'pressluft <command> -h' for its flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "pressluft:", cliMessage(err))
		os.Exit(1)
	}
}

// cliMessage shows our errors by their message and code.
func cliMessage(err error) string {
	var e *pressluft.Error
	if errors.As(err, &e) {
		return fmt.Sprintf("%s (%s)", e.Message, e.Code)
	}
	return err.Error()
}

func run(ctx context.Context, args []string, out io.Writer) error {
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
		return runAdmin(ctx, rest, os.Stdin, out)
	case "node":
		return runNode(ctx, rest, out)
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

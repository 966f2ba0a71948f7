// Command pressluft-testnode manages disposable Debian 12 test nodes on this
// machine (systemd-nspawn containers with their own IP); see docs/testing.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/pressluft/pressluft/e2e/testnode"
)

const usage = `usage: pressluft-testnode COMMAND [ARGS]

commands:
  base                         build the cached Debian 12 tree (once)
  up NAME [--authorize-key FILE] [--deploy-user] [--no-systemd]
                               boot a node with its apt proxy, print its IP
  down NAME | --all            stop and remove nodes and their proxies
  exec NAME -- CMD [ARGS]      run a command inside a node
  list                         list nodes
  proxy NAME                   serve a node's apt proxy in the foreground
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code, err := run(ctx, os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "pressluft-testnode:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

func run(ctx context.Context, args []string) (int, error) {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return 2, nil
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "base":
		return 0, cmdBase(ctx)
	case "up":
		return 0, cmdUp(ctx, args)
	case "down":
		return 0, cmdDown(ctx, args)
	case "exec":
		return cmdExec(ctx, args)
	case "list":
		return 0, cmdList()
	case "proxy":
		return 0, cmdProxy(ctx, args)
	case "help", "-h", "--help":
		fmt.Print(usage)
		return 0, nil
	default:
		fmt.Fprint(os.Stderr, usage)
		return 2, fmt.Errorf("unknown command %q", cmd)
	}
}

func cmdBase(ctx context.Context) error {
	start := time.Now()
	dir, err := testnode.Base(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "base ready in %s\n", time.Since(start).Round(time.Millisecond))
	fmt.Println(dir)
	return nil
}

func cmdUp(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	keyFile := fs.String("authorize-key", "", "public key `FILE` allowed to log in as root")
	deploy := fs.Bool("deploy-user", false, "also create user deploy with passwordless sudo")
	noSystemd := fs.Bool("no-systemd", false, "run only sshd under a stub PID 1 instead of booting systemd")
	name, err := parseWithName(fs, args)
	if err != nil {
		return err
	}
	var opts []testnode.Option
	if *keyFile != "" {
		key, err := os.ReadFile(*keyFile)
		if err != nil {
			return err
		}
		opts = append(opts, testnode.WithAuthorizedKey(string(key)))
	}
	if *deploy {
		opts = append(opts, testnode.WithDeployUser())
	}
	if *noSystemd {
		opts = append(opts, testnode.WithoutSystemd())
	}
	opts = append(opts, testnode.WithProxy(startBackgroundProxy))
	start := time.Now()
	n, err := testnode.Up(ctx, name, opts...)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "node %s up in %s (pid %d)\n", n.Name, time.Since(start).Round(time.Millisecond), n.PID)
	fmt.Println(n.IP)
	return nil
}

func cmdDown(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("down", flag.ContinueOnError)
	all := fs.Bool("all", false, "remove every node")
	var names []string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, err := parseWithName(fs, args)
		if err != nil {
			return err
		}
		names = append(names, name)
	} else if err := fs.Parse(args); err != nil {
		return err
	}
	if *all {
		nodes, err := testnode.List()
		if err != nil {
			return err
		}
		for _, n := range nodes {
			names = append(names, n.Name)
		}
	}
	if len(names) == 0 && !*all {
		return errors.New("down: need a node name or --all")
	}
	var errs []error
	for _, name := range names {
		errs = append(errs, testnode.Down(ctx, name))
	}
	return errors.Join(errs...)
}

func cmdExec(ctx context.Context, args []string) (int, error) {
	if len(args) < 3 || args[1] != "--" {
		return 2, errors.New("usage: exec NAME -- CMD [ARGS]")
	}
	n, err := testnode.Load(args[0])
	if err != nil {
		return 1, fmt.Errorf("node %s: %w", args[0], err)
	}
	cmd, err := n.Command(ctx, args[2:]...)
	if err != nil {
		return 1, err
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil // the command's own failure: pass its status on
	}
	return 0, err
}

func cmdList() error {
	nodes, err := testnode.List()
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tIP\tPID\tAPT PROXY\tSTATE")
	for _, n := range nodes {
		state := "running"
		if !n.Running() {
			state = "stopped (run: down " + n.Name + ")"
		}
		proxy := "down"
		if testnode.ProxyRunning(n.ProxyAddr()) {
			proxy = n.ProxyAddr()
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\n", n.Name, n.IP, n.PID, proxy, state)
	}
	return w.Flush()
}

// parseWithName accepts the node name before or after the flags.
func parseWithName(fs *flag.FlagSet, args []string) (string, error) {
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
	}
	if name == "" {
		return "", fmt.Errorf("%s: need a node name", fs.Name())
	}
	return name, testnode.ValidName(name)
}

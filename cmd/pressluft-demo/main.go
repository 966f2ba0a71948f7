// Command pressluft-demo runs the local sandbox of `make demo`: a control
// plane on SQLite in the background, one disposable local node (the test-node
// harness of e2e/testnode) provisioned through the API, and a demo WordPress
// site whose preview name resolves on this machine through /etc/hosts.
// `make demo-down` removes all of it.
//
// The control plane keeps running in the background after `make demo`
// returns (its PID is in the data directory's sandbox.json and in the lock
// file). Ctrl-C during `make demo` stops the setup where it is and keeps what
// is up; the next `make demo` resumes from there.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

const usage = `usage: pressluft-demo up|down [flags]

  up      start the sandbox, or reuse the one that runs (make demo)
  down    remove the sandbox: control plane, node, host entries, data (make demo-down)

flags:
  --data-dir DIR      the sandbox's data directory (default .data/demo)
  --listen ADDR       the dashboard's address (default 127.0.0.1:8080, or the next free port)
  --started-at NANOS  when make demo started (Unix nanoseconds), for the total time
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) < 2 || (os.Args[1] != "up" && os.Args[1] != "down") {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	s, err := newSandbox(os.Args[1], os.Args[2:])
	if err == nil {
		if os.Args[1] == "up" {
			err = s.up(ctx)
		} else {
			err = s.down(ctx)
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "\ninterrupted: what is up stays up. 'make demo' resumes, 'make demo-down' removes it.")
		} else {
			fmt.Fprintln(os.Stderr, "\nmake demo:", err)
		}
		os.Exit(1)
	}
}

// The sandbox's fixed names: stable, so a second run finds what the first made.
const (
	nodeName    = "pl-demo" // the disposable node on this machine
	cpNodeName  = "demo"    // the node's name in the control plane
	siteSlug    = "demo"
	siteTitle   = "Pressluft Demo"
	adminEmail  = "admin@pressluft.localhost"
	defaultAddr = "127.0.0.1:8080"
)

// sandbox is one run of up or down.
type sandbox struct {
	dataDir string
	binDir  string // pressluft and pressluft-testnode are built next to this command
	listen  string
	started time.Time
	state   state
}

func newSandbox(cmd string, args []string) (*sandbox, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	s := &sandbox{binDir: filepath.Dir(self), started: time.Now()}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.StringVar(&s.dataDir, "data-dir", ".data/demo", "the sandbox's data directory")
	fs.StringVar(&s.listen, "listen", "", "the dashboard's address (default "+defaultAddr+", or the next free port)")
	startedAt := fs.Int64("started-at", 0, "when make demo started, in Unix nanoseconds")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if *startedAt > 0 {
		s.started = time.Unix(0, *startedAt)
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("the sandbox needs root (it boots a container with its own network namespace and edits /etc/hosts)")
	}
	if s.dataDir, err = filepath.Abs(s.dataDir); err != nil {
		return nil, err
	}
	return s, nil
}

// say prints one line of progress with the time since make demo started.
func (s *sandbox) say(stage, format string, args ...any) {
	fmt.Printf("[%6.1fs] %-14s %s\n", time.Since(s.started).Seconds(), stage, fmt.Sprintf(format, args...))
}

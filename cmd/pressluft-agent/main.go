// Command pressluft-agent does Pressluft's per-environment work on a node:
// one JSON request on stdin, JSON lines on stdout (see agent/protocol).
//
//	pressluft-agent           serve one request from stdin
//	pressluft-agent version   print the version
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/pressluft/pressluft/nodeagent"
)

func main() {
	if len(os.Args) > 1 {
		if os.Args[1] == "version" && len(os.Args) == 2 {
			fmt.Println(nodeagent.Version)
			return
		}
		fmt.Fprintln(os.Stderr, "usage: pressluft-agent [version]  (a request is read from stdin)")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer stop()
	// A file on stdin has no session to close: its EOF is not a cancel.
	fi, err := os.Stdin.Stat()
	cancelOnEOF := err == nil && !fi.Mode().IsRegular()
	os.Exit(nodeagent.Serve(ctx, nodeagent.Options{Stdin: os.Stdin, Stdout: os.Stdout, CancelOnEOF: cancelOnEOF}))
}

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/pressluft/pressluft/e2e/testnode"
)

// cmdProxy serves one node's apt proxy in the foreground until interrupted
// or until the node is gone. "up" runs it in the background.
func cmdProxy(ctx context.Context, args []string) error {
	if len(args) != 1 {
		return errors.New("usage: proxy NAME")
	}
	n, err := testnode.Load(args[0])
	if err != nil {
		return fmt.Errorf("node %s: %w", args[0], err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	p, err := testnode.StartProxy(n.ProxyAddr(), log)
	if err != nil {
		return err
	}
	log.Info("apt proxy listening", "node", n.Name, "addr", n.ProxyAddr(), "cache", testnode.AptCache)
	stopped := make(chan error, 1)
	go func() { stopped <- p.Wait() }()
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return p.Close()
		case err := <-stopped:
			return err
		case <-tick.C:
			if _, err := testnode.Load(n.Name); err != nil { // node removed
				return p.Close()
			}
		}
	}
}

// startBackgroundProxy runs "pressluft-testnode proxy NAME" detached, records
// it for Down, and waits until it answers.
func startBackgroundProxy(n *testnode.Node) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(testnode.StateDir, n.Name, "proxy.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(self, "proxy", n.Name)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // outlive this command
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	if err := testnode.RecordProxyProcess(n, cmd.Process.Pid); err != nil {
		_ = cmd.Process.Kill()
		return err
	}
	deadline := time.After(10 * time.Second)
	for !testnode.ProxyRunning(n.ProxyAddr()) {
		select {
		case err := <-exited:
			return fmt.Errorf("apt proxy exited (%v); see %s", err, logf.Name())
		case <-deadline:
			return fmt.Errorf("apt proxy did not come up; see %s", logf.Name())
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

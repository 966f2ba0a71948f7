package testnode

import (
	"context"
	"errors"
	"log/slog"
	"sync"
)

// Lab owns what a test run needs: nodes and, for each, its apt proxy served
// from this process. Close tears all of it down; call it from the test's
// cleanup.
type Lab struct {
	log *slog.Logger

	mu      sync.Mutex
	proxies map[string]*ProxyServer // by node name
}

// NewLab checks the host and builds the base tree if needed. A nil logger
// discards the proxies' request logs.
func NewLab(ctx context.Context, log *slog.Logger) (*Lab, error) {
	if err := checkHost(); err != nil {
		return nil, err
	}
	if _, err := Base(ctx); err != nil {
		return nil, err
	}
	return &Lab{log: log, proxies: map[string]*ProxyServer{}}, nil
}

// Up boots a node that Close will remove.
func (l *Lab) Up(ctx context.Context, name string, opts ...Option) (*Node, error) {
	var proxy *ProxyServer
	start := func(n *Node) error {
		var err error
		proxy, err = StartProxy(n.ProxyAddr(), l.log)
		return err
	}
	n, err := Up(ctx, name, append(opts, WithProxy(start))...)
	if err != nil {
		if proxy != nil {
			_ = proxy.Close()
		}
		return nil, err
	}
	l.mu.Lock()
	l.proxies[name] = proxy
	l.mu.Unlock()
	return n, nil
}

// Down removes one node early.
func (l *Lab) Down(ctx context.Context, name string) error {
	l.mu.Lock()
	proxy := l.proxies[name]
	delete(l.proxies, name)
	l.mu.Unlock()
	err := Down(ctx, name)
	if proxy != nil {
		err = errors.Join(err, proxy.Close())
	}
	return err
}

// Close removes every node of the lab, in parallel.
func (l *Lab) Close() error {
	l.mu.Lock()
	names := make([]string, 0, len(l.proxies))
	for name := range l.proxies {
		names = append(names, name)
	}
	l.mu.Unlock()

	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = l.Down(context.Background(), name)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

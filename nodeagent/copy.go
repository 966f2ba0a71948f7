package nodeagent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pressluft/pressluft/agent/protocol"
)

// copyMarker is written when a copy is complete: a re-run with the same
// source leaves the copy (and the changes made in it since) alone.
type copyMarker struct {
	Source    string `json:"source"`
	ReleaseID string `json:"release_id"`
}

// envCopy builds a staging or clone environment as a copy of another
// environment on the node: code, uploads, database, then every occurrence
// of the source's URLs rewritten to this environment's. An interrupted copy
// starts again from the source.
func (a *agent) envCopy(ctx context.Context, env, src *protocol.Env) (*protocol.EnvResult, error) {
	srcPaths := pathsFor(src.Name, "")
	if !exists(srcPaths.Current + "/wp-load.php") {
		return nil, errorf(protocol.ErrNotFound, "%s/current holds no WordPress", srcPaths.Root)
	}
	srcUser, found, err := lookupEnvUser(srcPaths)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, errorf(protocol.ErrNotFound, "source environment %s has no user", src.Name)
	}
	// The source's own view (its home URL may differ from its URL) is read
	// while the target is set up: it changes nothing.
	srcHealth := make(chan healthAnswer, 1)
	healthCtx, stopHealth := context.WithCancel(ctx)
	defer stopHealth()
	go func() {
		h, err := a.health(healthCtx, srcUser, srcPaths)
		srcHealth <- healthAnswer{h, err}
	}()
	s, err := a.prepare(ctx, env)
	if err != nil {
		return nil, err
	}
	code := codeSource{Dir: srcPaths.Current + "/", FromEnv: true}
	result := &protocol.EnvResult{ReleaseID: env.ReleaseID}
	if m, ok := readCopyMarker(s.p.CopyMarker); ok && m.Source == src.Name {
		if err := a.serve(ctx, s, code); err != nil {
			return nil, err
		}
		a.event("copy", "the copy from "+src.Name+" is complete: left as it is")
		health, err := a.health(ctx, s.user, s.p)
		if err != nil {
			return nil, err
		}
		result.Health = health
	} else {
		sr, health, err := a.copyFrom(ctx, s, code, src, srcHealth)
		if err != nil {
			return nil, err
		}
		result.Copied, result.SearchReplace, result.Health = true, sr, health
	}
	if err := checkHealthy(result.Health, env.URL); err != nil {
		return nil, err
	}
	return result, nil
}

type healthAnswer struct {
	health protocol.Health
	err    error
}

// copyFrom fills the environment from src: code, uploads and database at
// the same time (they are independent), then the URLs rewritten.
func (a *agent) copyFrom(ctx context.Context, s *envState, code codeSource, src *protocol.Env, srcHealthAnswer <-chan healthAnswer) (*protocol.SearchReplace, protocol.Health, error) {
	var none protocol.Health
	err := parallel(ctx,
		func(ctx context.Context) error { return a.serve(ctx, s, code) },
		func(ctx context.Context) error { return a.copyUploads(ctx, s, pathsFor(src.Name, "")) },
		func(ctx context.Context) error {
			start := time.Now()
			if err := a.copyDatabase(ctx, src.DBName, s.env.DBName); err != nil {
				return err
			}
			a.event("copy_database", fmt.Sprintf("copied database %s into %s in %.2f s", src.DBName, s.env.DBName, time.Since(start).Seconds()))
			return nil
		},
	)
	if err != nil {
		return nil, none, err
	}
	var answer healthAnswer
	select {
	case answer = <-srcHealthAnswer:
	case <-ctx.Done():
		return nil, none, errorf(protocol.ErrCancelled, "cancelled")
	}
	if answer.err != nil {
		return nil, none, answer.err
	}
	srcHealth := answer.health
	if !srcHealth.Installed {
		return nil, none, errorf(protocol.ErrNotFound, "the source environment %s has no installed WordPress", src.Name)
	}
	sr, err := a.rewriteHosts(ctx, s.user, s.p.Root, s.env.URL, otherHosts(s.env.URL, srcHealth.Home, srcHealth.SiteURL, src.URL), "")
	if err != nil {
		return nil, none, err
	}
	// One statement instead of a WordPress load per option; flush clears any cached copy.
	sql, err := render("copy-options.sql.tmpl", map[string]any{"DBName": s.env.DBName, "URL": cleanURL(s.env.URL), "Noindex": s.data.Noindex})
	if err != nil {
		return nil, none, err
	}
	if _, err := a.run(ctx, command{argv: mariadbArgv, stdin: bytes.NewReader(sql)}); err != nil {
		return nil, none, err
	}
	// The rewrite rules and caches do not change WordPress's health facts: both at once.
	var health protocol.Health
	err = parallel(ctx,
		func(ctx context.Context) error { return a.runHelper(ctx, s.user, s.p.Root, "flush", nil, nil, nil) },
		func(ctx context.Context) (err error) {
			health, err = a.health(ctx, s.user, s.p)
			return err
		},
	)
	if err != nil {
		return nil, none, err
	}
	a.event("search_replace", "home and siteurl are "+cleanURL(s.env.URL)+"; caches and rewrite rules flushed")
	marker := mustJSON(copyMarker{Source: src.Name, ReleaseID: s.env.ReleaseID})
	if err := writeFile(s.p.CopyMarker, append(marker, '\n'), 0o600, 0, 0); err != nil {
		return nil, none, err
	}
	return sr, health, nil
}

// copyUploads replaces the environment's uploads with a copy of the
// source's: built beside them, then swapped in by renames.
func (a *agent) copyUploads(ctx context.Context, s *envState, srcPaths envPaths) error {
	dst := s.p.Shared + "/uploads"
	partial := s.p.Shared + "/.uploads.partial"
	old := s.p.Shared + "/.uploads.old"
	for _, p := range []string{partial, old} {
		if err := removeAll(p); err != nil {
			return err
		}
	}
	start := time.Now()
	stats, err := copyTree(ctx, srcPaths.Shared+"/uploads", partial, copyOptions{UID: s.user.UID, GID: s.user.GID, Workers: 4})
	if err != nil {
		if ctx.Err() != nil {
			return errorf(protocol.ErrCancelled, "cancelled while copying the uploads")
		}
		return errorf(protocol.ErrCommandFailed, "copying the uploads: %v", err)
	}
	if err := os.Chmod(partial, 0o755); err != nil {
		return err
	}
	if err := os.Rename(dst, old); err != nil && !os.IsNotExist(err) {
		return err
	}
	if err := os.Rename(partial, dst); err != nil {
		return err
	}
	if err := removeAll(old); err != nil {
		return err
	}
	a.event("copy_files", fmt.Sprintf("copied the uploads: %d files, %.1f MB in %.2f s",
		stats.Files, float64(stats.Bytes)/1e6, time.Since(start).Seconds()))
	return nil
}

func readCopyMarker(path string) (copyMarker, bool) {
	var m copyMarker
	data, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(data, &m) != nil {
		return m, false
	}
	return m, true
}

func readlink(path string) (string, error) {
	target, err := os.Readlink(path)
	if err != nil {
		return "", err
	}
	return filepath.Base(target), nil
}

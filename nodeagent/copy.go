package nodeagent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
	s, err := a.setup(ctx, env, codeSource{Dir: srcPaths.Current + "/", FromEnv: true})
	if err != nil {
		return nil, err
	}
	result := &protocol.EnvResult{ReleaseID: env.ReleaseID}
	if m, ok := readCopyMarker(s.p.CopyMarker); ok && m.Source == src.Name {
		a.event("copy", "the copy from "+src.Name+" is complete: left as it is")
	} else {
		sr, err := a.copyFrom(ctx, s, src, srcUser, srcPaths)
		if err != nil {
			return nil, err
		}
		result.Copied = true
		result.SearchReplace = sr
	}
	health, err := a.health(ctx, s.user, s.p)
	if err != nil {
		return nil, err
	}
	if err := checkHealthy(health, env.URL); err != nil {
		return nil, err
	}
	result.Health = health
	return result, nil
}

func (a *agent) copyFrom(ctx context.Context, s *envState, src *protocol.Env, srcUser envUser, srcPaths envPaths) (*protocol.SearchReplace, error) {
	// The source's own home URL may differ from its URL (a primary domain): both are rewritten.
	srcHealth, err := a.health(ctx, srcUser, srcPaths)
	if err != nil {
		return nil, err
	}
	if !srcHealth.Installed {
		return nil, errorf(protocol.ErrNotFound, "the source environment %s has no installed WordPress", src.Name)
	}
	host := urlHost(s.env.URL)
	var hosts []string
	for _, u := range []string{srcHealth.Home, srcHealth.SiteURL, src.URL} {
		if h := urlHost(u); h != "" && h != host && !contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	if err := a.copyUploads(ctx, s, srcPaths); err != nil {
		return nil, err
	}
	if err := checkCtx(ctx); err != nil {
		return nil, err
	}
	start := time.Now()
	if err := a.copyDatabase(ctx, src.DBName, s.env.DBName); err != nil {
		return nil, err
	}
	a.event("copy_database", fmt.Sprintf("copied database %s into %s in %.2f s", src.DBName, s.env.DBName, time.Since(start).Seconds()))

	sr := &protocol.SearchReplace{Hosts: hosts}
	replace := func(from, to string) error {
		var out struct {
			TotalCells  int `json:"total_cells"`
			Unparseable struct {
				Count int `json:"count"`
			} `json:"unparseable"`
		}
		args := []string{"--from=" + from, "--to=" + to}
		if err := a.runHelper(ctx, s.user, s.p.Root, "search-replace", args, nil, &out); err != nil {
			return err
		}
		sr.Cells += out.TotalCells
		// Every run sees the same unparseable values: the largest count is the number of them.
		sr.Unparseable = max(sr.Unparseable, out.Unparseable.Count)
		a.event("search_replace", fmt.Sprintf("%s → %s: %d cells changed", from, to, out.TotalCells))
		return nil
	}
	for _, h := range hosts {
		if err := replace("//"+h, "//"+host); err != nil {
			return nil, err
		}
	}
	// Links now name this host but may carry the source's scheme.
	scheme, other := "https", "http"
	if strings.HasPrefix(s.env.URL, "http://") {
		scheme, other = "http", "https"
	}
	if err := replace(other+"://"+host, scheme+"://"+host); err != nil {
		return nil, err
	}
	if sr.Unparseable > 0 {
		a.warn("search_replace", fmt.Sprintf("%d values look serialized but could not be parsed and may still name the source", sr.Unparseable))
	}
	// One statement instead of a WordPress load per option; flush clears any cached copy.
	sql, err := render("copy-options.sql.tmpl", map[string]any{"DBName": s.env.DBName, "URL": cleanURL(s.env.URL), "Noindex": s.data.Noindex})
	if err != nil {
		return nil, err
	}
	if _, err := a.run(ctx, command{argv: mariadbArgv, stdin: bytes.NewReader(sql)}); err != nil {
		return nil, err
	}
	if err := a.runHelper(ctx, s.user, s.p.Root, "flush", nil, nil, nil); err != nil {
		return nil, err
	}
	a.event("search_replace", "home and siteurl are "+cleanURL(s.env.URL)+"; caches and rewrite rules flushed")
	marker := mustJSON(copyMarker{Source: src.Name, ReleaseID: s.env.ReleaseID})
	if err := writeFile(s.p.CopyMarker, append(marker, '\n'), 0o600, 0, 0); err != nil {
		return nil, err
	}
	return sr, nil
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

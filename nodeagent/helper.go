package nodeagent

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"io"
	"os"
	"strings"

	"github.com/pressluft/pressluft/agent/protocol"
)

// helperPHP is the node-side PHP helper that drives WordPress; the agent
// carries it, so the two always match.
//
//go:embed helper/helper.php
var helperPHP []byte

// installHelper puts the embedded helper at helperPath (root-owned, 0755,
// atomic rename) when the file there differs.
func (a *agent) installHelper() error {
	if sameFile(helperPath, helperPHP, 0o755) {
		return nil
	}
	if err := os.MkdirAll(protocol.LibDir, 0o755); err != nil {
		return err
	}
	if err := writeFile(helperPath, helperPHP, 0o755, 0, 0); err != nil {
		return err
	}
	a.event("helper", "installed the PHP helper at "+helperPath)
	return nil
}

// helperFailure is the helper's answer when ok is false.
type helperFailure struct {
	OK       bool     `json:"ok"`
	Warnings []string `json:"warnings"`
	Error    struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// runHelper runs one helper command on the environment at root as its
// user (never root, never through a shell), secrets on stdin only, and
// decodes its JSON answer into out.
func (a *agent) runHelper(ctx context.Context, u envUser, root, name string, args []string, stdin any, out any) error {
	return a.runHelperAt(ctx, u, root, root+"/current", name, args, stdin, out)
}

// runHelperAt runs a helper command on the WordPress tree at path (a
// release being built) of the environment at root.
func (a *agent) runHelperAt(ctx context.Context, u envUser, root, path, name string, args []string, stdin any, out any) error {
	argv := append([]string{"php", helperPath, name, "--path=" + path}, args...)
	var in io.Reader
	if stdin != nil {
		in = bytes.NewReader(mustJSON(stdin))
	}
	c := command{
		argv:  argv,
		stdin: in,
		cred:  u.credential(),
		dir:   root,
		env:   []string{"PATH=" + systemPath, "HOME=" + root, "USER=" + u.Name, "LOGNAME=" + u.Name, "LANG=C.UTF-8"},
	}
	stdout, runErr := a.run(ctx, c)
	if code, _ := errorCode(runErr); runErr != nil && code == protocol.ErrCancelled {
		return runErr
	}
	var fail helperFailure
	if err := json.Unmarshal(stdout, &fail); err != nil {
		if runErr != nil {
			return runErr
		}
		return errorf(protocol.ErrWordPress, "helper %s answered no JSON: %s", name, a.w.Redact(tail(strings.TrimSpace(string(stdout)), 500)))
	}
	// PHP notices and stray output of WordPress or a plugin: shown, not fatal.
	for _, warning := range fail.Warnings {
		a.w.Output("helper " + name + ": " + warning)
	}
	if !fail.OK {
		code := protocol.ErrWordPress
		switch fail.Error.Code {
		case "not_found":
			code = protocol.ErrNotFound
		case "update_unavailable":
			code = protocol.ErrUpdateUnavailable
		case "update_failed":
			code = protocol.ErrUpdateFailed
		}
		return &Error{Code: code, Message: a.w.Redact("helper " + name + ": " + fail.Error.Code + ": " + fail.Error.Message)}
	}
	if out != nil {
		if err := json.Unmarshal(stdout, out); err != nil {
			return errorf(protocol.ErrWordPress, "helper %s answered unexpected JSON: %v", name, err)
		}
	}
	return nil
}

// helperHealth is the helper's health answer.
type helperHealth struct {
	Installed  bool    `json:"installed"`
	DBOK       bool    `json:"db_ok"`
	WPVersion  *string `json:"wp_version"`
	PHPVersion string  `json:"php_version"`
	Home       *string `json:"home"`
	SiteURL    *string `json:"siteurl"`
	TitleHTML  *string `json:"title_html"`
}

func (h helperHealth) protocol() protocol.Health {
	deref := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	return protocol.Health{
		Installed: h.Installed, DBOK: h.DBOK, WPVersion: deref(h.WPVersion), PHPVersion: h.PHPVersion,
		Home: deref(h.Home), SiteURL: deref(h.SiteURL), TitleHTML: deref(h.TitleHTML),
	}
}

// health asks WordPress for its own view of the environment.
func (a *agent) health(ctx context.Context, u envUser, p envPaths) (protocol.Health, error) {
	var h helperHealth
	if err := a.runHelper(ctx, u, p.Root, "health", nil, nil, &h); err != nil {
		return protocol.Health{}, err
	}
	return h.protocol(), nil
}

// checkHealthy fails unless WordPress is installed, reaches its database and
// has the environment's URL as home.
func checkHealthy(h protocol.Health, url string) error {
	if !h.Installed || !h.DBOK || strings.TrimSuffix(h.Home, "/") != cleanURL(url) {
		return errorf(protocol.ErrWordPress, "WordPress is not healthy: installed=%t, db_ok=%t, home=%q (expected %q)",
			h.Installed, h.DBOK, h.Home, cleanURL(url))
	}
	return nil
}

// installedEnv finds an environment that runs WordPress and its user, with
// the helper in place to ask it. phpVersion names its pool's paths ("" when
// the operation does not touch the pool).
func (a *agent) installedEnv(name, phpVersion string) (envPaths, envUser, error) {
	p := pathsFor(name, phpVersion)
	if !exists(p.Current + "/wp-load.php") {
		return p, envUser{}, errorf(protocol.ErrNotFound, "%s/current holds no WordPress", p.Root)
	}
	u, found, err := lookupEnvUser(p)
	if err != nil {
		return p, u, err
	}
	if !found {
		return p, u, errorf(protocol.ErrNotFound, "environment %s has no user", name)
	}
	return p, u, a.installHelper()
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pressluft/pressluft"
)

// env is what a command reads from its surroundings; tests replace it.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	out    io.Writer
	errOut io.Writer
}

func osEnv(out io.Writer) env {
	return env{getenv: os.Getenv, stdin: os.Stdin, out: out, errOut: os.Stderr}
}

// clientConfig is where the API is and the token to call it with.
type clientConfig struct {
	Server string `json:"server"`
	Token  string `json:"token"`
}

// configPath is $XDG_CONFIG_HOME/pressluft/config.json, else
// ~/.config/pressluft/config.json.
func configPath(getenv func(string) string) string {
	if dir := getenv("XDG_CONFIG_HOME"); dir != "" {
		return filepath.Join(dir, "pressluft", "config.json")
	}
	if home := getenv("HOME"); home != "" {
		return filepath.Join(home, ".config", "pressluft", "config.json")
	}
	return ""
}

// readConfigFile reads the config file; a missing one is empty. It holds a
// token, so one that others may read is refused.
func readConfigFile(path string) (clientConfig, error) {
	var c clientConfig
	if path == "" {
		return c, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	} else if err != nil {
		return c, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return c, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return c, fmt.Errorf("config file %s: mode %o lets other users read it, and it holds an API token; chmod 600 it", path, fi.Mode().Perm())
	}
	if err := json.NewDecoder(f).Decode(&c); err != nil {
		return c, fmt.Errorf("config file %s: %v", path, err)
	}
	return c, nil
}

// writeConfigFile saves c 0600 in a 0700 directory.
func writeConfigFile(path string, c clientConfig) error {
	if path == "" {
		return fmt.Errorf("no config file path: set HOME or XDG_CONFIG_HOME")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// resolveConfig takes each value from the flag, else the environment, else
// the config file.
func resolveConfig(flags clientConfig, e env) (clientConfig, error) {
	c := flags
	if c.Server == "" {
		c.Server = e.getenv("PRESSLUFT_SERVER")
	}
	if c.Token == "" {
		c.Token = e.getenv("PRESSLUFT_TOKEN")
	}
	if c.Server == "" || c.Token == "" {
		path := configPath(e.getenv)
		file, err := readConfigFile(path)
		if err != nil {
			return c, err
		}
		if c.Server == "" {
			c.Server = file.Server
		}
		if c.Token == "" {
			c.Token = file.Token
		}
		if c.Server == "" {
			return c, fmt.Errorf("no server: pass --server URL, set PRESSLUFT_SERVER or run 'pressluft login' (config file %s)", path)
		}
		if c.Token == "" {
			return c, fmt.Errorf("no API token: pass --token, set PRESSLUFT_TOKEN or run 'pressluft login' (config file %s)", path)
		}
	}
	return c, nil
}

// serverURL checks a server address and warns when a token would cross a
// network in clear text.
func serverURL(s string, e env) (string, error) {
	u, err := url.Parse(strings.TrimRight(s, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return "", fmt.Errorf("server %q: want http(s)://host[:port]", s)
	}
	if u.Scheme == "http" {
		if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
			fmt.Fprintf(e.errOut, "warning: the API token goes to %s in clear text; put the control plane behind TLS and use https://\n", u.Host)
		}
	}
	return u.String(), nil
}

// client calls the control plane's API with a token.
type client struct {
	ctx    context.Context
	server string
	token  string
	hc     *http.Client
	out    io.Writer
	in     io.Reader     // secrets read with --…-stdin
	json   bool          // print answers as the API gave them
	poll   time.Duration // how often job wait looks again
}

// do sends body (JSON, unless nil) and decodes the answer into out (unless
// nil). An error answer becomes a *pressluft.Error with the API's code.
func (c *client) do(method, path string, body, out any) error {
	var r io.Reader
	ctype, hc := "application/json", c.hc
	if rb, ok := body.(rawBody); ok {
		r, ctype = rb.r, rb.contentType
		// An upload takes as long as the link needs.
		hc = &http.Client{Transport: c.hc.Transport, Jar: c.hc.Jar}
	} else if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(c.ctx, method, c.server+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	if rb, ok := body.(rawBody); ok {
		req.ContentLength = rb.size
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the control plane at %s: %w", c.server, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return err
	}
	if res.StatusCode >= 400 {
		var e struct {
			Code    string         `json:"code"`
			Message string         `json:"message"`
			Details map[string]any `json:"details"`
		}
		if json.Unmarshal(raw, &e) != nil || e.Code == "" {
			return fmt.Errorf("%s %s: HTTP %d from %s", method, path, res.StatusCode, c.server)
		}
		return &pressluft.Error{Code: e.Code, Message: e.Message, Details: e.Details}
	}
	if out == nil || len(raw) == 0 {
		return nil
	}
	return json.Unmarshal(raw, out)
}

// call is do for commands: with --json it prints the answer as it came and
// reports done; else it decodes into out.
func (c *client) call(method, path string, body, out any) (done bool, err error) {
	var raw json.RawMessage
	if err := c.do(method, path, body, &raw); err != nil {
		return false, err
	}
	if c.json {
		var b bytes.Buffer
		if len(raw) > 0 {
			if err := json.Indent(&b, raw, "", "  "); err != nil {
				return false, err
			}
		}
		b.WriteByte('\n')
		_, err := c.out.Write(b.Bytes())
		return true, err
	}
	if out == nil || len(raw) == 0 {
		return false, nil
	}
	return false, json.Unmarshal(raw, out)
}

// command is one API command of the CLI.
type command struct {
	name  string // "node list"
	usage string // arguments and flags
	// flags defines the command's own flags; run gets what is left.
	flags func(fs *flag.FlagSet)
	run   func(c *client, args []string) error
}

// runAPI finds the command named by args, parses its flags and the client
// flags wherever they stand, and runs it against the API.
func runAPI(ctx context.Context, cmds []command, args []string, e env) error {
	group := ""
	if len(args) > 0 {
		group = args[0]
	}
	if len(args) < 2 {
		return usageOf(cmds, group)
	}
	var cmd *command
	for i := range cmds {
		if cmds[i].name == group+" "+args[1] {
			cmd = &cmds[i]
		}
	}
	if cmd == nil {
		return usageOf(cmds, group)
	}
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	fs.SetOutput(e.errOut)
	var flags clientConfig
	c := &client{ctx: ctx, out: e.out, in: e.stdin, hc: &http.Client{Timeout: 2 * time.Minute}, poll: time.Second}
	fs.StringVar(&flags.Server, "server", "", "control plane URL (PRESSLUFT_SERVER, or the config file)")
	fs.StringVar(&flags.Token, "token", "", "API token (PRESSLUFT_TOKEN, or the config file)")
	fs.BoolVar(&c.json, "json", false, "print the API's answer as JSON")
	if cmd.flags != nil {
		cmd.flags(fs)
	}
	rest, err := parseInterspersed(fs, args[2:])
	if err != nil {
		return err
	}
	cfg, err := resolveConfig(flags, e)
	if err != nil {
		return err
	}
	if c.server, err = serverURL(cfg.Server, e); err != nil {
		return err
	}
	c.token = cfg.Token
	return cmd.run(c, rest)
}

// parseInterspersed parses flags before, between and after positional
// arguments (the flag package stops at the first one).
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return rest, nil
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func usageOf(cmds []command, group string) error {
	var b strings.Builder
	for _, c := range cmds {
		if strings.HasPrefix(c.name, group+" ") {
			fmt.Fprintf(&b, "\n  pressluft %s %s", c.name, c.usage)
		}
	}
	if b.Len() == 0 {
		return fmt.Errorf("unknown command %q", group)
	}
	return fmt.Errorf("usage:%s\n(every command takes --server, --token and --json)", b.String())
}

// oneID checks that a command got exactly one id.
func oneID(args []string, what string) (string, error) {
	if len(args) != 1 {
		return "", fmt.Errorf("want one %s id, got %d arguments", what, len(args))
	}
	return pathID(args[0]), nil
}

// pathID escapes an id given on the command line for a URL path.
func pathID(s string) string { return url.PathEscape(s) }

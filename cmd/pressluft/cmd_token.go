package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"os"
	"strings"
	"time"

	"github.com/pressluft/pressluft"
)

func tokenCommands() []command {
	var name string
	return []command{
		{name: "token list", usage: "",
			run: func(c *client, args []string) error {
				var list struct {
					Items []*pressluft.APIToken `json:"items"`
				}
				if done, err := c.call("GET", "/api/tokens", nil, &list); done || err != nil {
					return err
				}
				var rows [][]string
				for _, t := range list.Items {
					rows = append(rows, []string{t.ID, t.Name, t.Prefix + "…", when(&t.CreatedAt), when(t.LastUsedAt)})
				}
				return table(c.out, "ID\tNAME\tTOKEN\tCREATED\tLAST USED", rows)
			}},
		{name: "token create", usage: "--name N",
			flags: func(fs *flag.FlagSet) { fs.StringVar(&name, "name", "", "what the token is for") },
			run: func(c *client, args []string) error {
				var r struct {
					Token    string              `json:"token"`
					APIToken *pressluft.APIToken `json:"api_token"`
				}
				if done, err := c.call("POST", "/api/tokens", map[string]string{"name": name}, &r); done || err != nil {
					return err
				}
				fmt.Fprintf(c.out, "token %s (%s), shown once:\n%s\n", clean(r.APIToken.Name), r.APIToken.ID, r.Token)
				return nil
			}},
		{name: "token revoke", usage: "ID",
			run: func(c *client, args []string) error {
				id, err := oneID(args, "token")
				if err != nil {
					return err
				}
				if done, err := c.call("DELETE", "/api/tokens/"+id, nil, nil); done || err != nil {
					return err
				}
				fmt.Fprintf(c.out, "token %s revoked\n", id)
				return nil
			}},
	}
}

// runLogin signs in with an e-mail and password, creates an API token and
// saves it with the server in the config file, for the other commands.
func runLogin(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("login", flag.ContinueOnError)
	fs.SetOutput(e.errOut)
	var server, email, name string
	var passwordStdin bool
	fs.StringVar(&server, "server", e.getenv("PRESSLUFT_SERVER"), "control plane URL (PRESSLUFT_SERVER)")
	fs.StringVar(&email, "email", "", "administrator e-mail")
	fs.BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of stdin")
	host, _ := os.Hostname()
	fs.StringVar(&name, "token-name", "cli@"+host, "name of the API token created")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if server == "" || email == "" || !passwordStdin {
		return fmt.Errorf("usage: pressluft login --server URL --email E --password-stdin [--token-name N]")
	}
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && line == "" {
		return fmt.Errorf("--password-stdin: no password on stdin")
	}
	base, err := serverURL(server, e)
	if err != nil {
		return err
	}
	jar, _ := cookiejar.New(nil)
	c := &client{ctx: ctx, server: base, out: e.out, hc: &http.Client{Jar: jar, Timeout: time.Minute}}
	if err := c.do("POST", "/api/login", map[string]string{"email": email, "password": strings.TrimRight(line, "\r\n")}, nil); err != nil {
		return err
	}
	var r struct {
		Token    string              `json:"token"`
		APIToken *pressluft.APIToken `json:"api_token"`
	}
	if err := c.do("POST", "/api/tokens", map[string]string{"name": name}, &r); err != nil {
		return err
	}
	// The session was only the way to the token.
	_ = c.do("POST", "/api/logout", nil, nil)
	path := configPath(e.getenv)
	if err := writeConfigFile(path, clientConfig{Server: base, Token: r.Token}); err != nil {
		return err
	}
	fmt.Fprintf(e.out, "logged in to %s; API token %q (%s) saved in %s\n", base, r.APIToken.Name, r.APIToken.ID, path)
	return nil
}

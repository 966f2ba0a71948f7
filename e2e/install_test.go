//go:build e2e

package e2e

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	_ "modernc.org/sqlite"

	"github.com/pressluft/pressluft/e2e/testnode"
)

// TestInstall installs the control plane with scripts/install.sh on a fresh
// node that runs systemd, as on a real server: the hardened unit, a login
// over HTTP, the service provisioning the node itself (with ansible-playbook
// and ssh), an upgrade with a job queued across it, and a restart that keeps
// every row.
//
// The service listens on 127.0.0.1:8080 as installed by default; the test
// reaches it through an SSH tunnel, as an administrator would before a TLS
// proxy is set up (and the node's firewall, once provisioned, admits only
// SSH and the web ports).
func TestInstall(t *testing.T) {
	ctx := ctxFor(t, 30*time.Minute)
	lab, err := testnode.NewLab(ctx, nil)
	if err != nil {
		t.Fatalf("test nodes: %v", err)
	}
	t.Cleanup(func() {
		if err := lab.Close(); err != nil {
			t.Errorf("tear down test nodes: %v", err)
		}
	})
	tunnelKey, tunnelPub := sshKeyPair(t)
	n, err := lab.Up(ctx, "pld-install", testnode.WithAuthorizedKey(tunnelPub))
	if err != nil {
		t.Fatal(err)
	}
	copyInto(t, binary, filepath.Join(n.Root, "root/pressluft"), 0o755)
	copyInto(t, "../scripts/install.sh", filepath.Join(n.Root, "root/install.sh"), 0o755)
	install := func(args ...string) string {
		t.Helper()
		out, err := n.Exec(ctx, append([]string{"/root/install.sh", "--binary", "/root/pressluft"}, args...)...)
		if err != nil {
			t.Fatalf("install.sh %v: %v\n%s", args, err, out)
		}
		return out
	}
	const base = "http://127.0.0.1:8080"
	hc := tunnelClient(t, n, tunnelKey)
	var a *api
	var password string

	if !t.Run("install on a fresh node", func(t *testing.T) {
		start := time.Now()
		out := install("--admin-email", "ops@example.com")
		t.Logf("FIGURE install script on a fresh node to dashboard answering: %s", time.Since(start).Round(100*time.Millisecond))
		m := regexp.MustCompile(`(?m)^\s+Password\s+(\S+)$`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no generated password in the output:\n%s", out)
		}
		password = m[1]
		if got := strings.TrimSpace(inNode(t, n, "systemctl", "is-active", "pressluft")); got != "active" {
			t.Fatalf("pressluft.service is %s", got)
		}
		if got := strings.TrimSpace(inNode(t, n, "systemctl", "is-enabled", "pressluft")); got != "enabled" {
			t.Errorf("pressluft.service is %s", got)
		}
		props := inNode(t, n, "systemctl", "show", "pressluft", "-p",
			"User,Restart,NoNewPrivileges,ProtectSystem,PrivateTmp,ReadWritePaths,ProtectHome,CapabilityBoundingSet")
		for _, want := range []string{"User=pressluft", "Restart=on-failure", "NoNewPrivileges=yes", "ProtectSystem=strict",
			"PrivateTmp=yes", "ReadWritePaths=/var/lib/pressluft", "ProtectHome=yes", "CapabilityBoundingSet=\n"} {
			if !strings.Contains(props+"\n", want) {
				t.Errorf("unit lacks %q:\n%s", want, props)
			}
		}
		if got := strings.TrimSpace(inNode(t, n, "stat", "-c", "%a %U", "/var/lib/pressluft")); got != "700 pressluft" {
			t.Errorf("/var/lib/pressluft is %s", got)
		}
		pid := strings.TrimSpace(inNode(t, n, "systemctl", "show", "pressluft", "-p", "MainPID", "--value"))
		if got := strings.TrimSpace(inNode(t, n, "stat", "-c", "%U", "/proc/"+pid)); got != "pressluft" {
			t.Errorf("the service runs as %q", got)
		}
	}) {
		return
	}

	t.Run("login over HTTP and the running version", func(t *testing.T) {
		a = loginAt(t, hc, base, "ops@example.com", password)
		want, err := exec.Command(binary, "version").Output()
		if err != nil {
			t.Fatal(err)
		}
		health := a.must("GET", "/api/health", nil, 200)
		if "pressluft "+health["version"].(string) != strings.TrimSpace(string(want)) {
			t.Errorf("health version %v, binary says %s", health["version"], want)
		}
	})
	if a == nil {
		t.FailNow()
	}

	t.Run("the hardened service provisions a node with ansible-playbook and ssh", func(t *testing.T) {
		pub := a.must("GET", "/api/nodes/ssh-key", nil, 200)["public_key"].(string)
		if err := testnode.AuthorizeKey(n, pub); err != nil {
			t.Fatal(err)
		}
		id := a.must("POST", "/api/nodes", map[string]any{"name": "self", "host": n.IP, "ssh_port": 22, "ssh_user": "root"}, 201)["id"].(string)
		job := a.waitJob(a.must("POST", "/api/nodes/"+id+"/provision", nil, 202)["job_id"].(string), 20*time.Minute)
		if job["status"] != "succeeded" {
			t.Fatalf("provisioning from the installed service:\n%s\n%s", describeJob(job), journal(t, n))
		}
	})

	t.Run("a re-run upgrades with a job queued across it", func(t *testing.T) {
		// A server that never answers SSH: each attempt fails after the
		// dial timeout and the job waits in the queue for its next one.
		port := silentListenerOn(t, n.HostIP)
		id := a.must("POST", "/api/nodes", map[string]any{"name": "silent", "host": n.HostIP, "ssh_port": port}, 201)["id"].(string)
		jobID := a.must("POST", "/api/nodes/"+id+"/provision", nil, 202)["job_id"].(string)
		waitFor(t, "the first attempt to fail and the job to wait for its retry", 2*time.Minute, func() bool {
			j := a.must("GET", "/api/jobs/"+jobID, nil, 200)
			return j["status"] == "queued" && j["attempt"].(float64) == 1
		})
		db := filepath.Join(n.Root, "var/lib/pressluft/pressluft.db")
		before := rowCounts(t, db)

		out := install()
		if !strings.Contains(out, "upgraded from") {
			t.Fatalf("second run:\n%s", out)
		}
		upgraded := time.Now()
		a = loginAt(t, hc, base, "ops@example.com", password) // the data, the admin included, was kept
		after := rowCounts(t, db)
		for table, c := range before {
			if after[table] < c {
				t.Errorf("table %s: %d rows before the upgrade, %d after", table, c, after[table])
			}
		}
		// The new process takes the job up where the old one left it.
		waitFor(t, "the upgraded service to start the job's next attempt", 2*time.Minute, func() bool {
			for _, e := range a.must("GET", "/api/jobs/"+jobID, nil, 200)["events"].([]any) {
				ev := e.(map[string]any)
				at, _ := time.Parse(time.RFC3339Nano, ev["time"].(string))
				if ev["step"] == "started" && at.After(upgraded) {
					return true
				}
			}
			return false
		})
		a.must("POST", "/api/jobs/"+jobID+"/cancel", nil, 200)
		if j := a.waitJob(jobID, time.Minute); j["status"] != "cancelled" {
			t.Fatalf("after cancel:\n%s", describeJob(j))
		}
	})

	t.Run("systemctl restart keeps every row", func(t *testing.T) {
		db := filepath.Join(n.Root, "var/lib/pressluft/pressluft.db")
		before := rowCounts(t, db)
		inNode(t, n, "systemctl", "restart", "pressluft")
		waitFor(t, "the service to answer again", time.Minute, func() bool {
			res, err := hc.Get(base + "/api/health")
			if err != nil {
				return false
			}
			res.Body.Close()
			return res.StatusCode == 200
		})
		after := rowCounts(t, db)
		for table, c := range before {
			if after[table] < c {
				t.Errorf("table %s: %d rows before the restart, %d after", table, c, after[table])
			}
		}
		if before["users"] != 1 || before["nodes"] != 2 || before["jobs"] < 2 {
			t.Errorf("rows before the restart: %v", before)
		}
		a = loginAt(t, hc, base, "ops@example.com", password)
		if nodes := a.must("GET", "/api/nodes", nil, 200)["items"].([]any); len(nodes) != 2 {
			t.Errorf("nodes after the restart: %d, want 2", len(nodes))
		}
	})
}

func copyInto(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, mode); err != nil {
		t.Fatal(err)
	}
}

func loginAt(t *testing.T, hc *http.Client, base, email, password string) *api {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	a := &api{t: t, base: base, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: hc.Transport}}
	a.must("POST", "/api/login", map[string]string{"email": email, "password": password}, 200)
	return a
}

// rowCounts counts the rows of every table of a live database, read-only.
func rowCounts(t *testing.T, path string) map[string]int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	counts := map[string]int{}
	for _, name := range tables {
		var c int
		if err := db.QueryRow(`SELECT count(*) FROM "` + name + `"`).Scan(&c); err != nil {
			t.Fatal(err)
		}
		counts[name] = c
	}
	return counts
}

func sshKeyPair(t *testing.T) (ssh.Signer, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return signer, string(ssh.MarshalAuthorizedKey(signer.PublicKey()))
}

// tunnelClient is an HTTP client whose connections go through SSH to the
// node and on to the address asked for, as seen from the node.
func tunnelClient(t *testing.T, n *testnode.Node, key ssh.Signer) *http.Client {
	t.Helper()
	c, err := ssh.Dial("tcp", net.JoinHostPort(n.IP, "22"), &ssh.ClientConfig{User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(key)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 30 * time.Second}) // a disposable node made by this test
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(_ context.Context, network, addr string) (net.Conn, error) { return c.Dial(network, addr) },
	}}
}

// silentListenerOn accepts TCP connections on ip and never says anything.
func silentListenerOn(t *testing.T, ip string) int {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	conns := make(chan net.Conn, 100)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			select {
			case conns <- c:
			default:
				c.Close()
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for len(conns) > 0 {
			(<-conns).Close()
		}
	})
	return ln.Addr().(*net.TCPAddr).Port
}

func journal(t *testing.T, n *testnode.Node) string {
	out, _ := n.Exec(ctxFor(t, time.Minute), "journalctl", "-u", "pressluft", "--no-pager", "-n", "60")
	return out
}

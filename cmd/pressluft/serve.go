package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	nethttp "net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/agent"
	"github.com/pressluft/pressluft/ansible"
	"github.com/pressluft/pressluft/http"
	"github.com/pressluft/pressluft/jobs"
	"github.com/pressluft/pressluft/sqlite"
	"github.com/pressluft/pressluft/ssh"
	"github.com/pressluft/pressluft/web"
)

// Config is everything the control plane is started with.
type Config struct {
	DataDir       string
	Listen        string
	ServeHTTP     bool
	SecureCookies bool
	Workers       int
	JobLease      time.Duration
	// ClockOffset shifts the control plane's clock: schedules and retention
	// can be checked without waiting hours (tests; never in production).
	ClockOffset         time.Duration
	ProbeInterval       time.Duration
	WordPressArchiveURL string
	AnsiblePlaybook     string
	TrustedProxies      []netip.Prefix // peers whose X-Forwarded-For is believed
	AllowedHosts        []string       // Host names served; empty serves any
}

// Main wires the program together; the end-to-end tests reuse it.
type Main struct {
	Config Config
	Logger *slog.Logger

	DB       *sqlite.DB
	JobsSvc  *sqlite.JobService
	HTTP     *http.Server
	Runner   *jobs.Runner
	SSH      *ssh.Pool
	cancel   context.CancelFunc
	finished chan struct{}
}

// NewMain returns a Main with default configuration.
func NewMain() *Main {
	return &Main{
		Config: Config{DataDir: envOr("PRESSLUFT_DATA_DIR", "./data"), Workers: 4, JobLease: 30 * time.Second, ProbeInterval: 30 * time.Second,
			WordPressArchiveURL: os.Getenv("PRESSLUFT_WORDPRESS_ARCHIVE_URL"), AnsiblePlaybook: "ansible-playbook"},
		Logger: slog.New(slog.NewJSONHandler(os.Stderr, nil)),
	}
}

// ParseFlags reads the flags of the serve, worker and migrate commands.
func (m *Main) ParseFlags(cmd string, args []string) error {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.StringVar(&m.Config.DataDir, "data-dir", m.Config.DataDir, "data directory (PRESSLUFT_DATA_DIR)")
	if cmd == "serve" {
		fs.StringVar(&m.Config.Listen, "listen", m.Config.Listen, "HTTP listen address (PRESSLUFT_LISTEN_ADDR)")
		fs.BoolVar(&m.Config.SecureCookies, "secure-cookies", false, "mark cookies Secure (when a TLS proxy is in front)")
		fs.Func("trusted-proxy", "comma-separated addresses or CIDRs of proxies whose X-Forwarded-For is believed", func(v string) error {
			p, err := http.ParsePrefixes(v)
			m.Config.TrustedProxies = append(m.Config.TrustedProxies, p...)
			return err
		})
		fs.Func("allowed-hosts", "comma-separated host names the dashboard and API answer to (against DNS rebinding); empty answers any", func(v string) error {
			h, err := http.ParseHosts(v)
			m.Config.AllowedHosts = append(m.Config.AllowedHosts, h...)
			return err
		})
	}
	if cmd == "serve" || cmd == "worker" {
		fs.IntVar(&m.Config.Workers, "workers", m.Config.Workers, "jobs run at once by this process")
		fs.DurationVar(&m.Config.JobLease, "job-lease", m.Config.JobLease, "how long a running job's lease lasts without a heartbeat")
		fs.DurationVar(&m.Config.ProbeInterval, "probe-interval", m.Config.ProbeInterval, "how often nodes are probed over SSH")
		fs.DurationVar(&m.Config.ClockOffset, "clock-offset", 0, "run the clock this far ahead (for testing schedules and retention only)")
		fs.StringVar(&m.Config.WordPressArchiveURL, "wordpress-archive-url", m.Config.WordPressArchiveURL,
			"install WordPress from this archive instead of the distribution package (PRESSLUFT_WORDPRESS_ARCHIVE_URL)")
	}
	return fs.Parse(args)
}

// openStore opens the database with the secret key of the data directory.
func (m *Main) openStore() error {
	// Absolute: ansible-playbook and the SSH control sockets run in other directories.
	dir, err := filepath.Abs(m.Config.DataDir)
	if err != nil {
		return err
	}
	m.Config.DataDir = dir
	if err := os.MkdirAll(m.Config.DataDir, 0o700); err != nil {
		return err
	}
	if err := sqlite.CheckDataDir(m.Config.DataDir); err != nil {
		return err
	}
	key, err := sqlite.LoadOrCreateKey(filepath.Join(m.Config.DataDir, "secret.key"))
	if err != nil {
		return err
	}
	m.DB = sqlite.NewDB(filepath.Join(m.Config.DataDir, "pressluft.db"))
	if offset := m.Config.ClockOffset; offset != 0 {
		m.DB.Now = func() time.Time { return time.Now().UTC().Add(offset) }
	}
	m.DB.SetKey(key)
	return m.DB.Open()
}

// controlPlaneKey returns the SSH private key, creating it at first start.
func controlPlaneKey(ctx context.Context, secrets pressluft.SecretService) ([]byte, error) {
	key, err := secrets.GetSecret(ctx, pressluft.SecretSSHKey)
	if pressluft.ErrorCode(err) == pressluft.ENotFound {
		if key, err = ssh.NewKeyPair(); err != nil {
			return nil, err
		}
		return key, secrets.PutSecret(ctx, pressluft.SecretSSHKey, key)
	}
	return key, err
}

// Run starts everything and returns; Close stops it.
func (m *Main) Run(ctx context.Context) error {
	if err := m.openStore(); err != nil {
		return err
	}
	secrets := sqlite.NewSecretService(m.DB)
	key, err := controlPlaneKey(ctx, secrets)
	if err != nil {
		return fmt.Errorf("control plane SSH key: %w", err)
	}
	pub, err := ssh.PublicKeyLine(key)
	if err != nil {
		return err
	}
	playbookDir, err := ansible.Extract(filepath.Join(m.Config.DataDir, "ansible"))
	if err != nil {
		return fmt.Errorf("extract playbooks: %w", err)
	}
	for _, dir := range []string{"cp", "tmp"} {
		if err := os.MkdirAll(filepath.Join(m.Config.DataDir, dir), 0o700); err != nil {
			return err
		}
	}

	m.JobsSvc = sqlite.NewJobService(m.DB)
	nodes := sqlite.NewNodeService(m.DB, m.JobsSvc)
	sites := sqlite.NewSiteService(m.DB, m.JobsSvc)
	if m.SSH, err = ssh.NewPool(key, nodes.PinHostKey); err != nil {
		return err
	}
	m.Runner = jobs.NewRunner(m.JobsSvc, m.Logger)
	m.Runner.Concurrency, m.Runner.Lease = m.Config.Workers, m.Config.JobLease
	m.JobsSvc.Notify = m.Runner.Wake
	m.Runner.Periodic = jobs.Periodic()
	auth := sqlite.NewAuthService(m.DB)
	ag := agent.New(m.SSH)
	backups := sqlite.NewBackupService(m.DB, m.JobsSvc)
	releases := sqlite.NewReleaseService(m.DB, m.JobsSvc)
	releases.NewKey = deployKey
	promotions := sqlite.NewPromotionService(m.DB, m.JobsSvc)
	h := &jobs.Handlers{Nodes: nodes, Sites: sites, Secrets: secrets, Auth: auth,
		Config: &ansible.NodeConfig{SSH: m.SSH, Nodes: nodes, Secrets: secrets, WordPressArchiveURL: m.Config.WordPressArchiveURL,
			Runner: &ansible.Runner{Dir: playbookDir, Binary: m.Config.AnsiblePlaybook,
				ControlPathDir: filepath.Join(m.Config.DataDir, "cp"), TempDir: filepath.Join(m.Config.DataDir, "tmp")}},
		Envs: ag, Backup: ag, Backups: backups, Release: ag, Uploads: ag, Releases: releases, Settings: sqlite.NewSettingsService(m.DB),
		Promote: ag, Promotions: promotions, FetchURL: httpCheck, HealthRetryDelay: time.Second}
	if err := h.Register(m.Runner); err != nil {
		return err
	}

	if m.Config.ServeHTTP {
		m.HTTP = http.NewServer(m.Logger)
		m.HTTP.Auth, m.HTTP.Audit, m.HTTP.Nodes, m.HTTP.Sites = auth, sqlite.NewAuditService(m.DB), nodes, sites
		m.HTTP.Jobs, m.HTTP.Settings, m.HTTP.Metrics = m.JobsSvc, sqlite.NewSettingsService(m.DB), sqlite.NewMetricsService(m.DB)
		m.HTTP.Backups, m.HTTP.BackupOps, m.HTTP.Offsite = backups, ag, offsite{}
		m.HTTP.Releases, m.HTTP.ReleaseOps, m.HTTP.Uploads = releases, ag, ag
		m.HTTP.Promotions, m.HTTP.PromoteOps = promotions, ag
		m.HTTP.PublicKey = func() string { return pub }
		m.HTTP.SecureCookies = m.Config.SecureCookies
		m.HTTP.TrustedProxies, m.HTTP.AllowedHosts = m.Config.TrustedProxies, m.Config.AllowedHosts
		m.HTTP.Static = web.FS()
		if err := m.HTTP.Open(m.Config.Listen); err != nil {
			return err
		}
		m.Logger.Info("serving", "addr", "http://"+m.HTTP.Addr(), "data_dir", m.Config.DataDir, "version", pressluft.Version)
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancel, m.finished = cancel, make(chan struct{})
	prober := &jobs.Prober{Nodes: nodes, SSH: m.SSH, Interval: m.Config.ProbeInterval, Timeout: 10 * time.Second, Logger: m.Logger}
	go prober.Run(runCtx)
	go func() { defer close(m.finished); m.Runner.Run(runCtx) }()
	return nil
}

// Close stops accepting requests, lets running jobs finish within the
// runner's grace period (handing the rest back to the queue) and closes the
// store.
func (m *Main) Close() error {
	var errs []error
	if m.HTTP != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		errs = append(errs, m.HTTP.Close(ctx))
		cancel()
	}
	if m.cancel != nil {
		m.cancel()
		<-m.finished
	}
	if m.SSH != nil {
		m.SSH.Close()
	}
	if m.DB != nil {
		errs = append(errs, m.DB.Close())
	}
	return errors.Join(errs...)
}

// httpCheck requests url from the node at nodeHost:80 with url's host as
// Host header, so that preview names need no DNS.
func httpCheck(ctx context.Context, nodeHost, url string) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	req, err := nethttp.NewRequestWithContext(ctx, nethttp.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	port := "80"
	if strings.HasPrefix(url, "https://") {
		port = "443"
	}
	client := &nethttp.Client{
		Transport: &nethttp.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, net.JoinHostPort(nodeHost, port))
			},
			// Preview certificates may not be issued yet; this checks that
			// WordPress answers, not TLS.
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		},
		CheckRedirect: func(*nethttp.Request, []*nethttp.Request) error { return nethttp.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 2<<20))
	return resp.StatusCode, string(body), err
}

// deployKey makes a site's deploy key pair.
func deployKey() ([]byte, string, error) {
	private, err := ssh.NewKeyPair()
	if err != nil {
		return nil, "", err
	}
	public, err := ssh.PublicKeyLine(private)
	return private, public, err
}

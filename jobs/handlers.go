package jobs

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pressluft/pressluft"
)

// Handlers holds what the job handlers need and registers them. Node work
// goes through the domain's interfaces: Config (Ansible) configures nodes,
// Envs (the node agent) does per-environment work.
type Handlers struct {
	Nodes    pressluft.NodeService
	Sites    pressluft.SiteService
	Secrets  pressluft.SecretService
	Auth     pressluft.AuthService
	Backups  pressluft.BackupService
	Releases pressluft.ReleaseService
	Config   pressluft.NodeConfig
	Envs     pressluft.EnvOps
	Backup   pressluft.BackupOps
	Release  pressluft.ReleaseOps
	// Uploads removes the archives uploaded for deploys.
	Uploads pressluft.UploadOps
	// Settings gives the preview domain of the temporary copies an update
	// is tried on.
	Settings pressluft.SettingsService
	// Promote reads environments' state and moves tables for drift checks
	// and promotions; Promotions stores their baselines and results.
	Promote    pressluft.PromoteOps
	Promotions pressluft.PromotionService
	// FetchURL fetches a preview URL from the control plane, reaching the
	// node by address with the preview host name as Host header.
	FetchURL func(ctx context.Context, nodeHost, url string) (status int, body string, err error)
	// HealthRetryDelay is the wait between the tries of the URL check.
	HealthRetryDelay time.Duration
}

// Register adds the handler of every job kind to r; a kind without a
// handler (or a handler without a kind) is a programming error.
func (h *Handlers) Register(r *Runner) error {
	handlers := map[string]Handler{
		pressluft.JobNodeProvision:   h.nodeProvision,
		pressluft.JobNodeCheck:       h.nodeCheck,
		pressluft.JobSiteCreate:      h.siteCreate,
		pressluft.JobEnvCreate:       h.envCreate,
		pressluft.JobEnvDelete:       h.envDelete,
		pressluft.JobSiteDelete:      h.siteDelete,
		pressluft.JobSessionCleanup:  h.sessionCleanup,
		pressluft.JobBackupCreate:    h.backupCreate,
		pressluft.JobBackupUpload:    h.backupUpload,
		pressluft.JobBackupDelete:    h.backupDelete,
		pressluft.JobBackupCleanup:   h.backupCleanup,
		pressluft.JobEnvRestore:      h.envRestore,
		pressluft.JobEnvDeploy:       h.envDeploy,
		pressluft.JobEnvUpdate:       h.envUpdate,
		pressluft.JobReleaseRollback: h.releaseRollback,
		pressluft.JobDriftCheck:      h.driftCheck,
		pressluft.JobEnvPromote:      h.envPromote,
		pressluft.JobNoop:            func(context.Context, *pressluft.Job, pressluft.Progress) (*pressluft.JobDone, error) { return nil, nil },
	}
	for _, k := range pressluft.JobKinds() {
		if handlers[k.Type] == nil {
			return fmt.Errorf("job kind %s has no handler", k.Type)
		}
		r.Handlers[k.Type] = handlers[k.Type]
		delete(handlers, k.Type)
	}
	for t := range handlers {
		return fmt.Errorf("handler for unknown job kind %s", t)
	}
	return nil
}

// Periodic lists the jobs the scheduler runs on its own.
func Periodic() []pressluft.PeriodicJob {
	return []pressluft.PeriodicJob{
		{Name: pressluft.JobSessionCleanup, Every: time.Hour, Job: pressluft.NewJob{Type: pressluft.JobSessionCleanup}},
		// Retention runs hourly (the promise is at least every 6 h).
		{Name: pressluft.JobBackupCleanup, Every: time.Hour, Job: pressluft.NewJob{Type: pressluft.JobBackupCleanup}},
	}
}

func (h *Handlers) sessionCleanup(ctx context.Context, _ *pressluft.Job, p pressluft.Progress) (*pressluft.JobDone, error) {
	n, err := h.Auth.DeleteExpiredSessions(ctx)
	if err != nil {
		return nil, err
	}
	p.Event("cleanup", pressluft.LevelInfo, fmt.Sprintf("Removed %d expired sessions.", n))
	return &pressluft.JobDone{Result: map[string]int64{"removed": n}}, nil
}

func (h *Handlers) secret(ctx context.Context, name string) (string, error) {
	b, err := h.Secrets.GetSecret(ctx, name)
	if err != nil {
		return "", fmt.Errorf("read secret %s: %w", name, err)
	}
	return string(b), nil
}

// checkServes asks the preview URL from the control plane's side: 200, no
// PHP fatal error, and the title (as WordPress prints it) when one is known.
func (h *Handlers) checkServes(ctx context.Context, node *pressluft.Node, env *pressluft.Environment, titleHTML string, p pressluft.Progress) error {
	return h.checkURL(ctx, node, env.PreviewURL, titleHTML, p)
}

// checkURL asks for u from the control plane until it answers 200 (a few
// tries), and fails on a PHP error or a missing title.
func (h *Handlers) checkURL(ctx context.Context, node *pressluft.Node, u, titleHTML string, p pressluft.Progress) error {
	if h.FetchURL == nil {
		return nil
	}
	p.Event("health_check", pressluft.LevelInfo, "Requesting "+u+" from the control plane.")
	var status int
	var body string
	var err error
	for try := 0; try < 5; try++ {
		if status, body, err = h.FetchURL(ctx, node.Host, u); err == nil && status == 200 {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(h.HealthRetryDelay):
		}
	}
	switch {
	case err != nil:
		return pressluft.Errorf(pressluft.EHealthCheckFailed, "%s did not answer: %v", u, err)
	case status != 200:
		return pressluft.Errorf(pressluft.EHealthCheckFailed, "%s answered %d, want 200.", u, status)
	case fatalPage(body):
		return pressluft.Errorf(pressluft.EHealthCheckFailed, "%s shows a PHP error.", u)
	case titleHTML != "" && !strings.Contains(body, titleHTML):
		return pressluft.Errorf(pressluft.EHealthCheckFailed, "%s does not show the site title %q.", u, titleHTML)
	}
	if titleHTML != "" {
		p.Event("health_check", pressluft.LevelInfo, u+" answers 200 with the site's title.")
	} else {
		p.Event("health_check", pressluft.LevelInfo, u+" answers 200.")
	}
	return nil
}

// fatalPage reports whether a page shows a PHP fatal error or WordPress's
// "critical error" screen.
func fatalPage(body string) bool {
	return strings.Contains(body, "Fatal error") || strings.Contains(body, "critical error")
}

package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/ansible"
)

// envScope is everything a site job needs about one environment.
type envScope struct {
	site *pressluft.Site
	env  *pressluft.Environment
	node *pressluft.Node
}

func (h *Handlers) loadEnv(ctx context.Context, envID string) (*envScope, error) {
	env, err := h.Sites.FindEnvironmentByID(ctx, envID)
	if err != nil {
		return nil, err
	}
	site, err := h.Sites.FindSiteByID(ctx, env.SiteID)
	if err != nil {
		return nil, err
	}
	node, err := h.Nodes.FindNodeByID(ctx, env.NodeID)
	if err != nil {
		return nil, err
	}
	return &envScope{site: site, env: env, node: node}, nil
}

// envVars is the pl_env variable of the site playbooks (see ansible/README.md).
func envVars(env *pressluft.Environment, releaseID, dbPassword string) map[string]any {
	u, _ := url.Parse(env.PreviewURL)
	return map[string]any{
		"name":         env.SystemName,
		"type":         env.Type,
		"root":         env.Root(),
		"release_id":   releaseID,
		"url":          env.PreviewURL,
		"server_names": []string{u.Hostname()},
		"db_name":      env.DatabaseName(),
		"db_user":      env.DatabaseName(),
		"db_password":  dbPassword,
		"noindex":      env.Type != pressluft.EnvProduction,
		"send_mail":    env.Type == pressluft.EnvProduction,
	}
}

// releaseID names the release a create job writes. It is derived from the
// job, so a retried or re-run job converges on the same directory.
func releaseID(j *pressluft.Job) string {
	return "r" + j.CreatedAt.UTC().Format("20060102150405")
}

func (h *Handlers) secret(ctx context.Context, name string) (string, error) {
	b, err := h.Secrets.GetSecret(ctx, name)
	if err != nil {
		return "", fmt.Errorf("read secret %s: %w", name, err)
	}
	return string(b), nil
}

func (h *Handlers) siteCreate(ctx context.Context, j *pressluft.Job, p pressluft.Progress) (any, error) {
	var plan pressluft.SiteCreatePayload
	if err := json.Unmarshal(j.Payload, &plan); err != nil {
		return nil, pressluft.Errorf(pressluft.EBadRequest, "Job payload is not readable.")
	}
	sc, err := h.loadEnv(ctx, j.EnvironmentID)
	if err != nil {
		return nil, err
	}
	dbPassword, err := h.secret(ctx, pressluft.SecretDBPassword(sc.env.ID))
	if err != nil {
		return nil, err
	}
	adminPassword, err := h.secret(ctx, pressluft.SecretAdminPassword(sc.env.ID))
	if err != nil {
		return nil, err
	}
	rel := releaseID(j)
	vars := map[string]any{
		"pl_env":  envVars(sc.env, rel, dbPassword),
		"pl_site": map[string]any{"title": plan.Title, "admin_user": plan.AdminUser, "admin_email": plan.AdminEmail, "admin_password": adminPassword},
	}
	res, err := h.runOnEnvNode(ctx, sc, "site_create", vars, []string{dbPassword, adminPassword}, p)
	if err != nil {
		return nil, err
	}
	if err := h.checkServes(ctx, sc, res.TitleHTML, p); err != nil {
		return nil, err
	}
	if err := h.finishCreate(ctx, sc, rel, pressluft.ReleaseInitial, "wordpress"); err != nil {
		return nil, err
	}
	// The first admin password was shown once; now that WordPress holds its
	// hash, the control plane forgets it.
	if err := h.Secrets.DeleteSecret(ctx, pressluft.SecretAdminPassword(sc.env.ID)); err != nil {
		return nil, err
	}
	return map[string]any{"preview_url": sc.env.PreviewURL, "release_id": rel, "admin_user": plan.AdminUser}, nil
}

func (h *Handlers) envCreate(ctx context.Context, j *pressluft.Job, p pressluft.Progress) (any, error) {
	sc, err := h.loadEnv(ctx, j.EnvironmentID)
	if err != nil {
		return nil, err
	}
	src, err := h.Sites.FindEnvironmentByID(ctx, sc.env.SourceEnvironmentID)
	if err != nil {
		return nil, err
	} else if src.Status != pressluft.StatusActive {
		return nil, pressluft.Errorf(pressluft.EConflict, "Source environment is %s; it must be active to be copied.", src.Status)
	}
	dbPassword, err := h.secret(ctx, pressluft.SecretDBPassword(sc.env.ID))
	if err != nil {
		return nil, err
	}
	rel := releaseID(j)
	vars := map[string]any{
		"pl_env":        envVars(sc.env, rel, dbPassword),
		"pl_source_env": map[string]any{"name": src.SystemName, "root": src.Root(), "url": src.PreviewURL, "db_name": src.DatabaseName()},
	}
	res, err := h.runOnEnvNode(ctx, sc, "env_create", vars, []string{dbPassword}, p)
	if err != nil {
		return nil, err
	}
	if err := h.checkServes(ctx, sc, res.TitleHTML, p); err != nil {
		return nil, err
	}
	if err := h.finishCreate(ctx, sc, rel, pressluft.ReleaseInitial, "copy of "+src.SystemName); err != nil {
		return nil, err
	}
	return map[string]any{"preview_url": sc.env.PreviewURL, "release_id": rel, "source_environment_id": src.ID}, nil
}

// envResult is what the site playbooks publish as pressluft_result.
type envResult struct {
	ReleaseID string `json:"release_id"`
	// TitleHTML is the title as WordPress prints it in <title> (escaped,
	// with its typographic replacements).
	TitleHTML string `json:"title_html"`
}

func (h *Handlers) runOnEnvNode(ctx context.Context, sc *envScope, playbook string, vars map[string]any, secrets []string, p pressluft.Progress) (*envResult, error) {
	switch sc.node.Status {
	case pressluft.NodeActive:
	case pressluft.NodeUnreachable: // may pass: retried with backoff
		return nil, pressluft.Errorf(pressluft.ENodeUnreachable, "Node %s is unreachable: %s", sc.node.Name, sc.node.LastError)
	default:
		return nil, pressluft.Errorf(pressluft.ENodeNotActive, "Node %s is %s.", sc.node.Name, sc.node.Status)
	}
	t, err := h.target(ctx, sc.node, p)
	if err != nil {
		return nil, err
	}
	out, err := h.Playbooks.Run(ctx, ansible.Run{Playbook: playbook, Target: t, Vars: vars, Secrets: secrets, Progress: p})
	if err != nil {
		return nil, err
	}
	var res envResult
	if raw, ok := out.Custom["pressluft_result"]; ok {
		if err := json.Unmarshal(raw, &res); err != nil {
			return nil, pressluft.Errorf(pressluft.EAnsibleFailed, "Playbook %s published an unreadable result.", playbook)
		}
	}
	return &res, nil
}

// checkServes asks the preview URL from the control plane's side: 200, no
// PHP fatal error, and the title (as WordPress prints it) when one is known.
func (h *Handlers) checkServes(ctx context.Context, sc *envScope, titleHTML string, p pressluft.Progress) error {
	if h.HTTPCheck == nil {
		return nil
	}
	p.Event("health_check", pressluft.LevelInfo, "Requesting "+sc.env.PreviewURL+" from the control plane.")
	var status int
	var body string
	var err error
	for try := 0; try < 5; try++ {
		if status, body, err = h.HTTPCheck(ctx, sc.node.Host, sc.env.PreviewURL); err == nil && status == 200 {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	switch {
	case err != nil:
		return pressluft.Errorf(pressluft.EHealthCheckFailed, "%s did not answer: %v", sc.env.PreviewURL, err)
	case status != 200:
		return pressluft.Errorf(pressluft.EHealthCheckFailed, "%s answered %d, want 200.", sc.env.PreviewURL, status)
	case strings.Contains(body, "Fatal error") || strings.Contains(body, "critical error"):
		return pressluft.Errorf(pressluft.EHealthCheckFailed, "%s shows a PHP error.", sc.env.PreviewURL)
	case titleHTML != "" && !strings.Contains(body, titleHTML):
		return pressluft.Errorf(pressluft.EHealthCheckFailed, "%s does not show the site title %q.", sc.env.PreviewURL, titleHTML)
	}
	p.Event("health_check", pressluft.LevelInfo, sc.env.PreviewURL+" answers 200.")
	return nil
}

func (h *Handlers) finishCreate(ctx context.Context, sc *envScope, rel, source, ref string) error {
	r := &pressluft.Release{ID: uuid.NewSHA1(uuid.NameSpaceURL, []byte(sc.env.ID+"/"+rel)).String(), Source: source, Ref: ref,
		Path: sc.env.Root() + "/releases/" + rel, Health: pressluft.HealthHealthy}
	if err := h.Sites.SetCurrentRelease(ctx, sc.env.ID, r); err != nil {
		return err
	}
	return h.Sites.SetEnvironmentStatus(ctx, sc.env.ID, pressluft.StatusActive, "")
}

// removeEnv deletes one environment from its node and then its records.
func (h *Handlers) removeEnv(ctx context.Context, env *pressluft.Environment, p pressluft.Progress) error {
	node, err := h.Nodes.FindNodeByID(ctx, env.NodeID)
	if err != nil {
		return err
	}
	p.Event("remove", pressluft.LevelInfo, "Removing environment "+env.SystemName+".")
	t, err := h.target(ctx, node, p)
	if err != nil {
		return err
	}
	vars := map[string]any{"pl_env": envVars(env, "", "")}
	if _, err := h.Playbooks.Run(ctx, ansible.Run{Playbook: "env_delete", Target: t, Vars: vars, Progress: p}); err != nil {
		return err
	}
	return h.Sites.PurgeEnvironment(ctx, env.ID)
}

func (h *Handlers) envDelete(ctx context.Context, j *pressluft.Job, p pressluft.Progress) (any, error) {
	env, err := h.Sites.FindEnvironmentByID(ctx, j.EnvironmentID)
	if err != nil {
		return nil, err
	}
	if err := h.removeEnv(ctx, env, p); err != nil {
		return nil, err
	}
	return map[string]any{"removed": env.SystemName}, nil
}

func (h *Handlers) siteDelete(ctx context.Context, j *pressluft.Job, p pressluft.Progress) (any, error) {
	envs, err := h.Sites.FindEnvironments(ctx, j.SiteID)
	if err != nil {
		return nil, err
	}
	// Copies first, production last, so a failure half way leaves the site
	// with its production environment.
	var removed []string
	for i := len(envs) - 1; i >= 0; i-- {
		if err := h.removeEnv(ctx, envs[i], p); err != nil {
			return nil, err
		}
		removed = append(removed, envs[i].SystemName)
	}
	return map[string]any{"removed": removed}, nil
}

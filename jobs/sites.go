package jobs

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/pressluft/pressluft"
)

// envScope is everything an environment job needs about its environment.
type envScope struct {
	env  *pressluft.Environment
	node *pressluft.Node
}

// loadEnv finds the environment and its node, and refuses a node that
// cannot take environment work now.
func (h *Handlers) loadEnv(ctx context.Context, envID string) (*envScope, error) {
	env, err := h.Sites.FindEnvironmentByID(ctx, envID)
	if err != nil {
		return nil, err
	}
	node, err := h.Nodes.FindNodeByID(ctx, env.NodeID)
	if err != nil {
		return nil, err
	}
	switch node.Status {
	// A re-provision waits for running environment work and holds the node
	// alone while it runs, so environment work only meets it queued.
	case pressluft.NodeActive, pressluft.NodeProvisioning:
	case pressluft.NodeUnreachable: // may pass: retried with backoff; nothing ran, so nothing is marked failed
		return nil, &pressluft.Error{Code: pressluft.ENodeUnreachable, Untouched: true,
			Message: fmt.Sprintf("Node %s is unreachable: %s", node.Name, node.LastError)}
	default:
		return nil, pressluft.Errorf(pressluft.ENodeNotActive, "Node %s is %s.", node.Name, node.Status)
	}
	return &envScope{env: env, node: node}, nil
}

// created is the success of a job that built an environment: its release
// recorded as current and the environment active, with the job.
func created(env *pressluft.Environment, rel, source, ref string, result any) *pressluft.JobDone {
	return &pressluft.JobDone{Result: result, Release: releaseFor(env, rel, source, ref), EnvironmentStatus: pressluft.StatusActive}
}

// releaseFor is the record of release directory rel of env, which passed
// its health check.
func releaseFor(env *pressluft.Environment, rel, source, ref string) *pressluft.Release {
	return &pressluft.Release{ID: uuid.NewSHA1(uuid.NameSpaceURL, []byte(env.ID+"/"+rel)).String(), Source: source, Ref: ref,
		Path: env.Root() + "/releases/" + rel, Health: pressluft.HealthHealthy}
}

func (h *Handlers) siteCreate(ctx context.Context, j *pressluft.Job, p pressluft.Progress) (*pressluft.JobDone, error) {
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
	rel := pressluft.ReleaseIDFor(j)
	wp := pressluft.WordPressInstall{Title: plan.Title, AdminUser: plan.AdminUser, AdminEmail: plan.AdminEmail, AdminPassword: adminPassword}
	facts, err := h.Envs.CreateEnv(ctx, sc.node, sc.env.Spec(rel, dbPassword), wp, p)
	if err != nil {
		return nil, err
	}
	if err := h.checkServes(ctx, sc.node, sc.env, facts.TitleHTML, p); err != nil {
		return nil, err
	}
	done := created(sc.env, rel, pressluft.ReleaseInitial, "wordpress "+facts.WPVersion,
		map[string]any{"preview_url": sc.env.PreviewURL, "release_id": rel, "admin_user": plan.AdminUser, "wp_version": facts.WPVersion})
	// The first admin password was shown once; now that WordPress holds its
	// hash, the control plane forgets it.
	done.DeleteSecrets = []string{pressluft.SecretAdminPassword(sc.env.ID)}
	return done, nil
}

func (h *Handlers) envCreate(ctx context.Context, j *pressluft.Job, p pressluft.Progress) (*pressluft.JobDone, error) {
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
	// The source's state is read before the copy: a change made while the
	// copy runs then shows as drift, never the other way round.
	base, err := h.baselineOf(ctx, sc.node, sc.env, src, p)
	if err != nil {
		return nil, err
	}
	rel := pressluft.ReleaseIDFor(j)
	facts, err := h.Envs.CopyEnv(ctx, sc.node, sc.env.Spec(rel, dbPassword), src.Spec("", ""), p)
	if err != nil {
		return nil, err
	}
	if err := h.checkServes(ctx, sc.node, sc.env, facts.TitleHTML, p); err != nil {
		return nil, err
	}
	result := map[string]any{"preview_url": sc.env.PreviewURL, "release_id": rel, "source_environment_id": src.ID,
		"copied": facts.Copied, "search_replace": facts.SearchReplace}
	done := created(sc.env, rel, pressluft.ReleaseInitial, "copy of "+src.SystemName, result)
	done.Baseline = base
	return done, nil
}

// removeEnv deletes one environment from its node.
func (h *Handlers) removeEnv(ctx context.Context, env *pressluft.Environment, p pressluft.Progress) error {
	node, err := h.Nodes.FindNodeByID(ctx, env.NodeID)
	if err != nil {
		return err
	}
	p.Event("remove", pressluft.LevelInfo, "Removing environment "+env.SystemName+".")
	return h.Envs.DeleteEnv(ctx, node, env.Spec("", ""), p)
}

func (h *Handlers) envDelete(ctx context.Context, j *pressluft.Job, p pressluft.Progress) (*pressluft.JobDone, error) {
	env, err := h.Sites.FindEnvironmentByID(ctx, j.EnvironmentID)
	if err != nil {
		return nil, err
	}
	if err := h.removeEnv(ctx, env, p); err != nil {
		return nil, err
	}
	return &pressluft.JobDone{Result: map[string]any{"removed": env.SystemName}, PurgeEnvironments: []string{env.ID}}, nil
}

func (h *Handlers) siteDelete(ctx context.Context, j *pressluft.Job, p pressluft.Progress) (*pressluft.JobDone, error) {
	envs, err := h.Sites.FindEnvironments(ctx, j.SiteID)
	if err != nil {
		return nil, err
	}
	// Copies first, production last, so a failure half way leaves the site
	// with its production environment (a retry skips what is gone).
	done := &pressluft.JobDone{}
	var removed []string
	for i := len(envs) - 1; i >= 0; i-- {
		if err := h.removeEnv(ctx, envs[i], p); err != nil {
			return nil, err
		}
		removed = append(removed, envs[i].SystemName)
		done.PurgeEnvironments = append(done.PurgeEnvironments, envs[i].ID)
	}
	done.Result = map[string]any{"removed": removed}
	return done, nil
}

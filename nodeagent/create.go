package nodeagent

import (
	"context"

	"github.com/pressluft/pressluft/agent/protocol"
)

// envCreate builds a production environment from the node's WordPress and
// installs WordPress into it. An installed site is left as it is.
func (a *agent) envCreate(ctx context.Context, env *protocol.Env, in *protocol.Install) (*protocol.EnvResult, error) {
	s, err := a.prepare(ctx, env)
	if err != nil {
		return nil, err
	}
	if err := a.stepRelease(ctx, s, codeSource{Dir: wordpressSrc}); err != nil {
		return nil, err
	}
	// The helper installs through PHP's CLI, not through the pool or nginx:
	// the install runs while they are put in service.
	var installed struct {
		AlreadyInstalled bool `json:"already_installed"`
		Restarted        bool `json:"restarted"` // an install cut short was removed first
	}
	stdin := map[string]any{
		"url": cleanURL(env.URL), "title": in.Title, "admin_user": in.AdminUser,
		"admin_email": in.AdminEmail, "admin_password": in.AdminPassword, "public": !s.data.Noindex,
	}
	err = parallel(ctx,
		func(ctx context.Context) error { return a.services(ctx, s) },
		func(ctx context.Context) error {
			if err := a.runHelper(ctx, s.user, s.p.Root, "install", nil, stdin, &installed); err != nil {
				return err
			}
			if installed.AlreadyInstalled {
				a.event("install", "WordPress was already installed: left as it is")
			} else if installed.Restarted {
				a.event("install", "removed an install that was cut short; installed WordPress at "+cleanURL(env.URL))
			} else {
				a.event("install", "installed WordPress at "+cleanURL(env.URL))
			}
			return nil
		},
	)
	if err != nil {
		return nil, err
	}
	health, err := a.health(ctx, s.user, s.p)
	if err != nil {
		return nil, err
	}
	if err := checkHealthy(health, env.URL); err != nil {
		return nil, err
	}
	a.event("health", "WordPress "+health.WPVersion+" answers at "+health.Home)
	return &protocol.EnvResult{ReleaseID: env.ReleaseID, AlreadyInstalled: installed.AlreadyInstalled, Health: health}, nil
}

// envHealth reports WordPress's own view of an environment.
func (a *agent) envHealth(ctx context.Context, env *protocol.Env) (*protocol.EnvResult, error) {
	p, u, err := a.installedEnv(env.Name, "")
	if err != nil {
		return nil, err
	}
	health, err := a.health(ctx, u, p)
	if err != nil {
		return nil, err
	}
	if env.URL != "" {
		if err := checkHealthy(health, env.URL); err != nil {
			_, msg := errorCode(err)
			a.warn("health", msg)
		}
	}
	release := ""
	if cur, err := readlink(p.Current); err == nil {
		release = cur
	}
	return &protocol.EnvResult{ReleaseID: release, Health: health}, nil
}

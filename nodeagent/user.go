package nodeagent

import (
	"context"
	"errors"
	"os/user"
	"strconv"
	"syscall"
	"time"

	"github.com/pressluft/pressluft/agent/protocol"
)

// envUser is the Linux user an environment's PHP, cron and helper run as.
type envUser struct {
	Name     string
	UID, GID int
	Home     string
}

func (u envUser) credential() *syscall.Credential {
	return &syscall.Credential{Uid: uint32(u.UID), Gid: uint32(u.GID), Groups: []uint32{}}
}

// lookupEnvUser finds the environment's user; found is false when it does
// not exist. A user of that name whose home is not the environment's root
// belongs to something else and is refused.
func lookupEnvUser(p envPaths) (envUser, bool, error) {
	u, err := user.Lookup(p.Name)
	var unknown user.UnknownUserError
	if errors.As(err, &unknown) {
		return envUser{}, false, nil
	}
	if err != nil {
		return envUser{}, false, err
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err := errors.Join(err1, err2); err != nil {
		return envUser{}, false, err
	}
	if u.HomeDir != p.Root || uid == 0 {
		return envUser{}, false, errorf(protocol.ErrBadRequest,
			"env.name: the user %s exists with home %s: it is not this environment's", p.Name, u.HomeDir)
	}
	return envUser{Name: p.Name, UID: uid, GID: gid, Home: u.HomeDir}, true, nil
}

func groupExists(name string) (bool, error) {
	_, err := user.LookupGroup(name)
	var unknown user.UnknownGroupError
	if errors.As(err, &unknown) {
		return false, nil
	}
	return err == nil, err
}

// ensureUser creates the environment's system group and user: no login,
// no supplementary groups, home at the environment's root.
func (a *agent) ensureUser(ctx context.Context, p envPaths) (envUser, error) {
	u, found, err := lookupEnvUser(p)
	if err != nil || found {
		if found {
			a.event("user", "user "+p.Name+" exists (uid "+strconv.Itoa(u.UID)+")")
		}
		return u, err
	}
	hasGroup, err := groupExists(p.Name)
	if err != nil {
		return envUser{}, err
	}
	if !hasGroup {
		if _, err := a.run(ctx, command{argv: []string{"groupadd", "--system", "--", p.Name}}); err != nil {
			return envUser{}, err
		}
	}
	if _, err := a.run(ctx, command{argv: []string{"useradd", "--system", "--gid", p.Name, "--home-dir", p.Root,
		"--no-create-home", "--shell", "/usr/sbin/nologin", "--password", "!", "--", p.Name}}); err != nil {
		return envUser{}, err
	}
	u, found, err = lookupEnvUser(p)
	if err == nil && !found {
		err = errorf(protocol.ErrInternal, "user %s is missing after useradd", p.Name)
	}
	if err == nil {
		a.event("user", "created user "+p.Name+" (uid "+strconv.Itoa(u.UID)+")")
	}
	return u, err
}

// removeUser removes the environment's user and group. userdel refuses
// while a process still runs as the user (a request or cron run that
// started before the pool went away), so it is retried for a while.
func (a *agent) removeUser(ctx context.Context, p envPaths) error {
	_, found, err := lookupEnvUser(p)
	if err != nil {
		return err
	}
	if found {
		for attempt := 1; ; attempt++ {
			_, err := a.run(ctx, command{argv: []string{"userdel", "--", p.Name}})
			if err == nil {
				break
			}
			if code, _ := errorCode(err); code == protocol.ErrCancelled || attempt == 20 {
				return err
			}
			if _, still, _ := lookupEnvUser(p); !still {
				break
			}
			select {
			case <-ctx.Done():
				return errorf(protocol.ErrCancelled, "cancelled while removing user %s", p.Name)
			case <-time.After(time.Second):
			}
		}
		a.event("user", "removed user "+p.Name)
	}
	hasGroup, err := groupExists(p.Name)
	if err != nil || !hasGroup {
		return err
	}
	_, err = a.run(ctx, command{argv: []string{"groupdel", "--", p.Name}})
	return err
}

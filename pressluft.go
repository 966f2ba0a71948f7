// Package pressluft holds the domain of the Pressluft control plane: its
// types, their validation, the error type and the service interfaces that the
// implementation packages (sqlite, http, ssh, ansible, jobs) provide or use.
// It imports nothing of the project.
package pressluft

import (
	"context"
	"time"
)

// Version is set at build time with -ldflags.
var Version = "dev"

// ListOptions pages through a list ordered newest first. Cursor is opaque to
// clients; Limit is clamped by the store.
type ListOptions struct {
	Limit  int
	Cursor string
}

// Clock returns the current time; services capture it once per transaction.
type Clock func() time.Time

// Actor identifies who performs an action, for the audit log and for
// authorisation. It travels in the request context.
type Actor struct {
	UserID  string
	Email   string
	TokenID string // set when the request authenticated with an API token
}

type actorKey struct{}

// NewContextWithActor returns a copy of ctx carrying actor.
func NewContextWithActor(ctx context.Context, a *Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFromContext returns the actor of ctx, or nil.
func ActorFromContext(ctx context.Context) *Actor {
	a, _ := ctx.Value(actorKey{}).(*Actor)
	return a
}

// ActorName is how an actor appears in the audit log.
func ActorName(ctx context.Context) string {
	a := ActorFromContext(ctx)
	if a == nil {
		return "system"
	}
	return a.Email
}

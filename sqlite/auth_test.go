package sqlite_test

import (
	"context"
	"testing"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/sqlite"
)

func TestAuth_LoginSessionsAndTimeouts(t *testing.T) {
	t.Parallel()
	db, clk := mustOpenDB(t)
	ctx := context.Background()
	auth := sqlite.NewAuthService(db)
	if _, err := auth.CreateUser(ctx, "ops@example.com", "correct horse"); err != nil {
		t.Fatal(err)
	}
	_, err := auth.CreateUser(ctx, "OPS@example.com", "correct horse")
	wantCode(t, err, pressluft.EConflict)
	_, err = auth.CreateUser(ctx, "not-an-email", "correct horse")
	wantCode(t, err, pressluft.EValidation)
	_, err = auth.CreateUser(ctx, "b@example.com", "short")
	wantCode(t, err, pressluft.EValidation)

	_, _, err = auth.Login(ctx, "ops@example.com", "wrong password")
	wantCode(t, err, pressluft.EInvalidCreds)
	_, _, err = auth.Login(ctx, "nobody@example.com", "correct horse")
	wantCode(t, err, pressluft.EInvalidCreds)

	u, token, err := auth.Login(ctx, "ops@example.com", "correct horse")
	if err != nil || token == "" {
		t.Fatalf("Login = %v", err)
	}
	if got, err := auth.AuthenticateSession(ctx, token); err != nil || got.ID != u.ID {
		t.Fatalf("AuthenticateSession = %+v, %v", got, err)
	}
	// Idle timeout: untouched for longer than the idle limit.
	clk.Add(pressluft.SessionIdleTimeout + 1)
	_, err = auth.AuthenticateSession(ctx, token)
	wantCode(t, err, pressluft.EUnauthorized)

	// Absolute timeout: used often, but older than the absolute limit.
	_, token, _ = auth.Login(ctx, "ops@example.com", "correct horse")
	for elapsed := 0 * pressluft.SessionIdleTimeout; elapsed < pressluft.SessionAbsoluteTimeout; elapsed += pressluft.SessionIdleTimeout / 2 {
		clk.Add(pressluft.SessionIdleTimeout / 2)
		_, _ = auth.AuthenticateSession(ctx, token)
	}
	_, err = auth.AuthenticateSession(ctx, token)
	wantCode(t, err, pressluft.EUnauthorized)

	// Logout and password reset end sessions.
	_, token, _ = auth.Login(ctx, "ops@example.com", "correct horse")
	if err := auth.Logout(ctx, token); err != nil {
		t.Fatal(err)
	}
	_, err = auth.AuthenticateSession(ctx, token)
	wantCode(t, err, pressluft.EUnauthorized)
	_, token, _ = auth.Login(ctx, "ops@example.com", "correct horse")
	if _, err := auth.ResetPassword(ctx, "ops@example.com", "battery staple", false); err != nil {
		t.Fatal(err)
	}
	_, err = auth.AuthenticateSession(ctx, token)
	wantCode(t, err, pressluft.EUnauthorized)
	if _, _, err := auth.Login(ctx, "ops@example.com", "battery staple"); err != nil {
		t.Fatalf("login with new password: %v", err)
	}
}

func TestAuth_APITokens(t *testing.T) {
	t.Parallel()
	db, _ := mustOpenDB(t)
	ctx := context.Background()
	auth := sqlite.NewAuthService(db)
	u, _ := auth.CreateUser(ctx, "ops@example.com", "correct horse")
	tok, secret, err := auth.CreateAPIToken(ctx, u.ID, "ci")
	if err != nil || len(secret) < 40 || secret[:4] != "plt_" {
		t.Fatalf("CreateAPIToken = %q, %v", secret, err)
	}
	if gotU, gotT, err := auth.AuthenticateToken(ctx, secret); err != nil || gotU.ID != u.ID || gotT.ID != tok.ID {
		t.Fatalf("AuthenticateToken = %v", err)
	}
	list, _ := auth.FindAPITokens(ctx, u.ID)
	if len(list) != 1 || list[0].Prefix != secret[:12] {
		t.Fatalf("tokens = %+v", list)
	}
	if err := auth.RevokeAPIToken(ctx, u.ID, tok.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = auth.AuthenticateToken(ctx, secret)
	wantCode(t, err, pressluft.EUnauthorized)
	wantCode(t, auth.RevokeAPIToken(ctx, u.ID, tok.ID), pressluft.ENotFound)
}

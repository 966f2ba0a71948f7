package sqlite

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/google/uuid"
	"github.com/pressluft/pressluft"
	"golang.org/x/crypto/bcrypt"
)

// AuthService implements pressluft.AuthService.
type AuthService struct{ db *DB }

// NewAuthService returns an AuthService.
func NewAuthService(db *DB) *AuthService { return &AuthService{db: db} }

// dummyHash keeps the time of a login for an unknown e-mail close to that of
// a wrong password, so that answers do not reveal which accounts exist.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("pressluft-dummy-password"), bcrypt.DefaultCost)

func newToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CreateUser adds an administrator.
func (s *AuthService) CreateUser(ctx context.Context, email, password string) (*pressluft.User, error) {
	email = strings.TrimSpace(email)
	if err := pressluft.ValidateEmail("email", email); err != nil {
		return nil, err
	} else if err := pressluft.ValidatePassword("password", password); err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return nil, err
	}
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	u := &pressluft.User{ID: uuid.Must(uuid.NewV7()).String(), Email: email, CreatedAt: tx.now, UpdatedAt: tx.now}
	if _, err := tx.Exec(`INSERT INTO users (id, email, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
		u.ID, u.Email, string(hash), ts(tx.now), ts(tx.now)); isUniqueViolation(err) {
		return nil, pressluft.Errorf(pressluft.EConflict, "A user with this e-mail already exists.")
	} else if err != nil {
		return nil, err
	}
	return u, tx.Commit()
}

// ResetPassword sets a new password and ends all of the user's sessions;
// with revokeTokens it also revokes the user's API tokens and returns how
// many it revoked.
func (s *AuthService) ResetPassword(ctx context.Context, email, password string, revokeTokens bool) (int, error) {
	if err := pressluft.ValidatePassword("password", password); err != nil {
		return 0, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return 0, err
	}
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var id string
	if err := tx.QueryRow(`UPDATE users SET password_hash = ?, updated_at = ? WHERE email = ? RETURNING id`,
		string(hash), ts(tx.now), strings.TrimSpace(email)).Scan(&id); errors.Is(err, sql.ErrNoRows) {
		return 0, pressluft.Errorf(pressluft.ENotFound, "No user with this e-mail.")
	} else if err != nil {
		return 0, err
	}
	if _, err := tx.Exec(`DELETE FROM sessions WHERE user_id = ?`, id); err != nil {
		return 0, err
	}
	var revoked int64
	if revokeTokens {
		res, err := tx.Exec(`UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`, ts(tx.now), id)
		if err != nil {
			return 0, err
		}
		revoked, _ = res.RowsAffected()
	}
	return int(revoked), tx.Commit()
}

// Login checks the password and opens a new session.
func (s *AuthService) Login(ctx context.Context, email, password string) (*pressluft.User, string, error) {
	var u pressluft.User
	var hash, created, updated string
	err := s.db.read.QueryRowContext(ctx, `SELECT id, email, password_hash, created_at, updated_at FROM users WHERE email = ?`,
		strings.TrimSpace(email)).Scan(&u.ID, &u.Email, &hash, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return nil, "", pressluft.Errorf(pressluft.EInvalidCreds, "Wrong e-mail or password.")
	} else if err != nil {
		return nil, "", err
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return nil, "", pressluft.Errorf(pressluft.EInvalidCreds, "Wrong e-mail or password.")
	}
	u.CreatedAt, u.UpdatedAt = parseTS(created), parseTS(updated)
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return nil, "", err
	}
	defer tx.Rollback()
	token := newToken()
	if _, err := tx.Exec(`INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		hashToken(token), u.ID, ts(tx.now), ts(tx.now), ts(tx.now.Add(pressluft.SessionAbsoluteTimeout))); err != nil {
		return nil, "", err
	}
	// Expired sessions of anyone are swept here; logins are rare enough.
	if _, err := tx.Exec(`DELETE FROM sessions WHERE expires_at < ? OR last_seen_at < ?`,
		ts(tx.now), ts(tx.now.Add(-pressluft.SessionIdleTimeout))); err != nil {
		return nil, "", err
	}
	return &u, token, tx.Commit()
}

// Logout ends the session of token.
func (s *AuthService) Logout(ctx context.Context, token string) error {
	_, err := s.db.write.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, hashToken(token))
	return err
}

// AuthenticateSession resolves a session cookie, enforcing the idle and
// absolute timeouts, and marks the session as seen.
func (s *AuthService) AuthenticateSession(ctx context.Context, token string) (*pressluft.User, error) {
	now := s.db.Now()
	var u pressluft.User
	var created, updated, lastSeen string
	err := s.db.read.QueryRowContext(ctx, `SELECT u.id, u.email, u.created_at, u.updated_at, s.last_seen_at FROM sessions s
		JOIN users u ON u.id = s.user_id WHERE s.token_hash = ? AND s.expires_at > ?`, hashToken(token), ts(now)).
		Scan(&u.ID, &u.Email, &created, &updated, &lastSeen)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && now.Sub(parseTS(lastSeen)) > pressluft.SessionIdleTimeout) {
		return nil, pressluft.Errorf(pressluft.EUnauthorized, "Session expired or unknown; log in again.")
	} else if err != nil {
		return nil, err
	}
	// Touch at most once a minute so that reads do not turn into writes.
	if now.Sub(parseTS(lastSeen)) > 60e9 {
		if _, err := s.db.write.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?`, ts(now), hashToken(token)); err != nil {
			return nil, err
		}
	}
	u.CreatedAt, u.UpdatedAt = parseTS(created), parseTS(updated)
	return &u, nil
}

// DeleteExpiredSessions removes sessions past their idle or absolute limit.
func (s *AuthService) DeleteExpiredSessions(ctx context.Context) (int64, error) {
	now := s.db.Now()
	res, err := s.db.write.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?`,
		ts(now), ts(now.Add(-pressluft.SessionIdleTimeout)))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// tokenPrefix marks Pressluft API tokens so that secret scanners and users
// can recognise them.
const tokenPrefix = "plt_"

// CreateAPIToken creates a token; the clear token is returned once.
func (s *AuthService) CreateAPIToken(ctx context.Context, userID, name string) (*pressluft.APIToken, string, error) {
	if err := pressluft.ValidateName("name", name); err != nil {
		return nil, "", err
	}
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return nil, "", err
	}
	defer tx.Rollback()
	token := tokenPrefix + newToken()
	t := &pressluft.APIToken{ID: uuid.Must(uuid.NewV7()).String(), UserID: userID, Name: name, Prefix: token[:12], CreatedAt: tx.now}
	if _, err := tx.Exec(`INSERT INTO api_tokens (id, user_id, name, prefix, token_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		t.ID, userID, name, t.Prefix, hashToken(token), ts(tx.now)); err != nil {
		return nil, "", err
	}
	return t, token, tx.Commit()
}

// AuthenticateToken resolves a bearer token.
func (s *AuthService) AuthenticateToken(ctx context.Context, token string) (*pressluft.User, *pressluft.APIToken, error) {
	var u pressluft.User
	var t pressluft.APIToken
	var created, updated, tcreated string
	var lastUsed sql.NullString
	err := s.db.read.QueryRowContext(ctx, `SELECT u.id, u.email, u.created_at, u.updated_at, t.id, t.name, t.prefix, t.created_at, t.last_used_at
		FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ? AND t.revoked_at IS NULL`, hashToken(token)).
		Scan(&u.ID, &u.Email, &created, &updated, &t.ID, &t.Name, &t.Prefix, &tcreated, &lastUsed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, pressluft.Errorf(pressluft.EUnauthorized, "Unknown or revoked API token.")
	} else if err != nil {
		return nil, nil, err
	}
	now := s.db.Now()
	if lu := parseNullTS(lastUsed); lu == nil || now.Sub(*lu) > 60e9 {
		if _, err := s.db.write.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, ts(now), t.ID); err != nil {
			return nil, nil, err
		}
		t.LastUsedAt = &now
	} else {
		t.LastUsedAt = lu
	}
	u.CreatedAt, u.UpdatedAt, t.CreatedAt, t.UserID = parseTS(created), parseTS(updated), parseTS(tcreated), u.ID
	return &u, &t, nil
}

// FindAPITokens lists a user's live tokens.
func (s *AuthService) FindAPITokens(ctx context.Context, userID string) ([]*pressluft.APIToken, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT id, user_id, name, prefix, created_at, last_used_at FROM api_tokens
		WHERE user_id = ? AND revoked_at IS NULL ORDER BY id DESC`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	tokens := []*pressluft.APIToken{}
	for rows.Next() {
		var t pressluft.APIToken
		var created string
		var lastUsed sql.NullString
		if err := rows.Scan(&t.ID, &t.UserID, &t.Name, &t.Prefix, &created, &lastUsed); err != nil {
			return nil, err
		}
		t.CreatedAt, t.LastUsedAt = parseTS(created), parseNullTS(lastUsed)
		tokens = append(tokens, &t)
	}
	return tokens, rows.Err()
}

// RevokeAPIToken revokes one of the user's tokens.
func (s *AuthService) RevokeAPIToken(ctx context.Context, userID, id string) error {
	res, err := s.db.write.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL`,
		ts(s.db.Now()), id, userID)
	if err != nil {
		return err
	} else if n, _ := res.RowsAffected(); n == 0 {
		return pressluft.Errorf(pressluft.ENotFound, "API token not found.")
	}
	return nil
}

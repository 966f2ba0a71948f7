package sqlite

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"os"

	"github.com/pressluft/pressluft"
)

// LoadOrCreateKey reads the 32-byte secret key at path, creating it (0600)
// on first start. Losing this file makes every stored secret unreadable.
func LoadOrCreateKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, err
		}
		if _, err := f.Write(key); err != nil {
			f.Close()
			return nil, err
		}
		return key, f.Close()
	} else if err != nil {
		return nil, err
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("secret key %s: want 32 bytes, have %d", path, len(key))
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("secret key %s: mode %o is readable by others; chmod 600 it", path, fi.Mode().Perm())
	}
	return key, nil
}

// SetKey sets the AES-256 key that encrypts secrets.
func (db *DB) SetKey(key []byte) { db.key = key }

// SecretService implements pressluft.SecretService with AES-256-GCM; the
// secret's name is the additional data, so a ciphertext cannot be moved to
// another name.
type SecretService struct{ db *DB }

// NewSecretService returns a SecretService.
func NewSecretService(db *DB) *SecretService { return &SecretService{db: db} }

func (s *SecretService) aead() (cipher.AEAD, error) {
	if len(s.db.key) != 32 {
		return nil, errors.New("secret key not loaded")
	}
	block, err := aes.NewCipher(s.db.key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// PutSecret stores value under name.
func (s *SecretService) PutSecret(ctx context.Context, name string, value []byte) error {
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := putSecret(tx, name, value); err != nil {
		return err
	}
	return tx.Commit()
}

func putSecret(tx *Tx, name string, value []byte) error {
	aead, err := (&SecretService{db: tx.db}).aead()
	if err != nil {
		return err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	ct := aead.Seal(nil, nonce, value, []byte(name))
	_, err = tx.Exec(`INSERT INTO secrets (name, nonce, ciphertext, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET nonce = excluded.nonce, ciphertext = excluded.ciphertext, updated_at = excluded.updated_at`,
		name, nonce, ct, ts(tx.now))
	return err
}

// GetSecret returns the value stored under name.
func (s *SecretService) GetSecret(ctx context.Context, name string) ([]byte, error) {
	return readSecret(ctx, s.db, s.db.read, name)
}

// getSecret reads a secret inside a transaction.
func getSecret(tx *Tx, name string) ([]byte, error) {
	return readSecret(context.Background(), tx.db, tx, name)
}

func readSecret(ctx context.Context, db *DB, q rowQuerier, name string) ([]byte, error) {
	var nonce, ct []byte
	err := q.QueryRowContext(ctx, `SELECT nonce, ciphertext FROM secrets WHERE name = ?`, name).Scan(&nonce, &ct)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, pressluft.Errorf(pressluft.ENotFound, "Secret not found.")
	} else if err != nil {
		return nil, err
	}
	aead, err := (&SecretService{db: db}).aead()
	if err != nil {
		return nil, err
	}
	pt, err := aead.Open(nil, nonce, ct, []byte(name))
	if err != nil {
		return nil, fmt.Errorf("decrypt secret %q: %w", name, err)
	}
	return pt, nil
}

// DeleteSecret removes a secret; removing a missing one is not an error.
func (s *SecretService) DeleteSecret(ctx context.Context, name string) error {
	_, err := s.db.write.ExecContext(ctx, `DELETE FROM secrets WHERE name = ?`, name)
	return err
}

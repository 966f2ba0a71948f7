package pressluft

import (
	"crypto/rand"
	"math/big"
)

// Secret names. Secrets are stored encrypted and never leave the control
// plane except as input to the node that needs them.
func SecretDBPassword(envID string) string    { return "env/" + envID + "/db_password" }
func SecretAdminPassword(envID string) string { return "env/" + envID + "/admin_password" }

// SecretDeployKey names a site's private deploy key (OpenSSH format) and
// SecretDeployKeyPublic its authorized_keys line.
func SecretDeployKey(siteID string) string       { return "site/" + siteID + "/deploy_key" }
func SecretDeployKeyPublic(siteID string) string { return "site/" + siteID + "/deploy_key.pub" }

// SecretSSHKey names the control plane's SSH private key.
const SecretSSHKey = "ssh/control_plane_ed25519"

const passwordAlphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// NewPassword returns a random password of n characters from an alphabet
// that needs no quoting in SQL, PHP or shell.
func NewPassword(n int) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(passwordAlphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		b[i] = passwordAlphabet[v.Int64()]
	}
	return string(b)
}

// SiteCreatePayload is the stored plan of a site_create job. Passwords are
// secrets and are not part of it.
type SiteCreatePayload struct {
	Title      string `json:"title"`
	AdminUser  string `json:"admin_user"`
	AdminEmail string `json:"admin_email"`
}

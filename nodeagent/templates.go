package nodeagent

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"math/big"
	"strconv"
	"strings"
	"text/template"

	"github.com/pressluft/pressluft/agent/protocol"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"join": strings.Join,
	"php":  phpString,
	"sql":  sqlString,
}).ParseFS(templateFS, "templates/*.tmpl"))

// configData is everything the templates read.
type configData struct {
	Name            string
	Type            string
	Root            string
	Socket          string
	ServerNames     []string
	Noindex         bool
	SendMail        bool
	AcmeSnippet     bool
	IPv6            bool
	Offline         bool
	DBName          string
	DBUser          string
	DBPassword      string
	EnvironmentType string
	CronMinute      int
	Helper          string
	LibDir          string
	FPM             fpmLimits
	// Functions WordPress does not need that make a compromised site worse.
	DisableFunctions []string
	Salts            []salt
}

// fpmLimits: pm = ondemand, so an idle environment costs no process.
type fpmLimits struct {
	MaxChildren    int
	IdleTimeout    string
	MaxRequests    int
	RequestTimeout string
}

type salt struct{ Key, Value string }

func newConfigData(env *protocol.Env, node *nodeFacts) configData {
	p := pathsFor(env.Name, node.PHPVersion)
	envType := "staging"
	if env.Type == "production" {
		envType = "production"
	}
	return configData{
		Name:        env.Name,
		Type:        env.Type,
		Root:        p.Root,
		Socket:      p.Socket,
		ServerNames: env.ServerNames,
		// Staging and clones are never indexed and never send mail.
		Noindex:         env.Type != "production",
		SendMail:        env.Type == "production",
		AcmeSnippet:     node.AcmeSnippet,
		IPv6:            node.IPv6,
		Offline:         node.Offline,
		DBName:          env.DBName,
		DBUser:          env.DBUser,
		DBPassword:      env.DBPassword,
		EnvironmentType: envType,
		CronMinute:      cronMinute(env.Name),
		Helper:          helperPath,
		LibDir:          protocol.LibDir,
		FPM:             fpmLimits{MaxChildren: 5, IdleTimeout: "30s", MaxRequests: 500, RequestTimeout: "300s"},
		DisableFunctions: []string{
			"exec", "passthru", "shell_exec", "system", "proc_open", "popen", "pcntl_exec", "show_source",
		},
	}
}

func render(name string, data any) ([]byte, error) {
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, name, data); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// phpString is a PHP single-quoted string literal of s.
func phpString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// sqlString is a MariaDB string literal of s (default sql_mode:
// backslash escapes are on, so backslashes are doubled too).
func sqlString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s) + "'"
}

// cronMinute spreads environments over the 5-minute window, the same
// offset for the same name as the playbooks computed.
func cronMinute(name string) int {
	sum := md5.Sum([]byte(name))
	n, _ := strconv.ParseInt(hex.EncodeToString(sum[:])[:6], 16, 64)
	return int(n % 5)
}

// saltChars: no quote or backslash, so the values need no escaping.
const saltChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&()*+-./:;<=>?@[]^_|~"

var saltKeys = []string{"AUTH_KEY", "SECURE_AUTH_KEY", "LOGGED_IN_KEY", "NONCE_KEY", "AUTH_SALT", "SECURE_AUTH_SALT", "LOGGED_IN_SALT", "NONCE_SALT"}

func newSalts() ([]salt, error) {
	salts := make([]salt, 0, len(saltKeys))
	max := big.NewInt(int64(len(saltChars)))
	for _, key := range saltKeys {
		b := make([]byte, 64)
		for i := range b {
			n, err := rand.Int(rand.Reader, max)
			if err != nil {
				return nil, err
			}
			b[i] = saltChars[n.Int64()]
		}
		salts = append(salts, salt{Key: key, Value: string(b)})
	}
	return salts, nil
}

package http

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pressluft/pressluft"
)

// goType matches what Go type names look like in a message.
var goType = regexp.MustCompile(`\b(u?int(8|16|32|64)?|float(32|64)|struct|map\[|interface|bool|pressluft\.|json:)|\[\]|\*`)

// FuzzDecode runs the strict JSON decoder and the domain validation on any
// body, into each request type of the API: refusals are bad_request with a
// message that names no Go type, and what is accepted was one JSON object.
func FuzzDecode(f *testing.F) {
	for _, b := range []string{`{"name":"web","host":"10.0.0.1","ssh_port":22}`, `{"name":"a","slug":"acme","node_id":"x","admin_email":"a;id@x.io"}`,
		`{"preview_domain":["a"]}`, `"a string"`, `{"ssh_port":1e400}`, `{"name":"a"} {}`, `[]`, `{"email":"a","password":"b"}`,
		`{"Name":"case"}`, `{"type":"staging","name":null}`, `{"name":"\u202e"}`} {
		for target := range uint8(5) {
			f.Add([]byte(b), target)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, target uint8) {
		var node struct {
			Name    string `json:"name"`
			Host    string `json:"host"`
			SSHPort *int   `json:"ssh_port"`
			SSHUser string `json:"ssh_user"`
			IsLocal bool   `json:"is_local"`
		}
		var login struct {
			Email    string `json:"email"`
			Password string `json:"password"`
		}
		var site pressluft.SiteCreate
		var env pressluft.EnvironmentCreate
		var settings pressluft.SettingsUpdate
		into := []any{&node, &login, &site, &env, &settings}[int(target)%5]
		r := httptest.NewRequest("POST", "/api/x", bytes.NewReader(body))
		err := decode(httptest.NewRecorder(), r, into)
		if err != nil {
			msg := pressluft.ErrorMessage(err)
			if field, ok := pressluft.ErrorDetails(err)["field"].(string); ok {
				msg = strings.Replace(msg, strconv.Quote(field), "", 1) // the client's own field name
			}
			if pressluft.ErrorCode(err) != pressluft.EBadRequest || goType.MatchString(msg) || len(msg) > 300 {
				t.Fatalf("decode(%q) = %v", body, err)
			}
			return
		}
		if trimmed := bytes.TrimSpace(body); !json.Valid(body) || trimmed[0] != '{' {
			t.Fatalf("decode accepted %q", body)
		}
		for _, err := range []error{
			(&pressluft.Node{Name: node.Name, Host: node.Host, SSHPort: 22, SSHUser: node.SSHUser}).Validate(),
			(&pressluft.Site{Name: site.Name, Slug: site.Slug, NodeID: site.NodeID}).Validate(),
			pressluft.ValidateEmail("admin_email", site.AdminEmail),
			(&pressluft.Environment{Name: env.Name, Slug: env.Slug, Type: env.Type, PromotionPreset: env.PromotionPreset}).Validate(),
		} {
			if err != nil && (pressluft.ErrorCode(err) != pressluft.EValidation || goType.MatchString(pressluft.ErrorMessage(err))) {
				t.Fatalf("validation of %q: %v", body, err)
			}
		}
	})
}

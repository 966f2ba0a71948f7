package agent

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/agent/protocol"
)

// The wire state and the domain's read alike: a field added to one and
// not the other would be lost between node and store.
func TestEnvStateShapesAgree(t *testing.T) {
	t.Parallel()
	wire := protocol.EnvStateResult{Tables: map[string]string{"wp_posts": "123", "wp_options": "9:ab:cd"},
		Components: map[string]string{"core": "6.8", "plugin/akismet": "5.3"},
		Paths:      map[string]string{"plugins/akismet": "e3b0"}, ContentHash: "f00d"}
	raw, _ := json.Marshal(wire)
	got, err := envState(raw)
	if err != nil {
		t.Fatal(err)
	}
	back, _ := json.Marshal(got)
	var x, y map[string]any
	json.Unmarshal(raw, &x)
	json.Unmarshal(back, &y)
	if !reflect.DeepEqual(x, y) {
		t.Fatalf("wire %s\ndomain %s", raw, back)
	}
}

func TestEnvStateDecoding(t *testing.T) {
	t.Parallel()
	st, err := envState(json.RawMessage(`{"content_hash":"ab"}`))
	if err != nil || st.Tables == nil || st.Components == nil || st.Paths == nil {
		t.Fatalf("missing maps must decode as empty ones: %+v, %v", st, err)
	}
	for _, raw := range []string{`[]`, `{"tables":{"wp_posts":1},"content_hash":"ab"}`, `{}`} {
		if _, err := envState(json.RawMessage(raw)); pressluft.ErrorCode(err) != pressluft.EAgentFailed {
			t.Errorf("%s: %v, want %s", raw, err, pressluft.EAgentFailed)
		}
	}
}

func TestPromoteFactsDecoding(t *testing.T) {
	t.Parallel()
	f, err := promoteFacts(json.RawMessage(`{"moved":["wp_options"],"protected":["wp_posts"],
		"search_replace":{"hosts":["acme-staging.node.test"],"cells":12,"unparseable":1},"reused":true}`))
	if err != nil {
		t.Fatal(err)
	}
	want := &pressluft.PromoteFacts{Moved: []string{"wp_options"}, Protected: []string{"wp_posts"},
		SearchReplace: &pressluft.SearchReplace{Hosts: []string{"acme-staging.node.test"}, Cells: 12, Unparseable: 1}}
	if !reflect.DeepEqual(f, want) {
		t.Fatalf("facts %+v, want %+v", f, want)
	}
	f, err = promoteFacts(json.RawMessage(`{}`))
	if err != nil || f.Moved == nil || f.Protected == nil || f.SearchReplace != nil {
		t.Fatalf("empty answer: %+v, %v", f, err)
	}
	if _, err := promoteFacts(json.RawMessage(`{"moved":"wp_options"}`)); pressluft.ErrorCode(err) != pressluft.EAgentFailed {
		t.Errorf("a malformed answer: %v", err)
	}
}

package nodeagent

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/pressluft/pressluft/agent/protocol"
)

func readMessages(t *testing.T, out *bytes.Buffer) []protocol.Message {
	t.Helper()
	var msgs []protocol.Message
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		var m protocol.Message
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

func TestWriterWritesJSONLinesAndOneFinalMessage(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	w := NewWriter(&out)
	w.Event("user", "info", "created user shop")
	w.Output("line one\nline two")
	w.Output("")
	if err := w.Result(protocol.VersionResult{Version: "1", Arch: "amd64"}); err != nil {
		t.Fatal(err)
	}
	w.Error(protocol.ErrInternal, "after the result")
	w.Event("late", "info", "after the result")
	msgs := readMessages(t, &out)
	if len(msgs) != 3 {
		t.Fatalf("%d messages, want 3: %+v", len(msgs), msgs)
	}
	if msgs[0].Type != protocol.TypeEvent || msgs[0].Step != "user" || msgs[0].Level != "info" {
		t.Errorf("event = %+v", msgs[0])
	}
	if msgs[1].Type != protocol.TypeOutput || msgs[1].Text != "line one\nline two" {
		t.Errorf("output = %+v", msgs[1])
	}
	var v protocol.VersionResult
	if msgs[2].Type != protocol.TypeResult || json.Unmarshal(msgs[2].Result, &v) != nil || v.Arch != "amd64" {
		t.Errorf("result = %+v", msgs[2])
	}
}

func TestWriterRedactsSecrets(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	w := NewWriter(&out)
	secret := `pa'ss"wo\rd-1234567`
	w.AddSecret(secret)
	w.AddSecret("abc") // too short to redact safely
	w.Event("database", "info", "mariadb said: password "+secret)
	w.Output(`define( 'DB_PASSWORD', 'pa\'ss"wo\\rd-1234567' );`)
	w.Output(`{"password":"pa'ss\"wo\\rd-1234567"}`)
	w.Output(`IDENTIFIED BY 'pa''ss"wo\\rd-1234567'`)
	w.Error(protocol.ErrCommandFailed, "failed with "+secret)
	raw := out.String()
	for _, form := range []string{"wo\\rd-1234567", `wo\\rd-1234567`, "1234567"} {
		if strings.Contains(raw, form) {
			t.Errorf("output still holds %q:\n%s", form, raw)
		}
	}
	msgs := readMessages(t, &out)
	if len(msgs) != 5 || !strings.Contains(msgs[4].Message, redacted) || msgs[4].Code != protocol.ErrCommandFailed {
		t.Fatalf("messages = %+v", msgs)
	}
	if !strings.Contains(w.Redact("x abc y"), "abc") {
		t.Error("a short value was redacted")
	}
}

func TestWriterRedactsTheResult(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	w := NewWriter(&out)
	w.AddSecret("s3cret-value-42")
	if err := w.Result(protocol.Health{TitleHTML: "title s3cret-value-42 & <b>"}); err != nil {
		t.Fatal(err)
	}
	msgs := readMessages(t, &out)
	var h protocol.Health
	if err := json.Unmarshal(msgs[0].Result, &h); err != nil {
		t.Fatal(err)
	}
	if h.TitleHTML != "title "+redacted+" & <b>" {
		t.Errorf("title_html = %q", h.TitleHTML)
	}
}

func TestWriterIsSafeForConcurrentUse(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	w := NewWriter(&out)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				w.Event("copy_files", "info", strings.Repeat("x", i*10))
			}
		}()
	}
	wg.Wait()
	if n := len(readMessages(t, &out)); n != 400 {
		t.Fatalf("%d messages, want 400", n)
	}
}

func TestServeAnswersVersionAndErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, typ, code string
	}{
		{`{"op":"version","version":"` + Version + `"}` + "\n", protocol.TypeResult, ""},
		{`{"op":"version","version":"other"}`, protocol.TypeError, protocol.ErrVersionMismatch},
		{`{"op":"nope","version":"` + Version + `"}`, protocol.TypeError, protocol.ErrUnknownOp},
		{`{"op":`, protocol.TypeError, protocol.ErrBadRequest},
		{``, protocol.TypeError, protocol.ErrBadRequest},
	}
	for _, c := range cases {
		var out bytes.Buffer
		code := Serve(t.Context(), Options{Stdin: strings.NewReader(c.in), Stdout: &out})
		msgs := readMessages(t, &out)
		if len(msgs) != 1 || msgs[0].Type != c.typ || msgs[0].Code != c.code {
			t.Errorf("Serve(%q) = %+v", c.in, msgs)
		}
		if want := map[bool]int{true: 0, false: 1}[c.typ == protocol.TypeResult]; code != want {
			t.Errorf("Serve(%q) exit code %d, want %d", c.in, code, want)
		}
	}
}

package nodeagent

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/pressluft/pressluft/agent/protocol"
)

const redacted = "[redacted]"

// Writer writes protocol.Messages as JSON lines. It is safe for concurrent
// use and replaces every known secret in what it writes by [redacted].
type Writer struct {
	mu      sync.Mutex
	enc     *json.Encoder
	secrets []string
	done    bool
}

// NewWriter writes JSON lines to w.
func NewWriter(w io.Writer) *Writer {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &Writer{enc: enc}
}

// AddSecret makes the writer redact s, and the forms it takes when it is
// written into JSON, PHP or SQL string literals. Short values are ignored:
// redacting them would garble ordinary text.
func (w *Writer) AddSecret(s string) {
	if len(s) < 6 {
		return
	}
	jsonForm, _ := json.Marshal(s)
	forms := []string{
		s,
		strings.Trim(string(jsonForm), `"`),
		strings.Trim(strconv.Quote(s), `"`),
		strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s),
		strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s),
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, f := range forms {
		if !contains(w.secrets, f) {
			w.secrets = append(w.secrets, f)
		}
	}
}

// Redact returns s with every known secret replaced.
func (w *Writer) Redact(s string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.redact(s)
}

func (w *Writer) redact(s string) string {
	for _, secret := range w.secrets {
		if strings.Contains(s, secret) {
			s = strings.ReplaceAll(s, secret, redacted)
		}
	}
	return s
}

// Event reports a step's progress.
func (w *Writer) Event(step, level, message string) {
	w.write(protocol.Message{Type: protocol.TypeEvent, Step: step, Level: level, Message: message})
}

// Output passes on text a child process printed.
func (w *Writer) Output(text string) {
	if text == "" {
		return
	}
	w.write(protocol.Message{Type: protocol.TypeOutput, Text: text})
}

// Result writes the final result; nothing is written after it.
func (w *Writer) Result(v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	w.final(protocol.Message{Type: protocol.TypeResult, Result: bytes.TrimSpace(buf.Bytes())})
	return nil
}

// Error writes the final error; nothing is written after it.
func (w *Writer) Error(code, message string) {
	w.final(protocol.Message{Type: protocol.TypeError, Code: code, Message: message})
}

func (w *Writer) final(m protocol.Message) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return
	}
	w.emit(m)
	w.done = true
}

func (w *Writer) write(m protocol.Message) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return
	}
	w.emit(m)
}

func (w *Writer) emit(m protocol.Message) {
	m.Step = w.redact(m.Step)
	m.Message = w.redact(m.Message)
	m.Text = w.redact(m.Text)
	if len(m.Result) > 0 {
		if r := w.redact(string(m.Result)); json.Valid([]byte(r)) {
			m.Result = json.RawMessage(r)
		} else {
			m.Result = json.RawMessage(`{"redacted":true}`)
		}
	}
	// A write error means the control plane is gone; stdin's EOF cancels the work.
	_ = w.enc.Encode(m)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

package ansible

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// unsafeYAML renders extra variables as YAML in which every string is
// tagged !unsafe. Ansible evaluates Jinja in the values of extra variables,
// so a site title such as "{{ lookup('pipe', 'id') }}" would otherwise run on
// the control plane; !unsafe makes Ansible treat it as plain text. The
// output is flow-style YAML whose scalars are JSON literals (valid YAML).
func unsafeYAML(v any) ([]byte, error) {
	if v == nil {
		v = map[string]any{}
	}
	var b bytes.Buffer
	if err := writeUnsafe(&b, v); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

func writeUnsafe(b *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case string:
		b.WriteString("!unsafe ")
		return writeJSON(b, x)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := writeJSON(b, k); err != nil {
				return err
			}
			b.WriteString(": ")
			if err := writeUnsafe(b, x[k]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case []string:
		items := make([]any, len(x))
		for i, s := range x {
			items[i] = s
		}
		return writeUnsafe(b, items)
	case []any:
		b.WriteByte('[')
		for i, item := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := writeUnsafe(b, item); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case bool, int, int64, float64, nil:
		return writeJSON(b, x)
	default:
		return fmt.Errorf("ansible vars: unsupported type %T", v)
	}
	return nil
}

// writeJSON writes a JSON literal without HTML escaping; YAML reads JSON's
// string escapes as its own.
func writeJSON(b *bytes.Buffer, v any) error {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1) // Encode's newline
	return nil
}

package ansible

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestUnsafeYAML(t *testing.T) {
	t.Parallel()
	got, err := unsafeYAML(map[string]any{
		"pl_site": map[string]any{"title": `A {{ 7*7 }} "B" \ <c>`, "n": 3, "ok": true},
		"names":   []string{"a.example", "b"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"names": [!unsafe "a.example", !unsafe "b"], "pl_site": {"n": 3, "ok": true, "title": !unsafe "A {{ 7*7 }} \"B\" \\ <c>"}}` + "\n"
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if _, err := unsafeYAML(map[string]any{"x": struct{}{}}); err == nil {
		t.Fatal("unsupported type accepted")
	}
}

// TestUnsafeYAML_AnsibleKeepsTemplatesLiteral runs the real ansible-playbook
// (installed by scripts/install-test-deps.sh) on localhost, without SSH: a
// value that looks like a template must arrive as text.
func TestUnsafeYAML_AnsibleKeepsTemplatesLiteral(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("ansible-playbook")
	if err != nil {
		t.Fatal("ansible-playbook is needed: run scripts/install-test-deps.sh")
	}
	dir := t.TempDir()
	title := `Shop {{ 7*7 }} {% if true %}x{% endif %} $(id) 'q' "d" ünï`
	vars, err := unsafeYAML(map[string]any{"pl_site": map[string]any{"title": title}})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.txt")
	play := `- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.copy:
        content: "{{ pl_site.title }}"
        dest: ` + out + "\n"
	for name, body := range map[string][]byte{"vars.yml": vars, "play.yml": []byte(play)} {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "-i", "localhost,", "-c", "local", "-e", "@"+filepath.Join(dir, "vars.yml"), filepath.Join(dir, "play.yml"))
	cmd.Env = append(os.Environ(), "ANSIBLE_LOCAL_TEMP="+dir, "ANSIBLE_NOCOLOR=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ansible-playbook: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(b)) != title {
		t.Fatalf("ansible wrote %q, want %q", b, title)
	}
}

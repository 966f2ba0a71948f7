package ansible

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// stampPlay drives the provisioning plugins the way node_provision.yml does,
// on localhost and against fake roles: read the node's state, plan, record
// the roles that ran, and publish all of it for the test to read.
const stampPlay = `- hosts: localhost
  gather_facts: false
  vars:
    stamp_roles:
      packages: {}
      alpha:
        files: ["{{ watched }}"]
      beta:
        services: [pressluft-test-missing]
  tasks:
    - pressluft_node_state:
        dir: "{{ stamp_dir }}"
      register: state
    - ansible.builtin.set_fact:
        plan: >-
          {{ lookup('pressluft_provision_plan', roles=stamp_roles, follow=['packages'], recorded=state.roles,
                    facts={'distribution': ansible_distribution}, roles_dir=roles_dir, shared=[shared_file]) }}
    - pressluft_role_stamp:
        dir: "{{ stamp_dir }}"
        roles: "{{ plan | dict2items | selectattr('value.run') | items2dict }}"
      register: recorded
      when: plan.values() | selectattr('run') | list | length > 0
    - ansible.builtin.set_stats:
        data:
          result:
            plan: "{{ plan }}"
            state: "{{ state.roles }}"
            recorded: "{{ recorded.recorded | default([]) }}"
            changed: "{{ recorded.changed | default(false) }}"
            facts:
              distribution: "{{ ansible_distribution }}"
              service_mgr: "{{ ansible_service_mgr }}"
              ipv6: "{{ ansible_all_ipv6_addresses | type_debug }}"
`

type planEntry struct {
	Stamp    string   `json:"stamp"`
	Run      bool     `json:"run"`
	Reason   string   `json:"reason"`
	Services []string `json:"services"`
}

type stampResult struct {
	Plan  map[string]planEntry `json:"plan"`
	State map[string]struct {
		Stamp    string   `json:"stamp"`
		Services []string `json:"services"`
		Stopped  []string `json:"stopped"`
	} `json:"state"`
	Recorded []string          `json:"recorded"`
	Changed  bool              `json:"changed"`
	Facts    map[string]string `json:"facts"`
}

type stampLab struct {
	t                         *testing.T
	bin, cfg, dir             string
	roles, stamps, play, vars string
}

func newStampLab(t *testing.T) *stampLab {
	t.Helper()
	bin, err := exec.LookPath("ansible-playbook")
	if err != nil {
		t.Fatal("ansible-playbook is needed: run scripts/install-test-deps.sh")
	}
	base := t.TempDir()
	extracted, err := Extract(filepath.Join(base, "extracted"))
	if err != nil {
		t.Fatal(err)
	}
	l := &stampLab{t: t, bin: bin, cfg: extracted, dir: base, roles: filepath.Join(base, "roles"),
		stamps: filepath.Join(base, "node", "provisioned"), play: filepath.Join(base, "play.yml"), vars: filepath.Join(base, "shared.yml")}
	l.write("play.yml", stampPlay)
	l.write("shared.yml", "pressluft_root: /srv/pressluft\n")
	l.write("roles/packages/tasks/main.yml", "- ansible.builtin.debug: {msg: packages}\n")
	l.write("roles/alpha/tasks/main.yml", "- ansible.builtin.debug: {msg: alpha}\n")
	l.write("roles/beta/defaults/main.yml", "beta_setting: 1\n")
	l.write("roles/beta/tasks/main.yml", "- ansible.builtin.debug: {msg: '{{ beta_setting }}'}\n")
	l.write("node/alpha.conf", "setting = 1\n")
	return l
}

func (l *stampLab) write(rel, body string) {
	l.t.Helper()
	path := filepath.Join(l.dir, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		l.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		l.t.Fatal(err)
	}
}

// run runs the play once and returns what it published.
func (l *stampLab) run(extra ...string) stampResult {
	l.t.Helper()
	args := []string{"-i", "localhost,", "-c", "local",
		"-e", "stamp_dir=" + l.stamps, "-e", "roles_dir=" + l.roles, "-e", "shared_file=" + l.vars,
		"-e", "watched=" + filepath.Join(l.dir, "node", "alpha.conf")}
	for _, e := range extra {
		args = append(args, "-e", e)
	}
	cmd := exec.Command(l.bin, append(args, l.play)...)
	cmd.Dir = l.cfg
	cmd.Env = append(os.Environ(), "ANSIBLE_CONFIG="+filepath.Join(l.cfg, "ansible.cfg"), "ANSIBLE_LOCAL_TEMP="+l.dir, "ANSIBLE_NOCOLOR=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		l.t.Fatalf("ansible-playbook: %v\n%s", err, out)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var ev struct {
			Event  string `json:"event"`
			Custom struct {
				Result stampResult `json:"result"`
			} `json:"custom"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Event == "stats" {
			return ev.Custom.Result
		}
	}
	l.t.Fatalf("no stats in the output:\n%s", out)
	return stampResult{}
}

// runs returns role -> reason for the roles the plan applies.
func runs(r stampResult) map[string]string {
	m := map[string]string{}
	for role, e := range r.Plan {
		if e.Run {
			m[role] = e.Reason
		}
	}
	return m
}

func sameRuns(t *testing.T, step string, got stampResult, want map[string]string) {
	t.Helper()
	g := runs(got)
	if len(g) != len(want) {
		t.Fatalf("%s: roles to apply %v, want %v", step, g, want)
	}
	for role, reason := range want {
		if g[role] != reason {
			t.Fatalf("%s: roles to apply %v, want %v", step, g, want)
		}
	}
}

// TestProvisionStamps runs the real ansible-playbook with the shipped
// plugins: a role is applied until its stamp is recorded, then skipped until
// its files or its variables change, a service its stamp lists stops, or a
// file it wrote changes on the node.
func TestProvisionStamps(t *testing.T) {
	t.Parallel()
	l := newStampLab(t)

	first := l.run()
	sameRuns(t, "bare node", first, map[string]string{"packages": "not applied yet", "alpha": "not applied yet", "beta": "not applied yet"})
	if !first.Changed || len(first.Recorded) != 3 {
		t.Fatalf("bare node: recorded %v (changed %v)", first.Recorded, first.Changed)
	}
	if first.Facts["distribution"] == "" || first.Facts["service_mgr"] == "" || first.Facts["ipv6"] != "list" {
		t.Fatalf("facts from the state module: %v", first.Facts)
	}
	stamps := map[string]string{}
	for role, e := range first.Plan {
		if len(e.Stamp) != 64 {
			t.Fatalf("%s: stamp %q", role, e.Stamp)
		}
		for other, s := range stamps {
			if s == e.Stamp {
				t.Fatalf("%s and %s share a stamp", role, other)
			}
		}
		stamps[role] = e.Stamp
	}
	// beta's service is not installed here, so its stamp lists none.
	b, err := os.ReadFile(filepath.Join(l.stamps, "beta"))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"files": {}, "services": [], "stamp": "` + stamps["beta"] + `"}` + "\n"; string(b) != want {
		t.Fatalf("beta's stamp file:\n%s\nwant\n%s", b, want)
	}

	again := l.run()
	sameRuns(t, "second run", again, nil)
	for role, s := range stamps {
		if again.Plan[role].Stamp != s || again.State[role].Stamp != s {
			t.Fatalf("%s: stamp %q, recorded %q, want %q", role, again.Plan[role].Stamp, again.State[role].Stamp, s)
		}
	}

	l.write("roles/alpha/tasks/main.yml", "- ansible.builtin.debug: {msg: alpha changed}\n")
	edited := l.run()
	sameRuns(t, "alpha edited", edited, map[string]string{"alpha": "changed since it was applied", "packages": "another role runs"})
	if edited.Plan["packages"].Stamp != stamps["packages"] || edited.Plan["beta"].Stamp != stamps["beta"] {
		t.Fatal("editing alpha changed another role's stamp")
	}
	sameRuns(t, "beta_setting overridden", l.run("beta_setting=2"),
		map[string]string{"beta": "changed since it was applied", "packages": "another role runs"})
	sameRuns(t, "same override again", l.run("beta_setting=2"), nil)

	l.write("shared.yml", "pressluft_root: /srv/elsewhere\n")
	sameRuns(t, "shared vars edited", l.run("beta_setting=2"), map[string]string{
		"packages": "changed since it was applied", "alpha": "changed since it was applied", "beta": "changed since it was applied"})

	// A service the stamp lists that does not run brings its role back.
	cur := l.run("beta_setting=2")
	sameRuns(t, "settled", cur, nil)
	l.write("node/provisioned/beta", `{"services": ["pressluft-test-missing"], "stamp": "`+cur.Plan["beta"].Stamp+`"}`+"\n")
	stopped := l.run("beta_setting=2")
	sameRuns(t, "service stopped", stopped, map[string]string{"beta": "stopped: pressluft-test-missing", "packages": "another role runs"})
	if s := stopped.State["beta"].Stopped; len(s) != 1 || s[0] != "pressluft-test-missing" {
		t.Fatalf("state module reported stopped %v", s)
	}

	// A file the role wrote, edited on the node, brings the role back once.
	l.write("node/alpha.conf", "setting = 2\n")
	sameRuns(t, "file edited on the node", l.run("beta_setting=2"), map[string]string{
		"alpha": "changed on the node: " + filepath.Join(l.dir, "node", "alpha.conf"), "packages": "another role runs"})
	sameRuns(t, "file recorded again", l.run("beta_setting=2"), nil)

	// So is a new check: the role's stamp covers what it is checked by.
	sameRuns(t, "alpha checked by another file", l.run("beta_setting=2", "watched="+filepath.Join(l.dir, "node", "other.conf")),
		map[string]string{"alpha": "changed since it was applied", "packages": "another role runs"})
}

package http_test

import (
	"context"
	"slices"
	"testing"

	"github.com/pressluft/pressluft"
)

// switchOps records the switches a reset asks the node for.
type switchOps struct {
	fakeReleaseOps
	switched []string
	err      error
}

func (o *switchOps) SwitchRelease(_ context.Context, _ *pressluft.Node, env pressluft.EnvSpec, releaseID string, _ pressluft.Progress) (*pressluft.EnvFacts, error) {
	o.switched = append(o.switched, env.Name+" "+releaseID)
	if o.err != nil {
		return nil, o.err
	}
	return &pressluft.EnvFacts{Installed: true, DBOK: true}, nil
}

// A job lost on its last attempt after it switched releases leaves the node
// serving a release the control plane never recorded (the crash soak found
// it): reset makes the node serve the recorded release again before the
// environment is active, and keeps it failed when the node cannot.
func TestAPI_EnvResetServesRecordedRelease(t *testing.T) {
	t.Parallel()
	ts := mustServer(t)
	ops := &switchOps{}
	ts.ReleaseOps = ops
	c := ts.loggedIn(t)
	_, envID := activeSite(t, ts, c, "rst1")
	reset := "/api/environments/" + envID + "/reset"
	c.expect("POST", reset, "", 409, pressluft.EResourceNotFailed)
	if err := ts.Sites.SetEnvironmentStatus(context.Background(), envID, pressluft.StatusFailed, "worker_lost: lost"); err != nil {
		t.Fatal(err)
	}

	ops.err = pressluft.Errorf(pressluft.ECommandFailed, "releases/r1 is gone.")
	c.expect("POST", reset, "", 409, pressluft.EResetValidation)
	if env := c.expect("GET", "/api/environments/"+envID, "", 200, ""); env["status"] != pressluft.StatusFailed {
		t.Fatalf("environment after a reset the node refused: %v", env["status"])
	}

	ops.err = nil
	if env := c.expect("POST", reset, "", 200, ""); env["status"] != pressluft.StatusActive {
		t.Fatalf("environment after reset: %v", env["status"])
	}
	if want := []string{"rst1-production r1", "rst1-production r1"}; !slices.Equal(ops.switched, want) {
		t.Fatalf("switches = %q, want %q", ops.switched, want)
	}
}

package sqlite_test

import (
	"context"
	"testing"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/sqlite"
)

// A decommissioned node is found by its status, and its host can be added
// again. (The dashboard leaves decommissioned nodes out of its lists and counts.)
func TestNodes_DecommissionedHostCanBeAddedAgain(t *testing.T) {
	t.Parallel()
	db, _ := mustOpenDB(t)
	ctx := context.Background()
	nodes := sqlite.NewNodeService(db, sqlite.NewJobService(db))
	old := &pressluft.Node{Name: "web", Host: "10.77.1.2", SSHPort: 22, SSHUser: "root"}
	if err := nodes.CreateNode(ctx, old); err != nil {
		t.Fatal(err)
	}
	if err := nodes.DeleteNode(ctx, old.ID); err != nil {
		t.Fatal(err)
	}
	again := &pressluft.Node{Name: "web", Host: "10.77.1.2", SSHPort: 22, SSHUser: "root"}
	if err := nodes.CreateNode(ctx, again); err != nil {
		t.Fatalf("the host of a decommissioned node cannot be added again: %v", err)
	}
	gone, err := nodes.FindNodes(ctx, pressluft.NodeFilter{Status: pressluft.NodeDecommissioned})
	if err != nil || len(gone) != 1 || gone[0].ID != old.ID {
		t.Fatalf("decommissioned list = %v, %v", gone, err)
	}
}

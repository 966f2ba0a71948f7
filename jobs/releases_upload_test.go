package jobs_test

import (
	"context"
	"io"
	"slices"
	"testing"

	"github.com/pressluft/pressluft"
)

func (f *fakeNode) ReceiveUpload(context.Context, *pressluft.Node, string, string, int64, int64, io.Reader) (*pressluft.ArchiveUpload, error) {
	panic("jobs do not receive uploads")
}

func (f *fakeNode) DiscardUpload(_ context.Context, _ *pressluft.Node, envName, id string) error {
	return f.record("discard " + envName + " " + id)
}

// A deploy from an upload removes the upload when it ends for good; one
// that succeeds leaves it to the build, which removed it already.
func TestHandlers_DeployUploadRemovedWhenTheJobEnds(t *testing.T) {
	t.Parallel()
	s := newHandlerStack(t)
	ctx := context.Background()
	env := s.activeSite(t, "acme").Environment
	upload := func(id string) pressluft.DeployRequest {
		return pressluft.DeployRequest{SourceType: pressluft.ReleaseArchive,
			Upload: &pressluft.ArchiveUpload{ID: id, Path: "tmp/upload-" + id + ".archive", Size: 10, SHA256: "ab12"}}
	}

	j, err := s.releases.Deploy(ctx, env.ID, upload("u1"))
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, s.q, j.ID, pressluft.JobSucceeded)
	rels, _ := s.releases.FindReleases(ctx, env.ID)
	if rels[0].Source != pressluft.ReleaseArchive {
		t.Fatalf("release %+v", rels[0])
	}

	s.fake.mu.Lock()
	s.fake.fail = map[string]error{"build": pressluft.Errorf(pressluft.EUnsafeArchive, "wp-content/../../etc/passwd")}
	s.fake.mu.Unlock()
	j, err = s.releases.Deploy(ctx, env.ID, upload("u2"))
	if err != nil {
		t.Fatal(err)
	}
	if failed := waitStatus(t, s.q, j.ID, pressluft.JobFailed); failed.ErrorCode != pressluft.EUnsafeArchive {
		t.Fatalf("job %+v", failed)
	}
	s.fake.mu.Lock()
	calls := slices.Clone(s.fake.calls)
	s.fake.mu.Unlock()
	var discards []string
	for _, c := range calls {
		if len(c) > 8 && c[:8] == "discard " {
			discards = append(discards, c)
		}
	}
	if !slices.Equal(discards, []string{"discard acme-production u2"}) {
		t.Fatalf("discards %q (calls %q)", discards, calls)
	}
}

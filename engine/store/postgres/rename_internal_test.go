package postgres

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/engine/store/pgtest"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

// TestAdoptionResumes: an adoption stopped after its first piece (the run died, its
// lease was lost) is finished by the next run of the sync, although the sync has links
// by then; meanwhile the old name may not run.
func TestAdoptionResumes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, pgtest.NewDatabase(t))

	old, err := s.BeginRun(ctx, "staff", "full", "test")
	if err != nil {
		t.Fatal(err)
	}
	var changes []store.Change
	for i := range 5 {
		var p profile.Profile
		p.Set(profile.UserName, fmt.Sprintf("user%d", i))
		p.Active = true
		changes = append(changes, store.Change{ExternalID: fmt.Sprintf("s%d", i), Profile: p})
	}
	if res, err := old.Apply(ctx, changes); err != nil || res.Created != 5 {
		t.Fatalf("Apply = %+v, %v", res, err)
	}
	if err := old.Finish(ctx, store.Summary{Status: store.StatusSucceeded}); err != nil {
		t.Fatal(err)
	}

	first, err := s.BeginRun(ctx, "people", "full", "test")
	if err != nil {
		t.Fatal(err)
	}
	fr := first.(*run)
	fr.adoptPiece = 2
	if pending, err := fr.claim(ctx, "staff"); err != nil || !pending {
		t.Fatalf("claim = %v, %v", pending, err)
	}
	if n, err := fr.adoptLinks(ctx, "staff"); err != nil || n != 2 {
		t.Fatalf("first piece moved %d, %v; want 2", n, err)
	}
	// The run stops here.
	if err := first.Finish(ctx, store.Summary{Status: store.StatusFailed, Message: "stopped"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BeginRun(ctx, "staff", "full", "old-replica"); !errors.Is(err, store.ErrRenamed) {
		t.Fatalf("BeginRun(staff) midway: %v, want ErrRenamed", err)
	}

	next, err := s.BeginRun(ctx, "people", "full", "test")
	if err != nil {
		t.Fatal(err)
	}
	next.(*run).adoptPiece = 2
	adopted, err := next.Adopt(ctx, []string{"staff"})
	if err != nil {
		t.Fatalf("resumed Adopt: %v", err)
	}
	if len(adopted) != 1 || adopted[0].Links != 3 || adopted[0].Runs != 1 {
		t.Fatalf("resumed Adopt = %+v, want the 3 links left and staff's run", adopted)
	}
	var staff, people int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE sync_name = 'staff'), count(*) FILTER (WHERE sync_name = 'people')
		FROM profile_links`).Scan(&staff, &people); err != nil {
		t.Fatal(err)
	}
	if staff != 0 || people != 5 {
		t.Errorf("links after the resumed adoption: staff %d, people %d; want 0, 5", staff, people)
	}
	var profiles int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM profiles`).Scan(&profiles); err != nil || profiles != 5 {
		t.Errorf("profiles = %d, %v; want the 5 staff created", profiles, err)
	}
	if err := next.Finish(ctx, store.Summary{Status: store.StatusSucceeded}); err != nil {
		t.Fatal(err)
	}
}

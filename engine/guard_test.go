package engine_test

import (
	"strings"
	"testing"

	"github.com/peoplesync/peoplesync/engine"
	"github.com/peoplesync/peoplesync/engine/store"
)

// TestDeletionGuardByPercent: a run that would delete more than max_percent of the sync's
// live profiles (but fewer than max_count) applies its updates, deletes nothing and says
// why; --allow-deletes lets it through once; a share under the limit deletes.
func TestDeletionGuardByPercent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 100)
	cfg := e.syncConfig("file", "default", "", "deletion {\n max_count = 1000\n max_percent = 10\n }")
	e.mustRun(cfg, engine.Options{})

	// 12 of 100 gone: 12% > 10%, while 12 < max_count.
	e.people[0].Title = "Still here"
	e.people = e.people[:88]
	e.writeDirectory()
	res := e.mustRun(cfg, engine.Options{})
	if res.Status != store.StatusGuarded || res.Deleted != 0 || res.Updated != 1 || res.WouldDelete != 12 {
		t.Fatalf("result %+v, want guarded with 1 update, 0 deleted, 12 held back", res)
	}
	if !strings.Contains(res.Message, "max_percent") || !strings.Contains(res.Message, "--allow-deletes 12") {
		t.Errorf("message %q does not name max_percent and the way to allow it", res.Message)
	}
	if live := len(e.liveIDs()); live != 100 {
		t.Fatalf("%d live profiles after a guarded run, want 100", live)
	}
	// Allowing fewer than it needs changes nothing.
	if res = e.mustRun(cfg, engine.Options{AllowDeletes: 11}); res.Status != store.StatusGuarded || res.Deleted != 0 {
		t.Fatalf("with --allow-deletes 11: %+v, want guarded", res)
	}
	if res = e.mustRun(cfg, engine.Options{AllowDeletes: 12}); res.Status != store.StatusSucceeded || res.Deleted != 12 {
		t.Fatalf("with --allow-deletes 12: %+v", res)
	}

	// 8 of the 88 left is 9.1%: under the limit, deleted without help.
	e.people = e.people[:80]
	e.writeDirectory()
	if res = e.mustRun(cfg, engine.Options{}); res.Status != store.StatusSucceeded || res.Deleted != 8 {
		t.Fatalf("8 of 88 gone: %+v, want succeeded with 8 deleted", res)
	}
}

// liveIDs lists the external IDs of the sync's live profiles.
func (e *env) liveIDs() []string {
	e.t.Helper()
	var ids []string
	if err := e.store.LiveExternalIDs(e.t.Context(), "people", func(id string) error {
		ids = append(ids, id)
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
	return ids
}

package engine_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/peoplesync/peoplesync/engine"
	"github.com/peoplesync/peoplesync/engine/store"
)

// rematchCountingStore counts its runs' Rematch calls, and fails the next one when
// failNext is set.
type rematchCountingStore struct {
	store.Store
	rematches atomic.Int64
	failNext  atomic.Bool
}

func (s *rematchCountingStore) BeginRun(ctx context.Context, sync, mode, holder string) (store.Run, error) {
	r, err := s.Store.BeginRun(ctx, sync, mode, holder)
	if err != nil {
		return nil, err
	}
	return &rematchCountingRun{Run: r, s: s}, nil
}

type rematchCountingRun struct {
	store.Run
	s *rematchCountingStore
}

var errRematch = errors.New("rematch failed for the test")

func (r *rematchCountingRun) Rematch(ctx context.Context) (int, error) {
	r.s.rematches.Add(1)
	if r.s.failNext.Swap(false) {
		return 0, errRematch
	}
	return r.Run.Rematch(ctx)
}

// A run tries the pending records of the syncs that join again when it may have made
// them joinable: it wrote or deleted something, or the sync's previous run stopped
// before its own Rematch. A run that wrote nothing after one that ended skips it (on an
// unchanged source, a pass over every pending record for nothing).
func TestRematchOnlyAfterWrites(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 300)
	cfg := e.syncConfig("file", "default", "", "batch_size = 50")
	cs := &rematchCountingStore{Store: e.store}
	run := func(what string, want counts, rematches int64, wantErr error) {
		t.Helper()
		cs.rematches.Store(0)
		res, err := (&engine.Engine{Store: cs, Holder: "test"}).Run(context.Background(), e.prepare(cfg).Sync, engine.Options{})
		if !errors.Is(err, wantErr) {
			t.Fatalf("%s: %v, want %v", what, err, wantErr)
		}
		checkCounts(t, what, res, want)
		if got := cs.rematches.Load(); got != rematches {
			t.Errorf("%s: %d Rematch calls, want %d", what, got, rematches)
		}
	}
	run("first run", counts{processed: 300, created: 300}, 1, nil)
	run("unchanged", counts{processed: 300, unchanged: 300}, 0, nil)

	e.people[7].Title = "Chief Cartographer"
	e.writeDirectory()
	cs.failNext.Store(true)
	run("one changed, rematch fails", counts{processed: 300, updated: 1, unchanged: 299}, 1, errRematch)
	run("unchanged after a run that stopped", counts{processed: 300, unchanged: 300}, 1, nil)
	run("unchanged again", counts{processed: 300, unchanged: 300}, 0, nil)

	e.people = e.people[:290]
	e.writeDirectory()
	run("ten removed", counts{processed: 290, unchanged: 290, deleted: 10}, 1, nil)
	run("unchanged after deletes", counts{processed: 290, unchanged: 290}, 0, nil)
}

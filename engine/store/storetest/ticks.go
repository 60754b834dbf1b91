package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/peoplesync/peoplesync/engine/store"
)

// testTickRunsOnce: a scheduled tick runs once per sync and mode, even after its run
// finished and released the lock, and a refused tick holds no lock.
func testTickRunsOnce(t *testing.T, h *harness) {
	tick := time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC)
	r, err := h.s.BeginTickRun(h.ctx, "hr", "full", "replica-a", tick)
	if err != nil {
		t.Fatalf("BeginTickRun: %v", err)
	}
	if _, err := h.s.BeginTickRun(h.ctx, "hr", "full", "replica-b", tick); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("BeginTickRun while the tick runs: %v, want ErrLocked", err)
	}
	h.finish(r)
	// The fast replica finished and let go; a slow one must not run the tick again.
	_, err = h.s.BeginTickRun(h.ctx, "hr", "full", "replica-b", tick.In(time.FixedZone("X", 3600)))
	if !errors.Is(err, store.ErrTickTaken) {
		t.Fatalf("BeginTickRun of a finished tick: %v, want ErrTickTaken", err)
	}
	if locks, err := h.s.Locks(h.ctx); err != nil || len(locks) != 0 {
		t.Fatalf("a refused tick left locks %+v (%v)", locks, err)
	}
	// Other modes, ticks and syncs, and runs by hand, are not that tick.
	for _, x := range []struct {
		sync, mode string
		tick       time.Time
	}{
		{"hr", "delta", tick}, {"hr", "full", tick.Add(time.Minute)}, {"crm", "full", tick},
	} {
		r, err := h.s.BeginTickRun(h.ctx, x.sync, x.mode, "replica-b", x.tick)
		if err != nil {
			t.Fatalf("BeginTickRun(%s, %s, %s): %v", x.sync, x.mode, x.tick, err)
		}
		h.finish(r)
	}
	h.finish(h.begin("hr"))
	h.finish(h.begin("hr"))

	runs, err := h.s.Runs(h.ctx, "hr", 1)
	if err != nil || len(runs) != 1 || runs[0].Tick != nil {
		t.Fatalf("last run by hand: %+v (%v), want no tick", runs, err)
	}
	runs, err = h.s.Runs(h.ctx, "crm", 1)
	if err != nil || len(runs) != 1 || runs[0].Tick == nil || !runs[0].Tick.Equal(tick) {
		t.Fatalf("crm run: %+v (%v), want tick %s", runs, err, tick)
	}
}

// testLocksAndAbandon: Locks lists holders; AbandonRuns marks only runs without a live
// lease.
func testLocksAndAbandon(t *testing.T, h *harness) {
	live, err := h.s.BeginRun(h.ctx, "hr", "full", "replica-a")
	if err != nil {
		t.Fatal(err)
	}
	dead, err := h.s.BeginRun(h.ctx, "crm", "full", "replica-b")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.hooks.BreakLock(h.ctx, "crm"); err != nil {
		t.Fatal(err)
	}
	locks, err := h.s.Locks(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(locks) != 2 || locks[0].Sync != "crm" || locks[0].Holder != "replica-b" || locks[0].Live ||
		locks[1].Sync != "hr" || locks[1].Holder != "replica-a" || !locks[1].Live || locks[1].Term == 0 {
		t.Fatalf("Locks = %+v, want crm expired (replica-b) and hr live (replica-a)", locks)
	}
	n, err := h.s.AbandonRuns(h.ctx)
	if err != nil || n != 1 {
		t.Fatalf("AbandonRuns = %d, %v; want 1", n, err)
	}
	runs, err := h.s.Runs(h.ctx, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, ri := range runs {
		want := map[int64]string{live.ID(): store.StatusRunning, dead.ID(): store.StatusAbandoned}[ri.ID]
		if ri.Status != want {
			t.Errorf("run %d of %s is %s, want %s", ri.ID, ri.Sync, ri.Status, want)
		}
	}
	h.finish(live)
	if locks, err := h.s.Locks(h.ctx); err != nil || len(locks) != 1 {
		t.Fatalf("after Finish: locks %+v (%v), want only crm's expired row", locks, err)
	}
}

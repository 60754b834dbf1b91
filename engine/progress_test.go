package engine_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/peoplesync/peoplesync/engine"
	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/sdk/connector"
)

// progressRecorder keeps every snapshot a run reports.
type progressRecorder struct {
	mu    sync.Mutex
	snaps []engine.Progress
}

func (r *progressRecorder) add(p engine.Progress) {
	r.mu.Lock()
	r.snaps = append(r.snaps, p)
	r.mu.Unlock()
}

// maxes returns the largest counts seen, the distinct Mapped values in the order they
// first appeared, and the phases seen.
func (r *progressRecorder) maxes() (last engine.Progress, mapped []int64, phases []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.snaps {
		last.Read, last.Mapped, last.Written = max(last.Read, p.Read), max(last.Mapped, p.Mapped), max(last.Written, p.Written)
		last.Total, last.Sync = p.Total, p.Sync
		if !slices.Contains(mapped, p.Mapped) {
			mapped = append(mapped, p.Mapped)
		}
		if !slices.Contains(phases, p.Phase) {
			phases = append(phases, p.Phase)
		}
	}
	return last, mapped, phases
}

// The progress hook sees the counts grow batch by batch up to the run's own, and knows
// the total once a previous run has read the directory.
func TestProgressHookSeesGrowingCounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1200)
	cfg := e.syncConfig("file", "default", "", "")
	run := func(what string) (engine.Result, *progressRecorder) {
		t.Helper()
		rec := &progressRecorder{}
		prep := e.prepare(cfg)
		prep.Sync.BatchSize = 100
		res, err := (&engine.Engine{Store: e.store, Holder: "test"}).Run(context.Background(), prep.Sync,
			engine.Options{Progress: rec.add})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return res, rec
	}

	res, rec := run("first run")
	last, mapped, phases := rec.maxes()
	if last.Sync != "people" || last.Read != 1200 || last.Mapped != 1200 || last.Written != res.Created || res.Created != 1200 {
		t.Errorf("first run: last progress %+v, want 1200 read, mapped and written (result %+v)", last, res)
	}
	if last.Total != 0 {
		t.Errorf("first run: total %d, want 0 (unknown)", last.Total)
	}
	// One step per batch of 100, each count above the last.
	if len(mapped) < 12 || !slices.IsSorted(mapped) {
		t.Errorf("first run: mapped counts %v, want at least 12 growing steps", mapped)
	}
	if !slices.Contains(phases, engine.PhaseReading) || !slices.Contains(phases, engine.PhaseResolving) {
		t.Errorf("first run: phases %v, want reading and resolving managers", phases)
	}

	res, rec = run("unchanged run")
	last, mapped, _ = rec.maxes()
	if last.Total != 1200 || last.Mapped != 1200 || last.Written != 0 || res.Unchanged != 1200 {
		t.Errorf("unchanged run: last progress %+v, want total 1200, 1200 mapped, none written (result %+v)", last, res)
	}
	if len(mapped) < 12 {
		t.Errorf("unchanged run: mapped counts %v, want at least 12 steps", mapped)
	}
}

// A record unchanged at the source and a record the mapping skips are counted apart, in
// the result, the plan and the run's record, and the skip keeps its reason.
func TestUnchangedAndSkippedAreCountedApart(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 60)
	computers := map[string]bool{e.people[10].UUID: true, e.people[20].UUID: true, e.people[30].UUID: true}
	// The three records are computers in this directory: the default mapping skips them.
	rewrite := func(r connector.Record) connector.Record {
		if !computers[r.ID] {
			return r
		}
		attrs := make(map[string][]string, len(r.Attributes))
		for k, v := range r.Attributes {
			attrs[k] = v
		}
		attrs["objectClass"] = []string{"top", "computer"}
		r.Attributes = attrs
		return r
	}
	cfg := e.syncConfig("file", "default", "", "")
	run := func(opts engine.Options) engine.Result {
		t.Helper()
		prep := e.prepare(cfg)
		prep.Sync.Connector = &spoilingConnector{Connector: prep.Sync.Connector, rewrite: rewrite}
		res, err := (&engine.Engine{Store: e.store, Holder: "test"}).Run(context.Background(), prep.Sync, opts)
		if err != nil {
			t.Fatalf("run: %v (result %+v)", err, res)
		}
		return res
	}
	wantSkips := []engine.Skip{{Reason: "computer account", Count: 3, ExampleID: e.people[10].UUID}}

	first := run(engine.Options{})
	checkCounts(t, "first run", first, counts{processed: 60, created: 57, skipped: 3})
	if !slices.Equal(first.Skips, wantSkips) {
		t.Errorf("first run: skips %+v, want %+v", first.Skips, wantSkips)
	}
	plan := run(engine.Options{DryRun: true, PlanDetails: 5})
	checkCounts(t, "plan", plan, counts{processed: 60, unchanged: 57, skipped: 3})
	if !slices.Equal(plan.Skips, wantSkips) {
		t.Errorf("plan: skips %+v, want %+v", plan.Skips, wantSkips)
	}
	second := run(engine.Options{})
	checkCounts(t, "second run", second, counts{processed: 60, unchanged: 57, skipped: 3})

	runs, err := e.store.Runs(context.Background(), "people", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].ID != second.RunID || runs[0].Unchanged != 57 || runs[0].Skipped != 3 ||
		runs[0].Status != store.StatusSucceeded {
		t.Errorf("recorded run %+v, want run %d with unchanged 57, skipped 3", runs, second.RunID)
	}
}

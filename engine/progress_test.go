package engine_test

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

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

// recordsHandler passes each log record it handles to a channel.
type recordsHandler struct{ out chan<- slog.Record }

func (h recordsHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h recordsHandler) Handle(_ context.Context, r slog.Record) error {
	h.out <- r
	return nil
}
func (h recordsHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h recordsHandler) WithGroup(string) slog.Handler      { return h }

// attrsOf returns a record's attributes by key.
func attrsOf(r slog.Record) map[string]slog.Value {
	m := map[string]slog.Value{}
	r.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value
		return true
	})
	return m
}

// A progress line says how things stand when it is logged: while the source stalls
// after a burst, the elapsed time goes on and the rate falls to 0, rather than repeating
// the last snapshot's (issue 13: "rate_per_s=37176 elapsed=0s", three times).
func TestProgressLogWhileTheSourceStalls(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	advance := func(d time.Duration) {
		mu.Lock()
		now = now.Add(d)
		mu.Unlock()
	}
	records := make(chan slog.Record, 1)
	tick := make(chan time.Time)
	l := engine.NewProgressLog(slog.New(recordsHandler{out: records}), clock, tick)
	defer l.Stop()
	line := func() map[string]slog.Value {
		t.Helper()
		tick <- clock()
		return attrsOf(<-records)
	}

	// 10,000 records in the first 500 ms, then nothing.
	for i := int64(1); i <= 10; i++ {
		advance(50 * time.Millisecond)
		l.Update(engine.Progress{Sync: "pipe", Phase: engine.PhaseReading, Read: i * 1000, Mapped: i * 1000,
			Elapsed: time.Duration(i) * 50 * time.Millisecond})
	}
	first := line()
	if got := first["rate_per_s"].Int64(); got != 20000 {
		t.Errorf("rate during the burst: %d/s, want 20000/s", got)
	}
	for i, want := range []struct {
		elapsed time.Duration
		rate    int64
	}{{4 * time.Second, 2857}, {7 * time.Second, 0}, {10 * time.Second, 0}} { // 3.5 s, 6.5 s, 9.5 s
		advance(3 * time.Second)
		got := line()
		if got["elapsed"].Duration() != want.elapsed || got["rate_per_s"].Int64() != want.rate {
			t.Errorf("line %d of the stall: elapsed %v, rate %d/s; want %v and %d/s",
				i+1, got["elapsed"].Duration(), got["rate_per_s"].Int64(), want.elapsed, want.rate)
		}
		if got["mapped"].Int64() != 10000 || got["phase"].String() != engine.PhaseReading {
			t.Errorf("line %d of the stall: %v, want mapped 10000 while reading", i+1, got)
		}
	}
}

// RateMeter's rate is the growth over the last RateWindow.
func TestRateMeter(t *testing.T) {
	t.Parallel()
	var m engine.RateMeter
	t0 := time.Unix(0, 0)
	if r := m.Rate(t0, 5); r != 0 {
		t.Errorf("rate without samples: %v", r)
	}
	for s := range 11 {
		m.Add(t0.Add(time.Duration(s)*time.Second), int64(s)*100) // 100/s for 10 s
	}
	if r := m.Rate(t0.Add(10*time.Second), 1000); r != 100 {
		t.Errorf("steady rate %v, want 100", r)
	}
	m.Add(t0.Add(11*time.Second), 1600) // a burst of 600 in a second
	if r := m.Rate(t0.Add(11*time.Second), 1600); r != 200 {
		t.Errorf("rate after a burst %v, want (1600-600)/5 = 200", r)
	}
	if r := m.Rate(t0.Add(20*time.Second), 1600); r != 0 {
		t.Errorf("rate 9 s into a stall %v, want 0", r)
	}
}

package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/peoplesync/peoplesync/engine"
	"github.com/peoplesync/peoplesync/engine/store"
)

// t0 is where every test's fake clock starts: half a minute before the first tick of an
// "@every 1m" job.
var t0 = time.Date(2030, 1, 1, 10, 0, 30, 0, time.UTC)

// at is t0's day at hh:mm:ss UTC.
func at(hms string) time.Time {
	d, err := time.Parse(time.TimeOnly, hms)
	if err != nil {
		panic(err)
	}
	return time.Date(2030, 1, 1, d.Hour(), d.Minute(), d.Second(), 0, time.UTC)
}

// harness is one scheduler of the job "hr" (full, every minute) over the fakes.
type harness struct {
	t       *testing.T
	clock   *fakeClock
	store   *fakeStore
	conn    *fakeConnector
	prep    *fakePrepare
	logs    *logRecorder
	metrics *Metrics
	sched   *Scheduler
	ended   <-chan JobStatus
}

func newHarness(t *testing.T, opts Options, ids ...string) *harness {
	t.Helper()
	if len(ids) == 0 {
		ids = []string{"ann", "bob"}
	}
	h := &harness{t: t, clock: newFakeClock(t0), store: newFakeStore(), conn: newFakeConnector(ids...), logs: newLogRecorder()}
	h.prep = newFakePrepare(h.conn)
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	h.metrics = m
	job, err := NewJob("hr", ModeFull, "@every 1m", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	opts.Store, opts.Holder, opts.Prepare = h.store, "host-a:1", h.prep.prepare
	opts.Clock, opts.Logger, opts.Metrics = h.clock, slog.New(h.logs), m
	h.sched, err = New([]Job{job}, opts)
	if err != nil {
		t.Fatal(err)
	}
	h.sched.testSignals.runEnded.init()
	h.ended = h.sched.testSignals.runEnded.ch
	t.Cleanup(h.sched.Stop)
	return h
}

func (h *harness) start() {
	h.t.Helper()
	if err := h.sched.Start(h.t.Context()); err != nil {
		h.t.Fatal(err)
	}
}

// tick waits until the scheduler waits for tick, then moves the clock there.
func (h *harness) tick(tick time.Time) {
	h.t.Helper()
	h.clock.waitingFor(h.t, tick)
	h.clock.Set(tick)
}

func (h *harness) status() JobStatus {
	h.t.Helper()
	st := h.sched.Status()
	if len(st) != 1 {
		h.t.Fatalf("status of %d jobs, want 1", len(st))
	}
	return st[0]
}

// noMore fails the test if ch holds anything: the fakes send synchronously with the call
// they record, so a call that happened has sent by the time the test looks.
func noMore[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case v := <-ch:
		t.Errorf("unexpected %s: %+v", what, v)
	default:
	}
}

func (h *harness) noErrorLogs() {
	h.t.Helper()
	for _, l := range h.logs.atLeast(slog.LevelError) {
		h.t.Errorf("error logged: %s %v", l.msg, l.attrs)
	}
}

// A tick runs its sync once: one BeginTickRun for the tick, one read, one Finish, the
// connector released; the status records the run and the loop waits for the next tick.
func TestTickRunsItsSyncOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Options{})
	h.start()
	h.clock.waitingFor(t, at("10:01:00"))
	if st := h.status(); !st.NextTick.Equal(at("10:01:00")) || st.Running || st.LastTick != nil || st.Schedule != "@every 1m" || st.Timezone != "UTC" {
		t.Errorf("status before the first tick: %+v", st)
	}
	h.clock.Set(at("10:01:00"))

	b := recv(t, h.store.begins, "the tick's BeginTickRun")
	if b.err != nil || !b.tick.Equal(at("10:01:00")) || b.sync != "hr" || b.mode != ModeFull || b.holder != "host-a:1" {
		t.Errorf("BeginTickRun %+v", b)
	}
	f := recv(t, h.store.finishes, "the run to finish")
	if f.id != b.id || f.summary.Status != store.StatusSucceeded || f.summary.Created != 2 || f.summary.Processed != 2 {
		t.Errorf("finished %+v, want run %d succeeded with 2 created", f, b.id)
	}
	if name := recv(t, h.prep.released, "the sync's release"); name != "hr" {
		t.Errorf("released %q", name)
	}
	st := recv(t, h.ended, "the run's end in the status")
	if st.Running || st.LastTick == nil || !st.LastTick.Equal(at("10:01:00")) || st.LastRunID != b.id ||
		st.LastStatus != store.StatusSucceeded || st.LastError != "" || st.LastRecordErrors != 0 || !st.NextTick.Equal(at("10:02:00")) {
		t.Errorf("status after the run: %+v", st)
	}
	h.clock.waitingFor(t, at("10:02:00"))
	noMore(t, h.store.begins, "second BeginTickRun")
	recv(t, h.conn.reads, "the read")
	noMore(t, h.conn.reads, "second read")
	if got := testutil.ToFloat64(h.metrics.runs.WithLabelValues("hr", ModeFull, store.StatusSucceeded)); got != 1 {
		t.Errorf("runs_total{succeeded} %v, want 1", got)
	}
	if got := testutil.ToFloat64(h.metrics.lockHeld.WithLabelValues("hr")); got != 0 {
		t.Errorf("lock_held %v after the run, want 0", got)
	}
	h.noErrorLogs()
}

// A tick that comes while the job's previous run still runs is skipped, with a warning,
// and not queued: the next run is the next tick's.
func TestTickWhilePreviousRunRunsIsSkipped(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Options{})
	h.conn.proceed = make(chan struct{})
	h.start()
	h.tick(at("10:01:00"))
	first := recv(t, h.store.begins, "the first tick's BeginTickRun")
	recv(t, h.conn.reads, "the first run's read")
	if st := h.status(); !st.Running || !st.LastTick.Equal(at("10:01:00")) || !st.NextTick.Equal(at("10:02:00")) {
		t.Errorf("status while running: %+v", st)
	}

	h.tick(at("10:02:00"))
	skipped := h.logs.waitFor(t, "tick skipped: the previous run of this job is still going", 1)
	if skipped[0].level != slog.LevelWarn || skipped[0].attrs["tick"] != "2030-01-01T10:02:00Z" {
		t.Errorf("skip logged as %+v", skipped[0])
	}
	h.clock.waitingFor(t, at("10:03:00"))
	noMore(t, h.store.begins, "BeginTickRun for the skipped tick")
	if st := h.status(); !st.Running || !st.LastTick.Equal(at("10:01:00")) || !st.NextTick.Equal(at("10:03:00")) {
		t.Errorf("status after the skip: %+v", st)
	}

	h.conn.proceed <- struct{}{}
	if f := recv(t, h.store.finishes, "the first run to finish"); f.id != first.id || f.summary.Status != store.StatusSucceeded {
		t.Errorf("first run finished %+v", f)
	}
	recv(t, h.ended, "the first run's end")
	h.tick(at("10:03:00"))
	if b := recv(t, h.store.begins, "the next tick's BeginTickRun"); !b.tick.Equal(at("10:03:00")) || b.err != nil {
		t.Errorf("after the skip BeginTickRun %+v, want tick 10:03", b)
	}
	h.conn.proceed <- struct{}{}
	recv(t, h.store.finishes, "the second run to finish")
	h.noErrorLogs()
}

// A tick that fires late (the process was suspended, the clock jumped) runs once, and
// the loop goes on with the coming tick rather than with a backlog of missed ones.
func TestLateTickSkipsToTheComingTick(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Options{})
	h.conn.proceed = make(chan struct{}) // the late run stays running while the loop moves on
	h.start()
	h.clock.waitingFor(t, at("10:01:00"))
	h.clock.Set(at("10:05:30"))
	if b := recv(t, h.store.begins, "the late tick's BeginTickRun"); !b.tick.Equal(at("10:01:00")) {
		t.Errorf("late run for tick %s, want the tick that was due (10:01)", b.tick.Format(time.TimeOnly))
	}
	if w := h.clock.waitingFor(t, at("10:06:00")); len(w) != 1 {
		t.Errorf("the scheduler waits for %v, want only the coming tick", w)
	}
	if st := h.status(); !st.NextTick.Equal(at("10:06:00")) || !st.Running {
		t.Errorf("status after the late tick: %+v, want running, next tick 10:06", st)
	}
	// The missed ticks 10:02 … 10:05 were neither run nor skipped one by one.
	if l := h.logs.with("tick skipped: the previous run of this job is still going"); len(l) != 0 {
		t.Errorf("missed ticks went through the loop: %d skipped", len(l))
	}
	h.conn.proceed <- struct{}{}
	recv(t, h.store.finishes, "the late run to finish")
	recv(t, h.ended, "the late run's end")
	noMore(t, h.store.begins, "a backlog tick's BeginTickRun")
	h.tick(at("10:06:00"))
	if b := recv(t, h.store.begins, "the coming tick's BeginTickRun"); !b.tick.Equal(at("10:06:00")) {
		t.Errorf("then tick %s, want 10:06", b.tick.Format(time.TimeOnly))
	}
	h.conn.proceed <- struct{}{}
	recv(t, h.store.finishes, "the coming tick's run")
}

// A sync locked by another replica's run is tried again every RetryEvery while the next
// tick is not due; then the tick is given up, which is not an error, and the next tick
// runs once the lock is free.
func TestLockedSyncIsRetriedUntilTheNextTick(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Options{RetryEvery: 7 * time.Second})
	h.store.set(func(s *fakeStore) { s.lockedElsewhere = true })
	h.start()
	h.tick(at("10:01:00"))
	// Tries at :00, :07, … :56; the one after would be past 10:02.
	const tries = 9
	for i := range tries {
		when := at("10:01:00").Add(time.Duration(i) * 7 * time.Second)
		b := recv(t, h.store.begins, "a try")
		if !errors.Is(b.err, store.ErrLocked) || !b.tick.Equal(at("10:01:00")) || !h.clock.Now().Equal(when) {
			t.Fatalf("try %d at %s: %+v, want tick 10:01 locked at %s", i, h.clock.Now().Format(time.TimeOnly), b, when.Format(time.TimeOnly))
		}
		if i < tries-1 {
			h.tick(when.Add(7 * time.Second))
		}
	}
	h.logs.waitFor(t, "tick not run: the sync stayed locked by another run until the next tick", 1)
	st := recv(t, h.ended, "the given-up tick's end")
	if st.Running || st.LastRunID != 0 || st.LastStatus != "" || st.LastError != "" {
		t.Errorf("status after giving up: %+v", st)
	}
	if n := len(h.logs.with("sync locked by another run; retrying")); n != tries {
		t.Errorf("%d retry logs, want %d", n, tries)
	}
	noMore(t, h.prep.prepared, "Prepare of a locked sync")
	if w := h.clock.waitingFor(t, at("10:02:00")); len(w) != 1 {
		t.Errorf("after giving up the scheduler waits for %v, want only the next tick", w)
	}

	h.store.set(func(s *fakeStore) { s.lockedElsewhere = false })
	h.tick(at("10:02:00"))
	if b := recv(t, h.store.begins, "the next tick's BeginTickRun"); b.err != nil || !b.tick.Equal(at("10:02:00")) {
		t.Errorf("next tick: %+v", b)
	}
	recv(t, h.store.finishes, "the next tick's run")
	h.noErrorLogs()
}

// ErrTickTaken means another replica ran the tick: nothing runs, nothing is an error.
func TestTickTakenByAnotherReplicaIsNotAnError(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Options{})
	h.store.takeTick("hr", ModeFull, at("10:01:00"))
	h.start()
	h.tick(at("10:01:00"))
	if b := recv(t, h.store.begins, "BeginTickRun"); !errors.Is(b.err, store.ErrTickTaken) {
		t.Fatalf("BeginTickRun %+v, want ErrTickTaken", b)
	}
	st := recv(t, h.ended, "the taken tick's end")
	if st.LastRunID != 0 || st.LastStatus != "" || st.LastError != "" || st.Running {
		t.Errorf("status: %+v", st)
	}
	if l := h.logs.with("tick already run by a replica"); len(l) != 1 || l[0].level != slog.LevelDebug {
		t.Errorf("taken tick logged %+v, want one debug line", l)
	}
	noMore(t, h.prep.prepared, "Prepare of a taken tick")
	h.noErrorLogs()
}

// Stop interrupts a running run (its context's cause is engine.ErrShutdown), waits until
// it has recorded itself, and may be called again; a stopped scheduler does not start.
func TestStopInterruptsAndWaitsForTheRun(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Options{})
	h.conn.proceed = make(chan struct{}) // the read waits until it is cancelled
	gate := make(chan struct{})
	h.store.set(func(s *fakeStore) { s.finishGate = gate })
	h.start()
	h.tick(at("10:01:00"))
	b := recv(t, h.store.begins, "BeginTickRun")
	readCtx := recv(t, h.conn.reads, "the run's read")

	stopped := make(chan struct{})
	go func() {
		h.sched.Stop()
		close(stopped)
	}()
	f := recv(t, h.store.finishes, "the interrupted run to record itself")
	if f.id != b.id || f.summary.Status != store.StatusFailed || f.summary.Message != engine.ErrShutdown.Error() {
		t.Errorf("interrupted run finished %+v, want failed %q", f, engine.ErrShutdown)
	}
	if cause := context.Cause(readCtx); !errors.Is(cause, engine.ErrShutdown) {
		t.Errorf("the read's context ended with %v, want engine.ErrShutdown", cause)
	}
	select {
	case <-stopped:
		t.Fatal("Stop returned before the run finished recording itself")
	default:
	}
	close(gate)
	recv(t, stopped, "Stop to return")
	recv(t, h.prep.released, "the sync's release")
	if st := h.status(); st.Running || st.LastStatus != store.StatusFailed || st.LastError == "" {
		t.Errorf("status after Stop: %+v", st)
	}

	again := make(chan struct{})
	go func() {
		h.sched.Stop()
		close(again)
	}()
	recv(t, again, "a second Stop to return")
	if err := h.sched.Start(t.Context()); err == nil {
		t.Error("a stopped scheduler started again")
	}
	h.clock.Set(at("10:30:00"))
	noMore(t, h.store.begins, "BeginTickRun after Stop")
}

// Stop before Start returns at once, any number of times, and the scheduler then refuses
// to start; Start twice is refused too.
func TestStopBeforeStart(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Options{})
	done := make(chan struct{})
	go func() {
		h.sched.Stop()
		h.sched.Stop()
		close(done)
	}()
	recv(t, done, "Stop before Start to return")
	if err := h.sched.Start(t.Context()); err == nil || !strings.Contains(err.Error(), "stopped") {
		t.Errorf("Start after Stop: %v, want refused", err)
	}
	if p := h.clock.pending(); len(p) != 0 {
		t.Errorf("a stopped scheduler waits for %v", p)
	}

	h2 := newHarness(t, Options{})
	h2.start()
	if err := h2.sched.Start(t.Context()); err == nil {
		t.Error("Start twice was accepted")
	}
}

// The end of Start's context stops the scheduler as Stop does: a running run is
// interrupted with engine.ErrShutdown.
func TestStartContextEndInterruptsRuns(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Options{})
	h.conn.proceed = make(chan struct{})
	ctx, cancel := context.WithCancel(t.Context())
	if err := h.sched.Start(ctx); err != nil {
		t.Fatal(err)
	}
	h.tick(at("10:01:00"))
	readCtx := recv(t, h.conn.reads, "the run's read")
	cancel()
	if f := recv(t, h.store.finishes, "the run to record itself"); f.summary.Message != engine.ErrShutdown.Error() {
		t.Errorf("run finished %+v, want %q", f, engine.ErrShutdown)
	}
	if cause := context.Cause(readCtx); !errors.Is(cause, engine.ErrShutdown) {
		t.Errorf("cause %v, want engine.ErrShutdown", cause)
	}
	h.sched.Stop()
}

// Status follows the job: a run with record errors (completed_with_errors, the count
// an operator alerts on), then a run that cannot begin (the store's error), then a clean
// run that brings the count back to zero.
func TestStatusReflectsTheLastRun(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Options{}, "ann", "bad-bob", "cy")
	h.start()
	h.tick(at("10:01:00"))
	b := recv(t, h.store.begins, "the first BeginTickRun")
	if f := recv(t, h.store.finishes, "the first run"); f.summary.Status != store.StatusCompletedWithErrors || f.summary.Errors != 1 || f.summary.Created != 2 {
		t.Errorf("first run finished %+v, want completed_with_errors, 1 error, 2 created", f.summary)
	}
	st := recv(t, h.ended, "the first run's end")
	if st.LastRunID != b.id || st.LastStatus != store.StatusCompletedWithErrors || st.LastRecordErrors != 1 || st.LastError != "" {
		t.Errorf("status after a run with record errors: %+v", st)
	}
	if got := testutil.ToFloat64(h.metrics.lastErrors.WithLabelValues("hr", ModeFull)); got != 1 {
		t.Errorf("last_run_record_errors %v, want 1", got)
	}

	h.store.set(func(s *fakeStore) { s.beginErr = errors.New("connection refused") })
	h.tick(at("10:02:00"))
	recv(t, h.store.begins, "the second BeginTickRun")
	st = recv(t, h.ended, "the failed begin's end")
	if !strings.Contains(st.LastError, "connection refused") || st.Running || !st.LastTick.Equal(at("10:02:00")) {
		t.Errorf("status after a failed begin: %+v", st)
	}
	if l := h.logs.with("cannot begin the run"); len(l) != 1 || l[0].level != slog.LevelError {
		t.Errorf("failed begin logged %+v", l)
	}

	h.store.set(func(s *fakeStore) { s.beginErr = nil })
	h.conn.records = h.conn.records[:1] // ann only; the runs are over, nothing reads it
	h.tick(at("10:03:00"))
	b = recv(t, h.store.begins, "the third BeginTickRun")
	recv(t, h.store.finishes, "the third run")
	st = recv(t, h.ended, "the third run's end")
	if st.LastRunID != b.id || st.LastStatus != store.StatusSucceeded || st.LastRecordErrors != 0 || st.LastError != "" {
		t.Errorf("status after a clean run: %+v", st)
	}
}

// A sync that cannot be readied (its connector does not start) records a failed run
// with the reason, counts it in the metrics and leaves the lock free; when it is
// shutdown that stops it, the run says so instead.
func TestPrepareFailureRecordsAFailedRun(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Options{})
	h.prep.set(func(p *fakePrepare) { p.fail = errors.New("connector exited: no such file") })
	h.start()
	h.tick(at("10:01:00"))
	b := recv(t, h.store.begins, "BeginTickRun")
	f := recv(t, h.store.finishes, "the failed run to record itself")
	want := "cannot start the sync: connector exited: no such file"
	if f.id != b.id || f.summary.Status != store.StatusFailed || f.summary.Message != want {
		t.Errorf("run finished %+v, want failed %q", f, want)
	}
	st := recv(t, h.ended, "the failed run's end")
	if st.LastRunID != b.id || st.LastStatus != store.StatusFailed || st.LastError != want {
		t.Errorf("status: %+v", st)
	}
	noMore(t, h.prep.released, "release of a sync that was never readied")
	if got := testutil.ToFloat64(h.metrics.runs.WithLabelValues("hr", ModeFull, store.StatusFailed)); got != 1 {
		t.Errorf("runs_total{failed} %v, want 1", got)
	}
	if got := testutil.ToFloat64(h.metrics.lockHeld.WithLabelValues("hr")); got != 0 {
		t.Errorf("lock_held %v, want 0", got)
	}

	// Shutdown while the connector starts: the run is recorded as interrupted.
	h.prep.set(func(p *fakePrepare) { p.fail, p.hold = nil, true })
	h.tick(at("10:02:00"))
	recv(t, h.prep.prepared, "the first Prepare") // the failed one
	recv(t, h.prep.prepared, "the second Prepare")
	h.sched.Stop()
	if f := recv(t, h.store.finishes, "the interrupted run"); f.summary.Status != store.StatusFailed || f.summary.Message != engine.ErrShutdown.Error() {
		t.Errorf("run stopped while preparing finished %+v, want %q", f.summary, engine.ErrShutdown)
	}
}

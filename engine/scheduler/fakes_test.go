package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peoplesync/peoplesync/engine"
	"github.com/peoplesync/peoplesync/engine/mapper"
	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

// The fakes below stand in for the store, the connector and the mapping: the scheduler's
// loop logic is what these tests are about; the store's lock and tick semantics have
// their own conformance suite (engine/store/storetest). Each fake sends on a buffered
// channel at the moment a test may wait for.

// beginCall is one BeginTickRun and what it returned.
type beginCall struct {
	sync, mode, holder string
	tick               time.Time
	id                 int64 // the run's ID, 0 if err
	err                error
}

// finishCall is one run's Finish.
type finishCall struct {
	id      int64
	summary store.Summary
}

// fakeStore is a store with no profiles whose BeginTickRun follows the real rules: a
// tick that has a run is taken (ErrTickTaken), a sync whose lock is held is locked
// (ErrLocked). Methods the scheduler and the engine do not call on an empty sync are
// left to the nil embedded Store: calling one panics.
type fakeStore struct {
	store.Store

	mu sync.Mutex
	// lockedElsewhere: another replica holds every sync's lock.
	lockedElsewhere bool
	// beginErr, if set, is what BeginTickRun fails with.
	beginErr error
	// finishGate, if set, holds every Finish until it is closed.
	finishGate chan struct{}
	held       map[string]bool
	ticks      map[string]bool // sync/mode/tick that have a run
	lastID     int64

	begins   chan beginCall
	finishes chan finishCall
}

func newFakeStore() *fakeStore {
	return &fakeStore{
		held: map[string]bool{}, ticks: map[string]bool{},
		begins: make(chan beginCall, 64), finishes: make(chan finishCall, 64),
	}
}

func tickKey(sync, mode string, tick time.Time) string {
	return sync + "/" + mode + "/" + tick.UTC().Format(time.RFC3339Nano)
}

// takeTick records a run of the tick, as another replica that ran it would have.
func (s *fakeStore) takeTick(sync, mode string, tick time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ticks[tickKey(sync, mode, tick)] = true
}

func (s *fakeStore) set(f func(*fakeStore)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *fakeStore) BeginTickRun(ctx context.Context, sync, mode, holder string, tick time.Time) (store.Run, error) {
	s.mu.Lock()
	call := beginCall{sync: sync, mode: mode, holder: holder, tick: tick}
	var run store.Run
	switch {
	case s.beginErr != nil:
		call.err = s.beginErr
	case s.ticks[tickKey(sync, mode, tick)]:
		call.err = fmt.Errorf("sync %q tick %s: %w", sync, tick.Format(time.RFC3339), store.ErrTickTaken)
	case s.lockedElsewhere || s.held[sync]:
		call.err = fmt.Errorf("sync %q: %w", sync, store.ErrLocked)
	default:
		s.lastID++
		s.held[sync] = true
		s.ticks[tickKey(sync, mode, tick)] = true
		call.id = s.lastID
		run = &fakeRun{store: s, id: s.lastID, sync: sync}
	}
	s.mu.Unlock()
	s.begins <- call
	return run, call.err
}

func (s *fakeStore) LinkSources(context.Context, string, func([]byte, []byte, bool) error) error {
	return nil
}

func (s *fakeStore) Lookup(context.Context, string, []string) (map[string]store.Stored, error) {
	return map[string]store.Stored{}, nil
}

func (s *fakeStore) LiveExternalIDs(context.Context, string, func(string) error) error { return nil }

func (s *fakeStore) Runs(context.Context, string, int) ([]store.RunInfo, error) { return nil, nil }

func (s *fakeStore) Cursor(context.Context, string) (string, error) { return "", nil }
func (s *fakeStore) LinkedSyncs(context.Context) ([]string, error)  { return nil, nil }

// fakeRun is one run's hold on its sync's lock in a fakeStore.
type fakeRun struct {
	store *fakeStore
	id    int64
	sync  string
}

func (r *fakeRun) ID() int64 { return r.id }

func (r *fakeRun) Apply(_ context.Context, changes []store.Change) (store.ApplyResult, error) {
	return store.ApplyResult{Created: len(changes)}, nil
}

func (r *fakeRun) SetSourceHashes(context.Context, map[string][]byte) error { return nil }
func (r *fakeRun) Rematch(context.Context) (int, error)                     { return 0, nil }
func (r *fakeRun) SoftDelete(context.Context, []string) (int, error)        { return 0, nil }
func (r *fakeRun) ResolveManagers(context.Context, []string) (int, error)   { return 0, nil }
func (r *fakeRun) RecordErrors(context.Context, []store.RecordError) error  { return nil }
func (r *fakeRun) Adopt(context.Context, []string) ([]store.Adopted, error) { return nil, nil }

func (r *fakeRun) Finish(_ context.Context, sum store.Summary) error {
	r.store.mu.Lock()
	gate := r.store.finishGate
	r.store.mu.Unlock()
	r.store.finishes <- finishCall{id: r.id, summary: sum}
	if gate != nil {
		<-gate
	}
	r.store.mu.Lock()
	delete(r.store.held, r.sync)
	r.store.mu.Unlock()
	return nil
}

// fakeConnector is an in-process connector that reads its records. If proceed is set,
// each read waits for a value from it (or for its context to end) before it sends
// anything: the test decides when a run gets on.
type fakeConnector struct {
	records []connector.Record
	proceed chan struct{}
	// reads receives the context of every read as it starts.
	reads chan context.Context
}

func newFakeConnector(ids ...string) *fakeConnector {
	c := &fakeConnector{reads: make(chan context.Context, 64)}
	for _, id := range ids {
		c.records = append(c.records, connector.Record{ID: id, DN: "uid=" + id,
			Attributes: map[string][]string{"uid": {id}}})
	}
	return c
}

func (c *fakeConnector) Describe(context.Context) (connector.Description, error) {
	return connector.Description{Name: "fake"}, nil
}

func (c *fakeConnector) Configure(context.Context, json.RawMessage) (connector.Diagnostics, error) {
	return nil, nil
}

func (c *fakeConnector) Check(context.Context) error { return nil }

func (c *fakeConnector) Read(ctx context.Context, _ connector.ReadRequest, emit connector.EmitFunc) (connector.ReadResult, error) {
	c.reads <- ctx
	if c.proceed != nil {
		select {
		case <-c.proceed:
		case <-ctx.Done():
			return connector.ReadResult{}, context.Cause(ctx)
		}
	}
	for _, r := range c.records {
		if err := emit(r); err != nil {
			return connector.ReadResult{}, err
		}
	}
	return connector.ReadResult{Count: int64(len(c.records))}, nil
}

// fakeMapper maps a record to a profile whose user name is its ID; a record whose ID
// starts with "bad" fails its mapping.
type fakeMapper struct{}

func (fakeMapper) Identity() []byte { return []byte("fake mapping") }

func (fakeMapper) MapInputs(_ context.Context, in []mapper.Input) []mapper.Result {
	out := make([]mapper.Result, len(in))
	for i, r := range in {
		id := r.Raw.ID(r.I)
		if strings.HasPrefix(id, "bad") {
			out[i].Err = fmt.Errorf("%w: %s is bad", mapper.ErrMapping, id)
			continue
		}
		p := &profile.Profile{Active: true}
		p.Set(profile.UserName, id)
		out[i].Profile = p
	}
	return out
}

// fakePrepare readies the fake connector and mapping as a sync, or fails with fail.
type fakePrepare struct {
	conn *fakeConnector
	mu   sync.Mutex
	fail error
	// hold, if set, makes Prepare wait until its context ends, then fail with its cause
	// (a connector that does not start before shutdown).
	hold bool

	prepared chan context.Context
	released chan string
}

func newFakePrepare(conn *fakeConnector) *fakePrepare {
	return &fakePrepare{conn: conn, prepared: make(chan context.Context, 64), released: make(chan string, 64)}
}

func (p *fakePrepare) set(f func(*fakePrepare)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

func (p *fakePrepare) prepare(ctx context.Context, name string) (*engine.Sync, func(), error) {
	p.mu.Lock()
	fail, hold := p.fail, p.hold
	p.mu.Unlock()
	p.prepared <- ctx
	if hold {
		<-ctx.Done()
		return nil, nil, context.Cause(ctx)
	}
	if fail != nil {
		return nil, nil, fail
	}
	s := &engine.Sync{Name: name, Connector: p.conn, Mapper: fakeMapper{}, BatchSize: 100, Guard: engine.DefaultGuard}
	return s, func() { p.released <- name }, nil
}

// logRecorder is a slog.Handler that keeps every record, so that a test can wait for a
// log line as a signal and look at what it says.
type logRecorder struct {
	shared *logRecords
	attrs  []slog.Attr
}

type logRecords struct {
	mu      sync.Mutex
	lines   []logLine
	changed chan struct{}
}

// logLine is one record: its level, message and attributes (with the logger's).
type logLine struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

func newLogRecorder() *logRecorder {
	return &logRecorder{shared: &logRecords{changed: make(chan struct{})}}
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l := logLine{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	for _, a := range h.attrs {
		l.attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		l.attrs[a.Key] = a.Value.String()
		return true
	})
	s := h.shared
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lines = append(s.lines, l)
	close(s.changed)
	s.changed = make(chan struct{})
	return nil
}

func (h *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &logRecorder{shared: h.shared, attrs: append(slices.Clip(h.attrs), as...)}
}

func (h *logRecorder) WithGroup(string) slog.Handler { return h }

// with returns the lines with the message msg.
func (h *logRecorder) with(msg string) []logLine {
	s := h.shared
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []logLine
	for _, l := range s.lines {
		if l.msg == msg {
			out = append(out, l)
		}
	}
	return out
}

// atLeast returns the lines at level or above.
func (h *logRecorder) atLeast(level slog.Level) []logLine {
	s := h.shared
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []logLine
	for _, l := range s.lines {
		if l.level >= level {
			out = append(out, l)
		}
	}
	return out
}

// waitFor waits until n lines with the message msg have been logged and returns them.
func (h *logRecorder) waitFor(t *testing.T, msg string, n int) []logLine {
	t.Helper()
	end := testDeadline(t)
	for {
		h.shared.mu.Lock()
		changed := h.shared.changed
		h.shared.mu.Unlock()
		if l := h.with(msg); len(l) >= n {
			return l
		}
		select {
		case <-changed:
		case <-end:
			t.Fatalf("timed out waiting for %d log lines %q", n, msg)
		}
	}
}

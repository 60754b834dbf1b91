package engine_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/peoplesync/peoplesync/engine"
	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/protocol"
)

// countingStore counts the store reads that a full read's index of links saves. With
// loadAfter set, it loads the links only once loadAfter is closed; with loadAfterLookups
// set too, it closes loadAfter itself once it has looked up that many external IDs.
type countingStore struct {
	store.Store
	lookedUp, liveLists atomic.Int64
	loadAfter           chan struct{}
	loadAfterLookups    int64
	lookupsDone         sync.Once
}

func (c *countingStore) LinkSources(ctx context.Context, sync string, fn func(ext, src []byte, deleted bool) error) error {
	if c.loadAfter != nil {
		select {
		case <-c.loadAfter:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return c.Store.LinkSources(ctx, sync, fn)
}

// signallingConnector closes done once its read has returned every record.
type signallingConnector struct {
	connector.Connector
	done chan struct{}
}

func (s *signallingConnector) Read(ctx context.Context, req connector.ReadRequest, emit connector.EmitFunc) (connector.ReadResult, error) {
	defer close(s.done)
	return s.Connector.Read(ctx, req, emit)
}

// ReadRaw keeps the raw path of the plugin client under test.
func (s *signallingConnector) ReadRaw(ctx context.Context, req connector.ReadRequest, fn func(*protocol.RawBatch) error) (connector.ReadResult, error) {
	defer close(s.done)
	return s.Connector.(protocol.RawReader).ReadRaw(ctx, req, fn)
}

func (c *countingStore) Lookup(ctx context.Context, sync string, ids []string) (map[string]store.Stored, error) {
	stored, err := c.Store.Lookup(ctx, sync, ids)
	if n := c.lookedUp.Add(int64(len(ids))); c.loadAfterLookups > 0 && n >= c.loadAfterLookups {
		c.lookupsDone.Do(func() { close(c.loadAfter) })
	}
	return stored, err
}

func (c *countingStore) LiveExternalIDs(ctx context.Context, sync string, fn func(string) error) error {
	c.liveLists.Add(1)
	return c.Store.LiveExternalIDs(ctx, sync, fn)
}

// A full read loads the sync's links once and looks up only the records that changed at
// the source: none in a first run (everyone is new) or an unchanged one, which also need
// not list the live profiles to find deletions. Removed and returning people are still
// deleted and restored. The links load only once the connector has returned every
// record: the batches that come before are held back for the index, not looked up.
// (Without the index an unchanged run looks up all 300.)
func TestFullReadLooksUpOnlyChangedRecords(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 300)
	cfg := e.syncConfig("file", "default", "", "batch_size = 50")
	cs := &countingStore{Store: e.store}
	run := func(what string, want counts, lookups, lists int64) {
		t.Helper()
		ctx := context.Background()
		prep := e.prepare(cfg)
		cs.lookedUp.Store(0)
		cs.liveLists.Store(0)
		cs.loadAfter = make(chan struct{})
		prep.Sync.Connector = &signallingConnector{Connector: prep.Sync.Connector, done: cs.loadAfter}
		res, err := (&engine.Engine{Store: cs, Holder: "test"}).Run(ctx, prep.Sync, engine.Options{})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		checkCounts(t, what, res, want)
		if got := cs.lookedUp.Load(); got != lookups {
			t.Errorf("%s: looked up %d external IDs, want %d", what, got, lookups)
		}
		if got := cs.liveLists.Load(); got != lists {
			t.Errorf("%s: listed the live profiles %d times, want %d", what, got, lists)
		}
	}
	run("first run", counts{processed: 300, created: 300}, 0, 0)
	run("unchanged run", counts{processed: 300, unchanged: 300}, 0, 0)

	e.people[7].Title = "Chief Cartographer"
	removed := append(e.people[:0:0], e.people[290:]...)
	e.people = e.people[:290]
	e.writeDirectory()
	run("one changed, ten removed", counts{processed: 290, updated: 1, unchanged: 289, deleted: 10}, 1, 1)

	e.people = append(e.people, removed...)
	e.writeDirectory()
	// The ten return: their links are known but their profiles deleted, so they are looked
	// up (and restored).
	run("ten returned", counts{processed: 300, updated: 10, unchanged: 290}, 10, 0)
	stored := e.profiles([]string{removed[0].UUID})
	if sp := stored[removed[0].UUID]; sp.DeletedAt != nil {
		t.Fatalf("%s not restored", removed[0].UID)
	}
	run("unchanged again", counts{processed: 300, unchanged: 300}, 0, 0)
}

// A read that outgrows the backlog while the links load stops holding batches back: they
// are looked up instead, and the run is as right as with the index. (The links load only
// once every record was looked up: a read that waited for them would time out.)
func TestFullReadBacklogFull(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 300)
	cfg := e.syncConfig("file", "default", "", "batch_size = 50")
	run := func(what string, want counts) {
		t.Helper()
		prep := e.prepare(cfg)
		cs := &countingStore{Store: e.store, loadAfter: make(chan struct{}), loadAfterLookups: want.processed}
		eng := &engine.Engine{Store: cs, Holder: "test"}
		engine.SetBacklogLimit(eng, 1) // no batch fits
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res, err := eng.Run(ctx, prep.Sync, engine.Options{})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		checkCounts(t, what, res, want)
		if got := cs.lookedUp.Load(); got != want.processed {
			t.Errorf("%s: looked up %d external IDs, want %d", what, got, want.processed)
		}
	}
	run("first run", counts{processed: 300, created: 300})
	run("unchanged run", counts{processed: 300, unchanged: 300})
	e.people[7].Title = "Chief Cartographer"
	e.writeDirectory()
	run("one changed", counts{processed: 300, updated: 1, unchanged: 299})
	// The IDs seen before the links loaded count as seen once they have: only the people
	// removed are deleted.
	e.people = e.people[:290]
	e.writeDirectory()
	run("ten removed", counts{processed: 290, unchanged: 290, deleted: 10})
}

// stallingConnector is a directory that goes quiet: once the batches it passed on hold
// `after` records, its read waits until the run is cancelled, and stalled is closed.
type stallingConnector struct {
	connector.Connector
	after   int
	stalled chan struct{}
}

func (s *stallingConnector) ReadRaw(ctx context.Context, req connector.ReadRequest, fn func(*protocol.RawBatch) error) (connector.ReadResult, error) {
	n := 0
	return s.Connector.(protocol.RawReader).ReadRaw(ctx, req, func(b *protocol.RawBatch) error {
		if err := fn(b); err != nil {
			return err
		}
		if n += b.Len(); n >= s.after {
			close(s.stalled)
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	})
}

// applySignallingStore closes applied once the run has written `want` changes.
type applySignallingStore struct {
	*countingStore
	want    int64
	written atomic.Int64
	applied chan struct{}
	once    sync.Once
}

func (a *applySignallingStore) BeginRun(ctx context.Context, sync, mode, holder string) (store.Run, error) {
	r, err := a.countingStore.BeginRun(ctx, sync, mode, holder)
	if err != nil {
		return nil, err
	}
	return &applySignallingRun{Run: r, s: a}, nil
}

type applySignallingRun struct {
	store.Run
	s *applySignallingStore
}

func (r *applySignallingRun) Apply(ctx context.Context, changes []store.Change) (store.ApplyResult, error) {
	res, err := r.Run.Apply(ctx, changes)
	if err == nil && r.s.written.Add(int64(len(changes))) >= r.s.want {
		r.s.once.Do(func() { close(r.s.applied) })
	}
	return res, err
}

// The batches a full read held back while the links loaded are written as soon as the
// links are loaded, even when the connector sends nothing more: a directory that goes
// quiet mid-read (a slow page, a pipe) must not leave what it sent unwritten. (Before,
// they waited for the connector's next batch, and a SIGTERM found nothing written.)
func TestHeldBatchesWrittenOnceLinksLoad(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 120)
	cfg := e.syncConfig("file", "default", "", "batch_size = 50")
	prep := e.prepare(cfg)
	stalled := make(chan struct{})
	// The links load only once the read has stalled: both full batches are held by then.
	cs := &countingStore{Store: e.store, loadAfter: stalled}
	ss := &applySignallingStore{countingStore: cs, want: 100, applied: make(chan struct{})}
	prep.Sync.Connector = &stallingConnector{Connector: prep.Sync.Connector, after: 100, stalled: stalled}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := (&engine.Engine{Store: ss, Holder: "test"}).Run(ctx, prep.Sync, engine.Options{})
		done <- err
	}()
	// No clock of its own: on a busy machine the first mapping alone can take a minute.
	// Without the fix the writes never come, and the test binary's deadline ends the wait.
	var deadline <-chan time.Time
	if d, ok := t.Deadline(); ok {
		deadline = time.After(time.Until(d) - 30*time.Second)
	}
	select {
	case <-ss.applied:
	case err := <-done:
		t.Fatalf("run ended before writing the held batches: %v", err)
	case <-deadline:
		t.Fatal("the two held batches were not written while the connector waited")
	}
	cancel()
	if err := <-done; err == nil {
		t.Fatal("a cancelled run returned no error")
	}
	live, err := e.store.ListProfiles(context.Background(), "people", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 100 {
		t.Errorf("%d profiles after the cancelled run, want the 100 of its two whole batches", len(live))
	}
}

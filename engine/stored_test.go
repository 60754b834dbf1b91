package engine_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/peoplesync/peoplesync/engine"
	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/sdk/connector"
)

// countingStore counts the store reads that a full read's index of links saves, and
// closes loaded once the links are loaded.
type countingStore struct {
	store.Store
	lookedUp, liveLists atomic.Int64
	loaded              chan struct{}
}

func (c *countingStore) LinkSources(ctx context.Context, sync string, fn func(ext, src []byte, deleted bool) error) error {
	defer close(c.loaded)
	return c.Store.LinkSources(ctx, sync, fn)
}

// gatedConnector starts reading only once gate is closed: a test's way to have the
// links loaded before the first batch, which a local LDIF read under load may beat.
type gatedConnector struct {
	connector.Connector
	gate <-chan struct{}
}

func (g *gatedConnector) Read(ctx context.Context, req connector.ReadRequest, emit connector.EmitFunc) (connector.ReadResult, error) {
	<-g.gate
	return g.Connector.Read(ctx, req, emit)
}

// ReadRaw keeps the raw path of the plugin client under test.
func (g *gatedConnector) ReadRaw(ctx context.Context, req connector.ReadRequest, fn func(*connector.RawBatch) error) (connector.ReadResult, error) {
	<-g.gate
	return g.Connector.(connector.RawReader).ReadRaw(ctx, req, fn)
}

func (c *countingStore) Lookup(ctx context.Context, sync string, ids []string) (map[string]store.Stored, error) {
	c.lookedUp.Add(int64(len(ids)))
	return c.Store.Lookup(ctx, sync, ids)
}

func (c *countingStore) LiveExternalIDs(ctx context.Context, sync string, fn func(string) error) error {
	c.liveLists.Add(1)
	return c.Store.LiveExternalIDs(ctx, sync, fn)
}

// A full read loads the sync's links once and looks up only the records that changed at
// the source: none in a first run (everyone is new) or an unchanged one, which also need
// not list the live profiles to find deletions. Removed and returning people are still
// deleted and restored. (The read starts once the links are loaded; the counts still
// allow two batches of 50 of slack, for the moment between loading and indexing them.
// Without the index an unchanged run looks up all 300.)
func TestFullReadLooksUpOnlyChangedRecords(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 300)
	cfg := e.syncConfig("file", "default", "", "batch_size = 50")
	const slack = 2 * 50
	cs := &countingStore{Store: e.store}
	run := func(what string, want counts, lookups, lists int64) {
		// lookups is the number the index alone leaves; up to slack more are allowed.
		t.Helper()
		ctx := context.Background()
		prep := e.prepare(cfg)
		cs.lookedUp.Store(0)
		cs.liveLists.Store(0)
		cs.loaded = make(chan struct{})
		prep.Sync.Connector = &gatedConnector{Connector: prep.Sync.Connector, gate: cs.loaded}
		res, err := (&engine.Engine{Store: cs, Holder: "test"}).Run(ctx, prep.Sync, engine.Options{})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		checkCounts(t, what, res, want)
		if got := cs.lookedUp.Load(); got < lookups || got > lookups+slack {
			t.Errorf("%s: looked up %d external IDs, want %d (up to %d)", what, got, lookups, lookups+slack)
		}
		if got := cs.liveLists.Load(); got != lists {
			t.Errorf("%s: listed the live profiles %d times, want %d", what, got, lists)
		}
	}
	run("first run", counts{processed: 300, created: 300}, 0, 0)
	run("unchanged run", counts{processed: 300, skipped: 300}, 0, 0)

	e.people[7].Title = "Chief Cartographer"
	removed := append(e.people[:0:0], e.people[290:]...)
	e.people = e.people[:290]
	e.writeDirectory()
	run("one changed, ten removed", counts{processed: 290, updated: 1, skipped: 289, deleted: 10}, 1, 1)

	e.people = append(e.people, removed...)
	e.writeDirectory()
	// The ten return: their links are known but their profiles deleted, so they are looked
	// up (and restored).
	run("ten returned", counts{processed: 300, updated: 10, skipped: 290}, 10, 0)
	stored := e.profiles([]string{removed[0].UUID})
	if sp := stored[removed[0].UUID]; sp.DeletedAt != nil {
		t.Fatalf("%s not restored", removed[0].UID)
	}
	run("unchanged again", counts{processed: 300, skipped: 300}, 0, 0)
}

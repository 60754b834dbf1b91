// Package storetest is the conformance suite of profile stores: every store.Store backend
// runs it from its own tests, each case on a fresh, empty store.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return openOnFreshDatabase(t) })
//	}
//
// Beyond store.Store, a backend must implement Hooks: the suite acts as the People
// Service's users through them (custom fields, own pictures, edited fields) to prove that
// syncs leave user-owned data alone, and as an operator breaking a stalled run's lock.
package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

// Hooks are the user-side and operator writes the suite needs besides store.Store.
type Hooks interface {
	// SetCustomFields replaces a profile's custom fields.
	SetCustomFields(ctx context.Context, profileID string, fields map[string]any) error
	// SetField sets a core field, or "attributes.NAME", as the profile's owner would.
	SetField(ctx context.Context, profileID, field, value string) error
	// SetUserImage stores the person's own picture.
	SetUserImage(ctx context.Context, profileID string, photo profile.Photo) error
	// Image returns a profile's picture, its source ("sync" or "user") and when it was
	// written; store.ErrNotFound if there is none.
	Image(ctx context.Context, profileID string) (source string, photo profile.Photo, updatedAt time.Time, err error)
	// BreakLock ends the sync's current lease now, as if its holder had stalled past it.
	BreakLock(ctx context.Context, sync string) error
	// LeaseTTL is the lease of the store's locks. The suite waits past it, so backends
	// should run the suite with a short one (a few seconds at most).
	LeaseTTL() time.Duration
}

// maxLeaseTTL bounds the lease the suite is willing to wait out.
const maxLeaseTTL = 10 * time.Second

// Run runs the conformance cases in parallel, each on its own store from newStore, which
// must return a store on an empty database (not yet migrated). The suite closes it.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	cases := []struct {
		name string
		fn   func(t *testing.T, h *harness)
	}{
		{"MigrateTwice", testMigrateTwice},
		{"CreateThenLookup", testCreateThenLookup},
		{"ProfilesRoundTrip", testProfilesRoundTrip},
		{"UpdateCounts", testUpdateCounts},
		{"LastChangePerExternalIDWins", testDuplicateChanges},
		{"CustomFieldsSurvive", testCustomFieldsSurvive},
		{"SeededFields", testSeededFields},
		{"Images", testImages},
		{"SoftDeleteThenRestore", testSoftDeleteRestore},
		{"ResolveManagers", testResolveManagers},
		{"ResolveSomeManagers", testResolveSomeManagers},
		{"SourceHash", testSourceHash},
		{"LinkSources", testLinkSources},
		{"LockExcludesSecondRun", testLockExcludes},
		{"LeaseRenewedThenTakenOver", testLeaseTakeover},
		{"FinishRecordsRun", testFinishRecordsRun},
		{"RecordErrors", testRecordErrors},
		{"LiveExternalIDsStopsOnError", testLiveExternalIDsStops},
		{"TickRunsOnce", testTickRunsOnce},
		{"LocksAndAbandon", testLocksAndAbandon},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			t.Cleanup(s.Close)
			hooks, ok := s.(Hooks)
			if !ok {
				t.Fatalf("store %T does not implement storetest.Hooks, which the conformance suite needs", s)
			}
			h := &harness{t: t, s: s, hooks: hooks, ctx: t.Context()}
			if c.name != "MigrateTwice" {
				if err := s.Migrate(h.ctx); err != nil {
					t.Fatalf("Migrate: %v", err)
				}
			}
			c.fn(t, h)
		})
	}
}

// harness carries one case's store and small helpers that fail the test on error.
type harness struct {
	t     *testing.T
	s     store.Store
	hooks Hooks
	ctx   context.Context
	// reopen opens another fresh store with the same sources (RunSources only).
	reopen func() *harness
}

func (h *harness) begin(sync string) store.Run {
	h.t.Helper()
	r, err := h.s.BeginRun(h.ctx, sync, "full", "replica-"+h.t.Name())
	if err != nil {
		h.t.Fatalf("BeginRun(%s): %v", sync, err)
	}
	return r
}

func (h *harness) finish(r store.Run) {
	h.t.Helper()
	if err := r.Finish(h.ctx, store.Summary{Status: store.StatusSucceeded}); err != nil {
		h.t.Fatalf("Finish: %v", err)
	}
}

func (h *harness) apply(r store.Run, changes ...store.Change) store.ApplyResult {
	h.t.Helper()
	res, err := r.Apply(h.ctx, changes)
	if err != nil {
		h.t.Fatalf("Apply: %v", err)
	}
	return res
}

func (h *harness) lookup(sync string, ids ...string) map[string]store.Stored {
	h.t.Helper()
	m, err := h.s.Lookup(h.ctx, sync, ids)
	if err != nil {
		h.t.Fatalf("Lookup: %v", err)
	}
	return m
}

func (h *harness) profile(sync, id string) store.StoredProfile {
	h.t.Helper()
	m, err := h.s.Profiles(h.ctx, sync, []string{id})
	if err != nil {
		h.t.Fatalf("Profiles: %v", err)
	}
	sp, ok := m[id]
	if !ok {
		h.t.Fatalf("Profiles(%s, %s): not found", sync, id)
	}
	return sp
}

// salt stands for the mapping's identity in content hashes.
var salt = []byte("storetest-mapping-v1")

// person returns a distinct, fully populated profile for index i.
func person(i int) profile.Profile {
	var p profile.Profile
	for j, f := range profile.CoreFields {
		p.Core[j] = fmt.Sprintf("%s-%d", f, i)
	}
	p.Set(profile.Email, fmt.Sprintf("person%d@example.com", i))
	p.Active = true
	p.Attributes = map[string]string{"cost_center": fmt.Sprintf("cc-%d", i%7)}
	return p
}

// change builds a change for ext with its content hash; profileID "" creates.
func change(ext, profileID string, p profile.Profile) store.Change {
	sum := p.Hash(salt)
	return store.Change{ExternalID: ext, DN: "uid=" + ext + ",ou=people,dc=example,dc=com", ProfileID: profileID, Profile: p, Hash: sum[:]}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

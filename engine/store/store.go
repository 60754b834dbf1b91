// Package store defines the profile store: what a sync run reads and writes, as plain Go
// types. The Postgres implementation lives in store/postgres; every backend passes the
// conformance suite in store/storetest.
//
// A run writes only through a Run, which holds the sync's lock for its lifetime. Every
// write a Run makes first proves, inside its own transaction, that the lock is still the
// run's: a run that lost its lock gets ErrLockLost and cannot write.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/peoplesync/peoplesync/sdk/profile"
)

// Sentinel errors. Backends translate their driver's errors into these in one place.
var (
	// ErrLocked: another holder has the sync's lock.
	ErrLocked = errors.New("sync is locked by another run")
	// ErrLockLost: the run's lock expired or was taken over; the run must stop.
	ErrLockLost = errors.New("sync lock lost")
	// ErrNotFound: no such row.
	ErrNotFound = errors.New("not found")
	// ErrTickTaken: the scheduled tick already has a run of the sync in that mode (on this
	// replica or another); the tick must not run again.
	ErrTickTaken = errors.New("this tick of the sync already has a run")
	// ErrRenamed: the sync was renamed (previous_names) and its new name adopted what the
	// store kept under the old one; a run under the old name would create its people again.
	ErrRenamed = errors.New("the sync was renamed")
)

// Run statuses as recorded in sync_runs.
const (
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusGuarded   = "guarded"
	StatusAbandoned = "abandoned"
	// StatusCompletedWithErrors: the read was complete and the good records were applied,
	// but some records failed (mapping, validation, a bad row); monitoring alerts on it.
	StatusCompletedWithErrors = "completed_with_errors"
)

// Roles says how one sync stands toward people when several syncs feed the same
// profiles (a typical setup: HR creates and ends people; AD only joins and
// contributes).
type Roles struct {
	// Creates: a record that matches no profile creates one. Without it such a record
	// is kept as unmatched until a profile it matches appears.
	Creates bool
	// Ends: the sync's dropping a person deactivates the profile, unless another sync
	// that Ends still has the person. A sync without it only withdraws its fields.
	Ends bool
	// Join are the match keys an unlinked record tries in order, each a core field name
	// or "attributes.NAME" of the mapped profile, compared after normalisation (see
	// NormalizeKey). Empty: the sync joins nobody; each unlinked record is a new person.
	Join []string
}

// DefaultRoles are the roles of a sync that configures none: it creates and ends the
// people it has and joins nobody, as a single source does.
var DefaultRoles = Roles{Creates: true, Ends: true}

// Sources is how the store combines the contributions of several syncs to one profile.
// The zero value is a store of independent syncs, each with DefaultRoles.
type Sources struct {
	// Roles holds each sync's roles by sync name; a sync not in it has DefaultRoles.
	Roles map[string]Roles
	// Order is the default precedence, highest first. Syncs it does not name follow, in
	// name order.
	Order []string
	// Fields is the precedence of single fields, highest first, where it differs from
	// Order: a core field name, "attributes.NAME", "attributes" (every attribute without
	// an entry of its own), "photo", "manager" or "active". Syncs a list does not name
	// follow in the order of Order.
	Fields map[string][]string
}

// Precedence fields beyond the core fields and attributes.
const (
	FieldPhoto      = "photo"
	FieldManager    = "manager"
	FieldActive     = "active"
	FieldAttributes = "attributes"
)

// RolesOf returns the roles of sync.
func (s Sources) RolesOf(sync string) Roles {
	if r, ok := s.Roles[sync]; ok {
		return r
	}
	return DefaultRoles
}

// How an unlinked record of a sync that joins found its person (see Roles.Join).
const (
	// Joined: exactly one profile matched, and the sync had no link to it yet.
	Joined = "joined"
	// Unmatched: no profile matched, and the sync may not create people: the record is
	// kept, and joins when a profile it matches appears.
	Unmatched = "unmatched"
	// Disputed: several profiles matched, or one that the sync links already: nothing
	// is merged until an operator settles it.
	Disputed = "disputed"
)

// Stored is what the store knows of one linked external ID, enough to decide whether a
// record changed.
type Stored struct {
	ProfileID string
	Hash      []byte
	// SourceHash is the hash of the source record the profile was last mapped from
	// (nil if unknown): an equal hash means the mapping need not run again.
	SourceHash []byte
	// DN and ManagerRef are the link's last DN and manager reference: when neither
	// changes, no manager reference can have changed around the profile.
	DN         string
	ManagerRef string
	// Deleted is true if the sync dropped the person (its link is gone; for a sync that
	// ends people, the profile was soft-deleted); a returning person rejoins the profile.
	Deleted bool
}

// PendingRecord is a record of a sync that joins which has no profile yet: unmatched
// (nothing matched, and the sync may not create people) or disputed (several profiles
// matched, or one the sync links already). It is kept, not lost, and joins when it
// matches exactly one profile.
type PendingRecord struct {
	ExternalID string
	// Situation is Unmatched or Disputed.
	Situation string
	// Candidates are the profiles a disputed record matched.
	Candidates []string
	// Name is the record's display name (or user name, or email), for listings.
	Name string
	// Keys are the record's values of its sync's join keys, by key.
	Keys map[string]string
	// Since is when the record was first kept.
	Since time.Time
}

// MatchResult is how an unlinked record would find its person (see Store.Match).
type MatchResult struct {
	// Situation is Joined, Unmatched or Disputed.
	Situation string
	// ProfileID is the profile a joined record would join.
	ProfileID string
	// Candidates are the profiles a disputed record matched.
	Candidates []string
}

// PersonRef names the person to show: by profile ID, by email (case-insensitive; may
// name several profiles), or by a sync's external ID. Exactly one way is set.
type PersonRef struct {
	ProfileID  string
	Email      string
	Sync       string
	ExternalID string
}

// Person is one profile as its sources made it: each field with its value, where the
// value came from and since when, and what the other sources offered that lost.
type Person struct {
	ProfileID string
	DeletedAt *time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
	// ManagerID is the manager's profile ID, ManagerName their display name.
	ManagerID   string
	ManagerName string
	// Fields are the core fields, attributes ("attributes.NAME"), active, manager (the
	// winning reference) and photo, in that order, each that has a value or an offer.
	Fields []PersonField
	// Links are the syncs' records of the person, gone ones included.
	Links []PersonLink
}

// PersonField is one field of a Person.
type PersonField struct {
	Field string
	Value string
	// Source is the sync the value came from ("" if none did); Since is when that sync
	// became its source (for a profile fed by one source: when it was linked).
	Source string
	Since  *time.Time
	// Offers are the other live sources' non-empty values that lost to it, where they
	// differ from it.
	Offers []Offer
}

// Offer is a value a source offered for a field.
type Offer struct {
	Sync  string
	Value string
}

// PersonLink is one sync's record of a person.
type PersonLink struct {
	Sync       string
	ExternalID string
	DN         string
	ManagerRef string
	LinkedAt   *time.Time
	// GoneAt is when the sync dropped the person; nil while it has them.
	GoneAt *time.Time
}

// StoredProfile is a stored profile in full, for plans and listings.
type StoredProfile struct {
	ProfileID  string
	ExternalID string
	Profile    profile.Profile
	ManagerID  string
	// ManagerName is the manager's display name, for listings.
	ManagerName  string
	CustomFields map[string]any
	DeletedAt    *time.Time
	UpdatedAt    time.Time
}

// Change is one create (ProfileID empty) or update of a linked profile.
type Change struct {
	ExternalID string
	DN         string
	// ProfileID is the linked profile to update (or restore), empty to create one.
	ProfileID string
	Profile   profile.Profile
	// Hash is Profile.Hash(mapping identity), stored so that the next run can skip it.
	Hash []byte
	// SourceHash is the hash of the source record it was mapped from (may be nil).
	SourceHash []byte
}

// ApplyResult counts what Apply wrote.
type ApplyResult struct {
	Created int
	Updated int
	// Joined, Unmatched and Disputed count the unlinked records of a sync that joins by
	// their outcome (see the constants); joined records are not counted as updated.
	Joined    int
	Unmatched int
	Disputed  int
}

// RecordError is a per-record failure of a run.
type RecordError struct {
	ExternalID string
	Message    string
}

// Summary is what a run did, recorded when it finishes.
type Summary struct {
	Status    string
	Processed int64
	Created   int64
	Updated   int64
	// Unchanged counts records that needed no write; Skipped, records the mapping
	// skipped. (Runs recorded before the two were told apart count both in Skipped.)
	Unchanged int64
	Skipped   int64
	Deleted   int64
	Errors    int64
	// Joined, Unmatched and Disputed count the outcomes of the run's unlinked records
	// (only a sync that joins has any).
	Joined    int64
	Unmatched int64
	Disputed  int64
	// Message explains a failed or guarded run.
	Message string
	// Cursor is the delta cursor to keep for the next delta read; empty keeps the old one.
	Cursor string
}

// RunInfo is one row of the run history.
type RunInfo struct {
	ID         int64
	Sync       string
	Mode       string
	Holder     string
	StartedAt  time.Time
	FinishedAt *time.Time
	// Tick is the scheduled time the run was started for; nil for a run started by hand.
	Tick *time.Time
	Summary
}

// LockInfo is one sync's lock row: who holds it, under which term, until when.
type LockInfo struct {
	Sync       string
	Holder     string
	Term       int64
	AcquiredAt time.Time
	ExpiresAt  time.Time
	// Live is false for a lease that expired (its holder stalled or died) and that the
	// next BeginRun will take over.
	Live bool
}

// Adopted is what Run.Adopt took over from one previous name.
type Adopted struct {
	// Name is the previous name.
	Name string
	// Links is how many links (live, dropped and pending) it moved.
	Links int
	// Runs is how many runs of the history it moved.
	Runs int
}

// Store is a profile store.
type Store interface {
	// Migrate brings the schema up to date.
	Migrate(ctx context.Context) error
	// BeginRun takes the sync's lock for holder (a replica's name) and records a running
	// run. It returns ErrLocked if another live holder has it.
	BeginRun(ctx context.Context, sync, mode, holder string) (Run, error)
	// BeginTickRun is BeginRun for the scheduled time tick: in the same transaction that
	// takes the lock it records tick with the run, and it returns ErrTickTaken (taking
	// nothing) if the sync already has a run for that mode and tick. So a tick runs at
	// most once across replicas, even when a fast replica has finished it and let go of
	// the lock before a slow one tries.
	BeginTickRun(ctx context.Context, sync, mode, holder string, tick time.Time) (Run, error)
	// Locks returns every sync's lock row, by sync name.
	Locks(ctx context.Context) ([]LockInfo, error)
	// AbandonRuns marks abandoned the running runs whose sync has no live lease (their
	// process died) and returns how many it marked.
	AbandonRuns(ctx context.Context) (int, error)
	// Lookup returns what is stored for those external IDs of the sync that have a link
	// (a pending record's has no ProfileID).
	Lookup(ctx context.Context, sync string, externalIDs []string) (map[string]Stored, error)
	// Profiles returns the stored profiles of those external IDs of the sync (for plans).
	Profiles(ctx context.Context, sync string, externalIDs []string) (map[string]StoredProfile, error)
	// LiveExternalIDs calls fn with every external ID the sync still has: links it has
	// not dropped, pending records included.
	LiveExternalIDs(ctx context.Context, sync string, fn func(externalID string) error) error
	// LinkSources calls fn with every link of the sync: its external ID, its source hash
	// (nil if none is recorded) and whether the sync dropped it. It is what a full
	// read loads up front so that it need not look up the records that did not change.
	// The slices are valid only during the call; an error from fn stops the stream and is
	// returned (wrapped).
	LinkSources(ctx context.Context, sync string, fn func(externalID, sourceHash []byte, deleted bool) error) error
	// Pending returns up to limit (all if limit <= 0) pending records of the sync, by
	// external ID.
	Pending(ctx context.Context, sync string, limit int) ([]PendingRecord, error)
	// Match says, without writing, how each of these records of a sync that joins would
	// find its person now (for plans). A sync that joins nobody gets all Unmatched.
	Match(ctx context.Context, sync string, records []profile.Profile) ([]MatchResult, error)
	// People returns the people ref names (none: an empty slice).
	People(ctx context.Context, ref PersonRef) ([]Person, error)
	// PendingCounts returns how many records of the sync are pending: unmatched, disputed.
	PendingCounts(ctx context.Context, sync string) (unmatched, disputed int64, err error)
	// ListProfiles returns up to limit profiles of the sync, by display name.
	ListProfiles(ctx context.Context, sync string, limit int) ([]StoredProfile, error)
	// Runs returns the latest runs, newest first; sync "" means all syncs.
	Runs(ctx context.Context, sync string, limit int) ([]RunInfo, error)
	// RunErrors returns the per-record errors of a run; an error wrapping ErrNotFound
	// if there is no such run.
	RunErrors(ctx context.Context, runID int64) ([]RecordError, error)
	// Cursor returns the sync's last delta cursor, "" if none.
	Cursor(ctx context.Context, sync string) (string, error)
	// LinkedSyncs returns, sorted, the names of the syncs the store has links of (live,
	// dropped or pending): what a configuration that lacks one of them left behind.
	LinkedSyncs(ctx context.Context) ([]string, error)
	// Close releases the store's connections.
	Close()
}

// Run is one run's hold on a sync. Each write is one transaction that checks the lock.
type Run interface {
	// ID is the run's row in sync_runs.
	ID() int64
	// Apply creates and updates profiles, links and images in one transaction. Fields the
	// profile marks as seeded are written only where the stored value is empty; custom
	// fields and a user's own picture are never touched. An update of a soft-deleted
	// profile restores it if the sync may create people. For a sync that joins, an
	// unlinked record joins the profile it matches, creates one, or is kept pending (see
	// Roles); a profile several syncs feed is the merge of their contributions by the
	// store's Sources.
	Apply(ctx context.Context, changes []Change) (ApplyResult, error)
	// SetSourceHashes records new source hashes (by external ID) of linked profiles whose
	// mapped content did not change, so that later runs can skip mapping them.
	SetSourceHashes(ctx context.Context, hashes map[string][]byte) error
	// SoftDelete withdraws the sync's records of these external IDs: their links are
	// marked gone (kept for a return) and their fields leave the profiles; a profile is
	// soft-deleted (deleted_at set, active false) when the sync may end people and no
	// other sync that may still has the person. It returns how many it soft-deleted.
	SoftDelete(ctx context.Context, externalIDs []string) (int, error)
	// ResolveManagers sets manager_id of the sync's profiles from their manager reference
	// (an external ID or DN of the same sync) and returns how many rows changed. With
	// externalIDs nil it resolves every profile of the sync; otherwise only the profiles
	// of those external IDs, the profiles whose reference names one of them (by external
	// ID or current DN), and the profiles whose reference is not resolved yet (a manager
	// but no manager_id): all that a run can have changed if it changed only those and
	// created profiles. Apply sets the manager of each profile it creates when the
	// reference names a profile it can see; ResolveManagers is the authority that makes
	// every reference right.
	ResolveManagers(ctx context.Context, externalIDs []string) (int, error)
	// Rematch tries again to join the pending records (unmatched, disputed) of every
	// sync that joins, now that profiles may have appeared or changed, and returns how
	// many it joined. A record joined so contributes to its profile at once, without its
	// sync running again, so that the order in which syncs run does not matter.
	Rematch(ctx context.Context) (int, error)
	// Adopt makes what the store keeps under the sync's previous names its own: links,
	// pending records, pictures, runs, the delta cursor (if the sync has none) and the
	// provenance that names them. It refuses (ErrLocked) while a run of a previous name
	// holds its lock, and refuses when the sync and a previous name both have links that
	// no earlier adoption explains. It works in pieces, each its own fenced transaction;
	// a run stopped midway leaves the rest for the next run, and a finished adoption is a
	// no-op. From its start, runs under the previous name fail with ErrRenamed.
	Adopt(ctx context.Context, previous []string) ([]Adopted, error)
	// RecordErrors stores per-record errors of the run.
	RecordErrors(ctx context.Context, errs []RecordError) error
	// Finish records the summary, releases the lock and ends the run. It is safe to call
	// after ErrLockLost (it then records nothing it may not).
	Finish(ctx context.Context, s Summary) error
}

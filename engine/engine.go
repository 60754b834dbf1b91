package engine

import (
	"context"
	"log/slog"
	"time"

	"github.com/peoplesync/peoplesync/engine/mapper"
	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/sdk/connector"
)

// Mapper turns source records into profiles. *mapper.Mapper implements it.
type Mapper interface {
	// MapInputs maps records, decoded or still in their raw batches, in order; it is
	// safe for concurrent use.
	MapInputs(ctx context.Context, records []mapper.Input) []mapper.Result
	// Identity names the module and settings; it salts every content hash so that a
	// changed mapping re-maps every profile.
	Identity() []byte
}

// Guard limits what one run may delete.
type Guard struct {
	// MaxCount is the most profiles one run may delete (0: none).
	MaxCount int
	// MaxPercent is the most one run may delete, as a percentage of the sync's live
	// profiles.
	MaxPercent float64
	// MaxErrorPercent: a run whose records failed above this rate deletes nothing.
	MaxErrorPercent float64
}

// DefaultGuard is the guard of a sync that configures none.
var DefaultGuard = Guard{MaxCount: 500, MaxPercent: 10, MaxErrorPercent: 1}

// Sync is one configured sync, ready to run.
type Sync struct {
	Name      string
	Connector connector.Connector
	Mapper    Mapper
	// BatchSize is the number of records per write transaction.
	BatchSize int
	// Timeout bounds a whole run; 0 means none.
	Timeout time.Duration
	Guard   Guard
	// ReadsDeltas says the connector serves delta reads (its Capabilities.Delta); a delta
	// run of a sync whose connector does not fails before it starts.
	ReadsDeltas bool
	// RequiredFields are core fields every profile of this sync must have, beyond the
	// user name or email that every profile needs (see CheckProfile). A mapped profile
	// without one is a record error.
	RequiredFields []string
	// Roles are the sync's roles toward people that other syncs also feed (the store
	// applies them; the engine counts and plans by them). Zero: store.DefaultRoles.
	Roles *store.Roles
	// PreviousNames are names the sync had before it was renamed: a run first adopts
	// what the store keeps under them (store.Run.Adopt), and a dry run reads them while
	// the sync has no links of its own yet, so that its plan is the run's.
	PreviousNames []string
}

// joins reports whether the sync joins its records to existing people (has join keys).
func (s *Sync) joins() bool { return s.Roles != nil && len(s.Roles.Join) > 0 }

// Engine runs syncs against a store.
type Engine struct {
	Store store.Store
	// Holder names this process in locks and run records (host name and PID).
	Holder string
	Logger *slog.Logger
	// Now is the clock, for tests; nil means time.Now.
	Now func() time.Time

	// backlogLimit replaces maxBacklogBytes when positive (tests).
	backlogLimit int
}

// Options shape one run.
type Options struct {
	Mode connector.ReadMode
	// DryRun computes the changes without writing anything (peoplesync plan).
	DryRun bool
	// AllowDeletes lets this one run delete up to this many profiles past the guard.
	AllowDeletes int
	// PlanDetails is how many changes a dry run describes field by field.
	PlanDetails int
	// Progress, if set, is told how the run is getting on (see ProgressFunc).
	Progress ProgressFunc
	// Begun, if set, is the run to carry out, which the caller began already for this
	// sync and mode (the scheduler begins a tick's run to claim the tick); Run then
	// begins none, and finishes this one.
	Begun store.Run
}

// Actions of a planned change.
const (
	ActionCreate  = "create"
	ActionUpdate  = "update"
	ActionRestore = "restore"
	ActionDelete  = "delete"
	// ActionJoin: an unlinked record of a sync that joins would join this profile.
	ActionJoin = "join"
	// ActionUnmatched and ActionDisputed: it would be kept pending (see store.Unmatched
	// and store.Disputed).
	ActionUnmatched = "unmatched"
	ActionDisputed  = "disputed"
)

// Change is one change a dry run would make.
type Change struct {
	Action     string `json:"action"`
	ExternalID string `json:"external_id"`
	Name       string `json:"name"`
	// ProfileID is the profile a join would join; Candidates, the profiles a dispute
	// is between.
	ProfileID  string      `json:"profile_id,omitempty"`
	Candidates []string    `json:"candidates,omitempty"`
	Fields     []FieldDiff `json:"fields,omitempty"`
}

// Skip is one reason a mapping gave for skipping records.
type Skip struct {
	Reason string `json:"reason"`
	Count  int64  `json:"count"`
	// ExampleID is the external ID of the first record skipped for it.
	ExampleID string `json:"example_id"`
}

// FieldDiff is one field's old and new value.
type FieldDiff struct {
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

// Result is what a run did.
type Result struct {
	RunID     int64
	Sync      string
	Mode      string
	Status    string
	Processed int64
	Created   int64
	Updated   int64
	// Unchanged counts the records that needed no write: unchanged at the source, or
	// changed only in what the mapping ignores.
	Unchanged int64
	// Skipped counts the records the mapping skipped (not a person to keep); Skips says
	// why.
	Skipped int64
	Deleted int64
	Errors  int64
	// Linked, Joined, Unmatched and Disputed say how the records found their people: by
	// the link they had, by a join key (a sync that joins; see store.Roles), or not at
	// all (unmatched: kept until the person appears; disputed: several candidates,
	// never merged silently). Rematched counts pending records of any sync that this
	// run's profiles let join.
	Linked    int64
	Joined    int64
	Unmatched int64
	Disputed  int64
	Rematched int64
	// Adopted is what the run took over from the sync's previous names before it read
	// (a dry run: the previous name whose profiles it would take over, without counts).
	Adopted []store.Adopted
	// Keyless counts the unlinked records of a sync that joins that had no value for any
	// of its join keys: they can never join (is the key one the mapping produces?).
	Keyless int64
	// Joins says the sync joins its records to people (its Roles have join keys), so
	// that the four counts above apply.
	Joins bool
	// Skips are the reasons the mapping gave for skipping records: the first few
	// different ones, each with how many records it covered.
	Skips []Skip
	// WouldDelete is the number of profiles the read no longer had (deleted, or guarded).
	WouldDelete int64
	Duration    time.Duration
	Message     string
	// Changes are the first changes of a dry run, field by field.
	Changes []Change
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Engine) logger() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.Default()
}

// modeName names a read mode in run records and logs.
func modeName(m connector.ReadMode) string {
	if m == connector.Delta {
		return "delta"
	}
	return "full"
}

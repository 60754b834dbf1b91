package config

import (
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Defaults for the optional attributes of a sync block.
const (
	DefaultTimeout            = time.Hour
	DefaultBatchSize          = 1000
	DefaultDeletionMaxCount   = 500
	DefaultDeletionMaxPercent = 10
	// DefaultDeletionMaxErrorPercent is the record error rate (percent of the records a
	// run processed) above which a run deletes nothing: a run whose mapping rejects most
	// records must not read as "these people are gone".
	DefaultDeletionMaxErrorPercent = 1
)

// Config is a loaded configuration file.
type Config struct {
	// Filename is the configuration file's path as given to Load or Parse.
	Filename string
	// Dir is the directory of Filename; relative paths in the file resolve against it.
	Dir string
	// Store says where the profile store lives.
	Store Store
	// Connectors, Mappings and Syncs are the declared blocks, in file order.
	Connectors []*Connector
	Mappings   []*Mapping
	Syncs      []*Sync
	// Precedence is the precedence block: which sync's value wins, field by field, when
	// several syncs feed one profile. Nil without one (see Sources).
	Precedence *Precedence
	// Files holds the parsed source files by name, for printing diagnostics with snippets
	// (WriteDiagnostics). It is set even when loading failed.
	Files map[string]*hcl.File

	// secrets are the values the file took from env() and file(), kept out of
	// diagnostics (Redact).
	secrets *secretSet
}

// Connector returns the connector with the given name, or nil.
func (c *Config) Connector(name string) *Connector {
	for _, x := range c.Connectors {
		if x.Name == name {
			return x
		}
	}
	return nil
}

// Mapping returns the mapping with the given name, or nil.
func (c *Config) Mapping(name string) *Mapping {
	for _, x := range c.Mappings {
		if x.Name == name {
			return x
		}
	}
	return nil
}

// Sync returns the sync with the given name, or nil.
func (c *Config) Sync(name string) *Sync {
	for _, x := range c.Syncs {
		if x.Name == name {
			return x
		}
	}
	return nil
}

// Store is the store block: where profiles, links and runs are kept.
type Store struct {
	// URL is the Postgres connection URL. It may hold a password: do not log it.
	URL string
	// LeaseTTL is the lease of each sync's lock (lease_ttl); 0 means the store's default.
	// A run renews it every third of it; a stalled holder loses it after it.
	LeaseTTL time.Duration
	// DeclRange is the range of the block's header (store); zero without a store block.
	DeclRange hcl.Range

	given ranges
}

// RangeOf returns where the store block's named attribute was written (see ranges).
func (s *Store) RangeOf(name string) hcl.Range { return s.given.of(name, s.DeclRange) }

// Connector is a connector block: which connector plugin reads a directory, and its
// still-undecoded config block.
type Connector struct {
	// Name is the block's label; syncs refer to it as connector.NAME.
	Name string
	// Plugin is the name of a bundled connector ("file", "ldap"), or, when External is
	// true, the absolute path of a plugin binary (written relative to the config's Dir).
	Plugin string
	// External is true when Plugin is the path of a plugin binary rather than a bundled
	// connector's name. A value containing a path separator or starting with "." is a path.
	External bool
	// SHA256 is the expected lower-case hex SHA-256 of an external binary, checked before
	// it is started; empty if not given.
	SHA256 string
	// Config is the body of the config block, undecoded: its schema belongs to the
	// connector. Decode it with DecodeConfig. Without a config block it is an empty body
	// whose missing attributes are reported on the connector block.
	Config hcl.Body
	// DeclRange is the range of the block's header (connector "NAME").
	DeclRange hcl.Range

	given   ranges
	evalCtx *hcl.EvalContext
	// secrets are the file's secrets; DecodeConfig adds those of the config block.
	secrets *secretSet
}

// RangeOf returns where the connector block's named attribute or nested block was
// written (see ranges): "plugin" for plugin start-up errors, "sha256" for checksum
// mismatches, "config" for problems with the config block as a whole.
func (c *Connector) RangeOf(name string) hcl.Range { return c.given.of(name, c.DeclRange) }

// The bounds of a mapping's call_timeout. A call maps a batch of 64 records in well under
// 10 ms on an idle machine, far longer on a busy one; below 100 ms a busy machine would
// fail healthy batches. A module that loops forever costs its run a few limits (each such
// record two, then the records that show it stuck): over 10 minutes, the limit protects
// nothing.
const (
	MinCallTimeout = 100 * time.Millisecond
	MaxCallTimeout = 10 * time.Minute
)

// Mapping is a mapping block: a WASM mapping module and its settings.
type Mapping struct {
	// Name is the block's label; syncs refer to it as mapping.NAME.
	Name string
	// Module is the absolute path of the WASM module (written relative to the config's
	// Dir). Load checks that the file exists.
	Module string
	// SettingsJSON is the settings attribute as a JSON object; "{}" if absent.
	SettingsJSON []byte
	// CallTimeout, if set, replaces the engine's default limit (10 s,
	// mapper.DefaultCallTimeout) on each call into the module: one batch of records, or
	// one record when a batch that failed is mapped again record by record. A record whose
	// mapping loops forever fails with "ran out of time"; a module that runs out of time on
	// a few records in a row fails the rest of its run's records at once. It lies between
	// MinCallTimeout and MaxCallTimeout.
	CallTimeout time.Duration
	// DeclRange is the range of the block's header (mapping "NAME").
	DeclRange hcl.Range

	given   ranges
	secrets *secretSet
	// settingRanges are where each key of the settings object was written.
	settingRanges map[string]hcl.Range
}

// SettingRange returns where the settings key was written, key and value, or the
// settings attribute's range when the key is not in it as written.
func (m *Mapping) SettingRange(key string) hcl.Range {
	if r, ok := m.settingRanges[key]; ok {
		return r
	}
	return m.RangeOf("settings")
}

// SettingIn returns the first key of the settings that msg (a module's complaint
// about its settings) names, quoted or at the start of the complaint, and whether
// there is one. Modules say which setting they reject in words, not in a field.
func (m *Mapping) SettingIn(msg string) (string, bool) {
	best, at := "", -1
	for key := range m.settingRanges {
		i := strings.Index(msg, `"`+key+`"`)
		if j := strings.Index(msg, ": "+key+" "); j >= 0 && (i < 0 || j < i) {
			i = j
		}
		if i >= 0 && (at < 0 || i < at || i == at && len(key) > len(best)) {
			best, at = key, i
		}
	}
	return best, at >= 0
}

// RangeOf returns where the mapping block's named attribute was written (see ranges):
// "module" for module load and ABI errors, "settings" for settings the module rejects.
func (m *Mapping) RangeOf(name string) hcl.Range { return m.given.of(name, m.DeclRange) }

// Redact replaces in text every value the file took from env() or file() by where it
// came from: for a module's message about its settings, which it may quote.
func (m *Mapping) Redact(text string) string {
	return m.secrets.redact(text)
}

// Sync is a sync block: which connector feeds which mapping, when, and within which limits.
type Sync struct {
	// Name is the block's label; it keys the sync's lock, cursors and runs.
	Name string
	// Connector and Mapping are the names of the referenced blocks (both exist).
	Connector string
	Mapping   string
	// Schedule is the cron expression of full runs: five fields, an @hourly-style
	// descriptor, or "@every DURATION". It is checked by Load.
	Schedule string
	// DeltaSchedule is the cron expression of delta runs; empty for none.
	DeltaSchedule string
	// Timezone is the location schedules are read in; UTC by default.
	Timezone *time.Location
	// TimezoneName is the timezone as written ("UTC" by default).
	TimezoneName string
	// Timeout bounds one run; DefaultTimeout by default.
	Timeout time.Duration
	// BatchSize is the number of writes per store batch; DefaultBatchSize by default.
	BatchSize int
	// RequiredFields (required_fields) are core profile fields every profile of the sync
	// must have; a mapped profile without one is a record error. Every profile needs a
	// user name or an email in any case.
	RequiredFields []string
	// Deletion is the deletion guard.
	Deletion Deletion
	// PreviousNames (previous_names) are names the sync had before it was renamed. A run
	// of the sync first adopts what the store keeps under them (its links, runs and
	// cursor), so that renaming a sync does not create its people again.
	PreviousNames []string
	// People is the people block: how the sync's records find the person they belong to
	// when several syncs feed one profile, and whether it creates and ends people. Nil
	// without one: the sync has store.DefaultRoles (see Roles).
	People *People
	// DeclRange is the range of the block's header (sync "NAME").
	DeclRange hcl.Range

	given          ranges
	previousRanges []hcl.Range // where each of PreviousNames was written
}

// RangeOf returns where the sync block's named attribute or nested block was written
// (see ranges).
func (s *Sync) RangeOf(name string) hcl.Range { return s.given.of(name, s.DeclRange) }

// Deletion is the deletion guard of a sync: a run that would delete more profiles than
// MaxCount, or more than MaxPercent of the sync's profiles, deletes none.
type Deletion struct {
	// MaxCount is the most profiles one run may delete; DefaultDeletionMaxCount by default.
	MaxCount int
	// MaxPercent is the largest share (0–100) of the sync's profiles one run may delete;
	// DefaultDeletionMaxPercent by default.
	MaxPercent float64
	// MaxErrorPercent (max_error_percent, 0–100) is the largest share of a run's records
	// that may fail while the run still deletes; above it the run deletes nothing.
	// DefaultDeletionMaxErrorPercent by default.
	MaxErrorPercent float64
}

// ranges are where a block's attributes and nested blocks were written, by name: the
// range of an attribute's value, the header of the first nested block of a type. Load
// fills them for everything a block was given, so that errors found later (a plugin that
// does not start, a module that rejects its settings) point where the user wrote it.
type ranges map[string]hcl.Range

// of returns the range of the named attribute or nested block, or decl (the block's
// header) when the block does not have it or was built by hand.
func (r ranges) of(name string, decl hcl.Range) hcl.Range {
	if rng, ok := r[name]; ok {
		return rng
	}
	return decl
}

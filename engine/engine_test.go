package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/peoplesync/peoplesync/config"
	"github.com/peoplesync/peoplesync/engine"
	"github.com/peoplesync/peoplesync/engine/mapper"
	"github.com/peoplesync/peoplesync/engine/mapper/mappertest"
	"github.com/peoplesync/peoplesync/engine/setup"
	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/engine/store/pgtest"
	"github.com/peoplesync/peoplesync/engine/store/postgres"
	"github.com/peoplesync/peoplesync/examples/peoplegen"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

var (
	modulesOnce sync.Once
	modulesErr  error
)

// module returns the path of a built mapping module ("default" or "trapmap").
func module(t testing.TB, name string) string {
	t.Helper()
	sources := map[string]string{"default": "../mappings/default", "trapmap": "testdata/trapmap"}
	modulesOnce.Do(func() {
		for n, src := range sources {
			if err := mappertest.BuildFile(src, filepath.Join(moduleDir, n+".wasm")); err != nil {
				modulesErr = err
				return
			}
		}
	})
	if modulesErr != nil {
		t.Fatalf("build mapping modules: %v", modulesErr)
	}
	if _, ok := sources[name]; !ok {
		t.Fatalf("no module %q", name)
	}
	return filepath.Join(moduleDir, name+".wasm")
}

// env is one test's world: a fresh database, a directory file and a config.
type env struct {
	t     *testing.T
	dir   string
	ldif  string
	store *postgres.Store
	opts  peoplegen.Options
	// people is what the directory file holds now.
	people []peoplegen.Person
}

func newEnv(t *testing.T, n int) *env {
	t.Helper()
	ctx := context.Background()
	st, err := postgres.Open(ctx, pgtest.NewDatabase(t), postgres.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(st.Close)
	if err := st.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	e := &env{t: t, dir: t.TempDir(), store: st, opts: peoplegen.Defaults(n)}
	e.ldif = filepath.Join(e.dir, "people.ldif")
	e.people = peoplegen.Generate(e.opts)
	e.writeDirectory()
	return e
}

// writeDirectory writes e.people to the LDIF file the connector reads.
func (e *env) writeDirectory() {
	e.t.Helper()
	var buf bytes.Buffer
	if err := peoplegen.WriteLDIF(&buf, e.opts, e.people); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(e.ldif, buf.Bytes(), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// syncConfig is the HCL of a one-sync config; extra goes into the connector's config block.
func (e *env) syncConfig(plugin, moduleName, extra, syncExtra string) *config.Config {
	e.t.Helper()
	src := fmt.Sprintf(`
store {
  url = "postgres://unused"
}
connector "hr" {
  plugin = %q
  config {
    path   = %q
    format = "ldif"
    %s
  }
}
mapping "m" {
  module   = %q
  settings = { email_domain = "example.com", default_country_code = "49" }
}
sync "people" {
  connector = connector.hr
  mapping   = mapping.m
  schedule  = "@hourly"
  %s
}
`, plugin, e.ldif, extra, module(e.t, moduleName), syncExtra)
	path := filepath.Join(e.dir, "sync.hcl")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		e.t.Fatal(err)
	}
	cfg, diags := config.Load(path)
	if diags.HasErrors() {
		e.t.Fatalf("config: %s", diags.Error())
	}
	return cfg
}

// prepare sets up the sync "people" of cfg, closed when the test ends.
func (e *env) prepare(cfg *config.Config) *setup.Prepared {
	e.t.Helper()
	prep, diags := setup.Sync(context.Background(), cfg, "people", setup.Options{Executable: os.Args[0]})
	if diags.HasErrors() {
		e.t.Fatalf("setup: %s", diags.Error())
	}
	e.t.Cleanup(func() { prep.Close(context.Background()) })
	return prep
}

// run runs the sync once with the given config and options.
func (e *env) run(cfg *config.Config, opts engine.Options) (engine.Result, error) {
	e.t.Helper()
	eng := &engine.Engine{Store: e.store, Holder: "test"}
	return eng.Run(context.Background(), e.prepare(cfg).Sync, opts)
}

func (e *env) mustRun(cfg *config.Config, opts engine.Options) engine.Result {
	e.t.Helper()
	res, err := e.run(cfg, opts)
	if err != nil {
		e.t.Fatalf("run: %v (result %+v)", err, res)
	}
	return res
}

type counts struct{ processed, created, updated, unchanged, skipped, deleted, errors int64 }

func checkCounts(t *testing.T, what string, r engine.Result, want counts) {
	t.Helper()
	got := counts{r.Processed, r.Created, r.Updated, r.Unchanged, r.Skipped, r.Deleted, r.Errors}
	if got != want {
		t.Errorf("%s: counts %+v, want %+v (status %s, %s)", what, got, want, r.Status, r.Message)
	}
}

// live returns the profiles of every external ID the store has for the sync, by ID.
func (e *env) profiles(ids []string) map[string]store.StoredProfile {
	e.t.Helper()
	got, err := e.store.Profiles(context.Background(), "people", ids)
	if err != nil {
		e.t.Fatal(err)
	}
	return got
}

func (e *env) ids() []string {
	ids := make([]string, len(e.people))
	for i, p := range e.people {
		ids[i] = p.UUID
	}
	return ids
}

func TestSyncCreatesThenSkipsUnchanged(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 300)
	cfg := e.syncConfig("file", "default", "", "")

	first := e.mustRun(cfg, engine.Options{})
	checkCounts(t, "first run", first, counts{processed: 300, created: 300})
	if first.Status != store.StatusSucceeded {
		t.Fatalf("status %q: %s", first.Status, first.Message)
	}
	second := e.mustRun(cfg, engine.Options{})
	checkCounts(t, "second run", second, counts{processed: 300, unchanged: 300})

	// Every profile but the top one has its manager resolved, to the right person.
	stored := e.profiles(e.ids())
	if len(stored) != 300 {
		t.Fatalf("stored %d profiles, want 300", len(stored))
	}
	for _, p := range e.people {
		sp := stored[p.UUID]
		if p.ManagerIndex < 0 {
			if sp.ManagerID != "" {
				t.Errorf("%s: manager %q, want none", p.UID, sp.ManagerID)
			}
			continue
		}
		if want := stored[e.people[p.ManagerIndex].UUID].ProfileID; sp.ManagerID != want {
			t.Errorf("%s: manager %q, want %q", p.UID, sp.ManagerID, want)
		}
	}
	// Non-ASCII survives the whole path.
	for _, p := range e.people {
		if sp := stored[p.UUID]; sp.Profile.Get(profile.FamilyName) != p.FamilyName {
			got := sp.Profile.Get(profile.FamilyName)
			t.Errorf("%s: family name %q, want %q", p.UID, got, p.FamilyName)
		}
	}
}

func TestSyncChangedDirectory(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 200)
	cfg := e.syncConfig("file", "default", "", "")
	e.mustRun(cfg, engine.Options{})
	before := e.profiles(e.ids())

	// 7 changed titles, 3 people gone, 2 new people.
	for i := 10; i < 17; i++ {
		e.people[i].Title = "Chief Changer " + fmt.Sprint(i)
	}
	removed := append([]peoplegen.Person(nil), e.people[190:193]...)
	e.people = append(e.people[:190], e.people[193:]...)
	extra := peoplegen.Generate(peoplegen.Options{N: 2, Seed: 7, BaseDN: e.opts.BaseDN, MailDomain: "example.com"})
	for i := range extra {
		extra[i].ManagerIndex = 0
	}
	e.people = append(e.people, extra...)
	e.writeDirectory()

	plan := e.mustRun(cfg, engine.Options{DryRun: true, PlanDetails: 50})
	checkCounts(t, "plan", plan, counts{processed: 199, created: 2, updated: 7, unchanged: 190, deleted: 3})
	if n := len(plan.Changes); n != 12 {
		t.Errorf("plan describes %d changes, want 12", n)
	}
	for _, c := range plan.Changes {
		if c.Action == engine.ActionUpdate && (len(c.Fields) != 1 || c.Fields[0].Field != profile.Title) {
			t.Errorf("plan update of %s: fields %+v, want only title", c.Name, c.Fields)
		}
	}
	runs, _ := e.store.Runs(context.Background(), "people", 10)
	if len(runs) != 1 {
		t.Errorf("a plan recorded a run: %d runs", len(runs))
	}

	res := e.mustRun(cfg, engine.Options{})
	checkCounts(t, "changed run", res, counts{processed: 199, created: 2, updated: 7, unchanged: 190, deleted: 3})
	after := e.profiles([]string{removed[0].UUID, removed[1].UUID, removed[2].UUID})
	for _, p := range removed {
		sp := after[p.UUID]
		if sp.DeletedAt == nil || sp.Profile.Active {
			t.Errorf("%s: deleted_at %v active %v, want soft-deleted", p.UID, sp.DeletedAt, sp.Profile.Active)
		}
	}

	// They come back: same profiles, restored.
	e.people = append(e.people, removed...)
	e.writeDirectory()
	res = e.mustRun(cfg, engine.Options{})
	checkCounts(t, "return run", res, counts{processed: 202, updated: 3, unchanged: 199})
	back := e.profiles([]string{removed[0].UUID, removed[1].UUID, removed[2].UUID})
	for _, p := range removed {
		sp := back[p.UUID]
		if sp.DeletedAt != nil || !sp.Profile.Active {
			t.Errorf("%s: not restored (deleted_at %v, active %v)", p.UID, sp.DeletedAt, sp.Profile.Active)
		}
		if sp.ProfileID != before[p.UUID].ProfileID {
			t.Errorf("%s: came back as profile %s, was %s", p.UID, sp.ProfileID, before[p.UUID].ProfileID)
		}
	}
}

func TestConnectorCrashFailsRunAndDeletesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 300)
	e.mustRun(e.syncConfig("file", "default", "", ""), engine.Options{})

	res, err := e.run(e.syncConfig("crashy", "default", "crash_after = 120", ""), engine.Options{})
	if err == nil {
		t.Fatalf("a run whose connector crashed succeeded: %+v", res)
	}
	if res.Status != store.StatusFailed || res.Deleted != 0 {
		t.Errorf("status %q deleted %d, want failed and 0", res.Status, res.Deleted)
	}
	if !strings.Contains(err.Error(), "incomplete read") {
		t.Errorf("error %q does not say the read was incomplete", err)
	}
	for id, sp := range e.profiles(e.ids()) {
		if sp.DeletedAt != nil {
			t.Errorf("%s was deleted by a failed run", id)
		}
	}
	runs, err := e.store.Runs(context.Background(), "people", 1)
	if err != nil || len(runs) != 1 || runs[0].Status != store.StatusFailed {
		t.Errorf("last run %+v (%v), want one failed run", runs, err)
	}
}

func TestTrappingMappingFailsOnlyItsRecord(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 100)
	e.people[42].UID = "trap.me"
	e.writeDirectory()
	res := e.mustRun(e.syncConfig("file", "trapmap", "", ""), engine.Options{})
	checkCounts(t, "run", res, counts{processed: 100, created: 99, errors: 1})
	if res.Status != store.StatusCompletedWithErrors {
		t.Errorf("a run with a record error ended %q, want %q", res.Status, store.StatusCompletedWithErrors)
	}
	errs, err := e.store.RunErrors(context.Background(), res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) != 1 || errs[0].ExternalID != e.people[42].UUID {
		t.Fatalf("run errors %+v, want one for %s", errs, e.people[42].UUID)
	}
	t.Logf("trap recorded as: %s", errs[0].Message)
}

func TestCustomFieldsSurviveEverySync(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 50)
	cfg := e.syncConfig("file", "default", "", "")
	e.mustRun(cfg, engine.Options{})
	ctx := context.Background()
	target := e.people[5]
	sp := e.profiles([]string{target.UUID})[target.UUID]
	custom := map[string]any{"pronouns": "they/them", "hobbies": []any{"climbing", "chess"}}
	if err := e.store.SetCustomFields(ctx, sp.ProfileID, custom); err != nil {
		t.Fatal(err)
	}
	e.people[5].Title = "Promoted"
	e.people[5].Department = "Research"
	e.writeDirectory()
	res := e.mustRun(cfg, engine.Options{})
	checkCounts(t, "run", res, counts{processed: 50, updated: 1, unchanged: 49})
	e.mustRun(cfg, engine.Options{})
	got := e.profiles([]string{target.UUID})[target.UUID]
	if got.Profile.Get(profile.Title) != "Promoted" {
		t.Errorf("title %q, want the synced change", got.Profile.Get(profile.Title))
	}
	if fmt.Sprint(got.CustomFields) != fmt.Sprint(custom) {
		t.Errorf("custom fields %v, want %v", got.CustomFields, custom)
	}
}

func TestDeletionGuard(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 100)
	cfg := e.syncConfig("file", "default", "", "deletion {\n max_count = 5\n max_percent = 50\n }")
	e.mustRun(cfg, engine.Options{})

	// Ten gone is more than max_count: creates and updates apply, deletes do not.
	e.people[0].Title = "Still here"
	e.people = e.people[:90]
	e.writeDirectory()
	res := e.mustRun(cfg, engine.Options{})
	if res.Status != store.StatusGuarded || res.Deleted != 0 || res.Updated != 1 || res.WouldDelete != 10 {
		t.Fatalf("result %+v, want guarded with 1 update, 0 deleted, 10 held back", res)
	}
	// Allowed once, by a person.
	res = e.mustRun(cfg, engine.Options{AllowDeletes: 10})
	if res.Status != store.StatusSucceeded || res.Deleted != 10 {
		t.Fatalf("with --allow-deletes 10: %+v", res)
	}

	// A read of nobody is always guarded.
	e.people = nil
	e.writeDirectory()
	res = e.mustRun(cfg, engine.Options{})
	if res.Status != store.StatusGuarded || res.Deleted != 0 {
		t.Fatalf("empty read: %+v, want guarded and nothing deleted", res)
	}
}

// A run that wrote a changed manager reference and then failed leaves the reference
// unresolved; the next run, though it writes nothing, resolves it.
func TestManagersResolvedAfterAnInterruptedRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1200)
	e.mustRun(e.syncConfig("file", "default", "", "batch_size = 50"), engine.Options{})

	e.people[10].ManagerIndex = 5 // was (10-1)/8 = 1
	e.writeDirectory()
	res, err := e.run(e.syncConfig("crashy", "default", "fail_after = 1100", "batch_size = 50"), engine.Options{})
	if err == nil || res.Updated != 1 {
		t.Fatalf("interrupted run: %+v, %v; want a failed run that updated one profile", res, err)
	}
	res = e.mustRun(e.syncConfig("file", "default", "", "batch_size = 50"), engine.Options{})
	checkCounts(t, "run after the interrupted one", res, counts{processed: 1200, unchanged: 1200})
	stored := e.profiles([]string{e.people[10].UUID, e.people[5].UUID})
	if got, want := stored[e.people[10].UUID].ManagerID, stored[e.people[5].UUID].ProfileID; got != want {
		t.Fatalf("manager of %s is %q, want %q", e.people[10].UID, got, want)
	}
}

// countingMapper counts the records it is asked to map.
type countingMapper struct {
	engine.Mapper
	mapped atomic.Int64
}

func (c *countingMapper) MapInputs(ctx context.Context, records []mapper.Input) []mapper.Result {
	c.mapped.Add(int64(len(records)))
	return c.Mapper.MapInputs(ctx, records)
}

// Records unchanged at the source are not mapped again: their source hash is the stored
// one. Changed records are, and so is everyone once the mapping's settings change.
func TestUnchangedRecordsAreNotMapped(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 200)
	cfg := e.syncConfig("file", "default", "", "")
	run := func(cfg *config.Config) (engine.Result, int64) {
		t.Helper()
		ctx := context.Background()
		prep := e.prepare(cfg)
		cm := &countingMapper{Mapper: prep.Sync.Mapper}
		prep.Sync.Mapper = cm
		res, err := (&engine.Engine{Store: e.store, Holder: "test"}).Run(ctx, prep.Sync, engine.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return res, cm.mapped.Load()
	}
	if _, n := run(cfg); n != 200 {
		t.Fatalf("first run mapped %d records, want 200", n)
	}
	if res, n := run(cfg); n != 0 || res.Unchanged != 200 {
		t.Fatalf("unchanged run mapped %d records (unchanged %d), want 0 (200)", n, res.Unchanged)
	}
	e.people[3].Title, e.people[4].Title, e.people[5].Title = "A", "B", "C"
	e.writeDirectory()
	if res, n := run(cfg); n != 3 || res.Updated != 3 {
		t.Fatalf("3 changed people: mapped %d, updated %d; want 3 and 3", n, res.Updated)
	}
	// Another mapping identity (settings) re-maps everyone.
	src, err := os.ReadFile(filepath.Join(e.dir, "sync.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	src = bytes.Replace(src, []byte(`default_country_code = "49"`), []byte(`default_country_code = "33"`), 1)
	if err := os.WriteFile(filepath.Join(e.dir, "sync.hcl"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg2, diags := config.Load(filepath.Join(e.dir, "sync.hcl"))
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if _, n := run(cfg2); n != 200 {
		t.Fatalf("after a settings change: mapped %d, want 200", n)
	}
}

// A person who gets another manager, or whose manager moves (a new DN), is resolved to
// the right profile on a run that otherwise changed nothing.
func TestManagerChangesAreResolved(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 100)
	cfg := e.syncConfig("file", "default", "", "")
	e.mustRun(cfg, engine.Options{})

	e.people[50].ManagerIndex = 3    // was (50-1)/8 = 6
	e.people[2].UID = "moved.person" // a new DN: the reports of 2 (17..24) follow it
	e.writeDirectory()
	res := e.mustRun(cfg, engine.Options{})
	if res.Updated < 2 {
		t.Fatalf("run: %+v, want the re-managed person, the mover and its reports updated", res)
	}
	stored := e.profiles(e.ids())
	for _, i := range []int{50, 17, 24} {
		p := e.people[i]
		if got, want := stored[p.UUID].ManagerID, stored[e.people[p.ManagerIndex].UUID].ProfileID; got != want {
			t.Errorf("%s: manager %q, want %q", p.UID, got, want)
		}
	}
}

// People listed before their managers, in many small batches: Apply cannot set those
// managers when it creates the people, so the run's final (scoped) resolution must.
func TestManagersResolvedWhenReportsComeFirst(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 400)
	slices.Reverse(e.people) // managers have lower indexes than their reports
	for i := range e.people {
		if m := e.people[i].ManagerIndex; m >= 0 {
			e.people[i].ManagerIndex = len(e.people) - 1 - m
		}
	}
	e.writeDirectory()
	res := e.mustRun(e.syncConfig("file", "default", "", "batch_size = 25"), engine.Options{})
	checkCounts(t, "first run", res, counts{processed: 400, created: 400})
	stored := e.profiles(e.ids())
	for _, p := range e.people {
		want := ""
		if p.ManagerIndex >= 0 {
			want = stored[e.people[p.ManagerIndex].UUID].ProfileID
		}
		if got := stored[p.UUID].ManagerID; got != want {
			t.Errorf("%s: manager %q, want %q", p.UID, got, want)
		}
	}
}

// The mapping module loads while the run starts reading. Settings the module rejects
// fail the run, with the message and place that validate would give, and write nothing.
func TestRejectedMappingSettingsFailTheRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 50)
	e.syncConfig("file", "default", "", "")
	path := filepath.Join(e.dir, "sync.hcl")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	src = bytes.Replace(src, []byte(`default_country_code = "49"`), []byte(`default_country_code = "x9"`), 1)
	if err := os.WriteFile(path, src, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.Load(path)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	res, err := e.run(cfg, engine.Options{})
	if err == nil || res.Status != store.StatusFailed {
		t.Fatalf("run = %+v, %v; want a failed run", res, err)
	}
	for _, want := range []string{"sync.hcl:", "Mapping rejects its settings", "default_country_code"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if res.Created != 0 || len(e.profiles(e.ids())) != 0 {
		t.Errorf("created %d profiles, want none", res.Created)
	}
}

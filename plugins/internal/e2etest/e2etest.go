// Package e2etest runs a bundled HTTP connector end to end in its own package's tests,
// the way peoplesync runs it: the test binary re-executed as the connector's plugin
// subprocess, the default mapping module, a fresh migrated Postgres store per test and
// the engine between them. What each connector's end-to-end test then checks — its
// fixture, its config block, the profiles it expects — stays in that test.
//
//	TestMain ─► Main: "plugin NAME" → serve the connector; else pgtest.Main
//	test ─► New(sync.hcl) ─► Env{Config, Store} ─► Env.Run ─► setup.Sync + engine.Run
package e2etest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/peoplesync/peoplesync/config"
	"github.com/peoplesync/peoplesync/engine"
	"github.com/peoplesync/peoplesync/engine/mapper/mappertest"
	"github.com/peoplesync/peoplesync/engine/setup"
	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/engine/store/pgtest"
	"github.com/peoplesync/peoplesync/engine/store/postgres"
	"github.com/peoplesync/peoplesync/plugins"
)

// Main is a connector package's TestMain. Re-executed as "plugin NAME" (as setup starts
// a connector with the test binary for Executable), the binary serves the bundled
// connector NAME; otherwise it runs the tests with a Postgres server (pgtest.Main).
func Main(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "plugin" {
		if err := plugins.Serve(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	pgtest.Main(m)
}

// DefaultMapping builds the repository's default mapping module (mappings/default)
// into a file of the test's and returns its path.
func DefaultMapping(t testing.TB) string {
	t.Helper()
	_, here, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("e2etest: cannot tell where the repository is")
	}
	module := filepath.Join(t.TempDir(), "default.wasm")
	if err := mappertest.BuildFile(filepath.Join(filepath.Dir(here), "..", "..", "..", "mappings", "default"), module); err != nil {
		t.Fatal(err)
	}
	return module
}

// Env is one end-to-end test's world: a loaded sync.hcl and a store of its own.
type Env struct {
	// Config is the loaded sync.hcl.
	Config *config.Config
	// Store is a fresh, migrated database of the test's, closed when it ends.
	Store *postgres.Store
	// Options start connectors from the test binary, logging to the test's logger.
	Options setup.Options
}

// New writes src as a sync.hcl, loads it (failing the test on any error diagnostic)
// and opens a fresh migrated store. The engine and the connectors log to logger.
func New(t testing.TB, src string, logger *slog.Logger) *Env {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sync.hcl")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.Load(path)
	if diags.HasErrors() {
		t.Fatalf("config: %s", diags.Error())
	}
	st, err := postgres.Open(t.Context(), pgtest.NewDatabase(t), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return &Env{Config: cfg, Store: st, Options: setup.Options{Executable: os.Args[0], Logger: logger}}
}

// Run runs sync once with opts, as `peoplesync sync` does: its connector subprocess
// and mapping set up for the run and closed after it.
func (e *Env) Run(t testing.TB, sync string, opts engine.Options) (engine.Result, error) {
	t.Helper()
	ctx := context.Background()
	prep, diags := setup.Sync(ctx, e.Config, sync, e.Options)
	if diags.HasErrors() {
		t.Fatalf("setup: %s", diags.Error())
	}
	defer prep.Close(ctx)
	return (&engine.Engine{Store: e.Store, Holder: "test", Logger: e.Options.Logger}).Run(ctx, prep.Sync, opts)
}

// Profiles is the stored profiles of sync's people with these external IDs, deleted
// ones included, by external ID.
func (e *Env) Profiles(t testing.TB, sync string, ids []string) map[string]store.StoredProfile {
	t.Helper()
	got, err := e.Store.Profiles(context.Background(), sync, ids)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

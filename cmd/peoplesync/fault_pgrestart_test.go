package main

import (
	"context"
	"testing"
	"time"

	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/engine/store/pgtest"
	"github.com/peoplesync/peoplesync/engine/store/postgres"
	"github.com/peoplesync/peoplesync/examples/peoplegen"
)

// outage is how long the database stays down: long enough that a run which fails at the
// restart tries to record its end while the database is gone.
const outage = 2 * time.Second

// TestFaultPostgresRestartMidRun restarts the database under a running `peoplesync sync`
// (issue 12 §4), cleanly and as a crash: the run fails, and once the database is back its
// row says failed (never left running for the whole lease), with the counts of what it
// committed; its lock is released, so the next run starts at once and converges.
func TestFaultPostgresRestartMidRun(t *testing.T) {
	t.Parallel()
	const n = 2000
	opts := peoplegen.Defaults(n)
	people := peoplegen.Generate(opts)
	in := make([]bool, n)
	for i := range in {
		in[i] = true
	}
	for _, mode := range []pgtest.ShutdownMode{pgtest.Clean, pgtest.Crash} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			v := newVersion(t, opts, people, in)
			w, server := newServerWorld(t, opts)
			// A lease far longer than the test: a run row or lock left behind shows.
			cfg := w.config("sync.hcl", "120s", syncSpec{name: faultSync, path: w.writeFile("people.ldif", v.ldif), schedule: "@every 1h", batch: 100})

			// Stop the run inside an Apply, with earlier batches committed.
			pid, release := w.holdLink(people[3*n/4].UUID)
			p := w.startSync(cfg, "restarted")
			w.waitBlocked(pid, "an Apply to wait inside its transaction")
			waitUntil(t, 30*time.Second, "the first batches to commit", func() bool { return w.live(faultSync) >= 100 })
			code, res := w.restartUnder(p, server, mode, release)

			committed := w.live(faultSync)
			if code != 1 || res.Status != store.StatusFailed {
				t.Errorf("the restarted run exited %d with status %q, want 1 and failed", code, res.Status)
			}
			runs := w.runs(faultSync)
			if len(runs) != 1 {
				t.Fatalf("runs: %+v, want one", runs)
			}
			r := runs[0]
			if r.Status != store.StatusFailed || r.FinishedAt == nil || r.Message == "" {
				t.Errorf("the restarted run's row: %s (finished %v) %q, want failed with a reason", r.Status, r.FinishedAt, r.Message)
			}
			if committed == 0 || committed >= n {
				t.Errorf("%d profiles committed before the restart, want some of %d", committed, n)
			}
			if r.Created != int64(committed) || res.Created != int64(committed) {
				t.Errorf("the run records created %d and printed %d; %d were committed", r.Created, res.Created, committed)
			}
			if l := w.locks(); len(l) != 0 {
				t.Errorf("the restarted run still holds its lock: %+v", l)
			}

			// No lease to wait out: the next run starts now and converges.
			next := w.syncToEnd(cfg, "next")
			if next.Created != int64(n-committed) {
				t.Errorf("the next run created %d, want the %d the first did not", next.Created, n-committed)
			}
			w.checkConverged(v, nil)
		})
	}
}

// newServerWorld is a world on a database server of the test's own, which it may shut
// down and restart.
func newServerWorld(t *testing.T, opts peoplegen.Options) (*world, *pgtest.Server) {
	t.Helper()
	server := pgtest.NewServer(t)
	if err := pgtest.CreateDatabase(context.Background(), server.DSN("postgres"), "peoplesync"); err != nil {
		t.Fatal(err)
	}
	bin, wasm := binaries(t)
	w := &world{t: t, dir: t.TempDir(), dsn: server.DSN("peoplesync"), bin: bin, wasm: wasm, opts: opts}
	w.openStore()
	return w, server
}

// restartUnder shuts the server down (mode) under the running p, lets release go (the
// session it ends is gone with the server anyway), keeps the database away for outage
// or until p exits, brings it back and returns p's exit code and summary.
func (w *world) restartUnder(p *syncProc, server *pgtest.Server, mode pgtest.ShutdownMode, release func()) (int, resultJSON) {
	w.t.Helper()
	ctx := context.Background()
	w.store.Close()
	if err := server.Shutdown(ctx, mode); err != nil {
		w.t.Fatal(err)
	}
	release()
	select {
	case <-p.done:
	case <-time.After(outage):
	}
	if err := server.Resume(ctx); err != nil {
		w.t.Fatal(err)
	}
	code, res := p.result(60 * time.Second)
	w.openStore()
	return code, res
}

// openStore (re)opens the world's store handle, closed when the test ends.
func (w *world) openStore() {
	w.t.Helper()
	st, err := postgres.Open(w.t.Context(), w.dsn, postgres.Options{})
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(st.Close)
	if err := st.Migrate(w.t.Context()); err != nil {
		w.t.Fatal(err)
	}
	w.store = st
}

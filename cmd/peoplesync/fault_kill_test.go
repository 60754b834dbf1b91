package main

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/peoplesync/peoplesync/engine/store/pgtest"
	"github.com/peoplesync/peoplesync/examples/peoplegen"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

// killDirectory is the directory of the kill tests and its two versions. In the first,
// x reports to m, who is missing from the export (a dangling reference). The second
// adds m, re-titles some people, moves y to another manager and drops some leaves.
type killDirectory struct {
	opts          peoplegen.Options
	first, second version
	x, m          int
	gone          []int // dropped by the second version
}

func newKillDirectory(t *testing.T, n int) killDirectory {
	t.Helper()
	d := killDirectory{opts: peoplegen.Defaults(n)}
	people := peoplegen.Generate(d.opts)
	// With (i-1)/8 as each person's manager, the last people manage nobody: changing
	// them changes no one else.
	d.x, d.m = n-2, n-1
	people[d.x].ManagerIndex = d.m
	in := make([]bool, n)
	for i := range in {
		in[i] = i != d.m
	}
	d.first = newVersion(t, d.opts, people, in)

	y := n - 3
	people[y].ManagerIndex = 1
	for i := 10; i < n/3; i += 10 {
		people[i].Title = "Retitled " + people[i].Title
	}
	in[d.m] = true
	for i := n / 2; i < n/2+n/40; i++ {
		in[i] = false
		d.gone = append(d.gone, i)
	}
	d.second = newVersion(t, d.opts, people, in)
	return d
}

// TestFaultKilledSyncConverges kills `peoplesync sync` with SIGKILL at several points of
// a run (invariant 6) and checks that the next run, once the dead run's lease expired,
// leaves the store exactly as the source says and as a store that saw no kill: every
// person once, with the source's fields and manager, nobody in the source soft-deleted,
// and the killed run marked abandoned.
func TestFaultKilledSyncConverges(t *testing.T) {
	t.Parallel()
	const n = 2000
	d := newKillDirectory(t, n)

	// The reference: the same versions synced without faults.
	ref := newWorld(t)
	refFirst := ref.config("first.hcl", "2s", syncSpec{name: faultSync, path: ref.writeFile("first.ldif", d.first.ldif), schedule: "@every 1h", batch: 100})
	refSecond := ref.config("second.hcl", "2s", syncSpec{name: faultSync, path: ref.writeFile("second.ldif", d.second.ldif), schedule: "@every 1h", batch: 100})
	ref.syncToEnd(refFirst, "ref-first")
	afterFirst := ref.snapshot()
	ref.checkConverged(d.first, afterFirst)
	if res := ref.syncToEnd(refSecond, "ref-second"); res.Deleted != int64(len(d.gone)) || res.Created != 1 {
		t.Fatalf("second version: %+v, want %d deleted and 1 created", res, len(d.gone))
	}
	afterSecond := ref.snapshot()
	ref.checkConverged(d.second, afterSecond)
	if afterSecond[d.second.people[d.x].UUID].Manager != d.second.people[d.m].UUID {
		t.Fatal("the reference store did not resolve x's manager once m appeared")
	}
	if t.Failed() {
		t.FailNow()
	}

	type setup struct {
		w                    *world
		first, second, fifoC string
		fifo                 *fifoLDIF
	}
	newSetup := func(t *testing.T) setup {
		w := newWorld(t)
		s := setup{w: w}
		s.first = w.config("first.hcl", "2s", syncSpec{name: faultSync, path: w.writeFile("first.ldif", d.first.ldif), schedule: "@every 1h", batch: 100})
		s.second = w.config("second.hcl", "2s", syncSpec{name: faultSync, path: w.writeFile("second.ldif", d.second.ldif), schedule: "@every 1h", batch: 100})
		s.fifo = w.fifo("pipe.ldif")
		s.fifoC = w.config("pipe.hcl", "2s", syncSpec{name: faultSync, path: s.fifo.path, schedule: "@every 1h", batch: 100})
		return s
	}
	// killWhen starts a sync with cfg, lets stop say when it is where the test wants it,
	// kills it there and returns the killed run's ID.
	killWhen := func(s setup, cfg string, stop func()) int64 {
		p := s.w.startSync(cfg, "killed")
		stop()
		r := s.w.runningRun()
		if r == nil {
			s.w.t.Fatal("no run is running at the kill point")
		}
		p.kill()
		return r.ID
	}
	// rerun waits out the dead run's lease, syncs cfg to its end and checks the result.
	// The rerun takes the default lease: the short one exists to let a killed run's
	// lease expire soon, and 2 s with renewals every 0.7 s is not a healthy run's lease
	// on a machine loaded tenfold (a rerun lost it there).
	rerun := func(s setup, cfg string, v version, want map[string]stored, killed int64) {
		start := time.Now()
		s.w.waitLeaseExpired()
		lease := time.Since(start)
		s.w.syncToEnd(withLease(t, cfg, "30s"), "rerun")
		t.Logf("%s: lease expired after %v, rerun took %v", s.w.t.Name(), lease.Round(time.Millisecond), (time.Since(start) - lease).Round(time.Millisecond))
		s.w.checkConverged(v, want)
		s.w.checkRuns(killed)
	}

	t.Run("after the run row appears", func(t *testing.T) {
		t.Parallel()
		s := newSetup(t)
		killed := killWhen(s, s.fifoC, func() {
			// The connector waits on the empty pipe: the run holds its lease and has
			// read nothing.
			waitUntil(t, 30*time.Second, "the run's row", func() bool { return s.w.runningRun() != nil })
		})
		if n := s.w.live(faultSync); n != 0 {
			t.Fatalf("%d profiles before any record was sent", n)
		}
		rerun(s, s.first, d.first, afterFirst, killed)
	})

	t.Run("while applying", func(t *testing.T) {
		t.Parallel()
		s := newSetup(t)
		// The batch that creates this person waits inside its Apply; the batches
		// before it commit.
		pid, release := s.w.holdLink(d.first.people[3*n/4].UUID)
		killed := killWhen(s, s.first, func() {
			s.w.waitBlocked(pid, "an Apply to wait inside its transaction")
			waitUntil(t, 30*time.Second, "the first batches to commit", func() bool { return s.w.live(faultSync) >= 100 })
		})
		release()
		live := s.w.live(faultSync)
		if live == 0 || live >= n-1 {
			t.Fatalf("%d profiles after the kill, want some of the %d", live, n-1)
		}
		rerun(s, s.first, d.first, afterFirst, killed)
		// The abandoned run says what it committed before it died: every profile
		// there was after the kill, all of them its creates.
		for _, r := range s.w.runs(faultSync) {
			if r.ID == killed && (r.Created != int64(live) || r.Updated != 0 || r.Deleted != 0) {
				t.Errorf("the abandoned run counts %d created, %d updated, %d deleted; it committed %d creates",
					r.Created, r.Updated, r.Deleted, live)
			}
		}
	})

	t.Run("while deleting", func(t *testing.T) {
		t.Parallel()
		s := newSetup(t)
		s.w.syncToEnd(s.first, "first")
		// The run's soft delete waits for a person it drops, whom nothing else touches.
		pid, release := s.w.holdProfile(d.second.people[d.gone[0]].UUID)
		killed := killWhen(s, s.second, func() {
			s.w.waitBlocked(pid, "the run's soft delete to wait")
		})
		release()
		rerun(s, s.second, d.second, afterSecond, killed)
	})

	t.Run("while resolving managers", func(t *testing.T) {
		t.Parallel()
		s := newSetup(t)
		s.w.syncToEnd(s.first, "first")
		// x's record does not change; only resolving managers writes x, once m exists.
		x := d.second.people[d.x].UUID
		pid, release := s.w.holdProfile(x)
		killed := killWhen(s, s.second, func() {
			s.w.waitBlocked(pid, "the run's manager resolution to wait")
		})
		// Everything up to the resolution is committed: the new title, the deletions.
		snap := s.w.snapshot()
		if got := snap[d.second.people[10].UUID].Core[profile.FieldIndex(profile.Title)]; got != d.second.people[10].Title {
			t.Errorf("title before the kill: %q, want %q", got, d.second.people[10].Title)
		}
		if snap[x].Manager != "" {
			t.Errorf("x's manager was resolved before the kill")
		}
		release()
		rerun(s, s.second, d.second, afterSecond, killed)
	})
}

// TestFaultTakeoverSparesOtherDatabases: a run that takes over a killed run's expired
// lease ends the sessions still writing under that lease's term, and only those of its
// own database. Terms come from a sequence per database, so another database on the same
// server (another test's, or another installation's) has writers with the same term.
func TestFaultTakeoverSparesOtherDatabases(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	people := peoplegen.Generate(peoplegen.Defaults(50))
	pipe := w.fifo("pipe.ldif")
	p := w.startSync(w.config("pipe.hcl", "2s", syncSpec{name: faultSync, path: pipe.path, schedule: "@every 1h"}), "killed")
	waitUntil(t, 30*time.Second, "the run's row", func() bool { return w.runningRun() != nil })
	var term int64
	for _, l := range w.locks() {
		term = l.Term
	}
	p.kill()

	// A writer of another database, under the same term number.
	other := &world{t: t, dsn: pgtest.NewDatabase(t)}
	conn := other.pg()
	ctx := context.Background()
	if _, err := conn.Exec(ctx, `SELECT set_config('application_name', $1, false)`, fmt.Sprintf("peoplesync term %d", term)); err != nil {
		t.Fatal(err)
	}

	w.waitLeaseExpired()
	w.syncToEnd(w.config("file.hcl", "30s", syncSpec{name: faultSync, path: w.writeFile("people.ldif", w.ldif(people)), schedule: "@every 1h"}), "rerun")
	if _, err := conn.Exec(ctx, `SELECT 1`); err != nil {
		t.Fatalf("the takeover in one database ended a session of another: %v", err)
	}
}

// withLease writes a copy of the config file cfg with lease_ttl set to ttl and returns
// its path.
func withLease(t *testing.T, cfg, ttl string) string {
	t.Helper()
	src, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`lease_ttl = "[^"]*"`)
	if !re.Match(src) {
		t.Fatalf("%s sets no lease_ttl", cfg)
	}
	out := strings.TrimSuffix(cfg, ".hcl") + "-lease-" + ttl + ".hcl"
	if err := os.WriteFile(out, re.ReplaceAll(src, []byte(`lease_ttl = "`+ttl+`"`)), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

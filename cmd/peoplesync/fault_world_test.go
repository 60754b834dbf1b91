package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/examples/peoplegen"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

// The fault tests run the real binary's `sync` and break it from outside: SIGKILL at
// chosen points, the database taken away. They stop a run at a point, not at a moment:
// a run waits on an export pipe the test feeds, or on a row the test holds locked, and
// the test acts once it sees the run waiting there.

// faultSync is the name of the sync in the fault tests' configs.
const faultSync = "hr"

// syncProc is one running `peoplesync sync`.
type syncProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdout string
	stderr string
	done   chan struct{}
}

// startSync starts `peoplesync sync` of faultSync with cfg, in a process group of its
// own so that a kill takes its connector with it.
func (w *world) startSync(cfg, name string) *syncProc {
	w.t.Helper()
	return w.startSyncOf(cfg, faultSync, name)
}

// startSyncOf is startSync of the sync syncName.
func (w *world) startSyncOf(cfg, syncName, name string) *syncProc {
	w.t.Helper()
	p := &syncProc{t: w.t, stdout: filepath.Join(w.dir, name+".out"), stderr: filepath.Join(w.dir, name+".log"), done: make(chan struct{})}
	out, err := os.Create(p.stdout)
	if err != nil {
		w.t.Fatal(err)
	}
	errOut, err := os.Create(p.stderr)
	if err != nil {
		w.t.Fatal(err)
	}
	p.cmd = exec.Command(w.bin, "--config", cfg, "--log-format", "json", "--log-level", "debug",
		"sync", "--sync", syncName, "--output", "json")
	p.cmd.Stdout, p.cmd.Stderr = out, errOut
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		out.Close()
		errOut.Close()
		close(p.done)
	}()
	w.t.Cleanup(func() {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		if w.t.Failed() {
			data, _ := os.ReadFile(p.stderr)
			w.t.Logf("log of %s:\n%s", name, tail(interesting(string(data)), 6000))
		}
	})
	return p
}

// kill sends SIGKILL to the process and its connector and waits for it to be gone.
func (p *syncProc) kill() {
	p.t.Helper()
	if err := syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		p.t.Fatalf("kill -9: %v", err)
	}
	p.wait(10 * time.Second)
}

// wait waits for the process to exit and returns its exit code.
func (p *syncProc) wait(d time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		p.t.Fatalf("peoplesync sync (pid %d) did not exit within %v", p.cmd.Process.Pid, d)
	}
	return p.cmd.ProcessState.ExitCode()
}

// result waits for the process and returns its exit code and the summary it printed.
func (p *syncProc) result(d time.Duration) (int, resultJSON) {
	p.t.Helper()
	code := p.wait(d)
	out, _ := os.ReadFile(p.stdout)
	var res resultJSON
	if err := json.Unmarshal(out, &res); err != nil {
		errOut, _ := os.ReadFile(p.stderr)
		p.t.Fatalf("sync exited %d and printed %q (%v)\nstderr: %s", code, out, err, tail(string(errOut), 4000))
	}
	return code, res
}

// syncToEnd runs a sync to its end and fails the test unless it succeeded.
func (w *world) syncToEnd(cfg, name string) resultJSON {
	w.t.Helper()
	return w.syncToEndOf(cfg, faultSync, name)
}

// syncToEndOf is syncToEnd of the sync syncName.
func (w *world) syncToEndOf(cfg, syncName, name string) resultJSON {
	w.t.Helper()
	p := w.startSyncOf(cfg, syncName, name)
	code, res := p.result(60 * time.Second)
	if code != 0 || res.Status != store.StatusSucceeded {
		errOut, _ := os.ReadFile(p.stderr)
		w.t.Fatalf("%s exited %d: %+v\n%s", name, code, res, tail(interesting(string(errOut)), 4000))
	}
	return res
}

// runningRun returns the sync's run in status running, or nil.
func (w *world) runningRun() *store.RunInfo { return w.runningRunOf(faultSync) }

// runningRunOf is runningRun of the sync syncName.
func (w *world) runningRunOf(syncName string) *store.RunInfo {
	for _, r := range w.runs(syncName) {
		if r.Status == store.StatusRunning {
			return &r
		}
	}
	return nil
}

// waitLeaseExpired waits until the sync has no live lease (its holder died). The tests'
// lease_ttl is 2s: 15s is slack for a busy machine, and short of the 30s default that a
// `sync` ignoring lease_ttl would take.
func (w *world) waitLeaseExpired() {
	w.t.Helper()
	w.waitLeaseExpiredOf(faultSync)
}

// waitLeaseExpiredOf is waitLeaseExpired of the sync syncName.
func (w *world) waitLeaseExpiredOf(syncName string) {
	w.t.Helper()
	waitUntil(w.t, 15*time.Second, "the killed run's lease (lease_ttl 2s) to expire", func() bool {
		for _, l := range w.locks() {
			if l.Sync == syncName && l.Live {
				return false
			}
		}
		return true
	})
}

// pg opens a connection of the test's own to the world's database.
func (w *world) pg() *pgx.Conn {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, w.dsn)
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// count runs a query that returns one integer.
func (w *world) count(sql string, args ...any) int {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, w.dsn)
	if err != nil {
		w.t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		w.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// holdProfile locks the profile linked to externalID (FOR NO KEY UPDATE, what an
// UPDATE of it takes) in a transaction of the test's own, so that the run's next
// statement writing that row waits. It returns the locking session's backend PID and a
// function that lets go.
func (w *world) holdProfile(externalID string) (int32, func()) {
	w.t.Helper()
	return w.holdProfileOf(faultSync, externalID)
}

// holdProfileOf is holdProfile of the profile that the sync syncName links to externalID.
func (w *world) holdProfileOf(syncName, externalID string) (int32, func()) {
	w.t.Helper()
	return w.holdRow(`
		SELECT 1 FROM profiles p JOIN profile_links l ON l.profile_id = p.id
		 WHERE l.sync_name = $1 AND l.external_id = $2 FOR NO KEY UPDATE OF p`, syncName, externalID)
}

// holdRow runs query, which locks one row and returns 1, in a transaction of the test's
// own that it leaves open. It returns the session's backend PID and a function that
// lets go.
func (w *world) holdRow(query string, args ...any) (int32, func()) {
	w.t.Helper()
	ctx := context.Background()
	conn := w.pg()
	var pid int32
	if err := conn.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		w.t.Fatal(err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	var one int
	if err := tx.QueryRow(ctx, query, args...).Scan(&one); err != nil {
		w.t.Fatalf("lock the row of %v: %v", args, err)
	}
	released := false
	release := func() {
		if !released {
			released = true
			_ = tx.Rollback(ctx)
		}
	}
	w.t.Cleanup(release)
	return pid, release
}

// waitBlocked waits until one of the run's write transactions (their sessions carry the
// lease's term in their application name) waits for a lock that backend pid holds. The
// statement text is not matched: pg_stat_activity cuts it at 1 kB.
func (w *world) waitBlocked(pid int32, what string) {
	w.t.Helper()
	conn := w.pg()
	waitUntil(w.t, 30*time.Second, what, func() bool {
		var n int
		err := conn.QueryRow(context.Background(), `
			SELECT count(*) FROM pg_stat_activity
			 WHERE datname = current_database() AND $1::int = ANY (pg_blocking_pids(pid))
			   AND application_name LIKE 'peoplesync term %'`, pid).Scan(&n)
		if err != nil {
			w.t.Fatal(err)
		}
		return n > 0
	})
}

// holdLink inserts, in a transaction of the test's own that it leaves open, a profile
// and the sync's link to externalID, so that the run's insert of that link waits for the
// transaction inside its Apply. It returns the session's backend PID and a function that
// rolls the transaction back.
func (w *world) holdLink(externalID string) (int32, func()) {
	w.t.Helper()
	ctx := context.Background()
	conn := w.pg()
	var pid int32
	if err := conn.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		w.t.Fatal(err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `
		WITH p AS (INSERT INTO profiles DEFAULT VALUES RETURNING id)
		INSERT INTO profile_links (sync_name, external_id, profile_id) SELECT $1, $2, id FROM p`,
		faultSync, externalID); err != nil {
		w.t.Fatalf("hold the link of %s: %v", externalID, err)
	}
	released := false
	release := func() {
		if !released {
			released = true
			_ = tx.Rollback(ctx)
		}
	}
	w.t.Cleanup(release)
	return pid, release
}

// version is one state of a generated directory: which of the people it holds, and how.
type version struct {
	people []peoplegen.Person // the whole generated set, as this version has them
	in     []bool             // in[i]: people[i] is in this version's export
	ldif   []byte
}

// newVersion renders the people that in admits as an LDIF export; a manager left out
// of the export is still named by the people who report to them (a dangling reference).
func newVersion(t *testing.T, o peoplegen.Options, people []peoplegen.Person, in []bool) version {
	t.Helper()
	var all bytes.Buffer
	if err := peoplegen.WriteLDIF(&all, o, people); err != nil {
		t.Fatal(err)
	}
	body, ok := bytes.CutPrefix(all.Bytes(), []byte("version: 1\n"))
	if !ok {
		t.Fatal("peoplegen LDIF has no version line")
	}
	entries := strings.SplitAfter(string(body), "\n\n")
	if entries[len(entries)-1] == "" {
		entries = entries[:len(entries)-1]
	}
	if len(entries) != len(people) {
		t.Fatalf("LDIF has %d entries for %d people", len(entries), len(people))
	}
	var b strings.Builder
	b.WriteString("version: 1\n")
	for i, e := range entries {
		if in[i] {
			b.WriteString(e)
		}
	}
	return version{people: slices.Clone(people), in: slices.Clone(in), ldif: []byte(b.String())}
}

// size is the number of people in the version.
func (v version) size() int {
	n := 0
	for _, in := range v.in {
		if in {
			n++
		}
	}
	return n
}

// stored is what a test compares of one stored profile.
type stored struct {
	Core       [profile.NumCoreFields]string
	Active     bool
	Attributes map[string]string
	Manager    string // the manager's external ID
	Deleted    bool
}

// snapshot returns the sync's stored profiles by external ID, and checks that the store
// holds no duplicate, no profile without a link and no dangling manager.
func (w *world) snapshot() map[string]stored {
	w.t.Helper()
	ps, err := w.store.ListProfiles(context.Background(), faultSync, 0)
	if err != nil {
		w.t.Fatal(err)
	}
	extByID := make(map[string]string, len(ps))
	for _, p := range ps {
		if _, dup := extByID[p.ProfileID]; dup {
			w.t.Errorf("profile %s is linked twice", p.ProfileID)
		}
		extByID[p.ProfileID] = p.ExternalID
	}
	out := make(map[string]stored, len(ps))
	for _, p := range ps {
		if _, dup := out[p.ExternalID]; dup {
			w.t.Errorf("external ID %s has two profiles", p.ExternalID)
		}
		s := stored{Core: p.Profile.Core, Active: p.Profile.Active, Attributes: p.Profile.Attributes, Deleted: p.DeletedAt != nil}
		if p.ManagerID != "" {
			m, ok := extByID[p.ManagerID]
			if !ok {
				w.t.Errorf("%s: manager %s is no profile of the sync", p.ExternalID, p.ManagerID)
			}
			s.Manager = m
		}
		out[p.ExternalID] = s
	}
	if n := w.count(`SELECT count(*) FROM profiles`); n != len(ps) {
		w.t.Errorf("%d profiles in the database, %d linked to the sync: duplicates or orphans", n, len(ps))
	}
	return out
}

// checkConverged checks that the store holds exactly the version: every person live
// with the fields and manager of the source, everyone else soft-deleted, and the same
// profiles, field by field, as ref (a store that reached the version without faults),
// unless ref is nil.
func (w *world) checkConverged(v version, ref map[string]stored) {
	w.t.Helper()
	got := w.snapshot()
	live := 0
	for i, p := range v.people {
		s, ok := got[p.UUID]
		if !v.in[i] {
			if ok && !s.Deleted {
				w.t.Errorf("%s (%s) is not in the source but live", p.UUID, p.UID)
			}
			continue
		}
		if !ok {
			w.t.Errorf("%s (%s) is in the source but not in the store", p.UUID, p.UID)
			continue
		}
		live++
		if s.Deleted {
			w.t.Errorf("%s (%s) is in the source but soft-deleted", p.UUID, p.UID)
		}
		for field, want := range map[string]string{
			profile.GivenName: p.GivenName, profile.FamilyName: p.FamilyName, profile.Title: p.Title,
			profile.Department: p.Department, profile.EmployeeNumber: p.EmployeeNumber,
		} {
			if got := s.Core[profile.FieldIndex(field)]; got != want {
				w.t.Errorf("%s (%s): %s = %q, source has %q", p.UUID, p.UID, field, got, want)
			}
		}
		wantManager := ""
		if m := p.ManagerIndex; m >= 0 && v.in[m] {
			wantManager = v.people[m].UUID
		}
		if s.Manager != wantManager {
			w.t.Errorf("%s (%s): manager %q, source says %q", p.UUID, p.UID, s.Manager, wantManager)
		}
	}
	if live != v.size() {
		w.t.Errorf("%d of the %d people of the source are live", live, v.size())
	}
	if ref == nil {
		return
	}
	if len(got) != len(ref) {
		w.t.Errorf("%d profiles, a store without faults has %d", len(got), len(ref))
	}
	diffs := 0
	for ext, want := range ref {
		if g, ok := got[ext]; !ok || g.Core != want.Core || g.Active != want.Active || g.Manager != want.Manager ||
			g.Deleted != want.Deleted || !maps.Equal(g.Attributes, want.Attributes) {
			if diffs++; diffs <= 5 {
				w.t.Errorf("%s differs from a store without faults:\n got %+v\nwant %+v", ext, g, want)
			}
		}
	}
	if diffs > 5 {
		w.t.Errorf("… %d profiles differ in all", diffs)
	}
}

// checkRuns checks that the killed run ended abandoned, the last run succeeded, no run
// is left running and no lock is held.
func (w *world) checkRuns(killed int64) {
	w.t.Helper()
	runs := w.runs(faultSync)
	for _, r := range runs {
		switch {
		case r.Status == store.StatusRunning:
			w.t.Errorf("run %d left running", r.ID)
		case r.ID == killed && (r.Status != store.StatusAbandoned || r.FinishedAt == nil):
			w.t.Errorf("the killed run %d is %s (finished %v), want abandoned", r.ID, r.Status, r.FinishedAt)
		}
	}
	if len(runs) == 0 || runs[0].ID == killed || runs[0].Status != store.StatusSucceeded {
		w.t.Errorf("the last run did not succeed: %+v", runs)
	}
	if l := w.locks(); len(l) != 0 {
		w.t.Errorf("locks left: %+v", l)
	}
}

func (v version) String() string { return fmt.Sprintf("%d people", v.size()) }

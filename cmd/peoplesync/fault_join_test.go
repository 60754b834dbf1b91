package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/engine/store/pgtest"
	"github.com/peoplesync/peoplesync/examples/peoplegen"
)

// The join fault tests break a joining sync (README "Several sources") as the fault
// tests break a single one: the HR export (sync faultSync, a CSV as examples/hr.csv has
// it) creates and ends people; the directory (sync joinSync, an LDIF export of
// inetOrgPerson entries, RFC 2849) only joins them, by employee number and then email,
// and wins the email, the phones and the photo.

// joinSync is the name of the sync that joins in the join fault tests.
const joinSync = "dir"

// joinDirectory is the people of the join fault tests: HR's export and two versions of
// the directory's. The directory has everyone; HR lacks the last three (the directory's
// records of them stay unmatched). The directory gives everyone a mail address of its
// own domain, so that a joined profile shows it. The second version drops some people
// and gives some others new phones.
type joinDirectory struct {
	opts          peoplegen.Options
	people        []peoplegen.Person
	hr, hrAll     []byte // HR's export, and a later one with everyone
	first, second version
	gone          []int // dropped by the second version
	rephoned      []int // with new phones in the second version
	missing       int   // the last missing people are not in HR's export
}

func newJoinDirectory(t *testing.T, n int) joinDirectory {
	t.Helper()
	d := joinDirectory{opts: peoplegen.Defaults(n), missing: 3}
	d.people = peoplegen.Generate(d.opts)
	d.hr = hrCSV(t, d.people[:n-d.missing])
	d.hrAll = hrCSV(t, d.people)

	dir := slices.Clone(d.people)
	for i := range dir {
		if dir[i].Mail != "" {
			dir[i].Mail = dir[i].UID + "@corp.example.com"
		}
	}
	in := make([]bool, n)
	for i := range in {
		in[i] = true
	}
	d.first = newVersion(t, d.opts, dir, in)
	// With (i-1)/8 as each person's manager, people past n/8 manage nobody.
	for i := n / 2; i < n/2+n/40; i++ {
		in[i] = false
		d.gone = append(d.gone, i)
	}
	for i := 10; i < n/3; i += 10 {
		dir[i].Phone = fmt.Sprintf("+49 30 9999 %04d", i)
		d.rephoned = append(d.rephoned, i)
	}
	d.second = newVersion(t, d.opts, dir, in)
	return d
}

// hrCSV renders people as HR's export: examples/hr.csv's columns, the manager named by
// employee ID, no phones.
func hrCSV(t *testing.T, people []peoplegen.Person) []byte {
	t.Helper()
	var b strings.Builder
	w := csv.NewWriter(&b)
	rows := [][]string{{"employee_id", "username", "first_name", "last_name", "email", "job_title", "department", "cost_center", "manager_id", "status"}}
	for i, p := range people {
		manager := ""
		if p.ManagerIndex >= 0 {
			manager = people[p.ManagerIndex].EmployeeNumber
		}
		rows = append(rows, []string{p.EmployeeNumber, p.UID, p.GivenName, p.FamilyName, p.Mail, p.Title,
			p.Department, fmt.Sprintf("CC-%03d", i%97), manager, "active"})
	}
	if err := w.WriteAll(rows); err != nil {
		t.Fatal(err)
	}
	return []byte(b.String())
}

// joinSetup is one world of the join tests with its configs: HR's export, and the
// directory's first and second versions and a pipe the test feeds; hrAll is HR's later
// export with the directory's second version.
type joinSetup struct {
	w                              *world
	hr, first, second, pipe, hrAll string
	fifo                           *fifoLDIF
}

// joinConfigs writes w's configs for d: lease is their lease_ttl.
func joinConfigs(w *world, d joinDirectory, lease string) joinSetup {
	w.t.Helper()
	s := joinSetup{w: w}
	cfg := func(name, hrPath, dirPath string) string {
		return w.config(name, lease,
			syncSpec{name: faultSync, path: hrPath, schedule: "@every 1h", batch: 100, format: "csv", idAttribute: "employee_id"},
			// No guard on the directory's deletions: a partial read taken for a whole
			// one must show, not be held back.
			syncSpec{name: joinSync, path: dirPath, schedule: "@every 1h", batch: 100, maxPercent: 100,
				join: []string{"employee_number", "email"}, wins: []string{"email", "phone_work", "phone_mobile", "photo"}})
	}
	hrPath, second := w.writeFile("hr.csv", d.hr), w.writeFile("second.ldif", d.second.ldif)
	s.first = cfg("first.hcl", hrPath, w.writeFile("first.ldif", d.first.ldif))
	s.second = cfg("second.hcl", hrPath, second)
	s.fifo = w.fifo("pipe.ldif")
	s.pipe = cfg("pipe.hcl", hrPath, s.fifo.path)
	s.hrAll = cfg("hr-all.hcl", w.writeFile("hr-all.csv", d.hrAll), second)
	s.hr = s.first
	return s
}

// joinReference is what a store holds that saw no fault: after HR's run, after the
// directory's first version, after its second, and after HR's export with everyone.
type joinReference struct {
	hrOnly, first, second, all map[string]string
	cfg                        string // the reference store's config of the second version
}

func newJoinReference(t *testing.T, d joinDirectory) joinReference {
	t.Helper()
	s := joinConfigs(newWorld(t), d, "30s")
	var ref joinReference
	s.w.syncToEndOf(s.hr, faultSync, "ref-hr")
	ref.hrOnly = s.w.joinSnapshot()
	res := s.w.syncToEndOf(s.first, joinSync, "ref-first")
	n := int64(len(d.people))
	if res.Joined != n-int64(d.missing) || res.Unmatched != int64(d.missing) || res.Created != 0 {
		t.Fatalf("the directory's first run: %+v, want %d joined and %d unmatched", res, n-int64(d.missing), d.missing)
	}
	ref.first = s.w.joinSnapshot()
	res = s.w.syncToEndOf(s.second, joinSync, "ref-second")
	if res.Deleted != 0 || res.Updated != int64(len(d.rephoned)) {
		t.Fatalf("the directory's second run: %+v, want %d updated and none deleted", res, len(d.rephoned))
	}
	ref.second = s.w.joinSnapshot()
	ref.cfg = s.second
	// HR's run that creates the people the directory has waited for joins them.
	if res := s.w.syncToEndOf(s.hrAll, faultSync, "ref-hr-all"); res.Created != int64(d.missing) || res.Rematched != int64(d.missing) {
		t.Fatalf("HR's run with everyone: %+v, want %d created and as many waiting records joined", res, d.missing)
	}
	ref.all = s.w.joinSnapshot()
	// The people the directory dropped keep their profiles, without its phone.
	if k := s.w.count(`SELECT count(*) FROM profiles p JOIN profile_links l ON l.profile_id = p.id
		WHERE l.sync_name = $1 AND l.gone_at IS NOT NULL AND p.deleted_at IS NULL AND p.phone_work = ''`, joinSync); k != len(d.gone) {
		t.Fatalf("%d live profiles without the directory's phone, want the %d it dropped", k, len(d.gone))
	}
	return ref
}

// joinSnapshot returns every profile of the store as one line by HR's external ID: its
// fields, active, live, its manager's HR ID, the source of each field (provenance,
// without its times, which differ from store to store), its picture and each of its
// links with its situation, whether it is live, a digest of its contribution and of its
// picture. Pending records are listed as "pending SYNC EXTERNAL_ID". It checks that
// every profile has its HR link.
func (w *world) joinSnapshot() map[string]string {
	w.t.Helper()
	ctx := context.Background()
	conn := w.pg()
	rows, err := conn.Query(ctx, `
		SELECT coalesce(h.external_id, 'orphan ' || p.id::text), concat_ws('|',
		       p.user_name, p.email, p.given_name, p.family_name, p.display_name, p.title, p.department,
		       p.organization, p.employee_number, p.phone_work, p.phone_mobile, p.locale, p.location,
		       p.attributes::text, p.active, p.deleted_at IS NULL,
		       coalesce((SELECT m.external_id FROM profile_links m WHERE m.profile_id = p.manager_id AND m.sync_name = $1), '-'),
		       coalesce((SELECT string_agg(e.key || '=' || (e.value->>'s'), ',' ORDER BY e.key) FROM jsonb_each(p.provenance) e), '-'),
		       coalesce((SELECT i.source || ':' || coalesce(i.sync_name, '') || ':' || encode(i.sha256, 'hex')
		                   FROM profile_images i WHERE i.profile_id = p.id), '-'),
		       (SELECT string_agg(concat_ws(':', l.sync_name, l.external_id, l.situation, l.gone_at IS NULL,
		                          coalesce(md5(l.contribution::text), '-'), coalesce(encode(li.sha256, 'hex'), '-')),
		                          ',' ORDER BY l.sync_name, l.external_id)
		          FROM profile_links l LEFT JOIN link_images li USING (sync_name, external_id) WHERE l.profile_id = p.id))
		  FROM profiles p LEFT JOIN profile_links h ON h.profile_id = p.id AND h.sync_name = $1
		UNION ALL
		SELECT 'pending ' || l.sync_name || ' ' || l.external_id, concat_ws('|', l.situation, md5(l.contribution::text),
		       (SELECT string_agg(h.external_id, ',' ORDER BY h.external_id) FROM profile_links h
		         WHERE h.sync_name = $1 AND h.profile_id = ANY (l.candidates)))
		  FROM profile_links l WHERE l.situation <> 'linked'`, faultSync)
	if err != nil {
		w.t.Fatal(err)
	}
	out := map[string]string{}
	var key, row string
	if _, err := pgx.ForEachRow(rows, []any{&key, &row}, func() error {
		if strings.HasPrefix(key, "orphan ") {
			w.t.Errorf("profile %s has no HR link", strings.TrimPrefix(key, "orphan "))
		}
		if _, dup := out[key]; dup {
			w.t.Errorf("HR's %s has two profiles", key)
		}
		out[key] = row
		return nil
	}); err != nil {
		w.t.Fatal(err)
	}
	return out
}

// checkJoinedOrUntouched checks that every profile is as before the directory's run
// or as the run leaves it (the profile joined, with both sources' contributions and the
// provenance that follows from them): nothing half-written. It returns how many are
// each.
func checkJoinedOrUntouched(t *testing.T, got, before, after map[string]string) (joined, untouched int) {
	t.Helper()
	bad := 0
	for key, row := range got {
		switch {
		case strings.HasPrefix(key, "pending "):
			if row != after[key] {
				t.Errorf("%s: %s, a run without faults leaves %s", key, row, after[key])
			}
		case row == before[key]:
			untouched++
		case row == after[key]:
			joined++
		default:
			if bad++; bad <= 5 {
				t.Errorf("%s is half-written:\n   got %s\nbefore %s\n after %s", key, row, before[key], after[key])
			}
		}
	}
	if bad > 5 {
		t.Errorf("… %d profiles are half-written in all", bad)
	}
	if n, want := len(got)-countPending(got), len(before)-countPending(before); n != want {
		t.Errorf("%d profiles, %d before the run", n, want)
	}
	return joined, untouched
}

func countPending(snap map[string]string) int {
	n := 0
	for key := range snap {
		if strings.HasPrefix(key, "pending ") {
			n++
		}
	}
	return n
}

// checkPersonCLI checks that `peoplesync person --output json` shows one person of the
// two stores alike: each field's value, source and lost offers, and the links; the times
// and the profile's IDs are the stores' own.
func checkPersonCLI(t *testing.T, gotCfg, wantCfg, hrID string) {
	t.Helper()
	show := func(cfg string) string {
		code, out, errOut := cli(t, "--config", cfg, "person", "--sync", faultSync, hrID, "--output", "json")
		if code != 0 {
			t.Fatalf("person --sync %s %s exited %d: %s", faultSync, hrID, code, errOut)
		}
		var doc struct {
			People []personJSON `json:"people"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.People) != 1 {
			t.Fatalf("person --output json (%v): %s", err, out)
		}
		p := doc.People[0]
		p.ProfileID, p.ManagerID = "", ""
		for i := range p.Fields {
			p.Fields[i].Since = nil
		}
		for i := range p.Links {
			p.Links[i].LinkedAt = nil
		}
		b, _ := json.Marshal(p)
		return string(b)
	}
	got, want := show(gotCfg), show(wantCfg)
	if got != want {
		t.Errorf("person %s:\n got %s\nwant %s", hrID, got, want)
	}
	for _, src := range []string{`"source":"` + faultSync + `"`, `"source":"` + joinSync + `"`} {
		if !strings.Contains(got, src) {
			t.Errorf("person %s has no field from %s: %s", hrID, src, got)
		}
	}
}

// checkRunsOf is checkRuns of the sync syncName.
func (w *world) checkRunsOf(syncName string, killed int64) {
	w.t.Helper()
	runs := w.runs(syncName)
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

// pluginOf returns the PID of the connector plugin that the process pid runs (its child
// running `peoplesync plugin`), or 0.
func pluginOf(t *testing.T, pid int) int {
	t.Helper()
	lists, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	if err != nil || len(lists) == 0 {
		t.Fatalf("no /proc/%d/task/*/children: %v", pid, err)
	}
	for _, l := range lists {
		b, _ := os.ReadFile(l)
		for _, f := range strings.Fields(string(b)) {
			var child int
			if _, err := fmt.Sscan(f, &child); err != nil {
				continue
			}
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", child))
			if args := strings.Split(string(cmdline), "\x00"); len(args) > 1 && args[1] == "plugin" {
				return child
			}
		}
	}
	return 0
}

// TestFaultJoinKilledSyncConverges kills a joining sync's run with SIGKILL at several
// points, and separately its connector plugin mid-read: no profile is withdrawn or ended
// by the partial read, every profile is either joined or untouched, and the next run
// converges to what a store without faults holds, field by field and source by source.
func TestFaultJoinKilledSyncConverges(t *testing.T) {
	t.Parallel()
	const n = 2000
	d := newJoinDirectory(t, n)
	ref := newJoinReference(t, d)
	if t.Failed() {
		t.FailNow()
	}

	newSetup := func(t *testing.T) joinSetup {
		s := joinConfigs(newWorld(t), d, "2s")
		s.w.syncToEndOf(withLease(t, s.hr, "30s"), faultSync, "hr")
		if got := s.w.joinSnapshot(); len(got) != len(ref.hrOnly) {
			t.Fatalf("HR's run left %d profiles, want %d", len(got), len(ref.hrOnly))
		}
		return s
	}
	killWhen := func(s joinSetup, cfg string, stop func()) int64 {
		p := s.w.startSyncOf(cfg, joinSync, "killed")
		stop()
		r := s.w.runningRunOf(joinSync)
		if r == nil {
			s.w.t.Fatal("no run is running at the kill point")
		}
		p.kill()
		return r.ID
	}
	rerun := func(s joinSetup, cfg string, want map[string]string, killed int64) {
		s.w.waitLeaseExpiredOf(joinSync)
		s.w.syncToEndOf(withLease(t, cfg, "30s"), joinSync, "rerun")
		compareSnapshots(s.w.t, "the store without faults", want, "after the rerun", s.w.joinSnapshot())
		s.w.checkRunsOf(joinSync, killed)
	}

	t.Run("after the run row appears", func(t *testing.T) {
		t.Parallel()
		s := newSetup(t)
		killed := killWhen(s, s.pipe, func() {
			waitUntil(t, 30*time.Second, "the run's row", func() bool { return s.w.runningRunOf(joinSync) != nil })
		})
		compareSnapshots(t, "HR's run", ref.hrOnly, "after the kill", s.w.joinSnapshot())
		rerun(s, s.first, ref.first, killed)
		// Person 5 is the same in both versions.
		checkPersonCLI(t, s.first, ref.cfg, d.people[5].EmployeeNumber)
	})

	t.Run("while joining", func(t *testing.T) {
		t.Parallel()
		s := newSetup(t)
		// The batch that joins this person waits to lock their profile; the batches
		// before it commit.
		pid, release := s.w.holdProfileOf(faultSync, d.people[3*n/4].EmployeeNumber)
		killed := killWhen(s, s.first, func() {
			s.w.waitBlocked(pid, "a join to wait for the profile's lock")
			waitUntil(t, 30*time.Second, "the first joins to commit", func() bool {
				return s.w.count(`SELECT count(*) FROM profile_links WHERE sync_name = $1`, joinSync) >= 100
			})
		})
		release()
		joined, untouched := checkJoinedOrUntouched(t, s.w.joinSnapshot(), ref.hrOnly, ref.first)
		if joined == 0 || untouched == 0 {
			t.Errorf("%d profiles joined and %d untouched at the kill, want some of each", joined, untouched)
		}
		rerun(s, s.first, ref.first, killed)
		// The abandoned run says what it committed before it died, as a single
		// source's does (TestFaultKilledSyncConverges): the people it joined.
		for _, r := range s.w.runs(joinSync) {
			if r.ID == killed && (r.Joined != int64(joined) || r.Created != 0 || r.Deleted != 0) {
				t.Errorf("the abandoned run counts %d joined, %d created, %d deleted; it committed %d joins",
					r.Joined, r.Created, r.Deleted, joined)
			}
		}
	})

	t.Run("while withdrawing", func(t *testing.T) {
		t.Parallel()
		s := newSetup(t)
		s.w.syncToEndOf(withLease(t, s.first, "30s"), joinSync, "first")
		// The withdrawal of a person the directory dropped waits for their profile.
		pid, release := s.w.holdProfileOf(faultSync, d.people[d.gone[0]].EmployeeNumber)
		killed := killWhen(s, s.second, func() {
			s.w.waitBlocked(pid, "the run's withdrawal to wait")
		})
		release()
		// Every profile is as the first version or the second left it.
		checkJoinedOrUntouched(t, s.w.joinSnapshot(), ref.first, ref.second)
		rerun(s, s.second, ref.second, killed)
	})

	t.Run("HR's run while it joins waiting records", func(t *testing.T) {
		t.Parallel()
		s := newSetup(t)
		s.w.syncToEndOf(withLease(t, s.first, "30s"), joinSync, "first")
		s.w.syncToEndOf(withLease(t, s.second, "30s"), joinSync, "second")
		// HR's run creates the people the directory has waited for, then joins their
		// records; the join of the last waits for its record's row.
		waiting := d.first.people[n-1].UUID
		pid, release := s.w.holdRow(`SELECT 1 FROM profile_links WHERE sync_name = $1 AND external_id = $2 FOR UPDATE`, joinSync, waiting)
		p := s.w.startSyncOf(s.hrAll, faultSync, "killed")
		s.w.waitBlocked(pid, "HR's run to wait to join the waiting records")
		r := s.w.runningRunOf(faultSync)
		if r == nil {
			t.Fatal("HR's run is not running at the kill point")
		}
		p.kill()
		release()
		if got := s.w.count(`SELECT count(*) FROM profile_links WHERE sync_name = $1 AND situation = 'unmatched'`, joinSync); got != d.missing {
			t.Errorf("%d of the directory's records wait after the kill, want the %d it had", got, d.missing)
		}
		s.w.waitLeaseExpiredOf(faultSync)
		s.w.syncToEndOf(withLease(t, s.hrAll, "30s"), faultSync, "rerun")
		compareSnapshots(t, "the store without faults", ref.all, "after the rerun", s.w.joinSnapshot())
		s.w.checkRunsOf(faultSync, r.ID)
	})

	t.Run("connector killed mid-read", func(t *testing.T) {
		t.Parallel()
		s := newSetup(t)
		s.w.syncToEndOf(withLease(t, s.first, "30s"), joinSync, "first")
		inactive := s.w.count(`SELECT count(*) FROM profiles WHERE NOT active`)
		// The connector sends records 500 to a message: 1100 written lets 1000
		// through, a new phone among them; the pipe is never closed, so the read never
		// ends but by the kill.
		head, _ := splitLDIF(t, d.second.ldif, 1100)
		p := s.w.startSyncOf(s.pipe, joinSync, "plugin-killed")
		s.fifo.write(t, head)
		waitUntil(t, 30*time.Second, "a new phone to be written", func() bool {
			r := s.w.runningRunOf(joinSync)
			return r != nil && r.Updated > 0
		})
		plugin := pluginOf(t, p.cmd.Process.Pid)
		if plugin == 0 {
			t.Fatal("the run has no connector plugin")
		}
		if err := syscall.Kill(plugin, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		code, res := p.result(60 * time.Second)
		if code != 1 || res.Status != store.StatusFailed || res.Deleted != 0 {
			t.Errorf("the run whose connector was killed exited %d: %+v, want 1, failed, nothing deleted", code, res)
		}
		if n := s.w.count(`SELECT count(*) FROM profile_links WHERE gone_at IS NOT NULL`); n != 0 {
			t.Errorf("%d links withdrawn by a partial read", n)
		}
		if n := s.w.count(`SELECT count(*) FROM profiles WHERE deleted_at IS NOT NULL OR NOT active`); n != inactive {
			t.Errorf("%d profiles ended or inactive after a partial read, %d before it", n, inactive)
		}
		// Every profile is as the first version left it, or has its new phone.
		checkJoinedOrUntouched(t, s.w.joinSnapshot(), ref.first, ref.second)
		if l := s.w.locks(); len(l) != 0 {
			t.Errorf("the failed run still holds its lock: %+v", l)
		}
		s.w.syncToEndOf(withLease(t, s.second, "30s"), joinSync, "rerun")
		compareSnapshots(t, "the store without faults", ref.second, "after the rerun", s.w.joinSnapshot())
	})
}

// TestFaultJoinPostgresRestartMidRun restarts the database, cleanly and as a crash, in
// the middle of a directory's run that joins the people HR created: the run fails
// (exit 1, its row failed with a reason and the joins it committed), its lock is
// released, every profile is joined or untouched, and the next run starts at once and
// leaves the store as a run without faults does.
func TestFaultJoinPostgresRestartMidRun(t *testing.T) {
	t.Parallel()
	const n = 2000
	d := newJoinDirectory(t, n)
	ref := newJoinReference(t, d)
	if t.Failed() {
		t.FailNow()
	}
	for _, mode := range []pgtest.ShutdownMode{pgtest.Clean, pgtest.Crash} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			w, server := newServerWorld(t, d.opts)
			// A lease far longer than the test: a run row or lock left behind shows.
			s := joinConfigs(w, d, "120s")
			w.syncToEndOf(s.hr, faultSync, "hr")

			// Stop the run at a join, with earlier batches committed.
			pid, release := w.holdProfileOf(faultSync, d.people[3*n/4].EmployeeNumber)
			p := w.startSyncOf(s.first, joinSync, "restarted")
			w.waitBlocked(pid, "a join to wait for the profile's lock")
			waitUntil(t, 30*time.Second, "the first joins to commit", func() bool {
				return w.count(`SELECT count(*) FROM profile_links WHERE sync_name = $1`, joinSync) >= 100
			})
			code, res := w.restartUnder(p, server, mode, release)

			if code != 1 || res.Status != store.StatusFailed {
				t.Errorf("the restarted run exited %d with status %q, want 1 and failed", code, res.Status)
			}
			committed := int64(w.count(`SELECT count(*) FROM profile_links WHERE sync_name = $1 AND situation = 'linked'`, joinSync))
			runs := w.runs(joinSync)
			if len(runs) != 1 {
				t.Fatalf("runs: %+v, want one", runs)
			}
			r := runs[0]
			if r.Status != store.StatusFailed || r.FinishedAt == nil || r.Message == "" {
				t.Errorf("the restarted run's row: %s (finished %v) %q, want failed with a reason", r.Status, r.FinishedAt, r.Message)
			}
			if r.Joined != committed || res.Joined != committed || r.Created != 0 || res.Created != 0 {
				t.Errorf("the run records %d joined (%d created) and printed %d (%d); %d joins were committed",
					r.Joined, r.Created, res.Joined, res.Created, committed)
			}
			if l := w.locks(); len(l) != 0 {
				t.Errorf("the restarted run still holds its lock: %+v", l)
			}
			joined, untouched := checkJoinedOrUntouched(t, w.joinSnapshot(), ref.hrOnly, ref.first)
			if int64(joined) != committed || untouched == 0 {
				t.Errorf("%d profiles joined and %d untouched after the restart; %d joins were committed", joined, untouched, committed)
			}

			// No lease to wait out: the next run starts now and converges.
			next := w.syncToEndOf(s.first, joinSync, "next")
			if want := int64(n-d.missing) - committed; next.Joined != want || next.Unmatched != int64(d.missing) || next.Created != 0 {
				t.Errorf("the next run: %+v, want %d joined and %d unmatched", next, want, d.missing)
			}
			compareSnapshots(t, "the store without faults", ref.first, "after the restart and a rerun", w.joinSnapshot())
		})
	}
}

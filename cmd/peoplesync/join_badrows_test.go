package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/examples/peoplegen"
)

// dirCSV renders people as a directory's CSV export (RFC 4180, the columns named as
// inetOrgPerson's attributes), ID column "account", with the rows of bad (by index into
// people) replaced by theirs (several rows, or none) and extra rows at the end.
func dirCSV(t *testing.T, people []peoplegen.Person, bad map[int][][]string, extra ...[]string) []byte {
	t.Helper()
	var b strings.Builder
	w := csv.NewWriter(&b)
	rows := [][]string{{"account", "uid", "employeeNumber", "mail", "telephoneNumber", "title"}}
	for i, p := range people {
		if r, ok := bad[i]; ok {
			rows = append(rows, r...)
			continue
		}
		rows = append(rows, dirRow(p))
	}
	rows = append(rows, extra...)
	if err := w.WriteAll(rows); err != nil {
		t.Fatal(err)
	}
	return []byte(b.String())
}

// dirRow is p's row of dirCSV.
func dirRow(p peoplegen.Person) []string {
	return []string{"acct-" + p.EmployeeNumber, p.UID, p.EmployeeNumber, p.UID + "@corp.example.com", p.Phone, p.Title}
}

// linkContributions returns the contribution digest of each of sync's links.
func (w *world) linkContributions(syncName string) map[string]string {
	w.t.Helper()
	rows, err := w.pg().Query(context.Background(), `SELECT external_id, coalesce(md5(contribution::text), '-') || ':' || (gone_at IS NULL)::text
		FROM profile_links WHERE sync_name = $1`, syncName)
	if err != nil {
		w.t.Fatal(err)
	}
	out := map[string]string{}
	var ext, c string
	if _, err := pgx.ForEachRow(rows, []any{&ext, &c}, func() error { out[ext] = c; return nil }); err != nil {
		w.t.Fatal(err)
	}
	return out
}

// Bad rows in the export of a sync that joins, in runs after their people joined: each
// is a record error (exit 4, completed_with_errors; a row without an ID that could be a
// joined person's: guarded, exit 3), the person's record counts as seen, so their
// contribution is neither withdrawn nor changed, HR's fields stay as they are, and the
// good rows are applied and joined. runs shows the join counts of such a sync's runs,
// and keeps its narrow table for a sync that joins nobody.
func TestJoinBadRowsKeepContributions(t *testing.T) {
	t.Parallel()
	const n = 40
	d := newJoinDirectory(t, n) // HR has people 0..36
	people := d.people
	w := newWorld(t)
	const a, b, c, e, f = 3, 5, 7, 9, 36 // f is in HR but not yet in the directory
	dirPath := w.writeFile("dir.csv", dirCSV(t, people[:f], nil))
	cfg := w.config("sync.hcl", "30s",
		syncSpec{name: faultSync, path: w.writeFile("hr.csv", d.hr), schedule: "@every 1h", format: "csv", idAttribute: "employee_id"},
		syncSpec{name: joinSync, path: dirPath, schedule: "@every 1h", format: "csv", idAttribute: "account",
			join: []string{"employee_number", "email"}, wins: []string{"email", "phone_work"}})
	w.syncToEndOf(cfg, faultSync, "hr")
	if res := w.syncToEndOf(cfg, joinSync, "dir"); res.Joined != f || res.Errors != 0 {
		t.Fatalf("the directory's first run: %+v, want %d joined", res, f)
	}
	before := w.joinSnapshot()
	hrBefore := w.linkContributions(faultSync)
	// run runs the directory's sync of export; HR's contributions stay as they are,
	// but those of the people in joins, written when they join.
	run := func(name string, export []byte, wantCode int, wantStatus string, joins ...string) resultJSON {
		t.Helper()
		w.writeFile("dir.csv", export)
		code, res := w.startSyncOf(cfg, joinSync, name).result(60 * time.Second)
		if code != wantCode || res.Status != wantStatus || res.Deleted != 0 {
			t.Fatalf("%s exited %d: %+v, want %d and %s, nothing deleted", name, code, res, wantCode, wantStatus)
		}
		got := w.linkContributions(faultSync)
		for ext, c := range got {
			if c != hrBefore[ext] && !slices.Contains(joins, ext) {
				t.Errorf("%s changed HR's contribution to %s: %s, was %s", name, ext, c, hrBefore[ext])
			}
		}
		hrBefore = got
		return res
	}
	emp := func(i int) string { return people[i].EmployeeNumber }
	// unchanged checks that only the people of changed differ from before.
	unchanged := func(what string, changed ...int) map[string]string {
		t.Helper()
		after := w.joinSnapshot()
		skip := map[string]bool{}
		for _, i := range changed {
			skip[emp(i)] = true
		}
		for key, row := range before {
			if !skip[key] && after[key] != row {
				t.Errorf("%s changed %s:\n got %s\nwant %s", what, key, after[key], row)
			}
		}
		return after
	}

	// An ID twice (b), an address the mapping rejects (c), a row without an ID that
	// is nobody's; a new phone (e) and a new person (f).
	rowB, rowC, rowE := dirRow(people[b]), dirRow(people[c]), dirRow(people[e])
	rowB2 := append([]string(nil), rowB...)
	rowB[4], rowB2[4] = "+49 30 1111 1111", "+49 30 2222 2222"
	rowC[3] = "Broken <" + rowC[3] + ">"
	rowE[4] = "+49 30 5555 0009"
	res := run("bad rows", dirCSV(t, people[:f+1], map[int][][]string{b: {rowB, rowB2}, c: {rowC}, e: {rowE}},
		[]string{"", "nobody", "E999999", "nobody@corp.example.com", "+49 30 0000 0000", "Ghost"}),
		4, store.StatusCompletedWithErrors, people[f].EmployeeNumber)
	if res.Errors != 4 || res.Updated != 1 || res.Joined != 1 || res.Created != 0 {
		t.Errorf("the run with bad rows: %+v, want 4 errors (the ID twice, the address, the row without an ID), 1 updated, 1 joined", res)
	}
	after := unchanged("the run with bad rows", e, f)
	if !strings.Contains(after[emp(e)], "|+493055550009|") {
		t.Errorf("the new phone of %s was not applied: %s", emp(e), after[emp(e)])
	}
	if !strings.Contains(after[emp(f)], joinSync+":acct-"+emp(f)+":linked:t:") || after[emp(f)] == before[emp(f)] {
		t.Errorf("%s did not join: %s", emp(f), after[emp(f)])
	}
	code, out, errOut := cli(t, "--config", cfg, "runs", "--errors", fmt.Sprint(res.RunID))
	if code != 0 || strings.Count(out, "dir.csv:") != 3 || !strings.Contains(out, "is not an email address") {
		t.Errorf("runs --errors %d exited %d, want the 4 errors, the rows' with file and line:\n%s%s", res.RunID, code, out, errOut)
	}

	// The joined person a's row loses its ID: a's record is not seen, but it could be
	// the nameless row, so nobody is withdrawn.
	before = after
	rowA := dirRow(people[a])
	rowA[0] = ""
	res = run("a row without its ID", dirCSV(t, people[:f+1], map[int][][]string{a: {rowA}, e: {rowE}}), 3, store.StatusGuarded)
	if res.Errors != 1 || res.WouldDelete != 1 {
		t.Errorf("the run with %s's row without its ID: %+v, want 1 error and 1 held back", emp(a), res)
	}
	unchanged("the run with a row without its ID") // b's and c's rows are as before the bad ones
	if got := w.count(`SELECT count(*) FROM profile_links WHERE sync_name = $1 AND gone_at IS NOT NULL`, joinSync); got != 0 {
		t.Errorf("%d of the directory's links withdrawn", got)
	}

	checkRunsTable(t, cfg)
}

// checkRunsTable checks that runs shows the join counts as runs --output json has them,
// and no join columns when no listed run joined anyone.
func checkRunsTable(t *testing.T, cfg string) {
	t.Helper()
	code, out, errOut := cli(t, "--config", cfg, "runs", "--output", "json")
	if code != 0 {
		t.Fatalf("runs --output json exited %d: %s", code, errOut)
	}
	var doc struct {
		Runs []struct {
			ID                          int64 `json:"run_id"`
			Sync                        string
			Joined, Unmatched, Disputed int64
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, r := range doc.Runs {
		want[fmt.Sprint(r.ID)] = fmt.Sprintf("%d %d %d", r.Joined, r.Unmatched, r.Disputed)
	}
	code, out, errOut = cli(t, "--config", cfg, "runs")
	if code != 0 {
		t.Fatalf("runs exited %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out[strings.Index(out, "RUN "):]), "\n")
	header := strings.Fields(lines[0])
	col := -1
	for i, h := range header {
		if h == "JOINED" {
			col = i
		}
	}
	if col < 0 || header[col+1] != "UNMATCHED" || header[col+2] != "DISPUTED" {
		t.Fatalf("runs of a sync that joins has no join columns:\n%s", out)
	}
	joined := false
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if got := strings.Join(f[col:col+3], " "); got != want[f[0]] {
			t.Errorf("run %s: joined, unmatched, disputed %s, runs --output json has %s:\n%s", f[0], got, want[f[0]], out)
		}
		joined = joined || f[col] != "0"
	}
	if !joined {
		t.Errorf("no run shows people joined:\n%s", out)
	}
	code, out, _ = cli(t, "--config", cfg, "runs", "--sync", faultSync)
	if code != 0 || !strings.Contains(out, "ERRORS  HOLDER") || strings.Contains(out, "JOINED") {
		t.Errorf("runs of a sync that joins nobody shows join columns:\n%s", out)
	}
}

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peoplesync/peoplesync/engine/mapper/mappertest"
	"github.com/peoplesync/peoplesync/engine/store/pgtest"
)

// hrConfig writes a config that syncs the CSV export at path (ID column employee_id)
// into dsn and returns its path.
func hrConfig(t *testing.T, dsn, path string) string {
	t.Helper()
	env := "TEST_STORE_URL_" + strings.ReplaceAll(t.Name(), "/", "_")
	t.Setenv(env, dsn)
	src := fmt.Sprintf(`
store {
  url = env(%q)
}
connector "hr" {
  plugin = "file"
  config {
    path         = %q
    format       = "csv"
    id_attribute = "employee_id"
  }
}
mapping "default" {
  module   = %q
  settings = { email_domain = "example.com" }
}
sync "people" {
  connector = connector.hr
  mapping   = mapping.default
  schedule  = "@hourly"
  deletion {
    max_error_percent = 10
  }
}
`, env, path, mappertest.Build(t, "../../mappings/default"))
	cfg := filepath.Join(t.TempDir(), "sync.hcl")
	if err := os.WriteFile(cfg, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// hrExport writes 26 people, with the rows of bad (by 0-based person) replaced.
func hrExport(t *testing.T, path string, bad map[int]string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("employee_id,uid,givenName,sn,mail,title\n")
	for i := range 26 {
		if row, ok := bad[i]; ok {
			b.WriteString(row + "\n")
			continue
		}
		fmt.Fprintf(&b, "E%03d,user%d,Given%d,Family%d,user%d@example.com,Title %d\n", i, i, i, i, i, i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The HR exports, end to end: one row with an empty employee ID among 26 syncs
// the other 25 and exits 4 (record errors), and a later run in which a person left
// while that row is still bad deletes nobody (exit 3); one ID twice applies neither
// row; an export cut off mid-line fails (exit 1) and changes nobody.
func TestBadExportsEndToEnd(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	export := filepath.Join(t.TempDir(), "hr.csv")
	cfg := hrConfig(t, dsn, export)
	run := func(wantCode int) summary {
		t.Helper()
		code, out, errOut := cli(t, "--config", cfg, "sync", "--sync", "people", "--output", "json")
		var s summary
		if err := json.Unmarshal([]byte(out), &s); err != nil {
			t.Fatalf("sync output %q: %v (stderr %s)", out, err, errOut)
		}
		if code != wantCode {
			t.Fatalf("sync exited %d, want %d: %+v\n%s", code, wantCode, s, errOut)
		}
		return s
	}

	hrExport(t, export, map[int]string{7: ",user7,Given7,Family7,user7@example.com,Title 7"})
	if s := run(4); s.Status != "completed_with_errors" || s.Created != 25 || s.Errors != 1 {
		t.Errorf("first run: %+v, want 25 created and 1 error", s)
	}
	code, out, _ := cli(t, "--config", cfg, "runs", "--errors", "1")
	if code != 0 || !strings.Contains(out, "hr.csv:9:") {
		t.Errorf("runs --errors 1 exited %d without the file and line of the bad row:\n%s", code, out)
	}

	// Person 3 leaves; the nameless row could be anyone, so nobody goes.
	hrExport(t, export, map[int]string{3: "", 7: ",user7,Given7,Family7,user7@example.com,Title 7"})
	src, _ := os.ReadFile(export)
	if err := os.WriteFile(export, []byte(strings.Replace(string(src), "\n\n", "\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if s := run(3); s.Status != "guarded" || s.Deleted != 0 {
		t.Errorf("run with a nameless row and a leaver: %+v, want guarded with nothing deleted", s)
	}

	// The same ID twice: neither row is applied, the first no more than the second.
	hrExport(t, export, map[int]string{
		5: "E005,user5,Given5,Family5,user5@example.com,Changed",
		6: "E005,user6,Given6,Family6,user6@example.com,Changed too",
	})
	if s := run(4); s.Errors != 2 || s.Updated != 0 {
		t.Errorf("run with a repeated ID: %+v, want 2 errors and nothing updated", s)
	}
	code, out, _ = cli(t, "--config", cfg, "profiles", "--sync", "people", "--limit", "100")
	if code != 0 || strings.Contains(out, "Changed") {
		t.Errorf("profiles after the repeated ID (exit %d) show a change:\n%s", code, out)
	}

	// Cut off in the middle of the last line: an incomplete read, nobody changes.
	hrExport(t, export, map[int]string{25: "E025,user25,Given25,Family25,user25@example.com,New title"})
	src, _ = os.ReadFile(export)
	if err := os.WriteFile(export, src[:len(src)-8], 0o644); err != nil {
		t.Fatal(err)
	}
	if s := run(1); s.Status != "failed" || s.Updated != 0 || s.Deleted != 0 {
		t.Errorf("run of a cut-off export: %+v, want failed, nothing written", s)
	}
}

// mapping test reads the input as the sync that uses the mapping reads its export (here
// with id_attribute = "employee_id"), so an author tests with the file HR drops; and
// --id-attribute says otherwise.
func TestMappingTestReadsAsTheSyncDoes(t *testing.T) {
	dir := t.TempDir()
	export := filepath.Join(dir, "hr.csv")
	hrExport(t, export, nil)
	cfg := hrConfig(t, "postgres://unused", export)
	sample := filepath.Join(dir, "sample.csv")
	hrExport(t, sample, nil)
	code, out, errOut := cli(t, "--config", cfg, "mapping", "test", "--mapping", "default", "--input", sample)
	if code != 0 || !strings.Contains(out, `"id":"E007"`) {
		t.Fatalf("mapping test exited %d, want the records read by employee_id:\n%s%s", code, out, errOut)
	}
	code, out, errOut = cli(t, "--config", cfg, "mapping", "test", "--mapping", "default", "--input", sample, "--id-attribute", "uid")
	if code != 0 || !strings.Contains(out, `"id":"user7"`) {
		t.Fatalf("mapping test --id-attribute uid exited %d:\n%s%s", code, out, errOut)
	}
	code, _, errOut = cli(t, "--config", cfg, "mapping", "test", "--mapping", "default", "--input", sample, "--connector", "nope")
	if code != 2 || !strings.Contains(errOut, `has no connector "nope"`) {
		t.Errorf("--connector nope exited %d:\n%s", code, errOut)
	}
}

// plan --output json has one key style throughout: the changes' keys are snake_case
// like the summary's.
func TestPlanJSONKeys(t *testing.T) {
	dir := t.TempDir()
	export := filepath.Join(dir, "hr.csv")
	hrExport(t, export, nil)
	cfg := hrConfig(t, pgtest.NewDatabase(t), export)
	code, out, errOut := cli(t, "--config", cfg, "plan", "--sync", "people", "--output", "json")
	if code != 0 {
		t.Fatalf("plan exited %d: %s", code, errOut)
	}
	var doc struct {
		RunID   *int64 `json:"run_id"`
		Changes []map[string]any
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Changes) == 0 {
		t.Fatalf("plan of 26 new people lists no changes: %s", out)
	}
	for key := range doc.Changes[0] {
		if key != strings.ToLower(key) {
			t.Errorf("change key %q is not snake_case: %s", key, out)
		}
	}
	for _, key := range []string{"action", "external_id", "name", "fields"} {
		if _, ok := doc.Changes[0][key]; !ok {
			t.Errorf("change lacks %q: %v", key, doc.Changes[0])
		}
	}
}

// plan's text agrees with itself: deletions the guard holds back are listed as held and
// counted as held, a cut list says how many more there are, and a read that fails is an
// error, not a note.
func TestPlanTextAgrees(t *testing.T) {
	dir := t.TempDir()
	export := filepath.Join(dir, "hr.csv")
	hrExport(t, export, nil)
	cfg := hrConfig(t, pgtest.NewDatabase(t), export)
	code, out, errOut := cli(t, "--config", cfg, "plan", "--sync", "people", "--details", "3")
	if code != 0 || !strings.Contains(out, "… and 23 more") || !strings.Contains(out, "would create 26") {
		t.Fatalf("plan of 26 new people with --details 3 (exit %d):\n%s%s", code, out, errOut)
	}
	if code, _, errOut := cli(t, "--config", cfg, "sync", "--sync", "people"); code != 0 {
		t.Fatalf("sync: %s", errOut)
	}
	// 6 of 26 gone is 23%, past max_percent 10: held.
	src, _ := os.ReadFile(export)
	lines := strings.SplitAfter(string(src), "\n")
	if err := os.WriteFile(export, []byte(strings.Join(lines[:21], "")), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = cli(t, "--config", cfg, "plan", "--sync", "people")
	if code != 3 || !strings.Contains(out, "delete 0 (6 held back by the deletion guard)") || strings.Count(out, "  held ") != 6 || strings.Contains(out, "  delete ") {
		t.Errorf("plan with held deletions (exit %d, want 3):\n%s", code, out)
	}
	if err := os.WriteFile(export, src[:len(src)-3], 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = cli(t, "--config", cfg, "plan", "--sync", "people")
	if code != 1 || out != "" || !strings.Contains(errOut, "incomplete read") {
		t.Errorf("plan of a cut-off export (exit %d, want 1) should print only the error:\n%s%s", code, out, errOut)
	}
}

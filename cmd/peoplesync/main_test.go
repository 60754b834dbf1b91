package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/peoplesync/peoplesync/engine/mapper/mappertest"
	"github.com/peoplesync/peoplesync/engine/store/pgtest"
	"github.com/peoplesync/peoplesync/plugins"
)

// TestMain lets the test binary serve bundled connectors, as the real binary does when
// the engine re-executes it as "peoplesync plugin NAME".
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "plugin" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	pgtest.Main(m)
}

// cli runs the CLI in process and returns its exit code, stdout and stderr.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// writeConfig writes a config that syncs the repository's example directory.
func writeConfig(t *testing.T, dsn string) string {
	t.Helper()
	wasm := mappertest.Build(t, "../../mappings/default")
	ldif, err := filepath.Abs("../../examples/people.ldif")
	if err != nil {
		t.Fatal(err)
	}
	src := fmt.Sprintf(`
store {
  url = env("TEST_STORE_URL_%[1]s")
}
connector "hr_export" {
  plugin = "file"
  config {
    path         = %[2]q
    format       = "ldif"
    id_attribute = "entryUUID"
  }
}
mapping "default" {
  module   = %[3]q
  settings = { email_domain = "example.com" }
}
sync "people" {
  connector = connector.hr_export
  mapping   = mapping.default
  schedule  = "*/30 * * * *"
}
`, strings.ReplaceAll(t.Name(), "/", "_"), ldif, wasm)
	t.Setenv("TEST_STORE_URL_"+strings.ReplaceAll(t.Name(), "/", "_"), dsn)
	path := filepath.Join(t.TempDir(), "sync.hcl")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

type summary struct {
	Status    string `json:"status"`
	Processed int64  `json:"processed"`
	Created   int64  `json:"created"`
	Updated   int64  `json:"updated"`
	Unchanged int64  `json:"unchanged"`
	Skipped   int64  `json:"skipped"`
	Skips     []struct {
		Reason    string `json:"reason"`
		Count     int64  `json:"count"`
		ExampleID string `json:"example_id"`
	} `json:"skips"`
	Deleted    int64  `json:"deleted"`
	Errors     int64  `json:"errors"`
	DurationMS *int64 `json:"duration_ms"`
}

func syncJSON(t *testing.T, cfg string) summary {
	t.Helper()
	code, out, errOut := cli(t, "--config", cfg, "sync", "--sync", "people", "--output", "json")
	if code != 0 {
		t.Fatalf("sync exited %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	var s summary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("sync --output json printed %q: %v", out, err)
	}
	if s.DurationMS == nil {
		t.Errorf("no duration_ms in %s", out)
	}
	return s
}

func TestSyncCommandTwice(t *testing.T) {
	cfg := writeConfig(t, pgtest.NewDatabase(t))
	code, out, errOut := cli(t, "--config", cfg, "validate")
	if code != 0 {
		t.Fatalf("validate exited %d: %s %s", code, out, errOut)
	}
	code, out, _ = cli(t, "--config", cfg, "plan", "--sync", "people")
	if code != 0 || !strings.Contains(out, "would create 250") {
		t.Fatalf("plan exited %d:\n%s", code, out)
	}
	first := syncJSON(t, cfg)
	if first.Status != "succeeded" || first.Processed != 250 || first.Created != 250 || first.Errors != 0 {
		t.Fatalf("first sync: %+v", first)
	}
	second := syncJSON(t, cfg)
	if second.Updated != 0 || second.Created != 0 || second.Unchanged != 250 || second.Skipped != 0 {
		t.Fatalf("second sync: %+v", second)
	}
	code, out, _ = cli(t, "--config", cfg, "runs")
	if code != 0 || strings.Count(out, "succeeded") != 2 {
		t.Fatalf("runs exited %d:\n%s", code, out)
	}
	code, out, _ = cli(t, "--config", cfg, "profiles", "--sync", "people", "--limit", "3")
	if code != 0 || strings.Count(strings.TrimSpace(out), "\n") != 3 {
		t.Fatalf("profiles exited %d:\n%s", code, out)
	}

	// The same listings as one JSON object each, for scripts.
	code, out, _ = cli(t, "--config", cfg, "runs", "--output", "json")
	var runs struct {
		Locks []map[string]any `json:"locks"`
		Runs  []struct {
			RunID     int64  `json:"run_id"`
			Sync      string `json:"sync"`
			Status    string `json:"status"`
			Created   int64  `json:"created"`
			Unchanged int64  `json:"unchanged"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &runs); code != 0 || err != nil {
		t.Fatalf("runs --output json exited %d (%v):\n%s", code, err, out)
	}
	if len(runs.Runs) != 2 || runs.Runs[0].Unchanged != 250 || runs.Runs[1].Created != 250 ||
		runs.Runs[0].RunID <= runs.Runs[1].RunID || runs.Runs[0].Sync != "people" || runs.Runs[0].Status != "succeeded" {
		t.Errorf("runs --output json: %+v", runs)
	}
	code, out, _ = cli(t, "--config", cfg, "profiles", "--sync", "people", "--limit", "3", "--output", "json")
	var profiles struct {
		Sync     string `json:"sync"`
		Profiles []struct {
			ProfileID  string            `json:"profile_id"`
			ExternalID string            `json:"external_id"`
			State      string            `json:"state"`
			Fields     map[string]string `json:"fields"`
		} `json:"profiles"`
	}
	if err := json.Unmarshal([]byte(out), &profiles); code != 0 || err != nil {
		t.Fatalf("profiles --output json exited %d (%v):\n%s", code, err, out)
	}
	if profiles.Sync != "people" || len(profiles.Profiles) != 3 {
		t.Fatalf("profiles --output json: %+v", profiles)
	}
	for _, p := range profiles.Profiles {
		if p.ProfileID == "" || p.ExternalID == "" || p.State == "" || p.Fields["user_name"] == "" {
			t.Errorf("profiles --output json: incomplete profile %+v", p)
		}
	}
	if code, _, errOut := cli(t, "--config", cfg, "runs", "--output", "yaml"); code != 2 || !strings.Contains(errOut, "want text or json") {
		t.Errorf("runs --output yaml exited %d: %s", code, errOut)
	}
}

func TestValidateReportsEveryProblemWithItsPosition(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.hcl")
	src := `store {
  url = "postgres://x"
}
connector "c" {
  plugin = "file"
  config {
    path   = "people.ldif"
    format = "xml"
  }
}
mapping "m" {
  module = "missing.wasm"
}
sync "s" {
  connector = connector.nope
  mapping   = mapping.m
  schedule  = "61 * * * *"
}
`
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := cli(t, "--config", path, "validate")
	if code != 2 {
		t.Fatalf("validate exited %d, want 2:\n%s", code, errOut)
	}
	// people.ldif does not exist beside bad.hcl: line 7 too (a run could not read it).
	for _, want := range []string{"bad.hcl line 7", "bad.hcl line 8", "bad.hcl line 12", "bad.hcl line 15", "bad.hcl line 17", "5 error(s)"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("diagnostics lack %s:\n%s", want, errOut)
		}
	}
}

func TestMappingTestCommand(t *testing.T) {
	cfg := writeConfig(t, "postgres://unused")
	input := filepath.Join(t.TempDir(), "two.ldif")
	ldif := "dn: uid=ana,ou=people,dc=example,dc=com\nentryUUID: 1\nuid: ana\ngivenName: Ana\nsn: Núñez\nmail: ana@example.com\n\n" +
		"dn: cn=printer,ou=devices,dc=example,dc=com\nentryUUID: 2\nobjectClass: device\ncn: printer\n\n" +
		"dn: uid=bo,ou=people,dc=example,dc=com\nentryUUID: 3\nuid: bo\ncn: Bo\nmail: bo(at)example.com\n"
	if err := os.WriteFile(input, []byte(ldif), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := cli(t, "--config", cfg, "mapping", "test", "--mapping", "default", "--input", input)
	if code != 0 {
		t.Fatalf("mapping test exited %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	// A profile a run would refuse to write shows as that refusal.
	if len(lines) != 3 || !strings.Contains(lines[0], `"family_name":"Núñez"`) || !strings.Contains(lines[1], `"skip"`) ||
		!strings.Contains(lines[2], `"error":"profile rejected: email \"bo(at)example.com\" is not an email address`) {
		t.Fatalf("output:\n%s", out)
	}
	golden := filepath.Join(t.TempDir(), "golden.jsonl")
	if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := cli(t, "--config", cfg, "mapping", "test", "--mapping", "default", "--input", input, "--expect", golden); code != 0 {
		t.Fatalf("--expect with its own output exited %d: %s", code, out)
	}
	if err := os.WriteFile(golden, []byte(strings.Replace(out, "Núñez", "Nunez", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := cli(t, "--config", cfg, "mapping", "test", "--mapping", "default", "--input", input, "--expect", golden); code == 0 {
		t.Fatalf("--expect with a wrong golden file passed: %s", out)
	}
}

func TestCheckCommand(t *testing.T) {
	cfg := writeConfig(t, "postgres://unused")
	code, out, errOut := cli(t, "--config", cfg, "check", "--connector", "hr_export")
	if code != 0 || !strings.HasPrefix(out, "ok: 250 entries in ") {
		t.Fatalf("check exited %d: %q %s", code, out, errOut)
	}
	code, _, errOut = cli(t, "--config", cfg, "check", "--connector", "nope")
	if code != 2 || !strings.Contains(errOut, `has no connector "nope"; it has: hr_export.`) {
		t.Fatalf("check of an unknown connector exited %d:\n%s", code, errOut)
	}
	// A source that is not there fails the check with its cause, as a config that
	// cannot work (exit 2).
	src, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(t.TempDir(), "sync.hcl")
	abs, _ := filepath.Abs("../../examples/people.ldif")
	if err := os.WriteFile(broken, []byte(strings.Replace(string(src), abs, "/nonexistent/people.ldif", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = cli(t, "--config", broken, "check", "--connector", "hr_export")
	if code != 2 || !strings.Contains(errOut, "/nonexistent/people.ldif: no such file") {
		t.Fatalf("check of a missing file exited %d:\n%s", code, errOut)
	}
}

// A delta_schedule on a connector that cannot read deltas (the file connector: an export
// is a snapshot) is a validate error at the attribute, and `sync --delta` of such a sync
// is a usage error, not a run that fails later or reads everything.
func TestDeltaOnAConnectorWithoutDeltas(t *testing.T) {
	cfg := writeConfig(t, pgtest.NewDatabase(t))
	src, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	withDelta := strings.Replace(string(src), `schedule  = "*/30 * * * *"`, "schedule  = \"*/30 * * * *\"\n  delta_schedule = \"*/5 * * * *\"", 1)
	if err := os.WriteFile(cfg, []byte(withDelta), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := cli(t, "--config", cfg, "validate")
	if code != 2 || !strings.Contains(errOut, "Connector cannot read deltas") || !strings.Contains(errOut, "sync.hcl line 21") {
		t.Errorf("validate exited %d, want 2 naming the delta_schedule line:\n%s", code, errOut)
	}
	if err := os.WriteFile(cfg, src, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = cli(t, "--config", cfg, "sync", "--sync", "people", "--delta")
	if code != 2 || !strings.Contains(errOut, "cannot read deltas") {
		t.Errorf("sync --delta exited %d, want 2:\n%s", code, errOut)
	}
}

// runs and profiles only read: on a database without the schema they say so, and leave
// it as it was, rather than migrating it as a side effect; after `migrate` they work.
func TestReadingCommandsDoNotMigrate(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	cfg := writeConfig(t, dsn)
	for _, args := range [][]string{{"runs"}, {"profiles", "--sync", "people"}} {
		code, _, errOut := cli(t, append([]string{"--config", cfg}, args...)...)
		if code != 1 || !strings.Contains(errOut, "run `peoplesync migrate`") {
			t.Errorf("%v on an empty database exited %d, want 1 telling to migrate:\n%s", args, code, errOut)
		}
	}
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var tables int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Errorf("the reading commands created %d tables", tables)
	}
	if code, _, errOut := cli(t, "--config", cfg, "migrate"); code != 0 {
		t.Fatalf("migrate exited %d: %s", code, errOut)
	}
	if code, _, errOut := cli(t, "--config", cfg, "runs"); code != 0 {
		t.Errorf("runs after migrate exited %d: %s", code, errOut)
	}
}

// A misspelt bundled connector says so, with the names there are and the nearest, at
// the plugin attribute, and not go-plugin's text about architectures and libraries.
func TestUnknownBundledConnector(t *testing.T) {
	cfg := writeConfig(t, "postgres://unused")
	src, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte(strings.Replace(string(src), `plugin = "file"`, `plugin = "files"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := cli(t, "--config", cfg, "validate")
	for _, want := range []string{`No bundled connector "files"; the bundled connectors are ` + strings.Join(plugins.Names(), ", ") + `. Did you mean "file"?`, "sync.hcl line 6"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("validate output lacks %q:\n%s", want, errOut)
		}
	}
	if code != 2 || strings.Contains(errOut, "architecture") || strings.Contains(errOut, "dynamic-link") {
		t.Errorf("validate exited %d (want 2) or spoke of go-plugin's guesses:\n%s", code, errOut)
	}
}

// Unknown names are usage errors (exit 2) that list what there is, not empty tables.
func TestUnknownNamesAreUsageErrors(t *testing.T) {
	cfg := writeConfig(t, pgtest.NewDatabase(t))
	if code, _, errOut := cli(t, "--config", cfg, "migrate"); code != 0 {
		t.Fatalf("migrate: %s", errOut)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"profiles", "--sync", "nope"}, `has no sync "nope"; it has: people`},
		{[]string{"runs", "--sync", "nope"}, `has no sync "nope"; it has: people`},
		{[]string{"runs", "--errors", "999"}, "the store has no run 999"},
	} {
		code, _, errOut := cli(t, append([]string{"--config", cfg}, tc.args...)...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v exited %d, want 2 with %q:\n%s", tc.args, code, tc.want, errOut)
		}
	}
	if code, _, errOut := cli(t, "--config", cfg, "runs", "--sync", "people"); code != 0 {
		t.Errorf("runs of a known sync without runs exited %d: %s", code, errOut)
	}
}

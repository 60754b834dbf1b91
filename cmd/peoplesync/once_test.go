package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peoplesync/peoplesync/engine/store/pgtest"
)

// These tests run the real binary, with stdout and stderr apart as a shell gives them,
// and check that a run says each thing once (issue 13). Their exports are CSV as RFC
// 4180 writes it (hrExport), the first line naming the columns.

// runBin runs the built peoplesync with args and returns its exit code, stdout and
// stderr. Off a terminal, its log is JSON on stderr.
func runBin(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	bin, _ := binaries(t)
	var out, errOut bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
}

// A run that prints its summary for a person does not log it as well; a failed run's
// error and a held deletion's reason show once; --output json keeps the log line, for
// machines, and the error once in the JSON.
func TestARunSaysEachThingOnce(t *testing.T) {
	dir := t.TempDir()
	export := filepath.Join(dir, "hr.csv")
	hrExport(t, export, map[int]string{7: ",user7,Given7,Family7,user7@example.com,Title 7"})
	cfg := hrConfig(t, pgtest.NewDatabase(t), export)

	// 1 of 26 records fails: the summary says so once, and where to see them.
	code, out, errOut := runBin(t, "--config", cfg, "sync", "--sync", "people")
	if code != 4 || strings.Contains(errOut, "sync run finished") {
		t.Errorf("sync with a bad row exited %d (want 4), and its stderr should not repeat the summary:\n%s", code, errOut)
	}
	if strings.Count(out+errOut, "1 of 26 records failed") != 1 || !strings.Contains(out, "`peoplesync runs --errors 1` shows them") {
		t.Errorf("sync with a bad row should say once that 1 of 26 failed and how to see it:\nstdout:\n%s\nstderr:\n%s", out, errOut)
	}

	// 6 of 26 gone is past max_percent 10: the guard's reason shows once.
	hrExport(t, export, nil)
	if code, _, errOut := runBin(t, "--config", cfg, "sync", "--sync", "people"); code != 0 {
		t.Fatalf("sync: %s", errOut)
	}
	src, _ := os.ReadFile(export)
	lines := strings.SplitAfter(string(src), "\n")
	if err := os.WriteFile(export, []byte(strings.Join(lines[:21], "")), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"plan", "sync"} {
		code, out, errOut := runBin(t, "--config", cfg, cmd, "--sync", "people")
		if n := strings.Count(out+errOut, "more than max_percent"); code != 3 || n != 1 {
			t.Errorf("%s with held deletions exited %d (want 3) and gave the reason %d times (want 1):\nstdout:\n%s\nstderr:\n%s", cmd, code, n, out, errOut)
		}
	}

	// Cut off: the error once, on stderr; a plan shows nothing else.
	if err := os.WriteFile(export, src[:len(src)-3], 0o644); err != nil {
		t.Fatal(err)
	}
	const cut = "the last line has no line break"
	code, out, errOut = runBin(t, "--config", cfg, "plan", "--sync", "people")
	if code != 1 || out != "" || strings.Count(errOut, cut) != 1 || !strings.Contains(errOut, "peoplesync: ") {
		t.Errorf("plan of a cut-off export exited %d (want 1); want nothing on stdout and the error once on stderr:\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	// The 25 whole rows before the cut line were read (and none sent): the error says
	// so, not "incomplete read after 0 records".
	if !strings.Contains(errOut, "(25 records before it were read; a read that fails sends none)") || strings.Contains(errOut, "after 0 records") {
		t.Errorf("plan of a cut-off export should count the 25 rows read before the cut line:\n%s", errOut)
	}
	code, out, errOut = runBin(t, "--config", cfg, "sync", "--sync", "people")
	if code != 1 || !strings.Contains(out, "failed") || strings.Count(out+errOut, cut) != 1 {
		t.Errorf("sync of a cut-off export exited %d (want 1); want its summary and the error once:\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	code, out, errOut = runBin(t, "--config", cfg, "sync", "--sync", "people", "--output", "json")
	var res resultJSON
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 1 || !strings.Contains(res.Message, cut) {
		t.Errorf("sync --output json of a cut-off export exited %d (want 1) with %q (%v)", code, out, err)
	}
	if !strings.Contains(errOut, `"msg":"sync run finished"`) || strings.Count(errOut, cut) != 1 || strings.Contains(errOut, "peoplesync: ") {
		t.Errorf("sync --output json: stderr should hold the run's log line with the error, once:\n%s", errOut)
	}
	// --log-level debug shows the log line next to the summary again.
	if _, _, errOut := runBin(t, "--config", cfg, "--log-level", "debug", "sync", "--sync", "people"); !strings.Contains(errOut, `"msg":"sync run finished"`) {
		t.Errorf("sync --log-level debug does not log the run's end:\n%s", tail(errOut, 3000))
	}
}

// A short password does not mangle the diagnostics that quote other values (issue 13:
// bind_password = "x" printed bind_dn "svc-sync@corp.e(the value of bind_password)ample.com").
// The bind DN is Active Directory's user principal name form (MS-ADTS 5.1.1.1.1).
func TestShortSecretKeepsOtherValuesWhole(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join(t.TempDir(), "ad.hcl")
	src := `
store {
  url = "postgres://unused@127.0.0.1:1/x"
}
connector "corp_ol" {
  plugin = "ldap"
  config {
    url           = "ldaps://ldap.example.com"
    bind_dn       = "svc-sync@corp.example.com"
    bind_password = "x"
    base_dn       = "ou=people,dc=example,dc=com"
    flavor        = "openldap"
  }
}
`
	if err := os.WriteFile(cfg, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runBin(t, "--config", cfg, "validate")
	if code != 2 || !strings.Contains(errOut, `bind_dn "svc-sync@corp.example.com" is a user principal name`) || strings.Contains(errOut, "(the value of bind_password)") {
		t.Errorf("validate exited %d (want 2); want the bind DN quoted whole:\n%s", code, errOut)
	}
}

// newUserConfig writes a config like the repository's sync.hcl (an LDIF export read by
// entryUUID), whose store url comes from a variable that is not set, and returns it.
func newUserConfig(t *testing.T) string {
	t.Helper()
	return userConfig(t, `env("PEOPLESYNC_TEST_NEVER_SET")`)
}

// userConfig is newUserConfig with the store's url written url.
func userConfig(t *testing.T, url string) string {
	t.Helper()
	_, wasm := binaries(t)
	ldif, err := filepath.Abs("../../examples/people.ldif")
	if err != nil {
		t.Fatal(err)
	}
	src := fmt.Sprintf(`
store {
  url = %s
}
connector "hr_export" {
  plugin = "file"
  config {
    path         = %q
    format       = "ldif"
    id_attribute = "entryUUID"
  }
}
mapping "default" {
  module   = %q
  settings = { email_domain = "example.com" }
}
sync "people" {
  connector = connector.hr_export
  mapping   = mapping.default
  schedule  = "@hourly"
}
`, url, ldif, wasm)
	cfg := filepath.Join(t.TempDir(), "sync.hcl")
	if err := os.WriteFile(cfg, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// validate and mapping test never open the store, so a store url from an unset
// variable does not stop them (validate warns); the commands that open it refuse it.
func TestCommandsWithoutTheStoreNeedNoStoreURL(t *testing.T) {
	t.Parallel()
	cfg := newUserConfig(t)
	code, out, errOut := runBin(t, "--config", cfg, "validate")
	if code != 0 || !strings.Contains(out, "is valid") || !strings.Contains(errOut, "Warning: Store url not set here") || !strings.Contains(errOut, "PEOPLESYNC_TEST_NEVER_SET") {
		t.Errorf("validate exited %d; want valid with a warning naming the variable:\n%s%s", code, out, errOut)
	}
	ldif, _ := filepath.Abs("../../examples/people.ldif")
	code, out, errOut = runBin(t, "--config", cfg, "mapping", "test", "--mapping", "default", "--input", ldif)
	if code != 0 || !strings.Contains(out, `"profile"`) || errOut != "" {
		t.Errorf("mapping test exited %d; want profiles and nothing on stderr:\n%s", code, errOut)
	}
	code, _, errOut = runBin(t, "--config", cfg, "runs")
	if code != 2 || !strings.Contains(errOut, `environment variable "PEOPLESYNC_TEST_NEVER_SET" is not set`) {
		t.Errorf("runs exited %d (want 2); want the unset variable as an error:\n%s", code, errOut)
	}
}

// mapping test of an HR CSV with a config whose connector reads entryUUID says whose ID
// attribute that is and how to read the file otherwise (issue 13's new user).
func TestMappingTestSaysWhoseIDAttribute(t *testing.T) {
	t.Parallel()
	cfg := newUserConfig(t)
	csv := filepath.Join(t.TempDir(), "hr.csv")
	hrExport(t, csv, nil)
	code, _, errOut := runBin(t, "--config", cfg, "mapping", "test", "--mapping", "default", "--input", csv)
	for _, want := range []string{
		"the header has no column entryUUID",
		`The ID attribute "entryUUID" is the id_attribute of connector "hr_export", which sync "people" reads with this mapping.`,
		"--id-attribute COLUMN", "--connector NAME",
	} {
		if code == 0 || !strings.Contains(errOut, want) {
			t.Errorf("mapping test of an HR CSV exited %d; want %q in:\n%s", code, want, errOut)
		}
	}
	code, out, errOut := runBin(t, "--config", cfg, "mapping", "test", "--mapping", "default", "--input", csv, "--id-attribute", "employee_id")
	if code != 0 || !strings.Contains(out, `"id":"E007"`) {
		t.Errorf("mapping test --id-attribute employee_id exited %d:\n%s%s", code, out, errOut)
	}
}

// Every command that opens the store says "open store" once when it cannot (issue 13:
// "open store: open store: failed to connect"), and sync and plan say an unknown sync
// as runs and profiles do, in one line.
func TestStoreAndSyncNameErrorsSayItOnce(t *testing.T) {
	t.Parallel()
	cfg := userConfig(t, `"postgres://nobody@127.0.0.1:1/none?connect_timeout=5"`)
	for _, args := range [][]string{
		{"migrate"}, {"sync", "--sync", "people"}, {"plan", "--sync", "people"}, {"runs"},
		{"profiles", "--sync", "people"}, {"serve", "--listen", "127.0.0.1:0"},
	} {
		code, _, errOut := runBin(t, append([]string{"--config", cfg}, args...)...)
		if code != 1 || !strings.HasPrefix(errOut, "peoplesync: open store: ") || strings.Count(errOut, "open store") != 1 {
			t.Errorf("%v with no database exited %d (want 1); want one \"peoplesync: open store: …\":\n%s", args, code, errOut)
		}
	}
	// (runs and profiles look in the store first: a sync gone from the file still has
	// its runs and profiles there. Their message is knownSync's too.)
	want := fmt.Sprintf("peoplesync: --sync nope: %s has no sync \"nope\"; it has: people\n", cfg)
	for _, cmd := range []string{"sync", "plan"} {
		if code, _, errOut := runBin(t, "--config", cfg, cmd, "--sync", "nope"); code != 2 || errOut != want {
			t.Errorf("%s --sync nope exited %d (want 2):\n got %q\nwant %q", cmd, code, errOut, want)
		}
	}
}

// Ctrl-C while a run resolves managers ends it as "interrupted", once, not as "resolve
// managers: context canceled" (issue 13), and the run's record says the same.
func TestInterruptWhileResolvingManagers(t *testing.T) {
	t.Parallel()
	const n = 600
	d := newKillDirectory(t, n)
	w := newWorld(t)
	first := w.config("first.hcl", "30s", syncSpec{name: faultSync, path: w.writeFile("first.ldif", d.first.ldif), schedule: "@every 1h", batch: 100})
	second := w.config("second.hcl", "30s", syncSpec{name: faultSync, path: w.writeFile("second.ldif", d.second.ldif), schedule: "@every 1h", batch: 100})
	w.syncToEnd(first, "first")
	// x's record does not change; only resolving managers writes x, once m exists.
	pid, release := w.holdProfile(d.second.people[d.x].UUID)
	defer release()

	var out, errOut bytes.Buffer
	cmd := exec.Command(w.bin, "--config", second, "sync", "--sync", faultSync)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	w.waitBlocked(pid, "the run's manager resolution to wait")
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	code := waitExit(t, cmd, done)
	const want = `peoplesync: sync "hr": interrupted by Ctrl-C (SIGINT)`
	if code != 1 || strings.Count(errOut.String(), want) != 1 || strings.Contains(errOut.String(), "resolve managers") ||
		strings.Contains(errOut.String(), "context canceled") || strings.Count(out.String()+errOut.String(), "interrupted") != 1 {
		t.Errorf("interrupted sync exited %d (want 1); want %q once and no \"context canceled\":\nstdout:\n%s\nstderr:\n%s", code, want, out.String(), errOut.String())
	}
	if runs := w.runs(faultSync); len(runs) == 0 || runs[0].Status != "failed" || runs[0].Message != "interrupted by Ctrl-C (SIGINT)" {
		t.Errorf("the interrupted run's record: %+v, want failed, \"interrupted by Ctrl-C (SIGINT)\"", runs)
	}
}

package main

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/peoplesync/peoplesync/engine/store/pgtest"
)

// TestRenamingASync: a user renames sync "people" to "staff" in sync.hcl. Without
// previous_names, plan and sync warn that the store holds the old name's profiles and
// that the run is about to create everyone again. With previous_names = ["people"] the
// plan compares against the old profiles, and the run adopts them: nobody is created,
// the history moves, and a run under the old name (a replica on the old config) is
// refused.
func TestRenamingASync(t *testing.T) {
	cfg := writeConfig(t, pgtest.NewDatabase(t))
	first := syncJSON(t, cfg)
	if first.Created == 0 {
		t.Fatalf("first sync created nobody: %+v", first)
	}
	orig, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	renamed := strings.Replace(string(orig), `sync "people" {`, `sync "staff" {`, 1)
	write := func(src string) {
		t.Helper()
		if err := os.WriteFile(cfg, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	write(renamed)
	code, out, errOut := cli(t, "--config", cfg, "plan", "--sync", "staff")
	if code != 0 {
		t.Fatalf("plan exited %d: %s", code, errOut)
	}
	// The log is JSON: its quotes are escaped.
	if !strings.Contains(errOut, `the store has profiles of sync \"people\", which `+cfg+` no longer declares`) ||
		!strings.Contains(errOut, `If sync \"staff\" is \"people\" renamed, add previous_names = [\"people\"] to it before it runs`) {
		t.Errorf("plan without previous_names does not warn of the leftover profiles:\n%s", errOut)
	}
	if want := "would create " + itoa(first.Created) + ", update 0, delete 0"; !strings.Contains(out, want) {
		t.Errorf("plan without previous_names: want %q in:\n%s", want, out)
	}

	write(strings.Replace(renamed, `sync "staff" {`, `sync "staff" {
  previous_names = ["people"]`, 1))
	code, out, errOut = cli(t, "--config", cfg, "plan", "--sync", "staff")
	if code != 0 {
		t.Fatalf("plan exited %d: %s", code, errOut)
	}
	if strings.Contains(errOut, "no longer declares") {
		t.Errorf("plan warns although previous_names names the old sync:\n%s", errOut)
	}
	for _, want := range []string{
		`(the sync was renamed from "people": the run adopts that name's profiles first; this plan compares against them)`,
		"would create 0, update 0, delete 0; unchanged " + itoa(first.Created+first.Unchanged),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan with previous_names lacks %q:\n%s", want, out)
		}
	}

	code, out, errOut = cli(t, "--config", cfg, "sync", "--sync", "staff")
	if code != 0 {
		t.Fatalf("sync exited %d: %s", code, errOut)
	}
	if !strings.Contains(out, `adopted the profiles of "people", the sync's previous name: `+itoa(first.Created)+` links and 1 runs`) ||
		!regexp.MustCompile(`\n\s+\d+\s+0\s+0\s+`+itoa(first.Created)+`\s+`).MatchString(out) {
		t.Errorf("the renamed sync's run did not adopt, or created or changed someone:\n%s", out)
	}
	code, out, _ = cli(t, "--config", cfg, "runs", "--sync", "staff")
	if code != 0 || strings.Count(out, "succeeded") != 2 {
		t.Errorf("runs --sync staff should list the old run and the new one (exit %d):\n%s", code, out)
	}
	code, out, _ = cli(t, "--config", cfg, "profiles", "--sync", "staff", "--limit", "1000")
	if code != 0 || strings.Count(out, "\n") < int(first.Created) {
		t.Errorf("profiles --sync staff (exit %d) lists fewer than %d:\n%s", code, first.Created, out)
	}

	// A replica still on the old configuration may not run the old name.
	write(string(orig))
	code, _, errOut = cli(t, "--config", cfg, "sync", "--sync", "people")
	if code != 1 || !strings.Contains(errOut, `sync "people": the sync was renamed to "staff"`) ||
		!strings.Contains(errOut, "a run under the old name would create them again") {
		t.Errorf("a run under the old name: exit %d (want 1):\n%s", code, errOut)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/peoplesync/peoplesync/engine/store/pgtest"
)

// Records unchanged at the source and records the mapping skips are told apart in
// plan, sync (text and JSON) and runs; a skip says its reason.
func TestUnchangedAndSkippedApart(t *testing.T) {
	cfg := writeConfig(t, pgtest.NewDatabase(t))
	ldif := filepath.Join(t.TempDir(), "three.ldif")
	src := "dn: uid=ana,ou=people,dc=example,dc=com\nentryUUID: 1\nuid: ana\ngivenName: Ana\nsn: Núñez\n\n" +
		"dn: uid=bo,ou=people,dc=example,dc=com\nentryUUID: 2\nuid: bo\ncn: Bo\n\n" +
		"dn: cn=ws01,ou=computers,dc=example,dc=com\nentryUUID: 3\nobjectClass: top\nobjectClass: computer\ncn: ws01\n"
	if err := os.WriteFile(ldif, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	hcl, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	example, _ := filepath.Abs("../../examples/people.ldif")
	if err := os.WriteFile(cfg, []byte(strings.Replace(string(hcl), example, ldif, 1)), 0o644); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := cli(t, "--config", cfg, "plan", "--sync", "people")
	if code != 0 {
		t.Fatalf("plan exited %d: %s", code, errOut)
	}
	for _, want := range []string{
		"would create 2, update 0, delete 0; unchanged 0; skipped by the mapping 1; errors 0",
		"skipped by the mapping:\n  1  computer account (first: 3)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}

	first := syncJSON(t, cfg)
	if first.Created != 2 || first.Unchanged != 0 || first.Skipped != 1 || len(first.Skips) != 1 ||
		first.Skips[0].Reason != "computer account" || first.Skips[0].Count != 1 || first.Skips[0].ExampleID != "3" {
		t.Fatalf("first sync: %+v", first)
	}
	code, out, errOut = cli(t, "--config", cfg, "sync", "--sync", "people")
	if code != 0 {
		t.Fatalf("second sync exited %d: %s", code, errOut)
	}
	if !regexp.MustCompile(`processed\s+created\s+updated\s+unchanged\s+skipped\s+deleted\s+errors\s*\n\s+3\s+0\s+0\s+2\s+1\s+0\s+0\s*\n`).MatchString(out) ||
		!strings.Contains(out, "skipped by the mapping:\n  1  computer account (first: 3)\n") {
		t.Errorf("second sync's summary:\n%s", out)
	}
	code, out, errOut = cli(t, "--config", cfg, "runs")
	if code != 0 {
		t.Fatalf("runs exited %d: %s", code, errOut)
	}
	if !regexp.MustCompile(`PROCESSED\s+CREATED\s+UPDATED\s+UNCHANGED\s+SKIPPED\s+DELETED\s+ERRORS`).MatchString(out) ||
		!regexp.MustCompile(`succeeded\s+\S+\s+\S+\s+3\s+0\s+0\s+2\s+1\s+0\s+0\s`).MatchString(out) {
		t.Errorf("runs:\n%s", out)
	}
}

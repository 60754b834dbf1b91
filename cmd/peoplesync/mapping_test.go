package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peoplesync/peoplesync/engine/mapper/mappertest"
)

// TestValidateRefusesAnOldABI: a module built for another ABI fails validate with one
// message that says which ABI it has, which one is needed, and where the module is named.
func TestValidateRefusesAnOldABI(t *testing.T) {
	dir := t.TempDir()
	if err := mappertest.BuildFile("../../engine/mapper/testdata/abi0", filepath.Join(dir, "old.wasm")); err != nil {
		t.Fatal(err)
	}
	src := `store {
  url = "postgres://unused"
}
mapping "old" {
  module = "old.wasm"
}
`
	validateFails(t, dir, src, "sync.hcl line 5", "Mapping module does not load", "mapping ABI version 0, this peoplesync needs 1", "1 error(s)")
}

// validateFails writes src as dir/sync.hcl and checks that validate refuses it (exit 2)
// with each of wants in its output.
func validateFails(t *testing.T, dir, src string, wants ...string) {
	t.Helper()
	path := filepath.Join(dir, "sync.hcl")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := cli(t, "--config", path, "validate")
	if code != 2 {
		t.Fatalf("validate exited %d, want 2:\n%s", code, errOut)
	}
	for _, want := range wants {
		if !strings.Contains(errOut, want) {
			t.Errorf("validate output lacks %q:\n%s", want, errOut)
		}
	}
}

// TestValidateNamesAnUnknownMappingSetting: a mistyped setting fails validate where it
// is written, with the key the module reads, instead of being ignored (issue 13: phones
// stayed unnormalised behind default_country_cod).
func TestValidateNamesAnUnknownMappingSetting(t *testing.T) {
	dir := t.TempDir()
	if err := mappertest.BuildFile("../../mappings/default", filepath.Join(dir, "default.wasm")); err != nil {
		t.Fatal(err)
	}
	src := `store {
  url = "postgres://unused"
}
mapping "default" {
  module   = "default.wasm"
  settings = {
    default_country_cod = "49"
  }
}
`
	// Line 7, the key the module names, not line 6 where the settings object starts.
	validateFails(t, dir, src, "sync.hcl line 7", `unknown setting "default_country_cod"`,
		`did you mean "default_country_code"?`, "1 error(s)")
}

// TestMappingExamples runs the example modules' own `mapping test --expect` checks, as
// their authors would in CI: each example's configuration, input and golden output.
func TestMappingExamples(t *testing.T) {
	cases := []struct{ module, config, mapping, input, expect string }{
		{"acme", "acme.hcl", "acme", "testdata/records.jsonl", "testdata/records.expect.jsonl"},
		{"globex", "globex.hcl", "globex_eu", "testdata/eu.ldif", "testdata/eu.expect.jsonl"},
		{"globex", "globex.hcl", "globex_jp", "testdata/jp.jsonl", "testdata/jp.expect.jsonl"},
	}
	for _, tc := range cases {
		t.Run(tc.mapping, func(t *testing.T) {
			src := filepath.Join("../../mappings", tc.module)
			// The configuration names the module beside it: build it into a copy of the
			// example's directory, not into the source tree.
			dir := t.TempDir()
			if err := mappertest.BuildFile(src, filepath.Join(dir, tc.module+".wasm")); err != nil {
				t.Fatal(err)
			}
			hcl, err := os.ReadFile(filepath.Join(src, tc.config))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, tc.config), hcl, 0o644); err != nil {
				t.Fatal(err)
			}
			abs := func(p string) string {
				a, err := filepath.Abs(filepath.Join(src, p))
				if err != nil {
					t.Fatal(err)
				}
				return a
			}
			code, out, errOut := cli(t, "--config", filepath.Join(dir, tc.config), "mapping", "test",
				"--mapping", tc.mapping, "--input", abs(tc.input), "--expect", abs(tc.expect))
			if code != 0 || !strings.HasPrefix(out, "ok: ") {
				t.Fatalf("mapping test exited %d:\n%s%s", code, out, errOut)
			}
		})
	}
}

// TestMappingTestStopsALoopingModule: `mapping test` runs with a time limit, so a module
// that loops forever fails its record in the author's test instead of hanging.
func TestMappingTestStopsALoopingModule(t *testing.T) {
	dir := t.TempDir()
	if err := mappertest.BuildFile("../../engine/mapper/testdata/trap", filepath.Join(dir, "trap.wasm")); err != nil {
		t.Fatal(err)
	}
	src := `store {
  url = "postgres://unused"
}
mapping "trap" {
  module = "trap.wasm"
}
`
	if err := os.WriteFile(filepath.Join(dir, "sync.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	input := filepath.Join(dir, "records.jsonl")
	if err := os.WriteFile(input, []byte(`{"id":"loop","uid":"l"}`+"\n"+`{"id":"ok","uid":"k"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := cli(t, "--config", filepath.Join(dir, "sync.hcl"), "mapping", "test", "--mapping", "trap",
		"--input", input, "--call-timeout", "300ms")
	if code != 0 {
		t.Fatalf("mapping test exited %d:\n%s%s", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "ran out of time (limit 300ms)") || strings.Contains(lines[1], "error") {
		t.Fatalf("output:\n%s", out)
	}
}

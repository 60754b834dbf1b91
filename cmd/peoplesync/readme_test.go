package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/peoplesync/peoplesync/engine/mapper/mappertest"
	"github.com/peoplesync/peoplesync/engine/store/pgtest"
)

// readmeFiles returns the README's code blocks that name a file ("```csv people.csv"),
// by file name.
func readmeFiles(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	var name string
	var body strings.Builder
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case name == "" && strings.HasPrefix(line, "```"):
			if f := strings.Fields(strings.TrimPrefix(line, "```")); len(f) == 2 {
				name = f[1]
				body.Reset()
			}
		case name != "" && line == "```":
			files[name] = body.String()
			name = ""
		case name != "":
			body.WriteString(line + "\n")
		}
	}
	return files
}

// The README's file connector examples work as written: each connector block with its
// export syncs every person, with managers matched as the README says and inactive
// people inactive.
func TestREADMEFileConnectorExamples(t *testing.T) {
	files := readmeFiles(t)
	dir := t.TempDir()
	var cfg strings.Builder
	envName := "TEST_STORE_URL_README"
	t.Setenv(envName, pgtest.NewDatabase(t))
	fmt.Fprintf(&cfg, "store {\n  url = env(%q)\n}\nmapping \"default\" {\n  module = %q\n}\n", envName, mappertest.Build(t, "../../mappings/default"))
	for _, name := range []string{"hr-csv.hcl", "people.csv", "hr-jsonl.hcl", "people.jsonl"} {
		body, ok := files[name]
		if !ok {
			t.Fatalf("README has no example named %s (it has %v)", name, files)
		}
		if strings.HasSuffix(name, ".hcl") {
			cfg.WriteString(body)
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []string{"hr_csv", "hr_jsonl"} {
		fmt.Fprintf(&cfg, "sync %[1]q {\n  connector = connector.%[1]s\n  mapping = mapping.default\n  schedule = \"@hourly\"\n}\n", s)
	}
	path := filepath.Join(dir, "sync.hcl")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := cli(t, "--config", path, "validate"); code != 0 {
		t.Fatalf("validate exited %d:\n%s%s", code, out, errOut)
	}
	for _, s := range []string{"hr_csv", "hr_jsonl"} {
		code, out, errOut := cli(t, "--config", path, "sync", "--sync", s)
		if code != 0 || !regexp.MustCompile(`\n\s+3\s+3\s+0\s+0\s+0\s+0\s+0\s*\n`).MatchString(out) {
			t.Fatalf("sync %s exited %d, want 3 processed and created:\n%s%s", s, code, out, errOut)
		}
		code, out, errOut = cli(t, "--config", path, "profiles", "--sync", s)
		if code != 0 {
			t.Fatalf("profiles %s exited %d: %s", s, code, errOut)
		}
		for _, want := range []string{`Grace Hopper\s.*\sAda Lovelace\s+active`, `Alan Turing\s.*\sGrace Hopper\s+inactive`, `Ada Lovelace\s.*\s-\s+active`} {
			if !regexp.MustCompile(want).MatchString(out) {
				t.Errorf("profiles of %s do not match %q:\n%s", s, want, out)
			}
		}
	}
}

// The README's several-sources example validates as written, beside the hr_csv
// connector it refers to, and validate does check it: the same file where both syncs
// may end people they share is refused at the line that says so.
func TestREADMESeveralSourcesExample(t *testing.T) {
	files := readmeFiles(t)
	dir := t.TempDir()
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "store {\n  url = \"postgres://unused\"\n}\nmapping \"default\" {\n  module = %q\n}\n", mappertest.Build(t, "../../mappings/default"))
	// The README's corp_ldap needs its CA file; validate only configures the connector,
	// so a plain one with the same name does.
	cfg.WriteString("connector \"corp_ldap\" {\n  plugin = \"ldap\"\n  config {\n    url     = \"ldap://127.0.0.1:1\"\n    base_dn = \"ou=people,dc=example,dc=com\"\n  }\n}\n")
	for _, name := range []string{"hr-csv.hcl", "people.csv", "several-sources.hcl"} {
		body, ok := files[name]
		if !ok {
			t.Fatalf("README has no example named %s", name)
		}
		if strings.HasSuffix(name, ".hcl") {
			cfg.WriteString(body)
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "sync.hcl")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := cli(t, "--config", path, "validate")
	if code != 0 || !strings.Contains(out, "2 connector(s), 1 mapping(s), 2 sync(s)") {
		t.Fatalf("validate exited %d:\n%s%s", code, out, errOut)
	}

	ends := regexp.MustCompile(`(?m)^(\s*end\s*=\s*)false`)
	if !ends.MatchString(cfg.String()) {
		t.Fatal("the example no longer sets end = false")
	}
	both := ends.ReplaceAllString(cfg.String(), "${1}true")
	both = strings.Replace(both, `default = ["hr", "ad"]`, `default = ["ad"]`, 1)
	if err := os.WriteFile(path, []byte(both), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = cli(t, "--config", path, "validate")
	if code != exitUsage || !strings.Contains(errOut, "Several syncs may end people") {
		t.Errorf("validate of a setup where hr and ad both end people exited %d, want %d saying so:\n%s", code, exitUsage, errOut)
	}
}

// sync --help lists every exit code sync can end with, and plan --help points to them.
func TestSyncHelpListsExitCodes(t *testing.T) {
	code, out, _ := cli(t, "sync", "--help")
	if code != 0 {
		t.Fatalf("sync --help exited %d", code)
	}
	for _, c := range []int{exitOK, exitFailed, exitUsage, exitGuarded, exitRecordErrors} {
		if !regexp.MustCompile(fmt.Sprintf(`(?m)^  %d  \S`, c)).MatchString(out) {
			t.Errorf("sync --help does not list exit code %d:\n%s", c, out)
		}
	}
	if code, out, _ := cli(t, "plan", "--help"); code != 0 || !strings.Contains(out, "Exit codes are those of sync") {
		t.Errorf("plan --help exited %d:\n%s", code, out)
	}
}

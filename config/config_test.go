package config

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/invalid")

// testEnv is the environment every test sees through Parser.LookupEnv, so that no test
// depends on the process environment.
var testEnv = map[string]string{
	"DATABASE_URL": "postgres://peoplesync@localhost/peoplesync",
	"HR_PASSWORD":  "s3cret",
	"EMPTY":        "",
}

func newTestParser() *Parser {
	p := NewParser()
	p.LookupEnv = func(k string) (string, bool) {
		v, ok := testEnv[k]
		return v, ok
	}
	return p
}

func mustLoad(t *testing.T, path string) *Config {
	t.Helper()
	cfg, diags := newTestParser().Load(path)
	if len(diags) > 0 {
		t.Fatalf("Load(%s):\n%s", path, FormatDiagnostics(diags))
	}
	return cfg
}

func mustParse(t *testing.T, src, filename string) *Config {
	t.Helper()
	cfg, diags := newTestParser().Parse([]byte(src), filename)
	if len(diags) > 0 {
		t.Fatalf("Parse:\n%s", FormatDiagnostics(diags))
	}
	return cfg
}

func TestValidFilesLoadCleanly(t *testing.T) {
	t.Parallel()
	paths, err := filepath.Glob("testdata/valid/*.hcl")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no valid fixtures: %v", err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			cfg := mustLoad(t, path)
			if len(cfg.Syncs) == 0 || cfg.Store.URL == "" {
				t.Errorf("%s: want a store and at least one sync, got %+v", path, cfg)
			}
			if cfg.Files[path] == nil {
				t.Errorf("%s: Files does not hold the parsed file", path)
			}
		})
	}
}

func TestInvalidFilesGolden(t *testing.T) {
	t.Parallel()
	paths, err := filepath.Glob("testdata/invalid/*.hcl")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no invalid fixtures: %v", err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			cfg, diags := newTestParser().Load(path)
			if cfg == nil || cfg.Files[path] == nil {
				t.Fatalf("Load must return a Config holding the parsed file even on errors")
			}
			if !diags.HasErrors() {
				t.Fatalf("want errors, got none")
			}
			for _, d := range diags {
				if d.Subject == nil || d.Subject.Filename != path || d.Subject.Start.Line == 0 {
					t.Errorf("diagnostic without a range in %s: %s", path, FormatDiagnostic(d))
				}
			}
			got := FormatDiagnostics(diags)
			golden := strings.TrimSuffix(path, ".hcl") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./config -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("diagnostics of %s differ from %s (go test ./config -update rewrites it)\n--- got\n%s--- want\n%s", path, golden, got, want)
			}
		})
	}
}

func TestSyncShape(t *testing.T) {
	t.Parallel()
	cfg := mustLoad(t, "testdata/valid/sync.hcl")
	if cfg.Filename != "testdata/valid/sync.hcl" || cfg.Dir != "testdata/valid" {
		t.Errorf("Filename, Dir = %q, %q", cfg.Filename, cfg.Dir)
	}
	if cfg.Store.URL != testEnv["DATABASE_URL"] || cfg.Store.RangeOf("url").Start.Line != 3 {
		t.Errorf("Store = %+v", cfg.Store)
	}
	c := cfg.Connector("hr_export")
	if c == nil || c.Plugin != "file" || c.External || c.SHA256 != "" || c.DeclRange.Start.Line != 6 || c.RangeOf("config").Start.Line != 8 {
		t.Fatalf("Connector = %+v", c)
	}
	m := cfg.Mapping("default")
	wantModule, _ := filepath.Abs("testdata/valid/modules/default.module")
	if m == nil || m.Module != wantModule || string(m.SettingsJSON) != `{"email_domain":"example.com"}` || m.RangeOf("module").Start.Line != 16 {
		t.Fatalf("Mapping = %+v (settings %s)", m, m.SettingsJSON)
	}
	s := cfg.Sync("people")
	if s == nil {
		t.Fatal("no sync people")
	}
	want := Sync{
		Name: "people", Connector: "hr_export", Mapping: "default",
		Schedule: "*/30 * * * *", DeltaSchedule: "@every 5m",
		TimezoneName: "Europe/Berlin", Timeout: 30 * time.Minute, BatchSize: 1000,
		Deletion: Deletion{MaxCount: 500, MaxPercent: 10, MaxErrorPercent: 1},
	}
	if s.Name != want.Name || s.Connector != want.Connector || s.Mapping != want.Mapping ||
		s.Schedule != want.Schedule || s.DeltaSchedule != want.DeltaSchedule ||
		s.TimezoneName != want.TimezoneName || s.Timezone.String() != "Europe/Berlin" ||
		s.Timeout != want.Timeout || s.BatchSize != want.BatchSize || s.Deletion != want.Deletion {
		t.Errorf("Sync = %+v\nwant %+v", *s, want)
	}
	if s.DeclRange.Start.Line != 20 || s.RangeOf("schedule").Start.Line != 23 || s.RangeOf("delta_schedule").Start.Line != 24 ||
		s.RangeOf("connector").Start.Line != 21 || s.RangeOf("mapping").Start.Line != 22 {
		t.Errorf("ranges: decl %v schedule %v delta %v connector %v mapping %v", s.DeclRange,
			s.RangeOf("schedule"), s.RangeOf("delta_schedule"), s.RangeOf("connector"), s.RangeOf("mapping"))
	}
}

func TestRangeOfFallsBackToDeclRange(t *testing.T) {
	t.Parallel()
	cfg := mustLoad(t, "testdata/valid/minimal.hcl")
	s, c, m := cfg.Sync("people"), cfg.Connector("hr"), cfg.Mapping("default")
	// An attribute or nested block the file leaves out, or a name the block has none
	// of, points at the block's header.
	for name, pair := range map[string][2]hcl.Range{
		"sync delta_schedule": {s.RangeOf("delta_schedule"), s.DeclRange},
		"sync deletion":       {s.RangeOf("deletion"), s.DeclRange},
		"connector sha256":    {c.RangeOf("sha256"), c.DeclRange},
		"connector config":    {c.RangeOf("config"), c.DeclRange},
		"mapping settings":    {m.RangeOf("settings"), m.DeclRange},
		"mapping no_such":     {m.RangeOf("no_such"), m.DeclRange},
		"store lease_ttl":     {cfg.Store.RangeOf("lease_ttl"), cfg.Store.DeclRange},
	} {
		if pair[0] != pair[1] || pair[1].Start.Line == 0 {
			t.Errorf("%s: got %v, want the block header %v", name, pair[0], pair[1])
		}
	}
	if got := cfg.Store.RangeOf("url"); got.Start.Line != 3 || got.Start.Column != 9 {
		t.Errorf("store url: got %v, want its value at 3:9", got)
	}
	// A block built by hand has no recorded ranges: everything is its header.
	decl := hcl.Range{Filename: "x.hcl", Start: hcl.Pos{Line: 2, Column: 1}}
	if got := (&Connector{DeclRange: decl}).RangeOf("plugin"); got != decl {
		t.Errorf("hand-built connector: got %v, want %v", got, decl)
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	cfg := mustLoad(t, "testdata/valid/minimal.hcl")
	s := cfg.Sync("people")
	if s.Timezone != time.UTC || s.TimezoneName != "UTC" || s.Timeout != time.Hour || s.BatchSize != 1000 ||
		s.Deletion != (Deletion{MaxCount: 500, MaxPercent: 10, MaxErrorPercent: 1}) || s.DeltaSchedule != "" {
		t.Errorf("defaults = %+v", *s)
	}
	if got := string(cfg.Mapping("default").SettingsJSON); got != "{}" {
		t.Errorf("SettingsJSON = %s, want {}", got)
	}
	// A partial deletion block keeps the default of what it leaves out.
	many := mustLoad(t, "testdata/valid/many.hcl")
	if d := many.Sync("ad_people").Deletion; d != (Deletion{MaxCount: 0, MaxPercent: 10, MaxErrorPercent: 1}) {
		t.Errorf("ad_people deletion = %+v", d)
	}
	if got := many.Sync("hr_people").RequiredFields; !slices.Equal(got, []string{"email", "employee_number"}) {
		t.Errorf("hr_people required_fields = %q", got)
	}
	if got := many.Sync("ad_people").RequiredFields; got != nil {
		t.Errorf("ad_people required_fields = %q, want none", got)
	}
	if d := many.Sync("hr_people").Deletion; d != (Deletion{MaxCount: 500, MaxPercent: 2.5, MaxErrorPercent: 5}) {
		t.Errorf("hr_people deletion = %+v", d)
	}
}

func TestLookupsMissReturnNil(t *testing.T) {
	t.Parallel()
	cfg := mustLoad(t, "testdata/valid/many.hcl")
	if cfg.Connector("nope") != nil || cfg.Mapping("nope") != nil || cfg.Sync("nope") != nil {
		t.Error("lookups of undeclared names must return nil")
	}
	if cfg.Connector("hr-csv") == nil || cfg.Sync("hr_people").Connector != "hr-csv" {
		t.Error("dashed names must resolve")
	}
}

func TestRelativePaths(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, f := range []struct {
		path string
		mode os.FileMode
	}{
		{"conf/plugins/hr", 0o755},
		{"conf/connector", 0o755},
		{"shared/module.wasm", 0o644},
		{"conf/token.txt", 0o644},
	} {
		p := filepath.Join(dir, f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("token\n"), f.mode); err != nil {
			t.Fatal(err)
		}
	}
	src := `
store { url = file("token.txt") }
connector "a" {
  plugin = "plugins/hr"
  sha256 = "` + strings.Repeat("ab", 32) + `"
}
connector "b" {
  plugin = "./connector"
  sha256 = "` + strings.Repeat("cd", 32) + `"
}
connector "c" {
  plugin = "` + filepath.Join(dir, "conf/connector") + `"
  sha256 = "` + strings.Repeat("ef", 32) + `"
}
connector "d" { plugin = "ldap" }
mapping "m" { module = "../shared/module.wasm" }
sync "s" {
  connector = connector.a
  mapping   = mapping.m
  schedule  = "@daily"
}
`
	cfg := mustParse(t, src, filepath.Join(dir, "conf", "sync.hcl"))
	if cfg.Dir != filepath.Join(dir, "conf") {
		t.Errorf("Dir = %q", cfg.Dir)
	}
	if cfg.Store.URL != "token\n" {
		t.Errorf("file() read %q", cfg.Store.URL)
	}
	for name, want := range map[string]string{
		"a": filepath.Join(dir, "conf/plugins/hr"),
		"b": filepath.Join(dir, "conf/connector"),
		"c": filepath.Join(dir, "conf/connector"),
	} {
		if c := cfg.Connector(name); !c.External || c.Plugin != want {
			t.Errorf("connector %s: External %v Plugin %q, want %q", name, c.External, c.Plugin, want)
		}
	}
	if c := cfg.Connector("d"); c.External || c.Plugin != "ldap" {
		t.Errorf("bundled connector d = %+v", c)
	}
	if got, want := cfg.Mapping("m").Module, filepath.Join(dir, "shared/module.wasm"); got != want {
		t.Errorf("Module = %q, want %q", got, want)
	}

	// A relative config path still yields absolute resolved paths.
	rel := mustLoad(t, "testdata/valid/many.hcl")
	wantBin, _ := filepath.Abs("testdata/valid/connectors/connector")
	if c := rel.Connector("ad"); c.Plugin != wantBin || !filepath.IsAbs(c.Plugin) {
		t.Errorf("Plugin = %q, want %q", c.Plugin, wantBin)
	}
	if c := rel.Connector("ad"); c.SHA256 != strings.ToLower("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855") {
		t.Errorf("SHA256 = %q, want lower case", c.SHA256)
	}
}

func TestEnvFunction(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, expr, want, wantErr string
	}{
		{name: "set", expr: `env("HR_PASSWORD")`, want: "s3cret"},
		{name: "set wins over default", expr: `env("HR_PASSWORD", "x")`, want: "s3cret"},
		{name: "set but empty is set", expr: `env("EMPTY", "x")`, want: ""},
		{name: "unset with default", expr: `env("NOT_SET", "fallback")`, want: "fallback"},
		{name: "unset", expr: `env("NOT_SET")`, wantErr: `environment variable "NOT_SET" is not set`},
		{name: "too many arguments", expr: `env("A", "b", "c")`, wantErr: "at most one default"},
		{name: "no arguments", expr: `env()`, wantErr: "Not enough function arguments"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := "store {\n  url = \"x\"\n}\nconnector \"c\" {\n  plugin = \"file\"\n  config {\n    v = " + tc.expr + "\n  }\n}\n"
			cfg := mustParse(t, src, "env.hcl")
			js, diags := cfg.Connector("c").DecodeConfig(testSchema(t, `{"Attributes":[{"Name":"v","Type":"string"}]}`))
			if tc.wantErr != "" {
				if !strings.Contains(FormatDiagnostics(diags), tc.wantErr) {
					t.Fatalf("diagnostics %q do not contain %q", FormatDiagnostics(diags), tc.wantErr)
				}
				if d := diags[0]; d.Subject == nil || d.Subject.Start.Line != 7 {
					t.Errorf("diagnostic not on line 7: %s", FormatDiagnostic(d))
				}
				return
			}
			if diags.HasErrors() {
				t.Fatal(FormatDiagnostics(diags))
			}
			var got struct{ V string }
			if err := json.Unmarshal(js, &got); err != nil || got.V != tc.want {
				t.Errorf("env = %q (%v), want %q", got.V, err, tc.want)
			}
		})
	}
}

// TestEnvFunctionDefaultsToProcessEnvironment uses t.Setenv, so it cannot run in parallel.
func TestEnvFunctionDefaultsToProcessEnvironment(t *testing.T) {
	t.Setenv("PEOPLESYNC_CONFIG_TEST_URL", "postgres://from-env")
	cfg, diags := Parse([]byte(`store { url = env("PEOPLESYNC_CONFIG_TEST_URL") }`), "env.hcl")
	if len(diags) > 0 {
		t.Fatal(FormatDiagnostics(diags))
	}
	if cfg.Store.URL != "postgres://from-env" {
		t.Errorf("URL = %q", cfg.Store.URL)
	}
}

func TestFileFunction(t *testing.T) {
	t.Parallel()
	cfg := mustLoad(t, "testdata/valid/functions.hcl")
	var settings map[string]any
	if err := json.Unmarshal(cfg.Mapping("default").SettingsJSON, &settings); err != nil {
		t.Fatal(err)
	}
	if settings["banner"] != "line one\nline two\n" || settings["email_domain"] != "example.com" {
		t.Errorf("settings = %v", settings)
	}
	if got := string(cfg.Mapping("default").SettingsJSON); !strings.Contains(got, `"weights":[1,2.5]`) || !strings.Contains(got, `"nested":{"enabled":true}`) {
		t.Errorf("SettingsJSON = %s", got)
	}
	if cfg.Sync("people").Schedule != "0 3 * * *" {
		t.Errorf("Schedule = %q", cfg.Sync("people").Schedule)
	}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "binary"), []byte{0xff, 0xfe}, 0o644); err != nil {
		t.Fatal(err)
	}
	_, diags := newTestParser().Parse([]byte(`store { url = file("binary") }`), filepath.Join(dir, "sync.hcl"))
	if !strings.Contains(FormatDiagnostics(diags), "not valid UTF-8") {
		t.Errorf("binary file: %s", FormatDiagnostics(diags))
	}
}

func TestParseSchedule(t *testing.T) {
	t.Parallel()
	for _, spec := range []string{"*/30 * * * *", "0 3 * * 1-5", "@hourly", "@daily", "@every 10m", "@every 1h30m"} {
		if _, err := ParseSchedule(spec); err != nil {
			t.Errorf("ParseSchedule(%q): %v", spec, err)
		}
	}
	for _, spec := range []string{"", "* * * *", "0 0 */30 * * *", "60 * * * *", "@fortnightly", "TZ=UTC * * * * *"} {
		if _, err := ParseSchedule(spec); err == nil {
			t.Errorf("ParseSchedule(%q) accepted", spec)
		}
	}
	// The schedule honours the sync's timezone, applied by the caller.
	s, err := ParseSchedule("0 3 * * *")
	if err != nil {
		t.Fatal(err)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	next := s.Next(time.Date(2026, 1, 1, 12, 0, 0, 0, berlin))
	if want := time.Date(2026, 1, 2, 3, 0, 0, 0, berlin); !next.Equal(want) {
		t.Errorf("next = %v, want %v", next, want)
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	cfg, diags := Load("testdata/does-not-exist.hcl")
	if cfg == nil || len(diags) != 1 || diags[0].Summary != "Cannot read configuration file" {
		t.Fatalf("diags = %s", FormatDiagnostics(diags))
	}
	if got := FormatDiagnostic(diags[0]); !strings.HasPrefix(got, "testdata/does-not-exist.hcl:1:1: error: Cannot read configuration file: open ") {
		t.Errorf("compact = %q", got)
	}
}

func TestWriteDiagnostics(t *testing.T) {
	t.Parallel()
	cfg, diags := newTestParser().Load("testdata/invalid/several.hcl")
	var buf bytes.Buffer
	if err := WriteDiagnostics(&buf, diags, cfg.Files, false); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"Error: Invalid cron schedule",
		"on testdata/invalid/several.hcl line 21",
		`schedule       = "every half hour"`, // the snippet
		`expected exactly 5 fields`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	buf.Reset()
	if err := WriteDiagnostics(&buf, diags[:1], cfg.Files, true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "\x1b[") {
		t.Errorf("color output has no escape codes: %q", buf.String())
	}
}

func TestFormatDiagnostic(t *testing.T) {
	t.Parallel()
	rng := hcl.Range{Filename: "sync.hcl", Start: hcl.Pos{Line: 3, Column: 9, Byte: 20}}
	cases := []struct {
		d    *hcl.Diagnostic
		want string
	}{
		{&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Bad", Detail: "two\n  lines.", Subject: &rng}, "sync.hcl:3:9: error: Bad: two lines."},
		{&hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Careful", Subject: &rng}, "sync.hcl:3:9: warning: Careful"},
		{&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Nowhere", Detail: "d"}, "error: Nowhere: d"},
	}
	for _, tc := range cases {
		if got := FormatDiagnostic(tc.d); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

// TestRepositorySyncHCL loads the repository's own sync.hcl, when there is one. Its
// mapping module is a build artefact, so a missing module is the only problem tolerated.
func TestRepositorySyncHCL(t *testing.T) {
	t.Parallel()
	const path = "../sync.hcl"
	if _, err := os.Stat(path); err != nil {
		t.Skipf("no repository sync.hcl: %v", err)
	}
	p := NewParser()
	p.LookupEnv = func(k string) (string, bool) { return "postgres://localhost/" + k, true }
	_, diags := p.Load(path)
	for _, d := range diags {
		if d.Summary != "Mapping module not found" {
			t.Errorf("%s", FormatDiagnostic(d))
		}
	}
}

// TestExternalPluginWithoutSHA256Warns: an external binary without a checksum loads, with
// a warning on its plugin attribute; a bundled connector and a checked binary get none.
func TestExternalPluginWithoutSHA256Warns(t *testing.T) {
	t.Parallel()
	src := `store { url = "x" }
connector "checked" {
  plugin = "connectors/connector"
  sha256 = "` + strings.Repeat("0", 64) + `"
}
connector "bundled" {
  plugin = "file"
}
connector "unchecked" {
  plugin = "./connectors/connector"
}
mapping "m" { module = "modules/default.module" }
sync "s" {
  connector = connector.unchecked
  mapping   = mapping.m
  schedule  = "@daily"
}
`
	_, diags := newTestParser().Parse([]byte(src), "testdata/valid/unchecked.hcl")
	if diags.HasErrors() {
		t.Fatalf("want only a warning:\n%s", FormatDiagnostics(diags))
	}
	want := `testdata/valid/unchecked.hcl:10:12: warning: External plugin without sha256: Connector "unchecked" starts "./connectors/connector" without checking what it runs: whoever can replace that file runs code as peoplesync, with its secrets. Add sha256 = "…" (the output of sha256sum) to the connector block.` + "\n"
	if got := FormatDiagnostics(diags); got != want {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", got, want)
	}
}

// TestLeaseTTLBounds: lease_ttl is positive and at least a second, said in the words the
// other durations use.
func TestLeaseTTLBounds(t *testing.T) {
	t.Parallel()
	for value, want := range map[string]string{
		`"500ms"`: `store.hcl:3:15: error: Invalid duration: lease_ttl must be at least 1s; got "500ms".`,
		`"-1s"`:   `store.hcl:3:15: error: Invalid duration: lease_ttl must be positive; got "-1s".`,
		`"1s"`:    "",
	} {
		cfg, diags := newTestParser().Parse([]byte("store {\n  url       = \"x\"\n  lease_ttl = "+value+"\n}\n"), "store.hcl")
		var got []string
		for _, line := range strings.Split(FormatDiagnostics(diags), "\n") {
			if strings.Contains(line, "lease_ttl") {
				got = append(got, line)
			}
		}
		if strings.Join(got, "\n") != want {
			t.Errorf("lease_ttl = %s: got %q, want %q", value, got, want)
		}
		if want == "" && cfg.Store.LeaseTTL != time.Second {
			t.Errorf("lease_ttl = %s: LeaseTTL = %v", value, cfg.Store.LeaseTTL)
		}
	}
}

// A setting the module names in its complaint is found where it was written.
func TestSettingRangeAndSettingIn(t *testing.T) {
	cfg := mustParse(t, `
store {
  url = "postgres://x"
}
mapping "m" {
  module = "testdata/valid/modules/default.module"
  settings = {
    email_domain = "example.com"
    "default_country_code" = "4x9"
  }
}
`, "settings.hcl")
	m := cfg.Mapping("m")
	for msg, want := range map[string]string{
		`mapping settings: unknown setting "email_domain"; did you mean …`:           "email_domain",
		`mapping settings: default_country_code "4x9" is not a country calling code`: "default_country_code",
	} {
		key, ok := m.SettingIn(msg)
		if !ok || key != want {
			t.Errorf("SettingIn(%q) = %q, %v; want %q", msg, key, ok, want)
		}
	}
	if _, ok := m.SettingIn("mapping settings: something else"); ok {
		t.Error("SettingIn found a key in a message that names none")
	}
	if r := m.SettingRange("default_country_code"); r.Start.Line != 9 || r.End.Line != 9 {
		t.Errorf("SettingRange(default_country_code) = %v, want line 9", r)
	}
	if r := m.SettingRange("nope"); r.Start.Line != 7 {
		t.Errorf("SettingRange of an unknown key = %v, want the settings attribute (line 7)", r)
	}
}

package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peoplesync/peoplesync/sdk/connector"
)

// leakedURL is a secret that lands in the wrong attribute; its password must never be
// printed.
const leakedURL = "postgres://syncuser:hunter2-very-secret@db.example.com:5432/people?sslmode=require"

func secretParser() *Parser {
	p := NewParser()
	p.LookupEnv = func(k string) (string, bool) {
		if k == "LEAKED_URL" {
			return leakedURL, true
		}
		return "", false
	}
	return p
}

// TestSecretsNeverQuoted: a value from env() or file() that lands in an attribute whose
// diagnostics quote their value is named by where it came from, never printed.
func TestSecretsNeverQuoted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret.txt"), []byte(leakedURL+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "module.wasm"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, store, mapping, sync, want string
	}{
		{name: "schedule", sync: `schedule = env("LEAKED_URL")`,
			want: `schedule (from env("LEAKED_URL")) is not a valid schedule`},
		{name: "delta_schedule", sync: `delta_schedule = env("LEAKED_URL")`,
			want: `delta_schedule (from env("LEAKED_URL")) is not a valid schedule`},
		{name: "schedule from file", sync: `schedule = file("secret.txt")`,
			want: `schedule (from file("secret.txt")) is not a valid schedule`},
		{name: "schedule through a function", sync: `schedule = trimspace(file("secret.txt"))`,
			want: `schedule (from file("secret.txt")) is not a valid schedule`},
		{name: "schedule in a template", sync: `schedule = "x ${env("LEAKED_URL")}"`,
			want: `schedule (from env("LEAKED_URL")) is not a valid schedule`},
		{name: "timezone", sync: `timezone = env("LEAKED_URL")`,
			want: `timezone (from env("LEAKED_URL")) is not an IANA timezone name`},
		{name: "timeout", sync: `timeout = env("LEAKED_URL")`,
			want: `timeout must be a duration like "30m" or "1h30m"; (from env("LEAKED_URL")) is not one.`},
		{name: "lease_ttl", store: `lease_ttl = env("LEAKED_URL")`,
			want: `lease_ttl must be a duration like "30s"; (from env("LEAKED_URL")) is not one.`},
		{name: "call_timeout", mapping: `call_timeout = env("LEAKED_URL")`,
			want: `call_timeout must be a duration like "5s"; (from env("LEAKED_URL")) is not one.`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := "store {\n  url = \"x\"\n  " + tc.store + "\n}\n" +
				"connector \"c\" {\n  plugin = \"file\"\n}\n" +
				"mapping \"m\" {\n  module = \"module.wasm\"\n  " + tc.mapping + "\n}\n" +
				"sync \"s\" {\n  connector = connector.c\n  mapping = mapping.m\n  " + tc.sync + "\n" +
				map[bool]string{true: "  schedule = \"@hourly\"\n", false: ""}[!strings.HasPrefix(tc.sync, "schedule")] + "}\n"
			_, diags := secretParser().Parse([]byte(src), filepath.Join(dir, "sync.hcl"))
			got := FormatDiagnostics(diags)
			if strings.Contains(got, "hunter2") || strings.Contains(got, "syncuser") {
				t.Errorf("a diagnostic prints the secret:\n%s", got)
			}
			if !strings.Contains(got, tc.want) {
				t.Errorf("diagnostics:\n%s\nwant one holding %q", got, tc.want)
			}
		})
	}
}

// TestSecretsRedactedFromOthersDiagnostics: a connector and a mapping module see plain
// values and may quote them (whole, Go-quoted or cut short); what reaches the user never
// holds a value from env() or file(), nor one of a sensitive attribute.
func TestSecretsRedactedFromOthersDiagnostics(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "module.wasm"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	src := `store {
  url = "x"
}
connector "c" {
  plugin = "ldap"
  config {
    url           = env("LEAKED_URL")
    base_dn       = "${env("LEAKED_URL")}"
    bind_password = "literal-password-in-file"
  }
}
mapping "m" {
  module   = "module.wasm"
  settings = { token = env("LEAKED_URL") }
}
sync "s" {
  connector = connector.c
  mapping   = mapping.m
  schedule  = "@hourly"
}
`
	cfg, diags := secretParser().Parse([]byte(src), filepath.Join(dir, "sync.hcl"))
	if diags.HasErrors() {
		t.Fatal(FormatDiagnostics(diags))
	}
	if got := string(cfg.Mapping("m").SettingsJSON); !strings.Contains(got, "hunter2") {
		t.Errorf("settings JSON lost the value itself: %s", got)
	}
	c := cfg.Connector("c")
	raw, diags := c.DecodeConfig(connector.Schema{Attributes: []connector.AttributeSchema{
		{Name: "url", Type: connector.String},
		{Name: "base_dn", Type: connector.String},
		{Name: "bind_password", Type: connector.String, Sensitive: true},
	}})
	if diags.HasErrors() {
		t.Fatal(FormatDiagnostics(diags))
	}
	if !strings.Contains(string(raw), "hunter2") || !strings.Contains(string(raw), "literal-password-in-file") {
		t.Errorf("the connector must still get the values: %s", raw)
	}
	cut := leakedURL[:40] + "…"
	out := c.Diagnostics(connector.Diagnostics{
		{Attribute: "url", Summary: "Invalid LDAP URL", Detail: `url "` + leakedURL + `" is not an ldap:// URL.`},
		{Attribute: "base_dn", Summary: "Invalid base DN", Detail: "base_dn " + leakedURL + ": bad"},
		{Attribute: "base_dn", Summary: "Invalid " + leakedURL, Detail: `base_dn "` + cut + `" is cut short.`},
		{Attribute: "bind_password", Summary: "Bad", Detail: "password literal-password-in-file is wrong"},
	})
	got := FormatDiagnostics(out)
	for _, leak := range []string{"hunter2", "syncuser", "literal-password", leakedURL[:16]} {
		if strings.Contains(got, leak) {
			t.Errorf("a connector diagnostic prints %q:\n%s", leak, got)
		}
	}
	for _, want := range []string{
		`url (from env("LEAKED_URL")) is not an ldap:// URL.`,
		`base_dn (from env("LEAKED_URL")): bad`,
		`base_dn (from env("LEAKED_URL")) is cut short.`,
		`password (the value of bind_password) is wrong`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("connector diagnostics:\n%s\nwant one holding %q", got, want)
		}
	}
	module := cfg.Mapping("m").Redact(`settings: token "` + leakedURL + `" is not a token`)
	if want := `settings: token (from env("LEAKED_URL")) is not a token`; module != want {
		t.Errorf("Mapping.Redact = %q, want %q", module, want)
	}
	if got := cfg.Redact("x " + leakedURL); got != `x (from env("LEAKED_URL"))` {
		t.Errorf("Config.Redact = %q", got)
	}
}

// TestQuoteCutsLongValues: a diagnostic quotes at most MaxQuoted characters of a value.
func TestQuoteCutsLongValues(t *testing.T) {
	t.Parallel()
	if got := quote("short"); got != `"short"` {
		t.Errorf("quote(short) = %s", got)
	}
	long := strings.Repeat("é", 1000)
	if got, want := quote(long), `"`+strings.Repeat("é", MaxQuoted)+`"… (2000 bytes)`; got != want {
		t.Errorf("quote(long) = %s, want %s", got, want)
	}
}

// A secret is replaced where it stands as a value, never inside other text: a short
// password neither mangles a bind DN ("corp.e(the value of bind_password)ample.com",
// issue 13) nor shows where a message quotes it; a label put in is not rewritten by a
// shorter secret; a long secret is found anywhere, even cut short.
func TestRedactReplacesOnlyWholeSecrets(t *testing.T) {
	t.Parallel()
	const pw = "(the value of bind_password)"
	set := &secretSet{}
	set.add("x", pw)
	set.add("of", `(from env("OF"))`)
	set.add("com", `(from env("COM"))`)
	set.add(leakedURL, `(from env("LEAKED_URL"))`)
	for _, c := range []struct{ in, want string }{
		{`bind_dn "svc-sync@corp.example.com" is a user principal name`, `bind_dn "svc-sync@corp.example.com" is a user principal name`},
		{`cn=x-ray,ou=x.y,dc=example`, `cn=x-ray,ou=x.y,dc=example`},
		{`bind_password "x" is refused`, `bind_password ` + pw + ` is refused`},
		{`password=x; ldap://svc:x@dc1; the password is x.`, `password=` + pw + `; ldap://svc:` + pw + `@dc1; the password is ` + pw + `.`},
		{`x`, pw},
		{`the host is mail.com, not com`, `the host is mail.com, not (from env("COM"))`},
		{`café x über`, `café ` + pw + ` über`},
		{`url "` + leakedURL + `" is wrong`, `url (from env("LEAKED_URL")) is wrong`},
		{`url ` + leakedURL[:30] + `… is wrong`, `url (from env("LEAKED_URL")) is wrong`},
		{`inside` + leakedURL + `text`, `inside(from env("LEAKED_URL"))text`},
	} {
		if got := set.redact(c.in); got != c.want {
			t.Errorf("redact(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

package google

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	hclconfig "github.com/peoplesync/peoplesync/config"
)

// The README's google connector example is a valid configuration as written, the key
// read with file() from where the example puts it (here a temporary file).
func TestREADMEExample(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var block string
	for _, part := range strings.Split(string(data), "```hcl\n")[1:] {
		if body, _, ok := strings.Cut(part, "```"); ok && strings.Contains(body, `plugin = "google"`) {
			block = body
		}
	}
	if block == "" {
		t.Fatal(`README has no hcl example with plugin = "google"`)
	}
	const path = "/run/secrets/google-sa.json"
	if !strings.Contains(block, `file("`+path+`")`) {
		t.Fatalf("the example does not read the key with file(%q):\n%s", path, block)
	}
	keyFile := filepath.Join(t.TempDir(), "google-sa.json")
	key := keyJSON(testKeys()[0], "")
	if err := os.WriteFile(keyFile, []byte(key), 0o600); err != nil {
		t.Fatal(err)
	}
	src := "store {\n  url = \"x\"\n}\n" + strings.ReplaceAll(block, path, keyFile)
	cfg, diags := hclconfig.Parse([]byte(src), filepath.Join(t.TempDir(), "sync.hcl"))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	c := cfg.Connector("google")
	if c == nil {
		t.Fatal(`the example declares no connector "google"`)
	}
	raw, diags := c.DecodeConfig(schema)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	parsed, cdiags := parseConfig(raw)
	if cdiags.HasErrors() {
		t.Fatalf("%+v", cdiags)
	}
	if parsed.jwt.Subject != "sync-admin@example.com" || parsed.customer != "my_customer" ||
		parsed.jwt.TokenURL != "https://oauth2.googleapis.com/token" || parsed.apiURL.String() != defaultAPIURL {
		t.Errorf("the example configures subject %q, customer %q, token URL %q, API %s", parsed.jwt.Subject, parsed.customer, parsed.jwt.TokenURL, parsed.apiURL)
	}
}

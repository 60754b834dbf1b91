package entra

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	hclconfig "github.com/peoplesync/peoplesync/config"
)

// The README's entra examples are configs the connector takes: each parses as HCL,
// decodes against the connector's schema and passes parseConfig, the one with a client
// secret and the one with a certificate (its file and key put where it says).
func TestREADMEExamples(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for _, part := range strings.Split(string(data), "```hcl\n")[1:] {
		if body, _, ok := strings.Cut(part, "```"); ok && strings.Contains(body, `plugin = "entra"`) {
			blocks = append(blocks, body)
		}
	}
	if len(blocks) != 2 {
		t.Fatalf(`README has %d hcl blocks with plugin = "entra", want 2 (secret, certificate)`, len(blocks))
	}
	app := credentials()[0]
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "entra.crt"), []byte(app.certPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ENTRA_CLIENT_SECRET", "readme~secret")
	t.Setenv("ENTRA_CLIENT_KEY", app.keyPEM)
	for i, block := range blocks {
		cfg, diags := hclconfig.Parse([]byte("store {\n  url = \"postgres://x\"\n}\n"+block), filepath.Join(dir, "sync.hcl"))
		if diags.HasErrors() {
			t.Fatalf("block %d: %s", i+1, hclconfig.FormatDiagnostics(diags))
		}
		if len(cfg.Connectors) != 1 {
			t.Fatalf("block %d: %d connectors", i+1, len(cfg.Connectors))
		}
		js, diags := cfg.Connectors[0].DecodeConfig(schema)
		if diags.HasErrors() {
			t.Fatalf("block %d: %s", i+1, hclconfig.FormatDiagnostics(diags))
		}
		c, cdiags := parseConfig(js)
		if cdiags.HasErrors() {
			t.Fatalf("block %d: parseConfig: %+v", i+1, cdiags)
		}
		if certificate := c.cert != nil; certificate != (i == 1) || (c.clientSecret != "") == certificate {
			t.Errorf("block %d: certificate %v, secret set %v; want the secret first, the certificate second", i+1, certificate, c.clientSecret != "")
		}
	}
}

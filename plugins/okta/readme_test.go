package okta

import (
	"os"
	"strings"
	"testing"

	hclconfig "github.com/peoplesync/peoplesync/config"
)

// The README's okta example is a config the connector takes: it parses as HCL, decodes
// against the connector's schema and passes parseConfig.
func TestREADMEExample(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var block string
	for _, part := range strings.Split(string(data), "```hcl\n")[1:] {
		if body, _, ok := strings.Cut(part, "```"); ok && strings.Contains(body, `plugin = "okta"`) {
			block = body
		}
	}
	if block == "" {
		t.Fatal(`README has no hcl block with plugin = "okta"`)
	}
	t.Setenv("OKTA_API_TOKEN", "00a-readme-token")
	cfg, diags := hclconfig.Parse([]byte("store {\n  url = \"postgres://x\"\n}\n"+block), "README.md")
	if diags.HasErrors() {
		t.Fatal(hclconfig.FormatDiagnostics(diags))
	}
	if len(cfg.Connectors) != 1 {
		t.Fatalf("%d connectors in the example", len(cfg.Connectors))
	}
	js, diags := cfg.Connectors[0].DecodeConfig(schema)
	if diags.HasErrors() {
		t.Fatal(hclconfig.FormatDiagnostics(diags))
	}
	if _, cdiags := parseConfig(js); cdiags.HasErrors() {
		t.Fatalf("parseConfig: %+v", cdiags)
	}
}

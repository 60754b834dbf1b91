package config

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/peoplesync/peoplesync/sdk/connector"
)

func testSchema(t *testing.T, js string) connector.Schema {
	t.Helper()
	var s connector.Schema
	if err := json.Unmarshal([]byte(js), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

var ldapSchema = connector.Schema{Attributes: []connector.AttributeSchema{
	{Name: "url", Type: connector.String, Required: true},
	{Name: "bind_password", Type: connector.String, Sensitive: true},
	{Name: "page_size", Type: connector.Number},
	{Name: "start_tls", Type: connector.Bool},
	{Name: "hosts", Type: connector.StringList},
	{Name: "attribute_map", Type: connector.StringMap},
}}

// connectorConfig parses a file with one connector "c" whose body is given.
func connectorConfig(t *testing.T, body string) *Connector {
	t.Helper()
	src := "store {\n  url = \"x\"\n}\nconnector \"c\" {\n  plugin = \"ldap\"\n" + body + "}\n"
	cfg := mustParse(t, src, "connector.hcl")
	return cfg.Connector("c")
}

func TestDecodeConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		body string
		// want is the JSON on success; wantDiags the compact diagnostics otherwise.
		want      string
		wantDiags []string
	}{
		{
			name: "every type",
			body: `  config {
    url           = "ldaps://ldap.example.com"
    bind_password = env("HR_PASSWORD")
    page_size     = 500
    start_tls     = true
    hosts         = ["a", "b"]
    attribute_map = { mail = "userPrincipalName" }
  }
`,
			want: `{"attribute_map":{"mail":"userPrincipalName"},"bind_password":"s3cret","hosts":["a","b"],"page_size":500,"start_tls":true,"url":"ldaps://ldap.example.com"}`,
		},
		{
			name: "optional attributes left out",
			body: "  config {\n    url = \"ldap://x\"\n  }\n",
			want: `{"url":"ldap://x"}`,
		},
		{
			name: "conversions follow HCL",
			body: "  config {\n    url = 42\n    start_tls = \"true\"\n  }\n",
			want: `{"start_tls":true,"url":"42"}`,
		},
		{
			name: "wrong types",
			body: "  config {\n    url = \"ldap://x\"\n    page_size = \"lots\"\n    hosts = \"a\"\n  }\n",
			wantDiags: []string{
				"connector.hcl:8:17: error: Incorrect attribute value type: Inappropriate value for attribute \"page_size\": a number is required.",
				"connector.hcl:9:13: error: Incorrect attribute value type: Inappropriate value for attribute \"hosts\": list of string required, but have string.",
			},
		},
		{
			name: "unknown attribute",
			body: "  config {\n    url = \"ldap://x\"\n    page_sise = 10\n  }\n",
			wantDiags: []string{
				"connector.hcl:8:5: error: Unsupported argument: An argument named \"page_sise\" is not expected here. Did you mean \"page_size\"?",
			},
		},
		{
			name: "missing required in config block",
			body: "  config {\n    start_tls = true\n  }\n",
			wantDiags: []string{
				"connector.hcl:6:10: error: Missing required argument: The argument \"url\" is required, but no definition was found.",
			},
		},
		{
			name: "missing required without config block",
			body: "",
			wantDiags: []string{
				"connector.hcl:4:1: error: Missing required argument: The argument \"url\" is required, but no definition was found.",
			},
		},
		{
			name: "unset env inside config",
			body: "  config {\n    url = env(\"LDAP_URL\")\n  }\n",
			wantDiags: []string{
				"connector.hcl:7:11: error: Error in function call: Call to function \"env\" failed: environment variable \"LDAP_URL\" is not set (give a default with env(\"LDAP_URL\", \"...\")).",
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := connectorConfig(t, tc.body)
			js, diags := c.DecodeConfig(ldapSchema)
			if tc.wantDiags != nil {
				got := strings.Split(strings.TrimSuffix(FormatDiagnostics(diags), "\n"), "\n")
				if strings.Join(got, "\n") != strings.Join(tc.wantDiags, "\n") {
					t.Errorf("diagnostics:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.wantDiags, "\n"))
				}
				if js != nil {
					t.Errorf("JSON %s returned with errors", js)
				}
				return
			}
			if len(diags) > 0 {
				t.Fatal(FormatDiagnostics(diags))
			}
			if string(js) != tc.want {
				t.Errorf("JSON = %s\nwant   %s", js, tc.want)
			}
		})
	}
}

func TestDecodeConfigEmptySchema(t *testing.T) {
	t.Parallel()
	js, diags := connectorConfig(t, "").DecodeConfig(connector.Schema{})
	if len(diags) > 0 || string(js) != "{}" {
		t.Errorf("got %s, %s", js, FormatDiagnostics(diags))
	}
}

func TestDecodeConfigUnknownSchemaType(t *testing.T) {
	t.Parallel()
	c := connectorConfig(t, "  config {\n    x = 1\n  }\n")
	_, diags := c.DecodeConfig(connector.Schema{Attributes: []connector.AttributeSchema{{Name: "x", Type: "list(number)"}}})
	want := `connector.hcl:6:3: error: Invalid connector schema: Connector "c" declares attribute "x" with type "list(number)"`
	if got := FormatDiagnostics(diags); !strings.HasPrefix(got, want) {
		t.Errorf("got %s\nwant prefix %s", got, want)
	}
}

func TestDecodeConfigHandBuiltConnector(t *testing.T) {
	t.Parallel()
	// A Connector built without Parse (by an engine test, say) decodes with the
	// default functions and reports on its DeclRange.
	c := &Connector{Name: "c", DeclRange: hcl.Range{Filename: "x.hcl", Start: hcl.Pos{Line: 2, Column: 1}}}
	_, diags := c.DecodeConfig(ldapSchema)
	if got := FormatDiagnostics(diags); !strings.HasPrefix(got, "x.hcl:2:1: error: Missing required argument") {
		t.Errorf("got %s", got)
	}
}

func TestConnectorDiagnosticsRanges(t *testing.T) {
	t.Parallel()
	withConfig := connectorConfig(t, "  config {\n    url       = \"ldap://x\"\n    start_tls = true\n  }\n")
	noConfig := connectorConfig(t, "")
	in := connector.Diagnostics{
		{Severity: connector.Error, Summary: "Cannot reach server", Detail: "dial tcp: refused", Attribute: "url"},
		{Severity: connector.Warning, Summary: "StartTLS is slow", Attribute: "start_tls"},
		{Severity: connector.Error, Summary: "Missing base DN", Attribute: "base_dn"},
		{Severity: connector.Error, Summary: "Bad combination"},
	}
	cases := []struct {
		name string
		c    *Connector
		want []string
	}{
		{"with config block", withConfig, []string{
			"connector.hcl:7:17: error: Cannot reach server: dial tcp: refused",
			"connector.hcl:8:17: warning: StartTLS is slow",
			"connector.hcl:6:3: error: Missing base DN",
			"connector.hcl:6:3: error: Bad combination",
		}},
		{"without config block", noConfig, []string{
			"connector.hcl:4:1: error: Cannot reach server: dial tcp: refused",
			"connector.hcl:4:1: warning: StartTLS is slow",
			"connector.hcl:4:1: error: Missing base DN",
			"connector.hcl:4:1: error: Bad combination",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := tc.c.Diagnostics(in)
			got := strings.Split(strings.TrimSuffix(FormatDiagnostics(out), "\n"), "\n")
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if out[1].Severity != hcl.DiagWarning || out[0].Severity != hcl.DiagError {
				t.Errorf("severities not kept")
			}
		})
	}
}

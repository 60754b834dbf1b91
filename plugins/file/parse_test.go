package file_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peoplesync/peoplesync/plugins/file"
	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/connectortest"
)

// readFile writes content to a file named name and reads it with extra config.
func readFile(t *testing.T, name, content string, extra map[string]any) ([]connector.Record, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := map[string]any{"path": path}
	for k, v := range extra {
		cfg[k] = v
	}
	c := file.New()
	diags, err := c.Configure(t.Context(), config(t, cfg))
	if err != nil || diags.HasErrors() {
		t.Fatalf("Configure: %v %+v", err, diags)
	}
	var got []connector.Record
	_, err = c.Read(t.Context(), connector.ReadRequest{}, func(r connector.Record) error {
		got = append(got, r)
		return nil
	})
	return got, err
}

func TestMalformedExportsFailAtTheirLine(t *testing.T) {
	tests := []struct {
		name, file, content string
		extra               map[string]any
		line                int
		msg                 string
	}{
		{"ldif without entryUUID", "x.ldif", "version: 1\n\ndn: uid=a\nentryUUID: 1\n\ndn: uid=b\ncn: B\n", nil, 6, "no ID attribute entryUUID"},
		{"ldif duplicate ID", "x.ldif", "dn: uid=a\nentryUUID: 1\n\ndn: uid=b\nentryUUID: 1\n", nil, 4, "first at line 1"},
		{"ldif two IDs", "x.ldif", "dn: uid=a\nentryUUID: 1\nentryUUID: 2\n", nil, 1, "2 values of its ID attribute"},
		{"ldif line without colon", "x.ldif", "dn: uid=a\nentryUUID: 1\ncn Ada\n", nil, 3, `expected "attribute: value"`},
		{"ldif entry without dn", "x.ldif", "version: 1\n\ncn: Ada\n", nil, 3, "must start with a dn: line"},
		{"ldif bad base64", "x.ldif", "dn: uid=a\nentryUUID: 1\ncn:: ***\n", nil, 3, "invalid base64"},
		{"ldif changetype", "x.ldif", "dn: uid=a\nchangetype: modify\n", nil, 2, "change records are not supported"},
		{"ldif url value", "x.ldif", "dn: uid=a\njpegPhoto:< file:///etc/passwd\n", nil, 2, "by URL"},
		{"ldif missing blank line", "x.ldif", "dn: uid=a\nentryUUID: 1\ndn: uid=b\n", nil, 3, "second dn: line"},
		{"ldif continuation first", "x.ldif", " folded\ndn: uid=a\n", nil, 1, "without a line to continue"},
		{"ldif bad version", "x.ldif", "version: 2\n", nil, 1, "unsupported LDIF version"},
		{"ldif binary in text attribute", "x.ldif", "dn: uid=a\nentryUUID: 1\nobjectSidX:: AQUAAAAAAAUV/w==\n", nil, 3, "binary_attributes"},
		{"csv wrong field count", "x.csv", "id,cn\n1,Ada\n2,Bob,extra\n", nil, 3, "wrong number of fields"},
		{"csv bare quote", "x.csv", "id,cn\n1,Ad\"a\n", nil, 2, "bare \""},
		{"csv missing id", "x.csv", "id,cn\n1,Ada\n,Bob\n", nil, 3, "no ID attribute id"},
		{"csv duplicate column", "x.csv", "id,cn,CN\n1,a,b\n", nil, 1, "both named CN"},
		{"csv empty column name", "x.csv", "id,,cn\n1,a,b\n", nil, 1, "has no name"},
		{"csv bad photo", "x.csv", "id,jpegPhoto\n1,not base64!\n", nil, 2, "invalid base64"},
		{"csv quoted newline keeps the record's line", "x.csv", "id,cn\n1,\"Ada\nLovelace\"\n2,Bob\n,Eve\n", nil, 5, "no ID attribute"},
		{"jsonl broken", "x.jsonl", "{\"id\":\"1\"}\n{\"id\":\"2\",\n", nil, 2, "invalid JSON object"},
		{"jsonl not an object", "x.jsonl", "[1,2]\n", nil, 1, "invalid JSON object"},
		{"jsonl nested", "x.jsonl", "{\"id\":\"1\",\"address\":{\"city\":\"Oslo\"}}\n", nil, 1, "nested arrays and objects"},
		{"jsonl two objects", "x.jsonl", "{\"id\":\"1\"} {\"id\":\"2\"}\n", nil, 1, "one object per line"},
		{"jsonl missing id after blank lines", "x.jsonl", "{\"id\":\"1\"}\n\n\n{\"cn\":\"Bob\"}\n", nil, 4, "no ID attribute id"},
		{"jsonl numeric photo", "x.jsonl", "{\"id\":\"1\",\"jpegPhoto\":12}\n", nil, 1, "must hold base64"},
		{"jsonl null line", "x.jsonl", "null\n", nil, 1, "want a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readFile(t, tt.file, tt.content, tt.extra)
			var le *file.LineError
			if !errors.As(err, &le) {
				t.Fatalf("Read = %v, want a *file.LineError", err)
			}
			if le.Line != tt.line || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Read = %q (line %d), want line %d and %q", err, le.Line, tt.line, tt.msg)
			}
			if !strings.HasPrefix(err.Error(), le.Path+":") || !strings.HasSuffix(le.Path, tt.file) {
				t.Errorf("error %q does not start with the file's path", err)
			}
		})
	}
}

func TestFormatDetails(t *testing.T) {
	guid := []byte{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10}
	tests := []struct {
		name, file, content string
		extra               map[string]any
		want                []connector.Record
	}{
		{"empty ldif", "x.ldif", "", nil, nil},
		{"empty csv", "x.csv", "", nil, nil},
		{"header-only csv", "x.csv", "id,cn\n", nil, nil},
		{"ldif with CRLF, no version, trailing blank lines", "x.ldif",
			"dn: uid=a\r\nentryUUID: 1\r\ncn: A\r\n da\r\n\r\n\r\n", nil,
			[]connector.Record{{ID: "1", DN: "uid=a", Attributes: attrs{"entryUUID": {"1"}, "cn": {"Ada"}}}}},
		{"binary objectGUID as ID becomes hex", "x.ldif",
			"dn: cn=a\nobjectGUID:: AQIDBAUGBwgJCgsMDQ4PEA==\n", map[string]any{"id_attribute": "objectGUID"},
			[]connector.Record{{ID: "0102030405060708090a0b0c0d0e0f10", DN: "cn=a", Binary: map[string][][]byte{"objectGUID": {guid}}}}},
		{";binary option and custom binary list", "x.ldif",
			"dn: cn=a\nentryUUID: 1\nuserCertificate;binary:: AQI=\nbadge:: AwQ=\njpegPhoto: plain\n",
			map[string]any{"binary_attributes": []string{"Badge"}},
			[]connector.Record{{ID: "1", DN: "cn=a", Attributes: attrs{"entryUUID": {"1"}, "jpegPhoto": {"plain"}},
				Binary: map[string][][]byte{"userCertificate;binary": {{1, 2}}, "badge": {{3, 4}}}}}},
		{"id attribute matched without case", "x.ldif", "dn: cn=a\nENTRYUUID: 7\n", nil,
			[]connector.Record{{ID: "7", DN: "cn=a", Attributes: attrs{"ENTRYUUID": {"7"}}}}},
		{"csv id column and format override", "people.txt", "employee_no,cn\nE1,Ada\n",
			map[string]any{"format": "CSV", "id_attribute": "employee_no"},
			[]connector.Record{{ID: "E1", Attributes: attrs{"employee_no": {"E1"}, "cn": {"Ada"}}}}},
		{"jsonl numbers keep their text, arrays of mixed scalars", "x.ndjson", `{"id":12345678901234567890,"tags":["a",1,true,null]}` + "\n", nil,
			[]connector.Record{{ID: "12345678901234567890", Attributes: attrs{"id": {"12345678901234567890"}, "tags": {"a", "1", "true"}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readFile(t, tt.file, tt.content, tt.extra)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d records, want %d: %+v", len(got), len(tt.want), got)
			}
			if diff := connectortest.Diff(tt.want, got); diff != "" {
				t.Error(diff)
			}
		})
	}
}

func TestConfigureDiagnostics(t *testing.T) {
	tests := []struct {
		name     string
		config   string
		attr     string
		severity connector.Severity
		summary  string
	}{
		{"missing path", `{}`, "path", connector.Error, "Missing required attribute"},
		{"path of the wrong type", `{"path": 3}`, "path", connector.Error, "Incorrect attribute value type"},
		{"bad format", `{"path": "a.ldif", "format": "xlsx"}`, "format", connector.Error, "Unsupported format"},
		{"unknown extension", `{"path": "export.txt"}`, "format", connector.Error, "Cannot tell the file's format"},
		{"unknown attribute", `{"path": "a.csv", "delimiter": ";"}`, "delimiter", connector.Error, "Unsupported attribute"},
		{"binary list of the wrong type", `{"path": "a.csv", "binary_attributes": "jpegPhoto"}`, "binary_attributes", connector.Error, "Incorrect attribute value type"},
		{"separator outside csv", `{"path": "a.ldif", "multi_value_separator": ";"}`, "multi_value_separator", connector.Warning, "Attribute ignored"},
		{"dn_attribute with ldif", `{"path": "a.ldif", "dn_attribute": "dn"}`, "dn_attribute", connector.Warning, "Attribute ignored for LDIF"},
		{"not an object", `[]`, "", connector.Error, "Invalid file connector configuration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			diags, err := file.New().Configure(t.Context(), json.RawMessage(tt.config))
			if err != nil {
				t.Fatal(err)
			}
			if len(diags) != 1 {
				t.Fatalf("got %d diagnostics, want 1: %+v", len(diags), diags)
			}
			d := diags[0]
			if d.Attribute != tt.attr || d.Severity != tt.severity || d.Summary != tt.summary || d.Detail == "" {
				t.Errorf("got %+v, want attribute %q, severity %d, summary %q", d, tt.attr, tt.severity, tt.summary)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, path, msg string
	}{
		{"missing file", filepath.Join(dir, "gone.ldif"), "no such file"},
		{"directory", dir, "is a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := file.New()
			if diags, _ := c.Configure(context.Background(), config(t, map[string]any{"path": tt.path, "format": "ldif"})); diags.HasErrors() {
				t.Fatal(diags)
			}
			err := c.Check(t.Context())
			if err == nil || !strings.Contains(err.Error(), tt.msg) || !strings.Contains(err.Error(), tt.path) {
				t.Errorf("Check = %v, want an error naming %s and %q", err, tt.path, tt.msg)
			}
		})
	}
}

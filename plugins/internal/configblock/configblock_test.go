package configblock_test

// No fixture follows a published document here: the blocks are JSON objects as the
// engine hands a connector's config block to Configure.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peoplesync/peoplesync/plugins/internal/configblock"
	"github.com/peoplesync/peoplesync/sdk/connector"
)

var schema = connector.Schema{Attributes: []connector.AttributeSchema{
	{Name: "url", Type: connector.String}, {Name: "size", Type: connector.Number},
	{Name: "rate", Type: connector.Number}, {Name: "list", Type: connector.StringList},
}}

func TestParseNotAnObject(t *testing.T) {
	for _, raw := range []string{`[]`, `null`, `"x"`, `{`} {
		b, ok := configblock.Parse(json.RawMessage(raw), "Test", schema)
		d := b.Diagnostics()
		if ok || len(d) != 1 || d[0].Summary != "Invalid Test connector configuration" || d[0].Attribute != "" {
			t.Errorf("%s: ok %v, diagnostics %+v", raw, ok, d)
		}
	}
}

func TestDecode(t *testing.T) {
	b, ok := configblock.Parse(json.RawMessage(
		`{"url": 5, "size": 2.5, "rate": 0.5, "list": null, "zz": 1, "aa": 2}`), "Test", schema)
	if !ok {
		t.Fatal("an object is not ok")
	}
	var s string
	var list []string
	if b.Decode("url", "a string", &s) || b.Decode("list", "a list of strings", &list) || b.Decode("none", "a string", &s) {
		t.Error("Decode reports a wrong, null or absent attribute as decoded")
	}
	if !b.Set("list") || b.Present("list") || b.Set("none") {
		t.Error("Set or Present is wrong about a null or absent attribute")
	}
	if n := b.Number("size", 1, 10, 7, true); n != 7 {
		t.Errorf("a fraction where a whole number goes gives %v, want the default 7", n)
	}
	if n := b.Number("rate", 0.01, 10, 7, false); n != 0.5 {
		t.Errorf("rate %v, want 0.5", n)
	}
	var got []string
	for _, d := range b.Diagnostics() {
		got = append(got, d.Attribute+": "+d.Summary+": "+d.Detail)
	}
	want := []string{
		`aa: Unsupported attribute: The Test connector has no attribute "aa".`,
		`zz: Unsupported attribute: The Test connector has no attribute "zz".`,
		`url: Incorrect attribute value type: url must be a string.`,
		`size: Value out of range: size is 2.5; it must be a whole number from 1 to 10.`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") || !b.HasErrors() {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCAFile(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(empty, []byte("no certificate here"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, _ := configblock.Parse(json.RawMessage(`{}`), "Test", schema)
	if b.CAFile("ca_file", filepath.Join(dir, "missing.pem"), true) != nil {
		t.Error("a missing file gives a pool")
	}
	if b.CAFile("ca_file", empty, false) == nil {
		t.Error("a file without certificates gives no pool")
	}
	d := b.Diagnostics()
	if len(d) != 2 || d[0].Summary != "Cannot read the CA file" || d[1].Summary != "No certificates in the CA file" ||
		d[1].Detail != empty+" holds no PEM certificate." {
		t.Errorf("diagnostics %+v", d)
	}
}

package file_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
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

// want is one record a read must emit: an Upsert of id, or (problem != "") an Invalid
// record with id whose Problem is "path:line: ..." and contains problem.
type want struct {
	id      string
	line    int
	problem string
}

func ok(id string) want { return want{id: id} }

// checkRecords compares a read's records with want, in order.
func checkRecords(t *testing.T, path string, got []connector.Record, wants []want) {
	t.Helper()
	if len(got) != len(wants) {
		t.Fatalf("got %d records, want %d: %+v", len(got), len(wants), got)
	}
	for i, w := range wants {
		r := got[i]
		if r.ID != w.id {
			t.Errorf("record %d: ID %q, want %q (%+v)", i, r.ID, w.id, r)
		}
		if w.problem == "" {
			if r.Kind != connector.Upsert || r.Problem != "" {
				t.Errorf("record %d: kind %d problem %q, want an Upsert", i, r.Kind, r.Problem)
			}
			continue
		}
		prefix := fmt.Sprintf("%s:%d: ", path, w.line)
		if r.Kind != connector.Invalid || !strings.HasPrefix(r.Problem, prefix) || !strings.Contains(r.Problem, w.problem) {
			t.Errorf("record %d: kind %d problem %q, want Invalid with %q...%q", i, r.Kind, r.Problem, prefix, w.problem)
		}
		if len(r.Attributes) != 0 || len(r.Binary) != 0 {
			t.Errorf("record %d: an Invalid record has attributes: %+v", i, r)
		}
		if w.id == "" && !strings.Contains(r.Problem, "nobody is deleted in this run") {
			t.Errorf("record %d: an Invalid record without ID does not say that nobody is deleted: %q", i, r.Problem)
		}
	}
}

// readPath writes content to a file named name and reads it with extra config; it
// returns the file's path too.
func readPath(t *testing.T, name, content string, extra map[string]any) (string, []connector.Record, connector.ReadResult, error) {
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
	res, err := c.Read(t.Context(), connector.ReadRequest{}, func(r connector.Record) error {
		got = append(got, r)
		return nil
	})
	return path, got, res, err
}

// TestBadRecordsAreInvalid: a problem with one record makes that record Invalid, with
// its file and line, and the rest of the file is read. The record keeps its ID when it
// can be read reliably, so that the person's profile is protected.
func TestBadRecordsAreInvalid(t *testing.T) {
	tests := []struct {
		name, file, content string
		extra               map[string]any
		want                []want
	}{
		// The ID.
		{"ldif without entryUUID", "x.ldif", "version: 1\n\ndn: uid=a\nentryUUID: 1\n\ndn: uid=b\ncn: B\n\ndn: uid=c\nentryUUID: 3\n", nil,
			[]want{ok("1"), {"", 6, "no ID attribute entryUUID"}, ok("3")}},
		{"ldif two IDs", "x.ldif", "dn: uid=a\nentryUUID: 1\nentryUUID: 2\n\ndn: uid=b\nentryUUID: 3\n", nil,
			[]want{{"", 1, "2 values of its ID attribute"}, ok("3")}},
		{"ldif two IDs in different case", "x.ldif", "dn: uid=a\nentryUUID: 1\nENTRYUUID: 2\n", nil,
			[]want{{"", 1, "2 values of its ID attribute"}}},
		{"ldif empty ID", "x.ldif", "dn: uid=a\nentryUUID: \n", nil, []want{{"", 1, "is empty"}}},
		{"ldif ID with a NUL", "x.ldif", "dn: uid=a\nentryUUID:: MQAy\n", nil, []want{{"", 2, "ID attribute entryUUID cannot be read"}}},
		{"csv empty ID", "x.csv", "id,cn\n1,Ada\n,Bob\n3,Eve\n", nil, []want{ok("1"), {"", 3, "ID attribute id is empty"}, ok("3")}},
		{"csv two IDs in one cell", "x.csv", "id,cn\n1;2,Ada\n", map[string]any{"multi_value_separator": ";"},
			[]want{{"", 2, "2 values of its ID attribute"}}},
		{"csv quoted newline keeps the record's line", "x.csv", "id,cn\n1,\"Ada\nLovelace\"\n2,Bob\n,Eve\n", nil,
			[]want{ok("1"), ok("2"), {"", 5, "is empty"}}},
		{"jsonl missing id after blank lines", "x.jsonl", "{\"id\":\"1\"}\n\n\n{\"cn\":\"Bob\"}\n", nil,
			[]want{ok("1"), {"", 4, "no ID attribute id"}}},
		{"jsonl id twice", "x.jsonl", `{"id":"1","id":"2"}` + "\n", nil, []want{{"", 1, "2 values of its ID attribute"}}},
		{"jsonl id null", "x.jsonl", `{"id":null,"cn":"A"}` + "\n", nil, []want{{"", 1, "no ID attribute id"}}},

		// Duplicates: both reported, neither applied, wherever they are.
		{"ldif duplicate ID", "x.ldif", "dn: uid=a\nentryUUID: 1\n\ndn: uid=b\nentryUUID: 1\n\ndn: uid=c\nentryUUID: 2\n", nil,
			[]want{{"1", 1, `ID "1" appears more than once in the file (also at line 4)`}, {"1", 4, "also at line 1"}, ok("2")}},
		{"csv duplicate ID", "x.csv", "id,cn\n7,Ada\n8,Bob\n7,Eve\n7,Zoe\n", nil,
			[]want{{"7", 2, "also at line 4"}, ok("8"), {"7", 4, "also at line 2"}, {"7", 5, "also at line 2"}}},
		{"jsonl duplicate ID", "x.jsonl", "{\"id\":\"7\"}\n{\"id\":\"7\",\"cn\":\"B\"}\n", nil,
			[]want{{"7", 1, "also at line 2"}, {"7", 2, "also at line 1"}}},
		{"duplicate of a record with another problem", "x.ldif", "dn: uid=a\nentryUUID: 1\ncn:: ***\n\ndn: uid=b\nentryUUID: 1\n", nil,
			[]want{{"1", 1, "also at line 5"}, {"1", 5, "also at line 1"}}},
		{"duplicate binary ID", "x.ldif", "dn: cn=a\nobjectGUID:: AQI=\n\ndn: cn=b\nobjectGUID:: AQI=\n", map[string]any{"id_attribute": "objectGUID"},
			[]want{{"0102", 1, "more than once"}, {"0102", 4, "more than once"}}},

		// Bad values keep the ID: text is valid UTF-8 without NUL, in every format.
		{"ldif bad base64", "x.ldif", "dn: uid=a\nentryUUID: 1\ncn:: ***\n", nil, []want{{"1", 3, "attribute cn holds invalid base64"}}},
		{"ldif url value", "x.ldif", "dn: uid=a\nentryUUID: 1\njpegPhoto:< file:///etc/passwd\n", nil, []want{{"1", 3, "by URL"}}},
		{"ldif binary in text attribute", "x.ldif", "dn: uid=a\nentryUUID: 1\nobjectSidX:: AQUAAAAAAAUV/w==\n", nil,
			[]want{{"1", 3, "objectSidX holds bytes that are not UTF-8 text (list it in binary_attributes"}}},
		{"ldif raw bytes not UTF-8", "x.ldif", "dn: uid=a\nentryUUID: 1\ncn: Zo\xebe\n", nil, []want{{"1", 3, "cn holds bytes that are not UTF-8"}}},
		{"ldif NUL in base64 text", "x.ldif", "dn: uid=a\nentryUUID: 1\ntitle:: RW5nAGluZWVy\n", nil, []want{{"1", 3, "title holds a NUL byte"}}},
		{"ldif raw NUL", "x.ldif", "dn: uid=a\nentryUUID: 1\ntitle: Eng\x00ineer\n", nil, []want{{"1", 3, "title holds a NUL byte"}}},
		{"ldif bad dn keeps ID", "x.ldif", "dn:: ***\nentryUUID: 1\n", nil, []want{{"1", 1, "dn holds invalid base64"}}},
		{"csv bytes not UTF-8", "x.csv", "id,cn\n1,Zo\xebe\n2,Bob\n", nil, []want{{"1", 2, "cn holds bytes that are not UTF-8"}, ok("2")}},
		{"csv NUL", "x.csv", "id,cn\n1,A\x00da\n", nil, []want{{"1", 2, "cn holds a NUL byte"}}},
		{"csv bad photo", "x.csv", "id,jpegPhoto\n1,not base64!\n", nil, []want{{"1", 2, "invalid base64"}}},
		{"jsonl bytes not UTF-8", "x.jsonl", "{\"id\":\"1\",\"cn\":\"Zo\xebe\"}\n", nil, []want{{"1", 1, "cn holds bytes that are not UTF-8"}}},
		{"jsonl escaped NUL", "x.jsonl", `{"id":"1","cn":"A\u0000da"}` + "\n", nil, []want{{"1", 1, "cn holds a NUL byte"}}},
		{"jsonl lone surrogate", "x.jsonl", `{"id":"1","cn":"A\ud800"}` + "\n", nil, []want{{"1", 1, "cn holds a \\u escape of half a UTF-16 surrogate pair"}}},
		{"jsonl nested", "x.jsonl", "{\"id\":\"1\",\"address\":{\"city\":\"Oslo\"}}\n{\"id\":\"2\"}\n", nil,
			[]want{{"1", 1, "address holds a nested array or object"}, ok("2")}},
		{"jsonl nested array", "x.jsonl", `{"id":"1","tags":["a",["b"]]}` + "\n", nil, []want{{"1", 1, "tags holds a nested array"}}},
		{"jsonl numeric photo", "x.jsonl", "{\"id\":\"1\",\"jpegPhoto\":12}\n", nil, []want{{"1", 1, "must hold base64"}}},
		{"jsonl key twice", "x.jsonl", `{"id":"1","cn":"A","cn":"B"}` + "\n", nil, []want{{"1", 1, "key cn appears twice"}}},
		{"jsonl empty key", "x.jsonl", `{"id":"1","":"B"}` + "\n", nil, []want{{"1", 1, "not a valid attribute name"}}},
		{"binary attributes are bytes, exempt from the text rule", "x.ldif", "dn: uid=a\nentryUUID: 1\njpegPhoto:: AAD/\n", nil, []want{ok("1")}},

		// Syntax inside a record: the entry or line is Invalid, the rest is read.
		{"ldif line without colon", "x.ldif", "dn: uid=a\nentryUUID: 1\ncn Ada\n\ndn: uid=b\nentryUUID: 2\n", nil,
			[]want{{"1", 3, `expected "attribute: value"`}, ok("2")}},
		{"ldif broken ID line", "x.ldif", "dn: uid=a\nentryUUID 1\nentryUUID: 2\n", nil, []want{{"", 2, `expected "attribute: value"`}}},
		{"ldif entry without dn", "x.ldif", "version: 1\n\ncn: Ada\nentryUUID: 1\n", nil, []want{{"1", 3, "must start with a dn: line"}}},
		{"ldif changetype skips to the entry's end", "x.ldif",
			"dn: uid=a\nchangetype: modify\nreplace: entryUUID\nentryUUID: 9\n-\n\ndn: uid=b\nentryUUID: 2\n", nil,
			[]want{{"", 2, "change records are not supported"}, ok("2")}},
		{"ldif missing blank line", "x.ldif", "dn: uid=a\nentryUUID: 1\ndn: uid=b\nentryUUID: 2\n\ndn: uid=c\nentryUUID: 3\n", nil,
			[]want{{"", 3, "second dn: line"}, ok("3")}},
		{"ldif continuation first", "x.ldif", " folded\ndn: uid=a\nentryUUID: 1\n", nil, []want{{"", 1, "without a line to continue"}}},
		{"ldif invalid attribute name", "x.ldif", "dn: uid=a\nentryUUID: 1\nc n: A\n", nil, []want{{"1", 3, "invalid attribute name"}}},
		{"csv wrong field count", "x.csv", "id,cn\n1,Ada\n2,Bob,extra\n3\n4,Eve\n", nil,
			[]want{ok("1"), {"", 3, "the row has 3 fields and the header 2"}, {"", 4, "1 fields"}, ok("4")}},
		{"csv bare quote", "x.csv", "id,cn\n1,Ad\"a\n2,Bob\n", nil, []want{{"", 2, `column 5: bare "`}, ok("2")}},
		{"csv quote after a quoted field", "x.csv", "id,cn\n1,\"Ada\nLove\"lace\n2,Bob\n", nil,
			[]want{{"", 3, `column 6 (in the row that starts at line 2): extraneous " after a quoted field`}, ok("2")}},
		{"jsonl broken", "x.jsonl", "{\"id\":\"1\"}\n{\"id\":\"2\",\n{\"id\":\"3\"}\n", nil,
			[]want{ok("1"), {"", 2, "not a valid JSON object"}, ok("3")}},
		{"jsonl not an object", "x.jsonl", "[1,2]\n", nil, []want{{"", 1, "not a valid JSON object"}}},
		{"jsonl two objects", "x.jsonl", "{\"id\":\"1\"} {\"id\":\"2\"}\n", nil, []want{{"", 1, "one object per line"}}},
		{"jsonl null line", "x.jsonl", "null\n", nil, []want{{"", 1, "not a valid JSON object"}}},
		{"jsonl raw control character", "x.jsonl", "{\"id\":\"1\",\"cn\":\"A\tB\"}\n", nil, []want{{"", 1, "control character"}}},
		{"jsonl bad number", "x.jsonl", `{"id":01}` + "\n", nil, []want{{"", 1, "not a valid JSON object"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, got, res, err := readPath(t, tt.file, tt.content, tt.extra)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if res.Count != int64(len(got)) {
				t.Errorf("Count %d, %d records", res.Count, len(got))
			}
			checkRecords(t, path, got, tt.want)
		})
	}
}

// TestFileProblemsFailTheRead: a problem with the file as a whole fails the read with a
// *LineError at its line, before any record is emitted.
func TestFileProblemsFailTheRead(t *testing.T) {
	long := strings.Repeat("x", 64<<20+1)
	tests := []struct {
		name, file, content string
		extra               map[string]any
		line                int
		msg                 string
	}{
		{"ldif bad version", "x.ldif", "version: 2\n\ndn: uid=a\nentryUUID: 1\n", nil, 1, "unsupported LDIF version"},
		{"csv duplicate column", "x.csv", "id,cn,CN\n1,a,b\n", nil, 1, "both named CN"},
		{"csv empty column name", "x.csv", "id,,cn\n1,a,b\n", nil, 1, "has no name"},
		{"csv header without the ID column", "x.csv", "cn,mail\nAda,a@x\n", nil, 1, "no column id"},
		{"csv quote error in the header", "x.csv", "id,c\"n\n1,a\n", nil, 1, "header: column 5: bare"},
		{"csv header not UTF-8", "x.csv", "id,c\xebn\n1,a\n", nil, 1, "not UTF-8"},

		// Cut off: the last line has no line break.
		{"ldif cut in its last line", "x.ldif", "dn: uid=a\nentryUUID: 1\ncn: Given1 Fam", nil, 3, "looks cut off"},
		{"ldif cut after a fold", "x.ldif", "dn: uid=a\nentryUUID: 1\ndescription: a\n b", nil, 4, "looks cut off"},
		{"csv cut in its last line", "x.csv", "id,cn\n1,Ada\n2,Bo", nil, 3, "looks cut off"},
		{"csv header only, cut", "x.csv", "id,cn", nil, 1, "looks cut off"},
		{"csv unterminated quote at the end", "x.csv", "id,cn\n1,Ada\n2,\"Bob\nEve\n", nil, 3, "quoted field that starts in column 3 is not closed by the end of the file"},
		{"jsonl cut in its last line", "x.jsonl", "{\"id\":\"1\"}\n{\"id\":\"2\",\"cn\":\"Bo", nil, 2, "looks cut off"},
		{"jsonl last object complete but no line break", "x.jsonl", "{\"id\":\"1\"}", nil, 1, "looks cut off"},

		{"line over the maximum", "x.jsonl", "{\"id\":\"1\"}\n{\"id\":\"" + long + "\"}\n", nil, 2, "line longer than 64 MiB"},
		{"csv record over the maximum", "x.csv", "id,cn\n1,\"" + strings.Repeat("x\n", 32<<20+1) + "\"\n", nil, 2, "record longer than 64 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, got, _, err := readPath(t, tt.file, tt.content, tt.extra)
			var le *file.LineError
			if !errors.As(err, &le) {
				t.Fatalf("Read = %v, want a *file.LineError", err)
			}
			if le.Line != tt.line || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Read = %q (line %d), want line %d and %q", err, le.Line, tt.line, tt.msg)
			}
			if le.Path != path || !strings.HasPrefix(err.Error(), fmt.Sprintf("%s:%d: ", path, tt.line)) {
				t.Errorf("error %q does not start with the file's path and line", err)
			}
			if len(got) != 0 {
				t.Errorf("a failed read emitted %d records first: %+v", len(got), got)
			}
		})
	}
}

// TestCutOffLDIFKeepsTheLastPerson is the case: head -c -30 of a good export
// must not apply a shortened display name and a missing title.
func TestCutOffLDIFKeepsTheLastPerson(t *testing.T) {
	full := "dn: uid=a\nentryUUID: 1\ncn: Given0 Family0\ntitle: Engineer\n\n" +
		"dn: uid=b\nentryUUID: 2\ncn: Given1 Family1\ntitle: Engineer\n"
	for cut := 1; cut < 40; cut++ {
		_, got, _, err := readPath(t, "x.ldif", full[:len(full)-cut], nil)
		if full[len(full)-cut-1] == '\n' {
			continue // a cut at a line break is a shorter, complete file
		}
		if err == nil || len(got) != 0 {
			t.Errorf("cut %d bytes: Read = %v after %d records, want a failed read with none", cut, err, len(got))
		}
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
		{"missing file", `{"path": "gone.ldif"}`, "path", connector.Error, "Export file cannot be read"},
		{"directory", `{"path": "dir.ldif"}`, "path", connector.Error, "Export file cannot be read"},
	}
	// The files the cases name, but for gone.ldif.
	dir := t.TempDir()
	for _, name := range []string{"a.ldif", "a.csv", "export.txt"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "dir.ldif"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := regexp.MustCompile(`"path": "([^"]*)"`).ReplaceAllString(tt.config, `"path": "`+dir+`/$1"`)
			diags, err := file.New().Configure(t.Context(), json.RawMessage(cfg))
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
			// The file is there when the connector is configured, and then gone.
			configured := filepath.Join(t.TempDir(), "people.ldif")
			if err := os.WriteFile(configured, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			c := file.New()
			if diags, _ := c.Configure(context.Background(), config(t, map[string]any{"path": configured, "format": "ldif"})); diags.HasErrors() {
				t.Fatal(diags)
			}
			if err := os.Remove(configured); err != nil {
				t.Fatal(err)
			}
			if tt.path == dir {
				if err := os.Mkdir(configured, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			tt.path = configured
			err := c.Check(t.Context())
			if err == nil || !strings.Contains(err.Error(), tt.msg) || !strings.Contains(err.Error(), tt.path) {
				t.Errorf("Check = %v, want an error naming %s and %q", err, tt.path, tt.msg)
			}
		})
	}
}

// TestFileChangedDuringTheReadFails: the two passes must read one file. An export
// rewritten while it is read fails the read, before its last record is emitted.
func TestFileChangedDuringTheReadFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.csv")
	if err := os.WriteFile(path, []byte("id,cn\n1,Ada\n2,Bob\n3,Eve\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := file.New()
	if diags, err := c.Configure(t.Context(), config(t, map[string]any{"path": path})); err != nil || diags.HasErrors() {
		t.Fatalf("Configure: %v %+v", err, diags)
	}
	var got []string
	_, err := c.Read(t.Context(), connector.ReadRequest{}, func(r connector.Record) error {
		if len(got) == 0 {
			if err := os.WriteFile(path, []byte("id,cn\n1,Ada\n2,Bob\n4,Eve\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		got = append(got, r.ID)
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "changed while it was being read") {
		t.Errorf("Read = %v, want the file changed", err)
	}
	if slices.Contains(got, "3") || slices.Contains(got, "4") {
		t.Errorf("emitted %v: the last record was emitted before the end was checked", got)
	}
}

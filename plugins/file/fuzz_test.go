package file_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"unicode/utf8"

	"github.com/peoplesync/peoplesync/plugins/file"
	"github.com/peoplesync/peoplesync/sdk/connector"
)

// The fuzzers check what the engine relies on, for any bytes: Read never panics; a read
// that fails emits nothing (every file problem is found in the first pass) and says
// where; a read that succeeds counts what it emitted; an applied record has a non-empty
// ID that no other applied record has, and text that is valid UTF-8 without NUL; an
// Invalid record says what is wrong, starting with the path, and carries no attributes.
//
// Each is cheap enough for `go test -run=^$ -fuzz=FuzzX -fuzztime=10s ./plugins/file`
// in make test. Inputs they found are kept in testdata/fuzz.

func FuzzLDIF(f *testing.F) {
	for _, s := range []string{
		"version: 1\n\ndn: uid=a\nentryUUID: 1\ncn: A\n\ndn: uid=b\nentryUUID: 2\n",
		"dn: uid=a\nentryUUID: 1\n\ndn: uid=b\nentryUUID: 1\n",
		"dn: uid=a\r\nentryUUID: 1\r\ncn: A\r\n da\r\n\r\n",
		"dn:: dWlkPWE=\nentryUUID:: MQ==\njpegPhoto:: AAD/\ncn:: AA==\n",
		"dn: uid=a\nchangetype: modify\nreplace: cn\ncn: B\n-\n",
		" folded\ndn: uid=a\nentryUUID: 1\n\n# c\n x\ndn: uid=b\nentryUUID 2\n",
		"dn: uid=a\nentryUUID: 1\ncn: Given1 Fam",
		"dn: uid=a\nentryUUID: 1\ndn: uid=b\nentryUUID: 2\n",
		"dn: uid=a\nentryUUID: \xff\ntitle: a\x00b\n",
	} {
		f.Add([]byte(s))
	}
	addFile(f, "people.ldif")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, content []byte) {
		checkRead(t, dir, "x.ldif", content, nil)
	})
}

func FuzzCSV(f *testing.F) {
	for _, s := range []string{
		"id,dn,cn,jpegPhoto\n1,uid=a,Ada,AAD/\n2,\"uid=b,o=x\",\"B \"\"b\"\"\",\n",
		"id,cn\n1,Ada\n,Bob\n1,Eve\n",
		"id,cn\n1,Ad\"a\n2,\"Bob\nLee\"\n3,x,y\n",
		"id,cn\n1,\"Ada\n2,Bob\n",
		"id,cn\r\n1;2,A;B\r\n\r\n3,\xff\x00\n",
		"\xef\xbb\xbfid,cn\n1,\"a\"x\n",
		"id,cn\n1,Ada",
	} {
		f.Add([]byte(s))
	}
	addFile(f, "people.csv")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, content []byte) {
		checkRead(t, dir, "x.csv", content, map[string]any{"dn_attribute": "dn", "multi_value_separator": ";"})
	})
}

func FuzzJSONL(f *testing.F) {
	for _, s := range []string{
		`{"id":"1","dn":"uid=a","cn":"A","tags":["x",1,true,null],"jpegPhoto":"AAD/"}` + "\n",
		`{"id":"1"}` + "\n" + `{"id":"1","cn":"\u00e9\ud83d\ude00"}` + "\n",
		`{"id":"1","a":{"b":[1,{"c":[]}]}}` + "\n" + `{"id":"2",` + "\n",
		`{"id":"1","cn":"a\u0000b","sn":"\ud800","x":"\xff"}` + "\n",
		`{"id":1e5,"ID":-0.5E-3}` + "\n" + "null\n[1]\n" + `{"id":"3"} {}` + "\n",
		`{"id":"1","cn":"A","cn":"B","":"x"}` + "\n",
		`{"id":"1"}`,
	} {
		f.Add([]byte(s))
	}
	addFile(f, "people.jsonl")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, content []byte) {
		got := checkRead(t, dir, "x.jsonl", content, map[string]any{"dn_attribute": "dn"})
		// The parser is this package's own: what it applies, encoding/json agrees is JSON.
		lines := bytes.Split(bytes.TrimSuffix(content, []byte("\n")), []byte("\n"))
		if len(got) == 1 && len(lines) == 1 && got[0].Kind == connector.Upsert && !json.Valid(lines[0]) {
			t.Errorf("applied a record from a line that is not JSON: %q", lines[0])
		}
	})
}

func addFile(f *testing.F, name string) {
	content, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(content)
}

// checkRead reads content as the file name and checks the properties every read has.
func checkRead(t *testing.T, dir, name string, content []byte, extra map[string]any) []connector.Record {
	t.Helper()
	// The fuzzer's directory and a file a call, not t.TempDir: a fuzzer's executions per
	// second are most of what it finds.
	path := filepath.Join(dir, fmt.Sprintf("%d.%s", fuzzSeq.Add(1), name))
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = os.Remove(path) }()
	cfg := map[string]any{"path": path}
	for k, v := range extra {
		cfg[k] = v
	}
	c := file.New()
	if diags, err := c.Configure(t.Context(), config(t, cfg)); err != nil || diags.HasErrors() {
		t.Fatalf("Configure: %v %+v", err, diags)
	}
	var got []connector.Record
	res, err := c.Read(t.Context(), connector.ReadRequest{}, func(r connector.Record) error {
		got = append(got, r)
		return nil
	})
	if err != nil {
		if len(got) != 0 {
			t.Errorf("a failed read (%v) emitted %d records first", err, len(got))
		}
		if !strings.HasPrefix(err.Error(), path+":") {
			t.Errorf("error %q does not start with the path", err)
		}
		return nil
	}
	if res.Count != int64(len(got)) {
		t.Errorf("ReadResult.Count = %d, but %d records were emitted", res.Count, len(got))
	}
	ids := map[string]bool{}
	for _, r := range got {
		switch r.Kind {
		case connector.Invalid:
			if !strings.HasPrefix(r.Problem, path+":") {
				t.Errorf("Invalid record %q: problem %q does not start with the path", r.ID, r.Problem)
			}
			if len(r.Attributes) != 0 || len(r.Binary) != 0 {
				t.Errorf("Invalid record %q has attributes", r.ID)
			}
			if !isText(r.ID) || !isText(r.DN) || !utf8.ValidString(r.Problem) {
				t.Errorf("Invalid record %q (DN %q): ID, DN or problem is not text: %q", r.ID, r.DN, r.Problem)
			}
		case connector.Upsert:
			if r.ID == "" {
				t.Errorf("record with DN %q has an empty ID", r.DN)
			}
			if ids[r.ID] {
				t.Errorf("ID %q on two applied records", r.ID)
			}
			ids[r.ID] = true
			if r.Problem != "" {
				t.Errorf("record %q has a problem but is not Invalid: %q", r.ID, r.Problem)
			}
			if !isText(r.ID) || !isText(r.DN) {
				t.Errorf("record %q: ID or DN %q is not text", r.ID, r.DN)
			}
			for name, vs := range r.Attributes {
				for _, v := range vs {
					if !isText(name) || !isText(v) {
						t.Errorf("record %q: attribute %q = %q is not text", r.ID, name, v)
					}
				}
			}
			for name := range r.Binary {
				if !isText(name) {
					t.Errorf("record %q: binary attribute name %q is not text", r.ID, name)
				}
			}
		default:
			t.Errorf("record %q has kind %d", r.ID, r.Kind)
		}
	}
	return got
}

var fuzzSeq atomic.Int64

// isText is the rule for every text value: valid UTF-8 without NUL.
func isText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

package okta

import (
	"bytes"
	"encoding/json"
	"testing"
)

// The scanner splits valid JSON as encoding/json does: the same members, values and
// elements, whatever white space, escapes and nesting.
func TestScannerAgreesWithEncodingJSON(t *testing.T) {
	docs := []string{
		`{}`,
		` { "a" : 1 , "b":"x\"y}" ,"c":[1,{"d":"]"}],"e":{"f":null},"g":true,"h":-1.5e3 } `,
		`{"k\u00e9y":"v\\","profile":{"login":"a@b","cars":["x","y"],"n":7}}`,
		"{\n\t\"a\":\t[ ]\r\n}",
	}
	for _, doc := range docs {
		var want map[string]json.RawMessage
		if err := json.Unmarshal([]byte(doc), &want); err != nil {
			t.Fatal(err)
		}
		got := map[string][]byte{}
		members([]byte(doc), func(k, v []byte) {
			key, ok := textBytes(k)
			if !ok {
				t.Errorf("%s: key %s unreadable", doc, k)
			}
			got[string(key)] = v
		})
		if len(got) != len(want) {
			t.Errorf("%s: %d members, want %d", doc, len(got), len(want))
		}
		for k, v := range want {
			if !bytes.Equal(bytes.TrimSpace(v), got[k]) {
				t.Errorf("%s: member %q = %s, want %s", doc, k, got[k], v)
			}
		}
	}
	for _, doc := range []string{`[]`, ` [ 1 , "a,b" , [2,3] , {"x":"]"} , null ] `} {
		var want []json.RawMessage
		if err := json.Unmarshal([]byte(doc), &want); err != nil {
			t.Fatal(err)
		}
		var got [][]byte
		_ = elements([]byte(doc), func(v []byte) error {
			got = append(got, v)
			return nil
		})
		if len(got) != len(want) {
			t.Fatalf("%s: %d elements, want %d", doc, len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(bytes.TrimSpace(want[i]), got[i]) {
				t.Errorf("%s: element %d = %s, want %s", doc, i, got[i], want[i])
			}
		}
	}
}

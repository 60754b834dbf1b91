package postgres

import (
	"encoding/json"
	"testing"
	"time"
)

// The hand-written encoders give the documents encoding/json gives, decoded: every
// escape, invalid UTF-8, times in and out of UTC and with and without fractions.
func TestJSONEncoderMatchesEncodingJSON(t *testing.T) {
	attrs := []map[string]string{
		{},
		{"cost_centre": "CC-1", "b": "with \"quotes\" and \\ back", "a": "tab\tnew\nline\rcr\x01\x1f"},
		{"ünï": "çødé ☃ \u2028", "bad": "x\xffy", "html": "<a href='x'>&</a>"},
	}
	var e jsonEncoder
	for _, m := range attrs {
		var got, want map[string]string
		if err := json.Unmarshal([]byte(e.attributes(m)), &got); err != nil {
			t.Fatalf("attributes %q: %v (%s)", m, err, e.attributes(m))
		}
		b, _ := json.Marshal(m)
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("attributes %q: got %q, want %q", m, got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("attributes[%q] = %q, want %q", k, got[k], v)
			}
		}
	}
	berlin := time.FixedZone("CET", 3600)
	now := time.Date(2026, 12, 5, 17, 0, 0, 123456789, time.UTC)
	prov := map[string]origin{
		"email":      {Sync: "people", Since: now},
		"title":      {Sync: "hr", Since: now},
		"department": {Sync: "hr", Since: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		"photo":      {Sync: "we\"ird", Since: time.Date(2026, 1, 2, 3, 4, 5, 0, berlin)},
		"active":     {Sync: "hr", Since: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
	}
	var got map[string]origin
	if err := json.Unmarshal([]byte(e.provenance(prov)), &got); err != nil {
		t.Fatalf("provenance: %v (%s)", err, e.provenance(prov))
	}
	if len(got) != len(prov) {
		t.Fatalf("provenance: got %v, want %v", got, prov)
	}
	for k, o := range prov {
		if got[k].Sync != o.Sync || !got[k].Since.Equal(o.Since) {
			t.Errorf("provenance[%q] = %+v, want %+v", k, got[k], o)
		}
	}
	want, _ := json.Marshal(prov)
	if s := e.provenance(prov); s != string(want) {
		t.Errorf("provenance bytes differ:\n got %s\nwant %s", s, want)
	}
}

// uuidParam turns formatted UUIDs into the bytes the driver encodes in binary, and
// leaves anything else to the driver.
func TestUUIDParam(t *testing.T) {
	id := [16]byte{0x01, 0xa2, 0x47, 0x0a, 0x1a, 0xb9, 0x70, 0x01, 0xaa, 0xb2, 0x64, 0x72, 0x32, 0x9d, 0xdb, 0x5f}
	got, ok := uuidParam([]string{uuidString(id), uuidString([16]byte{})}).([][16]byte)
	if !ok || len(got) != 2 || got[0] != id || got[1] != [16]byte{} {
		t.Errorf("uuidParam = %v, want the two UUIDs' bytes", got)
	}
	for _, bad := range []string{"not-a-uuid", "01a2470a-1ab9-7001-aab2-6472329ddb5", "01a2470a-1ab9-7001-aab2-6472329ddbzz", "01a2470a11ab9-7001-aab2-6472329ddb5f"} {
		if s, ok := uuidParam([]string{bad}).([]string); !ok || s[0] != bad {
			t.Errorf("uuidParam(%q) = %v, want the strings back", bad, s)
		}
	}
}

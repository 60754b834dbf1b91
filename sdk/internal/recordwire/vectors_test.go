package recordwire

import (
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var updateVectors = flag.Bool("update-vectors", false, "rewrite testdata/vectors.json from the encoder")

// vector is one test vector of the record encoding: the bytes of a batch (hex), the
// records they decode to, and each record's canonical form (hex), which source hashes
// are taken of and the store keeps. Another implementation of the protocol can check
// itself against testdata/vectors.json.
type vector struct {
	Name      string      `json:"name"`
	Batch     string      `json:"batch"`
	Records   []vectorRec `json:"records"`
	Canonical []string    `json:"canonical"`
}

// vectorRec is a Record in JSON, binary values in hex.
type vectorRec struct {
	ID         string              `json:"id"`
	DN         string              `json:"dn"`
	Kind       Kind                `json:"kind"`
	Problem    string              `json:"problem,omitempty"`
	Attributes map[string][]string `json:"attributes,omitempty"`
	Binary     map[string][]string `json:"binary,omitempty"`
}

func (v vectorRec) record(t *testing.T) Record {
	r := Record{ID: v.ID, DN: v.DN, Kind: v.Kind, Problem: v.Problem, Attributes: v.Attributes}
	for name, vals := range v.Binary {
		if r.Binary == nil {
			r.Binary = map[string][][]byte{}
		}
		for _, x := range vals {
			b, err := hex.DecodeString(x)
			if err != nil {
				t.Fatal(err)
			}
			r.Binary[name] = append(r.Binary[name], b)
		}
	}
	return r
}

// vectorInputs are the records the vectors encode: every kind, text and binary values,
// names defined in one record and referred to by the next, empty values.
func vectorInputs() map[string][]vectorRec {
	return map[string][]vectorRec{
		"empty batch": nil,
		"one person": {{ID: "5f1c9c52", DN: "uid=jdoe,ou=People,dc=example,dc=com",
			Attributes: map[string][]string{"cn": {"Jane Doe"}}}},
		"names shared across records": {
			{ID: "1", DN: "uid=a", Attributes: map[string][]string{"cn": {"Zoë"}}},
			{ID: "2", DN: "uid=b", Attributes: map[string][]string{"cn": {"李雷"}}, Binary: map[string][]string{"jpegPhoto": {"ffd8ff"}}},
		},
		"multi-valued and empty values": {{ID: "3", Attributes: map[string][]string{"mail": {"a@x", "b@x", ""}}}},
		"delete":                        {{ID: "gone", DN: "uid=gone", Kind: Delete}},
		"invalid with and without an ID": {
			{ID: "E7", DN: "hr.csv:7", Kind: Invalid, Problem: "hr.csv:7: ID E7 appears twice"},
			{Kind: Invalid, Problem: "hr.csv:9: the ID column employee_id is empty"},
		},
	}
}

// TestVectors decodes each vector's batch (bytes in, records out, through the decoder
// and the Batch alike) and checks each record's canonical form, so that neither the
// wire format nor the stored hashes can change by accident: a change here re-maps every
// profile of every store. Regenerate only for a deliberate format change, with
// -update-vectors.
func TestVectors(t *testing.T) {
	path := filepath.Join("testdata", "vectors.json")
	if *updateVectors {
		var out []vector
		for name, recs := range vectorInputs() {
			v := vector{Name: name, Records: recs}
			var enc Encoder
			var c Canonicalizer
			for _, vr := range recs {
				r := vr.record(t)
				enc.Add(&r)
				v.Canonical = append(v.Canonical, hex.EncodeToString(c.AppendRecord(nil, &r)))
			}
			v.Batch = hex.EncodeToString(enc.Finish())
			out = append(out, v)
		}
		sortVectors(out)
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var vectors []vector
	if err := json.Unmarshal(raw, &vectors); err != nil {
		t.Fatal(err)
	}
	if len(vectors) != len(vectorInputs()) {
		t.Fatalf("%s has %d vectors, want %d", path, len(vectors), len(vectorInputs()))
	}
	for _, v := range vectors {
		t.Run(v.Name, func(t *testing.T) {
			data, err := hex.DecodeString(v.Batch)
			if err != nil {
				t.Fatal(err)
			}
			var dec Decoder
			got := decodeBatch(t, &dec, data)
			rb, err := Parse(data, map[string]string{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(v.Records) || rb.Len() != len(v.Records) {
				t.Fatalf("%d records decoded, %d raw, want %d", len(got), rb.Len(), len(v.Records))
			}
			var c Canonicalizer
			for i, vr := range v.Records {
				want := vr.record(t)
				fromRaw, err := rb.Record(i)
				if err != nil {
					t.Fatal(err)
				}
				if !sameRecord(got[i], want) || !sameRecord(fromRaw, want) {
					t.Errorf("record %d: decoded %#v, raw %#v, want %#v", i, got[i], fromRaw, want)
				}
				if h := hex.EncodeToString(c.AppendRaw(nil, rb, i)); h != v.Canonical[i] {
					t.Errorf("record %d: canonical form %s, want %s", i, h, v.Canonical[i])
				}
			}
		})
	}
}

func sortVectors(v []vector) {
	for i := range v {
		for j := i + 1; j < len(v); j++ {
			if v[j].Name < v[i].Name {
				v[i], v[j] = v[j], v[i]
			}
		}
	}
}

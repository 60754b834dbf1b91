package wire_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/peoplesync/peoplesync/sdk/mapping/wire"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

var updateVectors = flag.Bool("update-vectors", false, "rewrite testdata/vectors.json from the encoder")

// vectors are test vectors of the mapping wire format, for a mapping SDK in another
// language to check itself against: records batches as the host sends them and results
// batches as a module answers, as bytes (hex) with what they decode to.
type vectors struct {
	Records []recordsVector `json:"records"`
	Results []resultsVector `json:"results"`
}

type recordsVector struct {
	Name    string      `json:"name"`
	Batch   string      `json:"batch"`
	Records []vectorRec `json:"records"`
}

// vectorRec is a wire.Record in JSON, binary values in hex.
type vectorRec struct {
	ID         string              `json:"id"`
	DN         string              `json:"dn"`
	Kind       uint8               `json:"kind"`
	Attributes map[string][]string `json:"attributes"`
	Binary     map[string][]string `json:"binary,omitempty"`
}

type resultsVector struct {
	Name    string      `json:"name"`
	Batch   string      `json:"batch"`
	Failed  string      `json:"batch_failed,omitempty"`
	Results []vectorRes `json:"results,omitempty"`
}

// vectorRes is a wire.Result in JSON: core fields by name, the photo's data in hex.
type vectorRes struct {
	Outcome    wire.Outcome      `json:"outcome"`
	Message    string            `json:"message,omitempty"`
	Core       map[string]string `json:"core,omitempty"`
	Manager    string            `json:"manager,omitempty"`
	Active     bool              `json:"active,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
	PhotoType  string            `json:"photo_content_type,omitempty"`
	PhotoData  string            `json:"photo_data,omitempty"`
	Seeded     []string          `json:"seeded,omitempty"`
	HasProfile bool              `json:"has_profile"`
	HasPhoto   bool              `json:"has_photo,omitempty"`
}

func (v vectorRec) record(t *testing.T) wire.Record {
	r := wire.Record{ID: v.ID, DN: v.DN, Kind: v.Kind, Attributes: v.Attributes}
	if r.Attributes == nil {
		r.Attributes = map[string][]string{}
	}
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

func (v vectorRes) result(t *testing.T) wire.Result {
	res := wire.Result{Outcome: v.Outcome, Message: v.Message}
	if !v.HasProfile {
		return res
	}
	p := &profile.Profile{Manager: v.Manager, Active: v.Active, Attributes: v.Attributes, Seeded: v.Seeded}
	for name, val := range v.Core {
		if !p.Set(name, val) {
			t.Fatalf("vector: %q is not a core field", name)
		}
	}
	if v.HasPhoto {
		data, err := hex.DecodeString(v.PhotoData)
		if err != nil {
			t.Fatal(err)
		}
		p.Photo = &profile.Photo{ContentType: v.PhotoType, Data: data}
	}
	res.Profile = p
	return res
}

func recordsInputs() []recordsVector {
	return []recordsVector{
		{Name: "empty batch"},
		{Name: "one person", Records: []vectorRec{{ID: "5f1c9c52", DN: "uid=jdoe,ou=People,dc=example,dc=com",
			Attributes: map[string][]string{"cn": {"Jane Doe"}}}}},
		{Name: "names shared across records", Records: []vectorRec{
			{ID: "1", DN: "uid=a", Attributes: map[string][]string{"cn": {"Zoë"}}},
			{ID: "2", DN: "uid=b", Attributes: map[string][]string{"cn": {"李雷"}}, Binary: map[string][]string{"jpegPhoto": {"ffd8ff"}}},
		}},
		{Name: "multi-valued and empty values", Records: []vectorRec{{ID: "3", Attributes: map[string][]string{"mail": {"a@x", "b@x", ""}}}}},
		{Name: "delete", Records: []vectorRec{{ID: "gone", DN: "uid=gone", Kind: 1}}},
	}
}

func resultsInputs() []resultsVector {
	return []resultsVector{
		{Name: "mapped, skipped and failed", Results: []vectorRes{
			{Outcome: wire.Mapped, HasProfile: true, Core: map[string]string{"user_name": "jdoe", "email": "jane@example.com", "given_name": "Jane"},
				Manager: "uid=boss", Active: true, Attributes: map[string]string{"cost_center": "4711"},
				HasPhoto: true, PhotoType: "image/jpeg", PhotoData: "ffd8ff", Seeded: []string{"nickname"}},
			{Outcome: wire.Skipped, Message: "not a person (objectClass device)"},
			{Outcome: wire.Failed, Message: "mail: not an address"},
		}},
		{Name: "a profile with nothing but defaults", Results: []vectorRes{{Outcome: wire.Mapped, HasProfile: true}}},
		{Name: "the whole batch failed", Failed: "settings: unknown key"},
	}
}

// TestVectors decodes each vector's bytes and compares what they decode to, so that the
// mapping wire format cannot change by accident (modules built against it would
// misread their input). Regenerate only for a deliberate change of the format, which
// also changes the mapping ABI version, with -update-vectors.
func TestVectors(t *testing.T) {
	path := filepath.Join("testdata", "vectors.json")
	if *updateVectors {
		var out vectors
		for _, v := range recordsInputs() {
			recs := make([]wire.Record, len(v.Records))
			for i, r := range v.Records {
				recs[i] = r.record(t)
			}
			v.Batch = hex.EncodeToString(wire.AppendRecords(nil, recs))
			out.Records = append(out.Records, v)
		}
		for _, v := range resultsInputs() {
			if v.Failed != "" {
				v.Batch = hex.EncodeToString(wire.AppendBatchFailure(nil, v.Failed))
			} else {
				res := make([]wire.Result, len(v.Results))
				for i, r := range v.Results {
					res[i] = r.result(t)
				}
				v.Batch = hex.EncodeToString(wire.AppendResults(nil, res))
			}
			out.Results = append(out.Results, v)
		}
		js, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(js, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	js, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var vs vectors
	if err := json.Unmarshal(js, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs.Records) != len(recordsInputs()) || len(vs.Results) != len(resultsInputs()) {
		t.Fatalf("%s has %d records and %d results vectors, want %d and %d (regenerate with -update-vectors)",
			path, len(vs.Records), len(vs.Results), len(recordsInputs()), len(resultsInputs()))
	}
	for _, v := range vs.Records {
		t.Run("records/"+v.Name, func(t *testing.T) {
			data, err := hex.DecodeString(v.Batch)
			if err != nil {
				t.Fatal(err)
			}
			got, err := wire.DecodeRecords(data)
			if err != nil {
				t.Fatalf("decoding: %v", err)
			}
			want := make([]wire.Record, len(v.Records))
			for i, r := range v.Records {
				want[i] = r.record(t)
			}
			if !reflect.DeepEqual(normalize(got), normalize(want)) {
				t.Errorf("decoded\n %#v\nwant\n %#v", got, want)
			}
		})
	}
	for _, v := range vs.Results {
		t.Run("results/"+v.Name, func(t *testing.T) {
			data, err := hex.DecodeString(v.Batch)
			if err != nil {
				t.Fatal(err)
			}
			got, err := wire.DecodeResults(data)
			if v.Failed != "" {
				var be *wire.BatchError
				if !errors.As(err, &be) || be.Reason != v.Failed {
					t.Fatalf("decoding = %v, want the batch failure %q", err, v.Failed)
				}
				return
			}
			if err != nil {
				t.Fatalf("decoding: %v", err)
			}
			want := make([]wire.Result, len(v.Results))
			for i, r := range v.Results {
				want[i] = r.result(t)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("decoded\n %#v\nwant\n %#v", got, want)
			}
		})
	}
}

package wire_test

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/peoplesync/peoplesync/sdk/mapping/wire"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

func sampleRecords() []wire.Record {
	return []wire.Record{
		{
			ID: "5f1c9c52", DN: "uid=jdoe,ou=People,dc=example,dc=com",
			Attributes: map[string][]string{
				"uid": {"jdoe"}, "cn": {"Jane Doe"}, "objectClass": {"top", "person", "inetOrgPerson"},
				"description": {""}, "empty": {}, "ünïcode": {"日本語"},
			},
			Binary: map[string][][]byte{"jpegPhoto": {{0xFF, 0xD8, 0xFF}, {}}},
		},
		{ID: "deleted", Kind: 1, Attributes: map[string][]string{}},
		{
			ID:         "again",
			Attributes: map[string][]string{"uid": {"x"}, "cn": {"X"}},
			Binary:     map[string][][]byte{"jpegPhoto": {{1, 2, 3}}, "objectGUID": {bytes.Repeat([]byte{7}, 16)}},
		},
	}
}

// normalize makes decoded records comparable: a decoder produces empty maps for absent
// attributes and nil for absent binaries.
func normalize(recs []wire.Record) []wire.Record {
	out := make([]wire.Record, len(recs))
	for i, r := range recs {
		out[i] = wire.Record{ID: r.ID, DN: r.DN, Kind: r.Kind, Attributes: map[string][]string{}}
		for k, v := range r.Attributes {
			out[i].Attributes[k] = append([]string{}, v...)
		}
		if len(r.Binary) > 0 {
			out[i].Binary = map[string][][]byte{}
			for k, vs := range r.Binary {
				cp := [][]byte{}
				for _, v := range vs {
					cp = append(cp, append([]byte{}, v...))
				}
				out[i].Binary[k] = cp
			}
		}
	}
	return out
}

func TestRecordsRoundTrip(t *testing.T) {
	recs := sampleRecords()
	data := wire.AppendRecords(nil, recs)
	got, err := wire.DecodeRecords(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(normalize(got), normalize(recs)) {
		t.Errorf("round trip:\n got %#v\nwant %#v", got, recs)
	}
	// Names repeat across records and are sent once per batch.
	if n := bytes.Count(data, []byte("jpegPhoto")); n != 1 {
		t.Errorf("the name jpegPhoto appears %d times in the encoding, want once", n)
	}
}

// TestRecordsRoundTripLong covers what the decoder's inline fast path leaves to its
// general one: strings of 128 bytes and more, 128 values and more, and name numbers that
// take two bytes.
func TestRecordsRoundTripLong(t *testing.T) {
	many := make([]string, 300)
	for i := range many {
		many[i] = strings.Repeat("v", i)
	}
	names := map[string][]string{}
	for i := range 300 {
		names[fmt.Sprintf("attr%d", i)] = []string{fmt.Sprint(i)}
	}
	for _, tc := range []struct {
		name  string
		attrs map[string][]string
	}{
		{"long value", map[string][]string{"description": {strings.Repeat("x", 127), strings.Repeat("y", 128), strings.Repeat("z", 70000)}}},
		{"many values", map[string][]string{"member": many, "uid": {"a"}}},
		{"many names", names},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Three records, so that later ones refer to the names the first introduced.
			recs := []wire.Record{
				{ID: "1", Attributes: tc.attrs},
				{ID: "2", DN: strings.Repeat("d", 200), Attributes: tc.attrs},
				{ID: "3", Attributes: tc.attrs},
			}
			got, err := wire.DecodeRecords(wire.AppendRecords(nil, recs))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(normalize(got), normalize(recs)) {
				t.Errorf("round trip changed the records")
			}
		})
	}
}

func TestRecordDecoderReuse(t *testing.T) {
	var enc wire.RecordEncoder
	var dec wire.RecordDecoder
	var rec wire.Record
	for round := range 3 {
		recs := sampleRecords()
		recs[0].ID = string(rune('a' + round))
		data := enc.Begin(nil, len(recs))
		for i := range recs {
			data = enc.Append(data, &recs[i])
		}
		n, err := dec.Reset(data)
		if err != nil || n != len(recs) {
			t.Fatalf("round %d: Reset = %d, %v", round, n, err)
		}
		for i := range n {
			if err := dec.Next(&rec); err != nil {
				t.Fatalf("round %d, record %d: %v", round, i, err)
			}
			if !reflect.DeepEqual(normalize([]wire.Record{rec}), normalize(recs[i:i+1])) {
				t.Errorf("round %d, record %d: got %#v, want %#v", round, i, rec, recs[i])
			}
		}
		if err := dec.Next(&rec); !errors.Is(err, wire.ErrCorrupt) {
			t.Errorf("round %d: Next past the end = %v, want ErrCorrupt", round, err)
		}
	}
}

func sampleResults() []wire.Result {
	full := &profile.Profile{
		Manager: "uid=boss,dc=example", Active: true,
		Attributes: map[string]string{"cost_center": "CC-1", "empty": ""},
		Photo:      &profile.Photo{ContentType: "image/png", Data: []byte("\x89PNG\r\n\x1a\n")},
		Seeded:     []string{profile.Locale, "attributes.cost_center"},
	}
	for i := range full.Core {
		full.Core[i] = profile.CoreFields[i] + "-value"
	}
	return []wire.Result{
		{Outcome: wire.Mapped, Profile: full},
		{Outcome: wire.Mapped, Profile: &profile.Profile{}},
		{Outcome: wire.Skipped, Message: "service account"},
		{Outcome: wire.Failed, Message: "no good"},
		{Outcome: wire.Skipped},
	}
}

func TestResultsRoundTrip(t *testing.T) {
	res := sampleResults()
	got, err := wire.DecodeResults(wire.AppendResults(nil, res))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, res) {
		t.Errorf("round trip:\n got %#v\nwant %#v", got, res)
	}
	if got[0].Profile.Hash(nil) != res[0].Profile.Hash(nil) {
		t.Error("the decoded profile hashes differently")
	}
}

func TestResultsDoNotAliasInput(t *testing.T) {
	data := wire.AppendResults(nil, sampleResults())
	got, err := wire.DecodeResults(data)
	if err != nil {
		t.Fatal(err)
	}
	for i := range data {
		data[i] = 0
	}
	if !reflect.DeepEqual(got, sampleResults()) {
		t.Error("decoded results changed when the input buffer did")
	}
}

func TestMappedWithoutProfileIsFailure(t *testing.T) {
	got, err := wire.DecodeResults(wire.AppendResults(nil, []wire.Result{{Outcome: wire.Mapped}}))
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Outcome != wire.Failed || got[0].Message == "" {
		t.Errorf("got %+v, want a failure", got[0])
	}
}

func TestBatchFailure(t *testing.T) {
	_, err := wire.DecodeResults(wire.AppendBatchFailure(nil, "bad input"))
	var be *wire.BatchError
	if !errors.As(err, &be) || be.Reason != "bad input" {
		t.Errorf("got %v, want a BatchError with the reason", err)
	}
}

func TestCorruptInput(t *testing.T) {
	records := wire.AppendRecords(nil, sampleRecords())
	results := wire.AppendResults(nil, sampleResults())
	cases := map[string]func() error{
		"records truncated": func() error { _, err := wire.DecodeRecords(records[:len(records)-1]); return err },
		"records trailing":  func() error { _, err := wire.DecodeRecords(append(records[:len(records):len(records)], 0)); return err },
		"records huge count": func() error {
			_, err := wire.DecodeRecords([]byte{0xFF, 0xFF, 0xFF, 0xFF, 0x0F})
			return err
		},
		"bad name reference": func() error {
			// One record: id "", dn "", kind 0, one attribute named by reference 5.
			_, err := wire.DecodeRecords([]byte{1, 0, 0, 0, 1, 5, 0, 0})
			return err
		},
		"results truncated": func() error { _, err := wire.DecodeResults(results[:len(results)-1]); return err },
		"results status":    func() error { _, err := wire.DecodeResults([]byte{7}); return err },
		"results outcome":   func() error { _, err := wire.DecodeResults([]byte{0, 1, 9}); return err },
		"empty":             func() error { _, err := wire.DecodeResults(nil); return err },
	}
	for name, f := range cases {
		if err := f(); !errors.Is(err, wire.ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(wire.AppendRecords(nil, sampleRecords()))
	f.Add(wire.AppendResults(nil, sampleResults()))
	f.Add(wire.AppendBatchFailure(nil, "x"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Decoding arbitrary input never panics, and whatever decodes re-encodes to
		// something that decodes to the same.
		if recs, err := wire.DecodeRecords(data); err == nil {
			again, err := wire.DecodeRecords(wire.AppendRecords(nil, recs))
			if err != nil {
				t.Fatalf("re-encoded records do not decode: %v", err)
			}
			if !reflect.DeepEqual(normalize(again), normalize(recs)) {
				t.Fatalf("records changed on a second round trip")
			}
		}
		if res, err := wire.DecodeResults(data); err == nil {
			again, err := wire.DecodeResults(wire.AppendResults(nil, res))
			if err != nil {
				t.Fatalf("re-encoded results do not decode: %v", err)
			}
			if !reflect.DeepEqual(again, res) {
				t.Fatalf("results changed on a second round trip:\n%#v\n%#v", again, res)
			}
		}
	})
}

func BenchmarkRecordsRoundTrip(b *testing.B) {
	recs := sampleRecords()
	var enc wire.RecordEncoder
	var dec wire.RecordDecoder
	var rec wire.Record
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = enc.Begin(buf[:0], len(recs))
		for i := range recs {
			buf = enc.Append(buf, &recs[i])
		}
		n, _ := dec.Reset(buf)
		for range n {
			if err := dec.Next(&rec); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// Records appended in parts (AppendHead, AppendAttr, AppendCount), as a host does from a
// connector's raw batch, decode as those appended whole; the two ways mix in a batch.
func TestRecordsInParts(t *testing.T) {
	recs := sampleRecords()
	var e wire.RecordEncoder
	data := e.Begin(nil, 2*len(recs))
	for i := range recs {
		r := &recs[i]
		data = e.AppendHead(data, []byte(r.ID), []byte(r.DN), r.Kind, len(r.Attributes))
		for name, vals := range r.Attributes {
			bs := make([][]byte, len(vals))
			for j, v := range vals {
				bs[j] = []byte(v)
			}
			data = e.AppendAttr(data, name, bs)
		}
		data = wire.AppendCount(data, len(r.Binary))
		for name, vals := range r.Binary {
			data = e.AppendAttr(data, name, vals)
		}
		data = e.Append(data, r)
	}
	got, err := wire.DecodeRecords(data)
	if err != nil {
		t.Fatal(err)
	}
	var want []wire.Record
	for _, r := range recs {
		want = append(want, r, r)
	}
	if !reflect.DeepEqual(normalize(got), normalize(want)) {
		t.Errorf("in parts:\n got %#v\nwant %#v", got, want)
	}
}

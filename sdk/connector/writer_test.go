package connector

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/peoplesync/peoplesync/sdk/internal/recordwire"
)

// writerTestBatches are batches of records of every shape a connector writes.
func writerTestBatches() [][]Record {
	person := func(i int) Record {
		return Record{ID: fmt.Sprint(i), DN: fmt.Sprintf("uid=user%d,ou=people", i), Attributes: map[string][]string{
			"cn": {fmt.Sprintf("Zoë Ødegård %d", i)}, "mail": {fmt.Sprintf("u%d@example.com", i)},
			"telephoneNumber": {"+45 0480 0000", "+45 0481 0000"}}}
	}
	odd := Record{ID: "odd", DN: "cn=odd", Attributes: map[string][]string{"zeta": {"z"}, "cn": {"Odd"}, "empty": {}},
		Binary: map[string][][]byte{"jpegPhoto": {{0xff, 0xd8}, {}}, "cn": {{1}}}}
	return [][]Record{
		nil,
		{{ID: "1"}},
		{{ID: "gone", DN: "uid=gone", Kind: Delete}},
		{person(1), person(2), odd, person(3), {ID: "bare"}, person(4)},
		{person(1), {ID: "x", DN: "cn=x", Kind: Invalid, Problem: "x.ldif:3: bad"}, odd, {Kind: Invalid, Problem: "no ID"}, person(2)},
	}
}

// decodeAll decodes a whole batch.
func decodeAll(t *testing.T, data []byte) []Record {
	t.Helper()
	var dec recordwire.Decoder
	n, err := dec.Reset(data)
	if err != nil {
		t.Fatalf("batch: %v", err)
	}
	out := make([]Record, n)
	for i := range out {
		r, err := dec.Next()
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		out[i] = Record{ID: r.ID, DN: r.DN, Kind: ChangeKind(r.Kind), Problem: r.Problem, Attributes: r.Attributes, Binary: r.Binary}
	}
	return out
}

// canonical is r's canonical form, which source hashes are taken of.
func canonical(r Record) []byte {
	var c recordwire.Canonicalizer
	return c.AppendRecord(nil, &recordwire.Record{ID: r.ID, DN: r.DN, Attributes: r.Attributes, Binary: r.Binary})
}

// sameRecord reports whether a and b are the same record, an empty map and a nil one
// alike.
func sameRecord(a, b Record) bool {
	return a.Kind == b.Kind && a.Problem == b.Problem && bytes.Equal(canonical(a), canonical(b))
}

// writeRecord hands r to w in parts: binary attributes first, then text attributes in
// reverse name order, the ID last, so that nothing depends on the order of the calls.
func writeRecord(t *testing.T, w *RecordWriter, r Record) {
	t.Helper()
	w.Begin(r.Kind)
	w.SetDN([]byte(r.DN))
	for _, name := range slices.Sorted(maps.Keys(r.Binary)) {
		w.Binary(name, r.Binary[name])
	}
	names := slices.Sorted(maps.Keys(r.Attributes))
	slices.Reverse(names)
	for _, name := range names {
		vals := make([][]byte, len(r.Attributes[name]))
		for i, v := range r.Attributes[name] {
			vals[i] = []byte(v)
		}
		w.Text(name, vals)
	}
	w.SetID(r.ID)
	if r.Problem != "" {
		w.SetProblem(r.Problem)
	}
	if err := w.End(); err != nil {
		t.Fatalf("record %q: %v", r.ID, err)
	}
}

// Records written in parts decode to the records themselves, in a batch and through an
// emit function alike, and their canonical forms (which source hashes are taken of) are
// those of the records: a connector that moves to a RecordWriter changes no stored hash.
func TestRecordWriterMatchesRecords(t *testing.T) {
	for bi, recs := range writerTestBatches() {
		b := &batcher{}
		bw := &RecordWriter{b: b}
		var emitted []Record
		ew := NewRecordWriter(func(r Record) error {
			emitted = append(emitted, r)
			return nil
		})
		for _, r := range recs {
			writeRecord(t, bw, r)
			writeRecord(t, ew, r)
		}
		data := b.enc.Finish()
		got := decodeAll(t, data)
		raw, err := recordwire.Parse(data, map[string]string{})
		if err != nil {
			t.Fatalf("batch %d: %v", bi, err)
		}
		if len(got) != len(recs) || len(emitted) != len(recs) {
			t.Fatalf("batch %d: %d records decoded and %d emitted, want %d", bi, len(got), len(emitted), len(recs))
		}
		var fromRaw recordwire.Canonicalizer
		for i, want := range recs {
			if !sameRecord(got[i], want) {
				t.Errorf("batch %d record %d decoded:\n got %#v\nwant %#v", bi, i, got[i], want)
			}
			if !sameRecord(emitted[i], want) {
				t.Errorf("batch %d record %d emitted:\n got %#v\nwant %#v", bi, i, emitted[i], want)
			}
			if c, w := fromRaw.AppendRaw(nil, raw, i), canonical(want); !bytes.Equal(c, w) {
				t.Errorf("batch %d record %d: canonical forms differ:\n raw %q\n rec %q", bi, i, c, w)
			}
		}
	}
}

// A record that repeats an attribute name is refused and leaves the batch as it was: the
// records before and after it decode, names the refused record brought included.
func TestRecordWriterRepeatedName(t *testing.T) {
	v := func(s ...string) [][]byte {
		out := make([][]byte, len(s))
		for i, x := range s {
			out[i] = []byte(x)
		}
		return out
	}
	for _, mode := range []string{"batch", "emit"} {
		b := &batcher{}
		w := &RecordWriter{b: b}
		var emitted []Record
		if mode == "emit" {
			w = NewRecordWriter(func(r Record) error {
				emitted = append(emitted, r)
				return nil
			})
		}
		w.Begin(Upsert)
		w.SetID("1")
		w.Text("cn", v("One"))
		w.Binary("cn", v("\x01")) // one text and one binary attribute may share a name
		if err := w.End(); err != nil {
			t.Fatalf("%s: text and binary cn: %v", mode, err)
		}
		for _, bad := range []func(){
			func() { w.Text("fresh", v("x")); w.Text("cn", v("A")); w.Text("cn", v("B")) },
			func() { w.Binary("jpegPhoto", v("a")); w.Binary("jpegPhoto", v("b")) },
		} {
			w.Begin(Upsert)
			w.SetID("2")
			bad()
			if err := w.End(); !errors.Is(err, ErrRepeatedName) || !strings.Contains(err.Error(), "twice") {
				t.Errorf("%s: a repeated name gave %v, want ErrRepeatedName", mode, err)
			}
		}
		w.Begin(Upsert)
		w.SetID("3")
		w.Text("fresh", v("y"))
		w.Text("sn", v("Three"))
		if err := w.End(); err != nil {
			t.Fatalf("%s: record after the refused ones: %v", mode, err)
		}
		want := []Record{
			{ID: "1", Attributes: map[string][]string{"cn": {"One"}}, Binary: map[string][][]byte{"cn": {{1}}}},
			{ID: "3", Attributes: map[string][]string{"fresh": {"y"}, "sn": {"Three"}}},
		}
		got := emitted
		if mode == "batch" {
			got = decodeAll(t, b.enc.Finish())
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d records, want %d", mode, len(got), len(want))
		}
		for i := range want {
			if !sameRecord(got[i], want[i]) {
				t.Errorf("%s: record %d:\n got %#v\nwant %#v", mode, i, got[i], want[i])
			}
		}
	}
}

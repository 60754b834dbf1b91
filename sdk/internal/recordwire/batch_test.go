package recordwire

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// rawTestBatches are batches whose records repeat, reorder, add and drop names, in text
// and binary, so that later records refer to names an earlier one defined.
func rawTestBatches() [][]Record {
	odd := Record{ID: "odd", DN: "cn=odd", Attributes: map[string][]string{"zeta": {"z"}, "cn": {"Odd"}, "empty": {}},
		Binary: map[string][][]byte{"jpegPhoto": {{0xff, 0xd8}, {}}, "cn": {{1}}}}
	return [][]Record{
		nil,
		{{ID: "1"}},
		{{ID: "gone", DN: "uid=gone", Kind: Delete}},
		{person(1), person(2), odd, person(3), {ID: "bare"}, person(4)},
		{odd, {ID: "\xff\xfe", Attributes: map[string][]string{"cn": {"\xc3"}}}},
		{person(1), {ID: "x", DN: "cn=x", Kind: Invalid, Problem: "x.ldif:3: bad"}, odd, {Kind: Invalid, Problem: "no ID"}, person(2)},
	}
}

// A Batch yields exactly the records the decoder does, and their canonical forms from
// the raw bytes equal those of the decoded records.
func TestRawBatchMatchesDecoder(t *testing.T) {
	for bi, recs := range rawTestBatches() {
		data := encodeBatch(recs...)
		var dec Decoder
		want := decodeBatch(t, &dec, data)
		b, err := Parse(data, map[string]string{})
		if err != nil {
			t.Fatalf("batch %d: %v", bi, err)
		}
		if b.Len() != len(want) {
			t.Fatalf("batch %d: %d records, want %d", bi, b.Len(), len(want))
		}
		var fromRaw, fromRecord Canonicalizer
		// Out of order, as map workers may: every record stands alone.
		for _, i := range order(b.Len()) {
			got, err := b.Record(i)
			if err != nil {
				t.Fatalf("batch %d record %d: %v", bi, i, err)
			}
			if !sameRecord(got, want[i]) || b.ID(i) != want[i].ID || b.Kind(i) != want[i].Kind ||
				b.Problem(i) != want[i].Problem || b.DN(i) != want[i].DN {
				t.Errorf("batch %d record %d:\n got %#v\nwant %#v", bi, i, got, want[i])
			}
			raw := fromRaw.AppendRaw(nil, b, i)
			rec := fromRecord.AppendRecord(nil, &want[i])
			if !bytes.Equal(raw, rec) {
				t.Errorf("batch %d record %d: canonical forms differ:\n raw %q\n rec %q", bi, i, raw, rec)
			}
		}
	}
}

// order is 0..n-1 with the odd indexes first, reversed.
func order(n int) []int {
	var out []int
	for i := n - 1; i >= 0; i-- {
		if i%2 == 1 {
			out = append(out, i)
		}
	}
	for i := 0; i < n; i += 2 {
		out = append(out, i)
	}
	return out
}

// The canonical form does not depend on attribute order, and does change with anything
// that makes records differ.
func TestCanonicalForm(t *testing.T) {
	base := func() Record {
		return Record{ID: "1", DN: "uid=a,dc=x",
			Attributes: map[string][]string{"cn": {"A"}, "mail": {"a@x", "b@x"}, "sn": {"B"}},
			Binary:     map[string][][]byte{"jpegPhoto": {{1, 2, 3}}},
		}
	}
	var c Canonicalizer
	want := string(c.AppendRecord(nil, ptr(base())))
	for range 20 { // map order differs from build to build
		if got := string(c.AppendRecord(nil, ptr(base()))); got != want {
			t.Fatal("the same record laid out differently")
		}
	}
	changes := map[string]func(*Record){
		"id":           func(r *Record) { r.ID = "2" },
		"dn":           func(r *Record) { r.DN = "uid=b,dc=x" },
		"value":        func(r *Record) { r.Attributes["cn"] = []string{"C"} },
		"value order":  func(r *Record) { r.Attributes["mail"] = []string{"b@x", "a@x"} },
		"split value":  func(r *Record) { r.Attributes["mail"] = []string{"a@xb@x"} },
		"new attr":     func(r *Record) { r.Attributes["title"] = nil },
		"binary":       func(r *Record) { r.Binary["jpegPhoto"] = [][]byte{{1, 2, 4}} },
		"text→binary":  func(r *Record) { delete(r.Attributes, "cn"); r.Binary["cn"] = [][]byte{[]byte("A")} },
		"renamed attr": func(r *Record) { r.Attributes["sn2"] = r.Attributes["sn"]; delete(r.Attributes, "sn") },
	}
	for name, change := range changes {
		r := base()
		change(&r)
		if string(c.AppendRecord(nil, &r)) == want {
			t.Errorf("%s: canonical form unchanged", name)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestRawBatchCorrupt(t *testing.T) {
	valid := encodeBatch(person(1), Record{ID: "p", Binary: map[string][][]byte{"jpegPhoto": {{1, 2}}}})
	for n := range len(valid) {
		if _, err := Parse(valid[:n], map[string]string{}); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("batch cut to %d of %d bytes: %v, want ErrCorrupt", n, len(valid), err)
		}
	}
}

// FuzzRawBatch: the raw parser accepts exactly the batches the decoder accepts, and what
// it accepts decodes and lays out as the decoder's records do.
func FuzzRawBatch(f *testing.F) {
	for _, recs := range rawTestBatches() {
		f.Add(encodeBatch(recs...))
	}
	f.Add([]byte{1, 7, 1, 0, 0, 0, 1, 3, 1, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		decErr := decodeAll(data)
		b, err := Parse(data, map[string]string{})
		if (err == nil) != (decErr == nil) {
			t.Fatalf("raw parse: %v; decoder: %v", err, decErr)
		}
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		var dec Decoder
		want := decodeBatch(t, &dec, data)
		var c1, c2 Canonicalizer
		for i := range want {
			got, err := b.Record(i)
			if err != nil || !sameRecord(got, want[i]) {
				t.Fatalf("record %d: %v\n got %#v\nwant %#v", i, err, got, want[i])
			}
			if !bytes.Equal(c1.AppendRaw(nil, b, i), c2.AppendRecord(nil, &want[i])) {
				t.Fatalf("record %d: canonical forms differ", i)
			}
		}
	})
}

func BenchmarkRawBatch(b *testing.B) {
	recs := make([]Record, batchRecords)
	for i := range recs {
		recs[i] = person(i)
	}
	data := encodeBatch(recs...)
	b.Run("decode every record", func(b *testing.B) {
		var dec Decoder
		for b.Loop() {
			decodeBatch(b, &dec, data)
		}
		b.ReportMetric(float64(b.N*len(recs))/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("parse and canonical form", func(b *testing.B) {
		interned := map[string]string{}
		var c Canonicalizer
		var buf []byte
		for b.Loop() {
			rb, err := Parse(data, interned)
			if err != nil {
				b.Fatal(err)
			}
			for i := range rb.Len() {
				buf = c.AppendRaw(buf[:0], rb, i)
			}
		}
		b.ReportMetric(float64(b.N*len(recs))/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("decode and canonical form", func(b *testing.B) {
		var dec Decoder
		var c Canonicalizer
		var buf []byte
		for b.Loop() {
			for _, r := range decodeBatch(b, &dec, data) {
				buf = c.AppendRecord(buf[:0], &r)
			}
		}
		b.ReportMetric(float64(b.N*len(recs))/b.Elapsed().Seconds(), "records/s")
	})
}

// rebuild is a Visitor that builds the Record it is shown.
type rebuild struct{ rec Record }

func (v *rebuild) Begin(id, dn []byte, kind Kind, text int) {
	v.rec = Record{ID: string(id), DN: string(dn), Kind: kind}
	if text > 0 {
		v.rec.Attributes = make(map[string][]string, text)
	}
}

func (v *rebuild) Text(name string, values [][]byte) {
	vals := make([]string, len(values))
	for i, x := range values {
		vals[i] = string(x)
	}
	v.rec.Attributes[name] = vals
}

func (v *rebuild) BeginBinary(n int) {
	if n > 0 {
		v.rec.Binary = make(map[string][][]byte, n)
	}
}

func (v *rebuild) Binary(name string, values [][]byte) {
	vals := make([][]byte, len(values))
	for i, x := range values {
		vals[i] = bytes.Clone(x)
	}
	v.rec.Binary[name] = vals
}

// Visit shows each record's parts as they decode (an Invalid record's problem is not one
// of them: nothing maps it), DN gives its DN, and NewBatch makes the batch a plugin's
// records would arrive in.
func TestRawBatchVisit(t *testing.T) {
	for bi, recs := range rawTestBatches() {
		b, err := NewBatch(recs)
		if err != nil {
			t.Fatalf("batch %d: %v", bi, err)
		}
		if b.Len() != len(recs) {
			t.Fatalf("batch %d: %d records, want %d", bi, b.Len(), len(recs))
		}
		for _, i := range order(b.Len()) {
			var v rebuild
			if err := b.Visit(i, &v); err != nil {
				t.Fatalf("batch %d record %d: %v", bi, i, err)
			}
			v.rec.Problem = b.Problem(i)
			if !sameRecord(v.rec, recs[i]) {
				t.Errorf("batch %d record %d visited:\n got %#v\nwant %#v", bi, i, v.rec, recs[i])
			}
			if dn := b.DN(i); dn != recs[i].DN {
				t.Errorf("batch %d record %d: DN %q, want %q", bi, i, dn, recs[i].DN)
			}
		}
	}
}

// AppendRaw orders a record's attributes three ways (as they come, by a table of the
// batch's names, by sorting when the batch has many more names than the record): records
// written in parts in a fixed order, in name order, in another order, with fewer names,
// with binary ones, in batches that number their names otherwise and in a batch of many
// names must each lay out as AppendRecord lays out their decoded form; and a one-byte
// change of a value must change the form, while the order of the attributes must not.
func TestAppendRawOrders(t *testing.T) {
	type rec struct {
		id    string
		parts []Part
	}
	cols := func(order string, vals ...string) []Part {
		var ps []Part
		for i, name := range order {
			ps = append(ps, Part{Name: string(name) + "_col", Values: [][]byte{[]byte(vals[i])}})
		}
		return ps
	}
	photo := Part{Name: "jpegPhoto", Values: [][]byte{{0xff, 0xd8}}, Binary: true}
	thumb := Part{Name: "thumbnailPhoto", Values: [][]byte{{1}}, Binary: true}
	batches := [][]rec{
		{
			{"1", cols("zay", "z1", "a1", "y1")},
			{"2", cols("zay", "z2", "a2", "y2")}, // same order: the kept one
			{"3", cols("azy", "a3", "z3", "y3")}, // in name order: no sorting
			{"4", cols("yza", "y4", "z4", "a4")}, // the same names, another order
			{"5", cols("zay", "z5", "a5", "y5")},
			{"6", append(cols("zy", "z6", "y6"), thumb, photo)}, // fewer names, binary out of order
			{"7", append(cols("zay", "z7", "a7", "y7"), thumb, photo)},
		},
		{
			// Another batch numbers the names otherwise: "b" first, then as before.
			{"8", cols("bzay", "b8", "z8", "a8", "y8")},
			{"9", cols("zay", "z9", "a9", "y9")},
			{"10", cols("zay", "z10", "a10", "y10")},
		},
		{
			// 40 names in the batch, 2 or 3 in a record: sorted.
			{"11", cols("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn", strings.Split("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn", "")...)},
			{"12", cols("zay", "z12", "a12", "y12")},
			{"13", cols("nA", "n13", "A13")},
		},
	}
	var raw, dec Canonicalizer
	forms := map[string]string{}
	for bi, recs := range batches {
		var enc Encoder
		for _, r := range recs {
			if err := enc.AddParts(r.id, []byte("uid="+r.id), Upsert, r.parts); err != nil {
				t.Fatal(err)
			}
		}
		b, err := Parse(enc.Finish(), map[string]string{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range b.Len() {
			got := raw.AppendRaw(nil, b, i)
			r, err := b.Record(i)
			if err != nil {
				t.Fatal(err)
			}
			if want := dec.AppendRecord(nil, &r); !bytes.Equal(got, want) {
				t.Errorf("batch %d, record %s: AppendRaw\n%q\nwant\n%q", bi, recs[i].id, got, want)
			}
			forms[recs[i].id] = string(got)
		}
	}
	// Order does not count, one changed byte does.
	var enc Encoder
	for _, r := range []rec{
		{"1", cols("yaz", "y1", "a1", "z1")},
		{"1", cols("zay", "z1", "a1", "y2")},
		{"1", cols("zay", "z1", "b1", "y1")},
	} {
		if err := enc.AddParts(r.id, []byte("uid="+r.id), Upsert, r.parts); err != nil {
			t.Fatal(err)
		}
	}
	b, err := Parse(enc.Finish(), map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(raw.AppendRaw(nil, b, 0)); got != forms["1"] {
		t.Error("the same attributes in another order lay out otherwise")
	}
	for i := 1; i < 3; i++ {
		if got := string(raw.AppendRaw(nil, b, i)); got == forms["1"] {
			t.Errorf("record %d: a changed value lays out as before", i)
		}
	}
}

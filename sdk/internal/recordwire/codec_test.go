package recordwire

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"unsafe"
)

// person is a record shaped like an LDAP person: about 15 attributes, some multi-valued.
func person(i int) Record {
	return Record{
		ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
		DN: fmt.Sprintf("uid=user%06d,ou=people,dc=example,dc=com", i),
		Attributes: map[string][]string{
			"objectClass":       {"top", "person", "organizationalPerson", "inetOrgPerson"},
			"uid":               {fmt.Sprintf("user%06d", i)},
			"cn":                {fmt.Sprintf("Zoë Ødegård %d", i)},
			"givenName":         {"Zoë"},
			"sn":                {fmt.Sprintf("Ødegård %d", i)},
			"mail":              {fmt.Sprintf("user%06d@example.com", i)},
			"title":             {"Engineer"},
			"ou":                {"Research"},
			"employeeNumber":    {fmt.Sprintf("E%06d", i)},
			"telephoneNumber":   {fmt.Sprintf("+45 0480 %04d", i%10000), "+45 0481 0000"},
			"manager":           {fmt.Sprintf("uid=user%06d,ou=people,dc=example,dc=com", i/10)},
			"preferredLanguage": {"da"},
		},
	}
}

func encodeBatch(recs ...Record) []byte {
	var enc Encoder
	for i := range recs {
		enc.Add(&recs[i])
	}
	return enc.Finish()
}

func decodeBatch(t testing.TB, dec *Decoder, data []byte) []Record {
	t.Helper()
	n, err := dec.Reset(data)
	if err != nil {
		t.Fatalf("reset: %v", err)
	}
	out := make([]Record, n)
	for i := range out {
		if out[i], err = dec.Next(); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	return out
}

func TestBatchRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		recs []Record
	}{
		{"empty batch", nil},
		{"bare record", []Record{{ID: "1"}}},
		{"delete", []Record{{ID: "gone", DN: "uid=gone", Kind: Delete}}},
		{"invalid", []Record{
			{ID: "E7", DN: "hr.csv:7", Kind: Invalid, Problem: "hr.csv:7: ID E7 appears twice"},
			{Kind: Invalid, Problem: "hr.csv:9: ID employee_id is empty"},
			person(1),
		}},
		{"people", []Record{person(1), person(2), person(3)}},
		{"binary and text", []Record{
			{ID: "a", Attributes: map[string][]string{"cn": {"A"}}, Binary: map[string][][]byte{
				"jpegPhoto":  {{0xff, 0xd8, 0x00, 0xff}},
				"objectGUID": {make([]byte, 16), {1}},
			}},
			{ID: "b", Binary: map[string][][]byte{"jpegPhoto": {{1, 2, 3}}}},
		}},
		{"empty values and strings", []Record{
			{ID: "", DN: "", Attributes: map[string][]string{"empty": {}, "blank": {""}}},
		}},
		{"bytes that are not UTF-8", []Record{{ID: "\xff\xfe", Attributes: map[string][]string{"cn": {"\xc3"}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var dec Decoder
			got := decodeBatch(t, &dec, encodeBatch(tt.recs...))
			if len(got) != len(tt.recs) {
				t.Fatalf("decoded %d records, want %d", len(got), len(tt.recs))
			}
			for i := range got {
				if !sameRecord(got[i], tt.recs[i]) {
					t.Errorf("record %d:\n got %#v\nwant %#v", i, got[i], tt.recs[i])
				}
			}
		})
	}
}

// sameRecord compares records, taking a nil slice or map for an empty one.
func sameRecord(a, b Record) bool {
	if a.ID != b.ID || a.DN != b.DN || a.Kind != b.Kind || a.Problem != b.Problem || len(a.Attributes) != len(b.Attributes) || len(a.Binary) != len(b.Binary) {
		return false
	}
	for k, v := range b.Attributes {
		got, ok := a.Attributes[k]
		if !ok || len(got) != len(v) || (len(v) > 0 && !reflect.DeepEqual(got, v)) {
			return false
		}
	}
	for k, v := range b.Binary {
		got, ok := a.Binary[k]
		if !ok || len(got) != len(v) {
			return false
		}
		for i := range v {
			if string(got[i]) != string(v[i]) {
				return false
			}
		}
	}
	return true
}

// TestBatchSharing checks what the decoder promises about memory: names are one string
// per read, a record's text is its own (it does not alias the batch), appending to a value
// slice cannot overwrite another attribute's values, and binary values are copies.
func TestBatchSharing(t *testing.T) {
	var dec Decoder
	data := encodeBatch(person(1), Record{ID: "p", Binary: map[string][][]byte{"jpegPhoto": {{1, 2}}}})
	first := decodeBatch(t, &dec, data)
	second := decodeBatch(t, &dec, encodeBatch(person(2)))

	nameOf := func(r Record, name string) string {
		for k := range r.Attributes {
			if k == name {
				return k
			}
		}
		t.Fatalf("no attribute %s", name)
		return ""
	}
	if a, b := nameOf(first[0], "mail"), nameOf(second[0], "mail"); unsafe.StringData(a) != unsafe.StringData(b) {
		t.Error("the name mail is two strings in one read, want one")
	}

	id := first[0].ID
	for i := range data {
		data[i] = 0
	}
	if id != person(1).ID || first[1].Binary["jpegPhoto"][0][1] != 2 {
		t.Error("decoded values changed with the batch's bytes")
	}

	ou := first[0].Attributes["ou"]
	_ = append(ou, "Sales")
	for name, vals := range first[0].Attributes {
		if want := person(1).Attributes[name]; !reflect.DeepEqual(vals, want) {
			t.Errorf("after appending to ou, %s = %q, want %q", name, vals, want)
		}
	}
}

func TestBatchCorrupt(t *testing.T) {
	valid := encodeBatch(person(1), Record{ID: "p", Binary: map[string][][]byte{"jpegPhoto": {{1, 2}}}})
	// Every truncation of a valid batch fails cleanly.
	for n := range len(valid) {
		if err := decodeAll(valid[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("batch cut to %d of %d bytes: %v, want ErrCorrupt", n, len(valid), err)
		}
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"trailing bytes", append(encodeBatch(person(1)), 0)},
		{"trailing bytes after no records", []byte{0, 0}},
		{"huge count", []byte{0xff, 0xff, 0xff, 0xff, 0x0f}},
		{"bad kind", []byte{1, 5, 0, 0, 0, 9, 0, 0}},
		{"name reference out of range", []byte{1, 7, 1, 0, 0, 0, 1, 3, 1, 0}},
		{"repeated name", func() []byte {
			// One attribute defined, then referenced again in the same record.
			body := []byte{0, 0, 0, 2, 0, 1, 'a', 0, 1, 0, 0}
			return append([]byte{1, byte(len(body)), 0}, body...)
		}()},
		{"value count too small", func() []byte {
			b := encodeBatch(Record{ID: "x", Attributes: map[string][]string{"cn": {"a", "b"}}})
			b[2] = 1 // the record's text value count
			return b
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := decodeAll(tt.data); !errors.Is(err, ErrCorrupt) {
				t.Errorf("decoding = %v, want ErrCorrupt", err)
			}
		})
	}
}

func decodeAll(data []byte) error {
	var dec Decoder
	n, err := dec.Reset(data)
	if err != nil {
		return err
	}
	for range n {
		if _, err := dec.Next(); err != nil {
			return err
		}
	}
	return nil
}

func FuzzBatchDecoder(f *testing.F) {
	f.Add(encodeBatch(person(1), person(2)))
	f.Add(encodeBatch(Record{ID: "p", Binary: map[string][][]byte{"jpegPhoto": {{1, 2}}}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		err := decodeAll(data)
		if err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("error %v does not wrap ErrCorrupt", err)
		}
	})
}

// BenchmarkBatch measures each side of the record encoding with LDAP-shaped people, in
// batches of batchRecords.
func BenchmarkBatch(b *testing.B) {
	recs := make([]Record, batchRecords)
	for i := range recs {
		recs[i] = person(i)
	}
	b.Run("encode", func(b *testing.B) {
		var enc Encoder
		for b.Loop() {
			for i := range recs {
				enc.Add(&recs[i])
			}
			_ = enc.Finish()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
	})
	b.Run("decode", func(b *testing.B) {
		data := encodeBatch(recs...)
		var dec Decoder
		b.ReportAllocs()
		for b.Loop() {
			n, err := dec.Reset(data)
			if err != nil {
				b.Fatal(err)
			}
			for range n {
				if _, err := dec.Next(); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
	})
}

// batchRecords is how many records a plugin puts in one batch (package connector's
// server), for benchmarks of batches as they cross.
const batchRecords = 500

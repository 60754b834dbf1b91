package recordwire

import (
	"encoding/binary"
	"slices"
)

// Canonicalizer lays records out in one canonical form: the same bytes for the same
// record however its attributes were ordered, in a Record or in a Batch. A host hashes
// it to tell whether a record changed since it last saw it. The form, all lengths and
// counts as 8-byte little-endian integers:
//
//	len(id) id len(dn) dn n, n × (len(name) name m, m × (len(value) value)),
//	n, n × (len(name) name m, m × (len(value) value))
//
// with text attributes and then binary ones, each in byte order of their names. The
// zero value is ready to use; a Canonicalizer is not safe for concurrent use. For a
// Record it keeps the previous record's sorted names and sorts again only when the next
// record's names differ (a directory's records mostly have the same); in a Batch it
// orders attributes by their names' ranks, worked out once per batch.
type Canonicalizer struct {
	text, binary []string // the previous Record's names, sorted
	attrs        []rawAttr
}

// rawAttr is one attribute of a record in a Batch: its name's number and rank, and
// its values' span.
type rawAttr struct {
	name, rank int
	start, end int // the values (m, then m × value) in the batch
}

// AppendRecord appends r's canonical form to dst.
func (c *Canonicalizer) AppendRecord(dst []byte, r *Record) []byte {
	dst = appendField(dst, r.ID)
	dst = appendField(dst, r.DN)
	dst = appendAttributes(dst, r.Attributes, &c.text)
	return appendAttributes(dst, r.Binary, &c.binary)
}

// appendAttributes appends attrs in the canonical form, in name order; *prev holds the
// previous record's sorted names of this kind (see sortedKeys).
func appendAttributes[V string | []byte](dst []byte, attrs map[string][]V, prev *[]string) []byte {
	*prev = sortedKeys(attrs, *prev)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(len(*prev)))
	for _, name := range *prev {
		vs := attrs[name]
		dst = appendField(dst, name)
		dst = binary.LittleEndian.AppendUint64(dst, uint64(len(vs)))
		for _, v := range vs {
			dst = appendField(dst, v)
		}
	}
	return dst
}

// AppendRaw appends the canonical form of record i of b to dst: the bytes AppendRecord
// appends for b.Record(i).
func (c *Canonicalizer) AppendRaw(dst []byte, b *Batch, i int) []byte {
	rec := &b.recs[i]
	r := newRecordReader(b.data[:rec.end], "", rec.body, 0)
	d := Decoder{names: b.names, nextName: rec.namesBefore}
	id, dn := r.Span("record id")
	dst = appendField(dst, b.data[id:dn])
	s, e := r.Span("record dn")
	dst = appendField(dst, b.data[s:e])
	skipProblem(&r, Kind(r.Byte("record kind")))
	// The batch was checked when it arrived: reading it again cannot fail.
	vr := newRecordReader(nil, "", 0, 0) // reads one attribute's values
	// Text attributes, then binary ones.
	for range 2 {
		n := r.Count("attribute count")
		c.attrs = c.attrs[:0]
		for range n {
			k := d.nameNumber(&r)
			start := r.Off
			for range r.Count("value count") {
				r.Span("value")
			}
			c.attrs = append(c.attrs, rawAttr{name: k, rank: b.rank[k], start: start, end: r.Off})
		}
		slices.SortFunc(c.attrs, func(x, y rawAttr) int { return x.rank - y.rank })
		dst = binary.LittleEndian.AppendUint64(dst, uint64(len(c.attrs)))
		for _, a := range c.attrs {
			dst = appendField(dst, b.names[a.name])
			vr.Data, vr.Off = b.data[:a.end], a.start
			m := vr.Count("value count")
			dst = binary.LittleEndian.AppendUint64(dst, uint64(m))
			for range m {
				s, e := vr.Span("value")
				dst = appendField(dst, b.data[s:e])
			}
		}
	}
	return dst
}

// sortedKeys returns m's keys in order: prev itself if it holds exactly those keys (it is
// sorted and its names distinct, so equal length and every name in m means the same set),
// else prev's memory refilled and sorted.
func sortedKeys[V any](m map[string]V, prev []string) []string {
	if len(prev) == len(m) {
		same := true
		for _, name := range prev {
			if _, ok := m[name]; !ok {
				same = false
				break
			}
		}
		if same {
			return prev
		}
	}
	prev = prev[:0]
	for name := range m {
		prev = append(prev, name)
	}
	slices.Sort(prev)
	return prev
}

func appendField[T string | []byte](dst []byte, v T) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, uint64(len(v)))
	return append(dst, v...)
}

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
// orders attributes by their names' ranks, worked out once per batch (see AppendRaw).
type Canonicalizer struct {
	text, binary []string // the previous Record's names, sorted
	// For AppendRaw: a record's attributes of one kind, laid out in scratch, and by a
	// name's rank the attribute that has it (-1 between records).
	attrs   []rawAttr
	scratch []byte
	byRank  []int32
}

// rawAttr is one attribute of a record in a Batch: its name's rank, and where its
// canonical form lies in the Canonicalizer's scratch buffer.
type rawAttr struct {
	rank       int
	start, end int
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
// appends for b.Record(i). It reads the record once, laying each attribute out in c's
// scratch buffer as it comes, then copies them out in the order of their names' ranks:
// as they are if they came in order, else by a table from rank to attribute (a batch's
// names are few, and connectors' records arrive in any order: a Record's attributes
// are a map), and sorted only when the batch has far more names than the record.
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
	// Text attributes, then binary ones.
	for range 2 {
		n := r.Count("attribute count")
		c.attrs, c.scratch = c.attrs[:0], c.scratch[:0]
		inOrder := true
		for j := range n {
			k := d.nameNumber(&r)
			start := len(c.scratch)
			c.scratch = appendField(c.scratch, b.names[k])
			m := r.Count("value count")
			c.scratch = binary.LittleEndian.AppendUint64(c.scratch, uint64(m))
			for range m {
				s, e := r.Span("value")
				c.scratch = appendField(c.scratch, b.data[s:e])
			}
			rank := b.rank[k]
			inOrder = inOrder && (j == 0 || rank > c.attrs[j-1].rank)
			c.attrs = append(c.attrs, rawAttr{rank: rank, start: start, end: len(c.scratch)})
		}
		dst = binary.LittleEndian.AppendUint64(dst, uint64(n))
		switch names := len(b.names); {
		case inOrder:
			dst = append(dst, c.scratch...)
		case names <= 4*n+16:
			// byRank is -1 but where this loop sets it, and it puts back what it sets.
			for len(c.byRank) < names {
				c.byRank = append(c.byRank, -1)
			}
			for j := range c.attrs {
				c.byRank[c.attrs[j].rank] = int32(j)
			}
			for rank, j := range c.byRank[:names] {
				if j >= 0 {
					a := &c.attrs[j]
					dst = append(dst, c.scratch[a.start:a.end]...)
					c.byRank[rank] = -1
				}
			}
		default:
			slices.SortFunc(c.attrs, func(x, y rawAttr) int { return x.rank - y.rank })
			for j := range c.attrs {
				a := &c.attrs[j]
				dst = append(dst, c.scratch[a.start:a.end]...)
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

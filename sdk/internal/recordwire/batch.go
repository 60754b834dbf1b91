package recordwire

import (
	"fmt"
	"slices"
	"strings"
)

// Batch is one batch of a read as it crossed the plugin boundary: checked, but not
// decoded. A host reads each record's ID, kind and canonical form (see Canonicalizer)
// from it and decodes only the records it needs with Record: a sync that finds most
// records unchanged since its last run spares itself building them. A Batch is safe
// for concurrent use; it holds the batch's bytes until the last reference to it goes.
type Batch struct {
	data  []byte
	names []string // the batch's attribute names, by number
	rank  []int    // each name's place among the batch's names in byte order
	recs  []rawRecord
}

// rawRecord is where one record lies in its batch.
type rawRecord struct {
	body, end   int // the body's span in data
	values      int // its text values
	namesBefore int // names the batch defined before this record
	kind        Kind
	idStart     int // the ID's span in data
	idEnd       int
}

// Len returns the number of records in the batch.
func (b *Batch) Len() int { return len(b.recs) }

// ID returns the external ID of record i (a fresh string).
func (b *Batch) ID(i int) string {
	r := &b.recs[i]
	return string(b.data[r.idStart:r.idEnd])
}

// Size returns the number of bytes the batch holds.
func (b *Batch) Size() int { return len(b.data) }

// Kind returns the change kind of record i.
func (b *Batch) Kind(i int) Kind { return b.recs[i].kind }

// Problem returns what is wrong with record i if it is Invalid (a fresh string), else "".
func (b *Batch) Problem(i int) string {
	r := &b.recs[i]
	if r.kind != Invalid {
		return ""
	}
	rr := newRecordReader(b.data[:r.end], "", r.idEnd, 0)
	rr.Span("record dn")
	rr.Byte("record kind")
	s, e := rr.Span("record problem")
	return string(b.data[s:e])
}

// DN returns the DN of record i (a fresh string).
func (b *Batch) DN(i int) string {
	r := &b.recs[i]
	rr := newRecordReader(b.data[:r.end], "", r.idEnd, 0)
	s, e := rr.Span("record dn")
	return string(b.data[s:e])
}

// Visitor is shown the parts of one record by Batch.Visit, in the order the
// batch holds them: Begin, Text for each text attribute, BeginBinary, Binary for each
// binary attribute. The byte slices alias the batch and the value slices are reused:
// both are valid only during the call.
type Visitor interface {
	// Begin starts the record; text is its number of text attributes.
	Begin(id, dn []byte, kind Kind, text int)
	// Text is one text attribute.
	Text(name string, values [][]byte)
	// BeginBinary follows the text attributes; n is the number of binary ones.
	BeginBinary(n int)
	// Binary is one binary attribute.
	Binary(name string, values [][]byte)
}

// Visit shows record i to v part by part, without building a Record: a consumer that
// encodes records again (for a mapping module) copies bytes instead of decoding them.
func (b *Batch) Visit(i int, v Visitor) error {
	r := &b.recs[i]
	rr := newRecordReader(b.data[:r.end], "", r.body, 0)
	idS, idE := rr.Span("record id")
	dnS, dnE := rr.Span("record dn")
	kind := Kind(rr.Byte("record kind"))
	skipProblem(&rr, kind)
	d := Decoder{names: b.names, nextName: r.namesBefore}
	var values [][]byte
	for part := range 2 {
		n := rr.Count("attribute count")
		if rr.Err != nil {
			return rr.Err
		}
		if part == 0 {
			v.Begin(b.data[idS:idE], b.data[dnS:dnE], kind, n)
		} else {
			v.BeginBinary(n)
		}
		for range n {
			name := d.name(&rr)
			m := rr.Count("value count")
			if rr.Err != nil {
				return rr.Err
			}
			values = values[:0]
			for range m {
				s, e := rr.Span("attribute value")
				values = append(values, b.data[s:e])
			}
			if rr.Err != nil {
				return rr.Err
			}
			if part == 0 {
				v.Text(name, values)
			} else {
				v.Binary(name, values)
			}
		}
	}
	if rr.Off != r.end {
		return fmt.Errorf("%w: record at byte %d has %d bytes over", ErrCorrupt, r.body, r.end-rr.Off)
	}
	return nil
}

// Record decodes record i into a Record that shares no memory with the batch.
func (b *Batch) Record(i int) (Record, error) {
	r := &b.recs[i]
	body := b.data[r.body:r.end]
	d := Decoder{names: b.names, nextName: r.namesBefore}
	rr := newRecordReader(body, string(body), 0, r.body)
	rec, err := d.record(&rr, r.values)
	if err == nil && rr.Off != len(body) {
		err = fmt.Errorf("%w: record at byte %d has %d bytes over", ErrCorrupt, r.body, len(body)-rr.Off)
	}
	return rec, err
}

// NewBatch encodes records into a Batch, as the plugin protocol would carry them:
// for consumers of raw batches to test with, and for in-process connectors.
func NewBatch(records []Record) (*Batch, error) {
	var enc Encoder
	for i := range records {
		enc.Add(&records[i])
	}
	return Parse(enc.Finish(), map[string]string{})
}

// Parse checks a batch as thoroughly as decoding it would and notes where each
// record lies; interned keeps one string per attribute name for the whole read.
func Parse(data []byte, interned map[string]string) (*Batch, error) {
	d := Decoder{interned: interned}
	n, err := d.Reset(data)
	if err != nil {
		return nil, err
	}
	b := &Batch{data: data, recs: make([]rawRecord, n)}
	// lastUse[k] is 1 + the index of the last record that named name k: a record that
	// names one twice is corrupt, as Record would find.
	var lastUse []int
	for i := range b.recs {
		size, err := d.count("record length")
		if err != nil {
			return nil, err
		}
		values, err := d.count("value count")
		if err != nil {
			return nil, err
		}
		if size > len(data)-d.off || values > size {
			return nil, fmt.Errorf("%w: record of %d bytes at byte %d, %d left", ErrCorrupt, size, d.off, len(data)-d.off)
		}
		rec := rawRecord{body: d.off, end: d.off + size, values: values, namesBefore: len(d.names)}
		r := newRecordReader(data[:rec.end], "", rec.body, 0)
		rec.idStart, rec.idEnd = r.Span("record id")
		r.Span("record dn")
		switch k := Kind(r.Byte("record kind")); k {
		case Upsert, Delete:
			rec.kind = k
		case Invalid:
			rec.kind = k
			skipProblem(&r, k)
		default:
			r.Fail("record kind")
		}
		total := d.skipAttrs(&r, &lastUse, 2*i+1)
		if r.Err == nil && total != values {
			r.Fail("value count")
		}
		d.skipAttrs(&r, &lastUse, 2*i+2)
		if r.Err != nil {
			return nil, r.Err
		}
		if r.Off != rec.end {
			return nil, fmt.Errorf("%w: record at byte %d has %d bytes over", ErrCorrupt, rec.body, rec.end-r.Off)
		}
		d.off = rec.end
		b.recs[i] = rec
	}
	if d.off != len(data) {
		return nil, fmt.Errorf("%w: %d bytes after the last record", ErrCorrupt, len(data)-d.off)
	}
	b.names = d.names
	order := make([]int, len(b.names))
	for k := range order {
		order[k] = k
	}
	slices.SortFunc(order, func(x, y int) int { return strings.Compare(b.names[x], b.names[y]) })
	b.rank = make([]int, len(b.names))
	for place, k := range order {
		b.rank[k] = place
	}
	return b, nil
}

// skipProblem reads past an Invalid record's problem, which follows its kind.
func skipProblem(r *recordReader, kind Kind) {
	if kind == Invalid {
		r.Span("record problem")
	}
}

// skipAttrs reads past one record's text or binary attributes, checking that no name
// repeats (lastUse[k] is the mark of the last part that named name k), and returns their
// number of values.
func (d *Decoder) skipAttrs(r *recordReader, lastUse *[]int, mark int) int {
	attrs := r.Count("attribute count")
	total := 0
	for range attrs {
		k := d.nameNumber(r)
		if r.Err != nil {
			return total
		}
		for len(*lastUse) <= k {
			*lastUse = append(*lastUse, 0)
		}
		if (*lastUse)[k] == mark {
			r.Fail("attribute names (a name repeats)")
			return total
		}
		(*lastUse)[k] = mark
		m := r.Count("value count")
		total += m
		for range m {
			r.Span("attribute value")
		}
	}
	return total
}

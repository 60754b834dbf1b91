package connector

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
)

// RawBatch is one batch of a read as it crossed the plugin boundary: checked, but not
// decoded. A host reads each record's ID, kind and canonical form (see Canonicalizer)
// from it and decodes only the records it needs with Record: a sync that finds most
// records unchanged since its last run spares itself building them. A RawBatch is safe
// for concurrent use; it holds the batch's bytes until the last reference to it goes.
type RawBatch struct {
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
	kind        ChangeKind
	idStart     int // the ID's span in data
	idEnd       int
}

// RawReader is a Connector that can hand over whole batches undecoded: the host side of
// the plugin protocol is one.
type RawReader interface {
	// ReadRaw is Read with one call of fn per batch instead of one emit per record. The
	// batches' records count towards ReadResult.Count as Read's do.
	ReadRaw(ctx context.Context, req ReadRequest, fn func(*RawBatch) error) (ReadResult, error)
}

// Len returns the number of records in the batch.
func (b *RawBatch) Len() int { return len(b.recs) }

// ID returns the external ID of record i (a fresh string).
func (b *RawBatch) ID(i int) string {
	r := &b.recs[i]
	return string(b.data[r.idStart:r.idEnd])
}

// Size returns the number of bytes the batch holds.
func (b *RawBatch) Size() int { return len(b.data) }

// Kind returns the change kind of record i.
func (b *RawBatch) Kind(i int) ChangeKind { return b.recs[i].kind }

// Problem returns what is wrong with record i if it is Invalid (a fresh string), else "".
func (b *RawBatch) Problem(i int) string {
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
func (b *RawBatch) DN(i int) string {
	r := &b.recs[i]
	rr := newRecordReader(b.data[:r.end], "", r.idEnd, 0)
	s, e := rr.Span("record dn")
	return string(b.data[s:e])
}

// RecordVisitor is shown the parts of one record by RawBatch.Visit, in the order the
// batch holds them: Begin, Text for each text attribute, BeginBinary, Binary for each
// binary attribute. The byte slices alias the batch and the value slices are reused:
// both are valid only during the call.
type RecordVisitor interface {
	// Begin starts the record; text is its number of text attributes.
	Begin(id, dn []byte, kind ChangeKind, text int)
	// Text is one text attribute.
	Text(name string, values [][]byte)
	// BeginBinary follows the text attributes; n is the number of binary ones.
	BeginBinary(n int)
	// Binary is one binary attribute.
	Binary(name string, values [][]byte)
}

// Visit shows record i to v part by part, without building a Record: a consumer that
// encodes records again (for a mapping module) copies bytes instead of decoding them.
func (b *RawBatch) Visit(i int, v RecordVisitor) error {
	r := &b.recs[i]
	rr := newRecordReader(b.data[:r.end], "", r.body, 0)
	idS, idE := rr.Span("record id")
	dnS, dnE := rr.Span("record dn")
	kind := ChangeKind(rr.Byte("record kind"))
	skipProblem(&rr, kind)
	d := batchDecoder{names: b.names, nextName: r.namesBefore}
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
		return fmt.Errorf("%w: record at byte %d has %d bytes over", errCorruptBatch, r.body, r.end-rr.Off)
	}
	return nil
}

// Record decodes record i into a Record that shares no memory with the batch.
func (b *RawBatch) Record(i int) (Record, error) {
	r := &b.recs[i]
	body := b.data[r.body:r.end]
	d := batchDecoder{names: b.names, nextName: r.namesBefore}
	rr := newRecordReader(body, string(body), 0, r.body)
	rec, err := d.record(&rr, r.values)
	if err == nil && rr.Off != len(body) {
		err = fmt.Errorf("%w: record at byte %d has %d bytes over", errCorruptBatch, r.body, len(body)-rr.Off)
	}
	return rec, err
}

// NewRawBatch encodes records into a RawBatch, as the plugin protocol would carry them:
// for consumers of raw batches to test with, and for in-process connectors.
func NewRawBatch(records []Record) (*RawBatch, error) {
	var enc batchEncoder
	for i := range records {
		enc.add(&records[i])
	}
	return parseRawBatch(enc.finish(), map[string]string{})
}

// parseRawBatch checks a batch as thoroughly as decoding it would and notes where each
// record lies; interned keeps one string per attribute name for the whole read.
func parseRawBatch(data []byte, interned map[string]string) (*RawBatch, error) {
	d := batchDecoder{interned: interned}
	n, err := d.reset(data)
	if err != nil {
		return nil, err
	}
	b := &RawBatch{data: data, recs: make([]rawRecord, n)}
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
			return nil, fmt.Errorf("%w: record of %d bytes at byte %d, %d left", errCorruptBatch, size, d.off, len(data)-d.off)
		}
		rec := rawRecord{body: d.off, end: d.off + size, values: values, namesBefore: len(d.names)}
		r := newRecordReader(data[:rec.end], "", rec.body, 0)
		rec.idStart, rec.idEnd = r.Span("record id")
		r.Span("record dn")
		switch k := ChangeKind(r.Byte("record kind")); k {
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
			return nil, fmt.Errorf("%w: record at byte %d has %d bytes over", errCorruptBatch, rec.body, rec.end-r.Off)
		}
		d.off = rec.end
		b.recs[i] = rec
	}
	if d.off != len(data) {
		return nil, fmt.Errorf("%w: %d bytes after the last record", errCorruptBatch, len(data)-d.off)
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
func skipProblem(r *recordReader, kind ChangeKind) {
	if kind == Invalid {
		r.Span("record problem")
	}
}

// skipAttrs reads past one record's text or binary attributes, checking that no name
// repeats (lastUse[k] is the mark of the last part that named name k), and returns their
// number of values.
func (d *batchDecoder) skipAttrs(r *recordReader, lastUse *[]int, mark int) int {
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

// Canonicalizer lays records out in one canonical form: the same bytes for the same
// record however its attributes were ordered, in a Record or in a RawBatch. A host hashes
// it to tell whether a record changed since it last saw it. The form, all lengths and
// counts as 8-byte little-endian integers:
//
//	len(id) id len(dn) dn n, n × (len(name) name m, m × (len(value) value)),
//	n, n × (len(name) name m, m × (len(value) value))
//
// with text attributes and then binary ones, each in byte order of their names. The
// zero value is ready to use; a Canonicalizer is not safe for concurrent use. For a
// Record it keeps the previous record's sorted names and sorts again only when the next
// record's names differ (a directory's records mostly have the same); in a RawBatch it
// orders attributes by their names' ranks, worked out once per batch.
type Canonicalizer struct {
	text, binary []string // the previous Record's names, sorted
	attrs        []rawAttr
}

// rawAttr is one attribute of a record in a RawBatch: its name's number and rank, and
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
func (c *Canonicalizer) AppendRaw(dst []byte, b *RawBatch, i int) []byte {
	rec := &b.recs[i]
	r := newRecordReader(b.data[:rec.end], "", rec.body, 0)
	d := batchDecoder{names: b.names, nextName: rec.namesBefore}
	id, dn := r.Span("record id")
	dst = appendField(dst, b.data[id:dn])
	s, e := r.Span("record dn")
	dst = appendField(dst, b.data[s:e])
	skipProblem(&r, ChangeKind(r.Byte("record kind")))
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

// Package recordwire is the record encoding of the connector protocol and the one
// implementation of it that both sides use: the plugin process encodes with Encoder
// (package connector's server and RecordWriter), the host checks and reads batches with
// Parse and Batch, or decodes them whole with Decoder (package protocol), and the engine
// hashes records in their canonical form (Canonicalizer). The mapping wire format
// (sdk/mapping/wire) lays out each record exactly as the body below, without the length
// and value count before it and without a problem, and shares this package's name
// table and string encoding.
//
// A batch of records travels as one protobuf bytes field (RecordBatch.records) instead
// of nested messages: protobuf spent more CPU on both sides of the plugin boundary (an
// allocation per string, per attribute and per record, UTF-8 checks, reflection) than
// the connector spent reading.
//
// # Format
//
// Integers are unsigned varints (encoding/binary's Uvarint); a string or a byte slice is
// its length followed by its bytes.
//
//	batch  = count, count × record
//	record = body length, text value count, body
//	body   = id, dn, kind (1 byte: 0 upsert, 1 delete, 2 invalid),
//	         [problem: a string, for kind invalid only],
//	         n, n × (name, m, m × string), n, n × (name, m, m × bytes)
//	name   = 0 and a string: a name new to the batch, numbered 0, 1, … as they appear
//	       | k > 0: the batch's name numbered k-1
//
// Within a record a name appears at most once among the text attributes and once among
// the binary ones. An invalid record carries no attributes (both counts are 0).
//
// Attribute names repeat from record to record, so each is sent once per batch, and the
// decoder keeps one string per name for a whole read. The length before each record lets
// the decoder copy the record's text into one string that all its values share (one
// allocation, and a record the engine keeps does not pin its whole batch); the value
// count lets it carve every value from one slice. Binary values are copied one by one.
// Unlike protobuf strings, values are not checked for valid UTF-8: they cross as the
// connector emitted them.
//
// The canonical form (see Canonicalizer) is a storage format: the engine stores hashes
// of it. testdata/vectors.json holds test vectors: batches as bytes, the records they
// decode to, and each record's canonical form; TestVectors pins both, so that neither
// format can change by accident.
package recordwire

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/peoplesync/peoplesync/sdk/internal/cursor"
)

// Kind is a record's change kind, as package connector's ChangeKind numbers them.
type Kind = uint8

// The change kinds.
const (
	Upsert  Kind = 0
	Delete  Kind = 1
	Invalid Kind = 2
)

// Record is a connector.Record as this package encodes it (package connector imports
// this one, so it cannot use that type); its fields mean what connector.Record's do.
type Record struct {
	ID         string
	DN         string
	Kind       Kind
	Problem    string
	Attributes map[string][]string
	Binary     map[string][][]byte
}

// MaxBatchBytes is about the size at which a plugin closes a batch; an Encoder drops
// buffers that grew far beyond it.
const MaxBatchBytes = 1 << 20

// ErrCorrupt is wrapped by every decoding error: the batch is not a valid encoding.
var ErrCorrupt = errors.New("corrupt record batch")

// maxNamesPerEncoder bounds the encoder's name table between batches: a connector that
// sends a new attribute name with every record must not grow it forever.
const maxNamesPerEncoder = 4096

// Encoder encodes records into batches. The zero value is ready to use; it reuses
// its buffers from batch to batch.
type Encoder struct {
	names Names  // the batch's names
	count int    // records in buf
	buf   []byte // the encoded records, without the batch's count
	body  []byte // scratch for one record's body

	// For addParts: a serial number per record, and by name number the serial of the
	// last record that used the name among its text or its binary attributes.
	serial             uint64
	textUse, binaryUse []uint64
}

// Add appends r to the batch.
func (e *Encoder) Add(r *Record) {
	var values int
	e.body, values = AppendBody(e.body[:0], &e.names, r)
	e.commit(e.body, values)
}

// AppendBody appends r's body (see the package doc) to dst, numbering its attribute
// names in names, and returns the extended buffer and r's number of text values.
func AppendBody(dst []byte, names *Names, r *Record) ([]byte, int) {
	b := AppendString(dst, r.ID)
	b = AppendString(b, r.DN)
	b = append(b, r.Kind)
	if r.Kind == Invalid {
		// An Invalid record is its problem: its attributes are not sent.
		b = AppendString(b, r.Problem)
		return append(b, 0, 0), 0
	}
	return AppendAttributes(b, names, r)
}

// AppendAttributes appends r's text and then binary attributes as a body holds them
// and returns the extended buffer and r's number of text values. The mapping wire
// format's records are an ID, a DN and a kind followed by exactly these bytes, whatever
// the kind (it has no problem field).
func AppendAttributes(b []byte, names *Names, r *Record) ([]byte, int) {
	values := 0
	b = binary.AppendUvarint(b, uint64(len(r.Attributes)))
	for name, vals := range r.Attributes {
		b, _ = names.Append(b, name)
		b = binary.AppendUvarint(b, uint64(len(vals)))
		for _, v := range vals {
			b = AppendString(b, v)
		}
		values += len(vals)
	}
	b = binary.AppendUvarint(b, uint64(len(r.Binary)))
	for name, vals := range r.Binary {
		b, _ = names.Append(b, name)
		b = binary.AppendUvarint(b, uint64(len(vals)))
		for _, v := range vals {
			b = AppendString(b, v)
		}
	}
	return b, values
}

// Part is one attribute of a record given to AddParts in parts.
type Part struct {
	Name   string
	Values [][]byte
	Binary bool
}

// ErrRepeatedName is wrapped by AddParts's error for a record that names an attribute
// twice.
var ErrRepeatedName = errors.New("attribute written twice")

// AddParts appends a record given in parts, text attributes first as the encoding
// wants. A name repeated within the text or within the binary attributes fails it, and
// the batch is left as it was.
func (e *Encoder) AddParts(id string, dn []byte, kind Kind, attrs []Part) error {
	namesBefore := e.names.Len()
	e.serial++
	nText, values := 0, 0
	for _, a := range attrs {
		if !a.Binary {
			nText++
			values += len(a.Values)
		}
	}
	b := AppendString(e.body[:0], id)
	b = AppendString(b, dn)
	b = append(b, byte(kind))
	b = binary.AppendUvarint(b, uint64(nText))
	var err error
	for _, a := range attrs {
		if a.Binary {
			continue
		}
		if b, err = e.appendNameOnce(b, a.Name, &e.textUse); err != nil {
			break
		}
		b = binary.AppendUvarint(b, uint64(len(a.Values)))
		for _, v := range a.Values {
			b = AppendString(b, v)
		}
	}
	if err == nil {
		b = binary.AppendUvarint(b, uint64(len(attrs)-nText))
		for _, a := range attrs {
			if !a.Binary {
				continue
			}
			if b, err = e.appendNameOnce(b, a.Name, &e.binaryUse); err != nil {
				err = fmt.Errorf("binary %w", err)
				break
			}
			b = binary.AppendUvarint(b, uint64(len(a.Values)))
			for _, v := range a.Values {
				b = AppendString(b, v)
			}
		}
	}
	e.body = b
	if err != nil {
		// Forget the names this record brought: the batch never carries them.
		e.names.forgetAfter(namesBefore)
		return err
	}
	e.commit(b, values)
	return nil
}

// appendNameOnce is Names.Append that fails for a name the record already used: use
// holds, by name number, the serial of the last record that used the name.
func (e *Encoder) appendNameOnce(dst []byte, name string, use *[]uint64) ([]byte, error) {
	dst, k := e.names.Append(dst, name)
	for uint64(len(*use)) < k {
		*use = append(*use, 0)
	}
	if (*use)[k-1] == e.serial {
		return dst, fmt.Errorf("%q: %w", name, ErrRepeatedName)
	}
	(*use)[k-1] = e.serial
	return dst, nil
}

// commit appends the record whose body is b (built in e.body) and which holds values
// text values.
func (e *Encoder) commit(b []byte, values int) {
	e.body = b
	e.buf = binary.AppendUvarint(e.buf, uint64(len(b)))
	e.buf = binary.AppendUvarint(e.buf, uint64(values))
	e.buf = append(e.buf, b...)
	e.count++
}

// Names numbers a batch's attribute names as an encoder defines and refers to them
// (see the package doc). The zero value is an empty table.
type Names struct {
	m map[string]uint64 // by name, its number + 1
}

// Append appends a reference to name, defining it if it is new to the batch, and returns
// the extended buffer and the name's number + 1.
func (n *Names) Append(dst []byte, name string) ([]byte, uint64) {
	if k, ok := n.m[name]; ok {
		return binary.AppendUvarint(dst, k), k
	}
	if n.m == nil {
		n.m = make(map[string]uint64)
	}
	k := uint64(len(n.m)) + 1
	n.m[name] = k
	return AppendString(append(dst, 0), name), k
}

// Len returns the number of names defined.
func (n *Names) Len() int { return len(n.m) }

// Reset empties the table for the next batch. A table that grew past
// maxNamesPerEncoder (a source that sends a new name with every record) is dropped
// rather than kept at that size.
func (n *Names) Reset() {
	if len(n.m) > maxNamesPerEncoder {
		n.m = nil
	} else {
		clear(n.m)
	}
}

// forgetAfter forgets the names defined after the first k.
func (n *Names) forgetAfter(k int) {
	for name, num := range n.m {
		if num > uint64(k) {
			delete(n.m, name)
		}
	}
}

// Len returns the number of records in the batch.
func (e *Encoder) Len() int { return e.count }

// Size returns the encoded size of the batch so far.
func (e *Encoder) Size() int { return len(e.buf) }

// Finish returns the encoded batch in a fresh slice, which the caller owns, and starts
// the next batch.
func (e *Encoder) Finish() []byte {
	out := make([]byte, 0, binary.MaxVarintLen64+len(e.buf))
	out = binary.AppendUvarint(out, uint64(e.count))
	out = append(out, e.buf...)
	e.count, e.buf = 0, e.buf[:0]
	// A huge record (a photo of many MiB) must not keep its buffers alive for the rest
	// of the read.
	if cap(e.buf) > 4*MaxBatchBytes {
		e.buf = nil
	}
	if cap(e.body) > MaxBatchBytes {
		e.body = nil
	}
	e.names.Reset()
	return out
}

// AppendString appends s, text or bytes, with its length before it.
func AppendString[S ~string | ~[]byte](dst []byte, s S) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// Decoder decodes batches into Records that share no memory with the batch. The
// zero value is ready to use; keep one per read, so that every record of the read shares
// one string per attribute name.
type Decoder struct {
	data     []byte
	off      int
	left     int               // records of the batch not decoded yet
	names    []string          // the batch's names, by number
	nextName int               // the number of the next name new to the batch
	interned map[string]string // every name seen in the read
}

// Reset starts decoding the batch data and returns its number of records.
func (d *Decoder) Reset(data []byte) (int, error) {
	d.data, d.off, d.left, d.names, d.nextName = data, 0, 0, d.names[:0], 0
	n, err := d.count("record count")
	if err != nil {
		return 0, err
	}
	d.left = n
	if d.left == 0 && d.off != len(d.data) {
		return 0, fmt.Errorf("%w: %d bytes after the last record", ErrCorrupt, len(d.data)-d.off)
	}
	return n, nil
}

// Next decodes the batch's next record.
func (d *Decoder) Next() (Record, error) {
	if d.left <= 0 {
		return Record{}, fmt.Errorf("%w: no more records", ErrCorrupt)
	}
	size, err := d.count("record length")
	if err != nil {
		return Record{}, err
	}
	nValues, err := d.count("value count")
	if err != nil {
		return Record{}, err
	}
	if size > len(d.data)-d.off || nValues > size {
		return Record{}, fmt.Errorf("%w: record of %d bytes at byte %d, %d left", ErrCorrupt, size, d.off, len(d.data)-d.off)
	}
	base := d.off
	body := d.data[base : base+size]
	r := newRecordReader(body, string(body), 0, base)
	rec, err := d.record(&r, nValues)
	if err != nil {
		return Record{}, err
	}
	if r.Off != len(body) {
		return Record{}, fmt.Errorf("%w: record at byte %d has %d bytes over", ErrCorrupt, base, len(body)-r.Off)
	}
	d.off += size
	d.left--
	if d.left == 0 && d.off != len(d.data) {
		return Record{}, fmt.Errorf("%w: %d bytes after the last record", ErrCorrupt, len(d.data)-d.off)
	}
	return rec, nil
}

// record decodes one record's body; its text values number nValues.
func (d *Decoder) record(r *recordReader, nValues int) (Record, error) {
	var rec Record
	rec.ID = r.Str("record id")
	rec.DN = r.Str("record dn")
	switch k := Kind(r.Byte("record kind")); k {
	case Upsert, Delete:
		rec.Kind = k
	case Invalid:
		rec.Kind = k
		rec.Problem = r.Str("record problem")
	default:
		r.Fail("record kind")
	}
	if n := r.Count("attribute count"); n == 0 && nValues != 0 {
		r.Fail("value count")
	} else if n > 0 {
		values := make([]string, nValues)
		rec.Attributes = make(map[string][]string, n)
		used := 0
		for range n {
			name := d.name(r)
			m := r.Count("value count")
			if r.Err != nil {
				return Record{}, r.Err
			}
			if m > nValues-used {
				r.Fail("value count")
				return Record{}, r.Err
			}
			vals := values[used : used+m : used+m]
			used += m
			for i := range vals {
				vals[i] = r.Str("attribute value")
			}
			rec.Attributes[name] = vals
		}
		if len(rec.Attributes) != n {
			r.Fail("attribute names (a name repeats)")
		}
		if used != nValues {
			r.Fail("value count")
		}
	}
	if n := r.Count("binary attribute count"); n > 0 {
		rec.Binary = make(map[string][][]byte, n)
		for range n {
			name := d.name(r)
			m := r.Count("binary value count")
			if r.Err != nil {
				return Record{}, r.Err
			}
			vals := make([][]byte, m)
			for i := range vals {
				vals[i] = copyBytes(r, "binary value")
			}
			rec.Binary[name] = vals
		}
		if len(rec.Binary) != n {
			r.Fail("binary attribute names (a name repeats)")
		}
	}
	if r.Err != nil {
		return Record{}, r.Err
	}
	return rec, nil
}

// name reads a name reference and returns the name, one string per name for the read.
func (d *Decoder) name(r *recordReader) string {
	k := d.nameNumber(r)
	if r.Err != nil {
		return ""
	}
	return d.names[k]
}

// nameNumber reads a name reference and returns the name's number in the batch. A name
// new to the batch gets the next number; decoding in order, the decoder also learns it.
// (A Batch decodes a record out of order with every name known already.)
func (d *Decoder) nameNumber(r *recordReader) int {
	ref := r.Uvarint("attribute name")
	if r.Err != nil {
		return 0
	}
	if ref == 0 {
		s, e := r.Span("attribute name")
		if r.Err != nil {
			return 0
		}
		k := d.nextName
		d.nextName++
		if k == len(d.names) {
			d.names = append(d.names, d.intern(r.Data[s:e]))
		}
		return k
	}
	if ref > uint64(d.nextName) {
		r.Fail("attribute name reference")
		return 0
	}
	return int(ref - 1)
}

// intern returns the read's one string for the name raw.
func (d *Decoder) intern(raw []byte) string {
	name, ok := d.interned[string(raw)]
	if !ok {
		if d.interned == nil {
			d.interned = make(map[string]string)
		}
		name = string(raw)
		d.interned[name] = name
	}
	return name
}

// count reads a count of items that each take at least one byte of the batch.
func (d *Decoder) count(what string) (int, error) {
	v, n := binary.Uvarint(d.data[d.off:])
	if n <= 0 || v > uint64(len(d.data)-d.off-n) {
		return 0, fmt.Errorf("%w: bad %s at byte %d", ErrCorrupt, what, d.off)
	}
	d.off += n
	return int(v), nil
}

// recordReader walks one record's body (see package cursor). Strings are substrings of
// the body's one copy.
type recordReader = cursor.Reader

// newRecordReader reads data from off, with text its string form ("" when only spans
// are read); base is data's offset in the batch, for error messages.
func newRecordReader(data []byte, text string, off, base int) recordReader {
	return recordReader{Data: data, Text: text, Off: off, Base: base, Corrupt: ErrCorrupt}
}

// copyBytes reads a byte value into a copy of its own, so that it does not pin the
// record's text and the consumer may change it.
func copyBytes(r *recordReader, what string) []byte {
	b := r.Bytes(what)
	if r.Err != nil {
		return nil
	}
	return append([]byte(nil), b...)
}

package connector

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/peoplesync/peoplesync/sdk/internal/cursor"
)

// This file is the record encoding of the Read stream. A batch of records travels as one
// protobuf bytes field (RecordBatch.records) instead of nested messages: protobuf spent
// more CPU on both sides of the plugin boundary (an allocation per string, per attribute
// and per record, UTF-8 checks, reflection) than the connector spent reading.
//
// Integers are unsigned varints (encoding/binary's Uvarint); a string or a byte slice is
// its length followed by its bytes.
//
//	batch  = count, count × record
//	record = body length, text value count, body
//	body   = id, dn, kind (1 byte), [problem: a string, for kind Invalid only],
//	         n, n × (name, m, m × string), n, n × (name, m, m × bytes)
//	name   = 0 and a string: a name new to the batch, numbered 0, 1, … as they appear
//	       | k > 0: the batch's name numbered k-1
//
// Attribute names repeat from record to record, so each is sent once per batch, and the
// decoder keeps one string per name for a whole read. The length before each record lets
// the decoder copy the record's text into one string that all its values share (one
// allocation, and a record the engine keeps does not pin its whole batch); the value
// count lets it carve every value from one slice. Binary values are copied one by one.
// Unlike protobuf strings, values are not checked for valid UTF-8: they cross as the
// connector emitted them.
//
// testdata/vectors.json holds test vectors: batches as bytes, the records they decode
// to, and each record's canonical form (see Canonicalizer); TestVectors pins both.

// errCorruptBatch is wrapped by every decoding error: the batch is not a valid encoding.
var errCorruptBatch = errors.New("corrupt record batch")

// maxNamesPerEncoder bounds the encoder's name table between batches: a connector that
// sends a new attribute name with every record must not grow it forever.
const maxNamesPerEncoder = 4096

// batchEncoder encodes records into batches. The zero value is ready to use; it reuses
// its buffers from batch to batch.
type batchEncoder struct {
	names map[string]uint64 // the batch's names, numbered from 1
	count int               // records in buf
	buf   []byte            // the encoded records, without the batch's count
	body  []byte            // scratch for one record's body

	// For addParts: a serial number per record, and by name number the serial of the
	// last record that used the name among its text or its binary attributes.
	serial             uint64
	textUse, binaryUse []uint64
}

// add appends r to the batch.
func (e *batchEncoder) add(r *Record) {
	if e.names == nil {
		e.names = make(map[string]uint64)
	}
	b := appendString(e.body[:0], r.ID)
	b = appendString(b, r.DN)
	b = append(b, byte(r.Kind))
	if r.Kind == Invalid {
		// An Invalid record is its problem: its attributes are not sent.
		b = appendString(b, r.Problem)
		b = append(b, 0, 0)
		e.commit(b, 0)
		return
	}
	values := 0
	b = binary.AppendUvarint(b, uint64(len(r.Attributes)))
	for name, vals := range r.Attributes {
		b = e.appendName(b, name)
		b = binary.AppendUvarint(b, uint64(len(vals)))
		for _, v := range vals {
			b = appendString(b, v)
		}
		values += len(vals)
	}
	b = binary.AppendUvarint(b, uint64(len(r.Binary)))
	for name, vals := range r.Binary {
		b = e.appendName(b, name)
		b = binary.AppendUvarint(b, uint64(len(vals)))
		for _, v := range vals {
			b = binary.AppendUvarint(b, uint64(len(v)))
			b = append(b, v...)
		}
	}
	e.commit(b, values)
}

// commit appends the record whose body is b (built in e.body) and which holds values
// text values.
func (e *batchEncoder) commit(b []byte, values int) {
	e.body = b
	e.buf = binary.AppendUvarint(e.buf, uint64(len(b)))
	e.buf = binary.AppendUvarint(e.buf, uint64(values))
	e.buf = append(e.buf, b...)
	e.count++
}

func (e *batchEncoder) appendName(dst []byte, name string) []byte {
	dst, _ = e.appendNameNumber(dst, name)
	return dst
}

// appendNameNumber appends a reference to name, defining it if it is new to the batch,
// and returns the name's number.
func (e *batchEncoder) appendNameNumber(dst []byte, name string) ([]byte, uint64) {
	if k, ok := e.names[name]; ok {
		return binary.AppendUvarint(dst, k), k
	}
	k := uint64(len(e.names)) + 1
	e.names[name] = k
	return appendString(append(dst, 0), name), k
}

// len returns the number of records in the batch.
func (e *batchEncoder) len() int { return e.count }

// size returns the encoded size of the batch so far.
func (e *batchEncoder) size() int { return len(e.buf) }

// finish returns the encoded batch in a fresh slice, which the caller owns, and starts
// the next batch.
func (e *batchEncoder) finish() []byte {
	out := make([]byte, 0, binary.MaxVarintLen64+len(e.buf))
	out = binary.AppendUvarint(out, uint64(e.count))
	out = append(out, e.buf...)
	e.count, e.buf = 0, e.buf[:0]
	// A huge record (a photo of many MiB) must not keep its buffers alive for the rest
	// of the read.
	if cap(e.buf) > 4*maxBatchBytes {
		e.buf = nil
	}
	if cap(e.body) > maxBatchBytes {
		e.body = nil
	}
	if len(e.names) > maxNamesPerEncoder {
		e.names = nil
	} else {
		clear(e.names)
	}
	return out
}

// appendString appends s, text or bytes, with its length before it.
func appendString[S ~string | ~[]byte](dst []byte, s S) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// batchDecoder decodes batches into Records that share no memory with the batch. The
// zero value is ready to use; keep one per read, so that every record of the read shares
// one string per attribute name.
type batchDecoder struct {
	data     []byte
	off      int
	left     int               // records of the batch not decoded yet
	names    []string          // the batch's names, by number
	nextName int               // the number of the next name new to the batch
	interned map[string]string // every name seen in the read
}

// reset starts decoding the batch data and returns its number of records.
func (d *batchDecoder) reset(data []byte) (int, error) {
	d.data, d.off, d.left, d.names, d.nextName = data, 0, 0, d.names[:0], 0
	n, err := d.count("record count")
	if err != nil {
		return 0, err
	}
	d.left = n
	if d.left == 0 && d.off != len(d.data) {
		return 0, fmt.Errorf("%w: %d bytes after the last record", errCorruptBatch, len(d.data)-d.off)
	}
	return n, nil
}

// next decodes the batch's next record.
func (d *batchDecoder) next() (Record, error) {
	if d.left <= 0 {
		return Record{}, fmt.Errorf("%w: no more records", errCorruptBatch)
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
		return Record{}, fmt.Errorf("%w: record of %d bytes at byte %d, %d left", errCorruptBatch, size, d.off, len(d.data)-d.off)
	}
	base := d.off
	body := d.data[base : base+size]
	r := newRecordReader(body, string(body), 0, base)
	rec, err := d.record(&r, nValues)
	if err != nil {
		return Record{}, err
	}
	if r.Off != len(body) {
		return Record{}, fmt.Errorf("%w: record at byte %d has %d bytes over", errCorruptBatch, base, len(body)-r.Off)
	}
	d.off += size
	d.left--
	if d.left == 0 && d.off != len(d.data) {
		return Record{}, fmt.Errorf("%w: %d bytes after the last record", errCorruptBatch, len(d.data)-d.off)
	}
	return rec, nil
}

// record decodes one record's body; its text values number nValues.
func (d *batchDecoder) record(r *recordReader, nValues int) (Record, error) {
	var rec Record
	rec.ID = r.Str("record id")
	rec.DN = r.Str("record dn")
	switch k := ChangeKind(r.Byte("record kind")); k {
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
func (d *batchDecoder) name(r *recordReader) string {
	k := d.nameNumber(r)
	if r.Err != nil {
		return ""
	}
	return d.names[k]
}

// nameNumber reads a name reference and returns the name's number in the batch. A name
// new to the batch gets the next number; decoding in order, the decoder also learns it.
// (A RawBatch decodes a record out of order with every name known already.)
func (d *batchDecoder) nameNumber(r *recordReader) int {
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
func (d *batchDecoder) intern(raw []byte) string {
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
func (d *batchDecoder) count(what string) (int, error) {
	v, n := binary.Uvarint(d.data[d.off:])
	if n <= 0 || v > uint64(len(d.data)-d.off-n) {
		return 0, fmt.Errorf("%w: bad %s at byte %d", errCorruptBatch, what, d.off)
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
	return recordReader{Data: data, Text: text, Off: off, Base: base, Corrupt: errCorruptBatch}
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

// Package wire is the binary encoding that carries records into a mapping module and
// results out of it, across the WASM boundary.
//
// It is plain Go without reflection or JSON so that it compiles into GOOS=wasip1 guests and
// costs little there: JSON in and out of a Go guest is several times slower than the
// mapping itself. Both sides append into buffers they reuse, and decoders copy the batch's
// text once into a single string, so that every decoded string is a cheap substring of it.
//
// # Format
//
// Integers are unsigned varints (encoding/binary's Uvarint); a string or a byte slice is its
// length followed by its bytes. A records batch is
//
//	count, then count × body
//
// where a body is a record exactly as the connector protocol lays it out (package
// sdk/internal/recordwire specifies it: id, dn, kind, the text attributes and the binary
// attributes, names defined once per batch and referred to by number after). The kind is
// upsert or delete: invalid records are never mapped. The host builds a module's batch
// from the connector's raw batch by copying bytes, without decoding records.
//
// A results batch starts with a status byte. StatusOK is followed by count and count ×
// result; StatusFailed by one string, the reason the whole batch failed.
//
//	result  = Mapped (1 byte) profile | Skipped reason | Failed message
//	profile = 14 × core string, manager, active (1 byte), n, n × (key, value),
//	          has-photo (1 byte) [content type, data], n, n × seeded name
//
// The ABI version (see package mapping) changes whenever this format does.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"

	"github.com/peoplesync/peoplesync/sdk/internal/cursor"
	"github.com/peoplesync/peoplesync/sdk/internal/recordwire"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

// ErrCorrupt is wrapped by every decoding error: the input is not a valid encoding.
var ErrCorrupt = errors.New("wire: corrupt encoding")

// Batch status bytes.
const (
	// StatusOK starts a results batch that holds one result per record.
	StatusOK byte = 0
	// StatusFailed starts a results batch that failed as a whole, with a reason.
	StatusFailed byte = 1
)

// Record is a connector.Record as the wire carries it. The package does not import
// sdk/connector, whose protocol code (go-plugin, gRPC) must stay out of WASM guests; the
// fields mean what connector.Record's do, and Kind holds a connector.ChangeKind.
type Record struct {
	ID         string
	DN         string
	Kind       uint8
	Attributes map[string][]string
	Binary     map[string][][]byte
}

// Outcome says what a mapping did with one record.
type Outcome uint8

// Outcomes of a mapping.
const (
	// Mapped: the result holds a profile.
	Mapped Outcome = iota
	// Skipped: the record is not for the profile store; the result holds the reason.
	Skipped
	// Failed: mapping the record failed; the result holds the message.
	Failed
)

// Result is what a mapping made of one record.
type Result struct {
	Outcome Outcome
	// Profile is set when Outcome is Mapped.
	Profile *profile.Profile
	// Message is the skip reason or the error message.
	Message string
}

// appendString appends s as a length-prefixed string.
func appendString(dst []byte, s string) []byte {
	if len(s) < 0x80 { // a one-byte length
		return append(append(dst, byte(len(s))), s...)
	}
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendBytes(dst []byte, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

func appendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, 1)
	}
	return append(dst, 0)
}

// AppendRecords appends the encoding of a records batch to dst and returns the extended
// buffer.
func AppendRecords(dst []byte, recs []Record) []byte {
	var e RecordEncoder
	dst = e.Begin(dst, len(recs))
	for i := range recs {
		dst = e.Append(dst, &recs[i])
	}
	return dst
}

// RecordEncoder encodes records batches, reusing its name table from batch to batch. The
// zero value is ready to use. A record is laid out as a body of the connector protocol's
// record encoding (package sdk/internal/recordwire, which this encoder uses), so that the
// two formats cannot drift apart.
type RecordEncoder struct {
	names recordwire.Names
}

// Begin starts a records batch of count records; append each with Append.
func (e *RecordEncoder) Begin(dst []byte, count int) []byte {
	e.names.Reset()
	return binary.AppendUvarint(dst, uint64(count))
}

// Append appends one record of the batch.
func (e *RecordEncoder) Append(dst []byte, r *Record) []byte {
	dst = recordwire.AppendString(dst, r.ID)
	dst = recordwire.AppendString(dst, r.DN)
	dst = append(dst, r.Kind)
	dst, _ = recordwire.AppendAttributes(dst, &e.names, &recordwire.Record{Attributes: r.Attributes, Binary: r.Binary})
	return dst
}

// AppendHead appends the start of a record given in parts: its ID, DN, kind and number
// of text attributes. AppendAttr then appends each text attribute, AppendCount the
// number of binary attributes, and AppendAttr each binary one. The result is what
// Append makes of the same record.
func (e *RecordEncoder) AppendHead(dst, id, dn []byte, kind uint8, textAttrs int) []byte {
	dst = recordwire.AppendString(dst, id)
	dst = recordwire.AppendString(dst, dn)
	dst = append(dst, kind)
	return binary.AppendUvarint(dst, uint64(textAttrs))
}

// AppendAttr appends one attribute of a record given in parts (see AppendHead).
func (e *RecordEncoder) AppendAttr(dst []byte, name string, values [][]byte) []byte {
	dst, _ = e.names.Append(dst, name)
	dst = binary.AppendUvarint(dst, uint64(len(values)))
	for _, v := range values {
		dst = recordwire.AppendString(dst, v)
	}
	return dst
}

// AppendCount appends the number of binary attributes of a record given in parts (see
// AppendHead).
func AppendCount(dst []byte, n int) []byte {
	return binary.AppendUvarint(dst, uint64(n))
}

// AppendResultsHeader starts a successful results batch of count results; append each
// with AppendResult.
func AppendResultsHeader(dst []byte, count int) []byte {
	dst = append(dst, StatusOK)
	return binary.AppendUvarint(dst, uint64(count))
}

// AppendBatchFailure appends a results batch that failed as a whole.
func AppendBatchFailure(dst []byte, reason string) []byte {
	dst = append(dst, StatusFailed)
	return appendString(dst, reason)
}

// AppendResults appends a complete successful results batch.
func AppendResults(dst []byte, res []Result) []byte {
	dst = AppendResultsHeader(dst, len(res))
	for i := range res {
		dst = AppendResult(dst, &res[i])
	}
	return dst
}

// AppendResult appends one result. A Mapped result with a nil profile is encoded as a
// failure, so that a decoder never yields a Mapped result without a profile.
func AppendResult(dst []byte, r *Result) []byte {
	switch {
	case r.Outcome == Mapped && r.Profile != nil:
		return appendProfile(append(dst, byte(Mapped)), r.Profile)
	case r.Outcome == Mapped:
		return appendString(append(dst, byte(Failed)), "mapping returned no profile")
	case r.Outcome == Skipped:
		return appendString(append(dst, byte(Skipped)), r.Message)
	default:
		return appendString(append(dst, byte(Failed)), r.Message)
	}
}

func appendProfile(dst []byte, p *profile.Profile) []byte {
	for _, v := range p.Core {
		dst = appendString(dst, v)
	}
	dst = appendString(dst, p.Manager)
	dst = appendBool(dst, p.Active)
	dst = binary.AppendUvarint(dst, uint64(len(p.Attributes)))
	for k, v := range p.Attributes {
		dst = appendString(dst, k)
		dst = appendString(dst, v)
	}
	dst = appendBool(dst, p.Photo != nil)
	if p.Photo != nil {
		dst = appendString(dst, p.Photo.ContentType)
		dst = appendBytes(dst, p.Photo.Data)
	}
	dst = binary.AppendUvarint(dst, uint64(len(p.Seeded)))
	for _, s := range p.Seeded {
		dst = appendString(dst, s)
	}
	return dst
}

// reader walks an encoding (see package cursor). Strings are substrings of a copy of
// the whole input made once per batch; bytes are sub-slices of the input itself.
type reader = cursor.Reader

// resetReader starts r on data; data that nobody changes ever after is aliased, not
// copied.
func resetReader(r *reader, data []byte, immutable bool) {
	text := ""
	if immutable && len(data) > 0 {
		text = unsafe.String(&data[0], len(data))
	} else {
		text = string(data)
	}
	*r = reader{Data: data, Text: text, Corrupt: ErrCorrupt}
}

// RecordDecoder decodes a records batch one record at a time, reusing the records it fills
// and its own scratch space. The zero value is ready to use.
type RecordDecoder struct {
	r     reader
	left  int
	names []string
	// strs and bins are scratch space for value slices; nStrs and nBins count what the
	// batch used, so that the next batch gets one chunk big enough.
	strs         []string
	bins         [][]byte
	nStrs, nBins int
	fill         mapFiller
}

// Reset starts decoding data and returns the number of records in it. It copies data's
// text once, so strings decoded from it stay valid forever; byte values alias data, so
// data must not change while they are in use.
func (d *RecordDecoder) Reset(data []byte) (int, error) {
	return d.reset(data, false)
}

// ResetImmutable is Reset for data that nobody changes ever after (a buffer allocated for
// this batch alone): decoded strings alias data instead of a copy of it.
func (d *RecordDecoder) ResetImmutable(data []byte) (int, error) {
	return d.reset(data, true)
}

func (d *RecordDecoder) reset(data []byte, immutable bool) (int, error) {
	resetReader(&d.r, data, immutable)
	d.left = d.r.Count("record count")
	d.names = d.names[:0]
	if cap(d.strs) < d.nStrs {
		d.strs = make([]string, 0, d.nStrs)
	}
	if cap(d.bins) < d.nBins {
		d.bins = make([][]byte, 0, d.nBins)
	}
	d.strs, d.bins = d.strs[:0], d.bins[:0]
	d.nStrs, d.nBins = 0, 0
	return d.left, d.r.Err
}

// Visitor receives one record's attributes from RecordDecoder.Visit. A name is the index
// of the attribute's name in the batch (see RecordDecoder.Name); value slices are valid
// until the decoder's next Reset.
type Visitor interface {
	Text(name int, values []string)
	Binary(name int, values [][]byte)
}

// Name returns the batch's attribute name numbered i, as passed to a Visitor.
func (d *RecordDecoder) Name(i int) string { return d.names[i] }

// Visit decodes the next record, hands its attributes to v and returns its header. It
// builds no maps: a guest resolves each name once per batch instead of once per record.
func (d *RecordDecoder) Visit(v Visitor) (id, dn string, kind uint8, err error) {
	r := &d.r
	if r.Err != nil {
		return "", "", 0, r.Err
	}
	if d.left <= 0 {
		return "", "", 0, fmt.Errorf("%w: no more records", ErrCorrupt)
	}
	d.left--
	var ok bool
	if id, ok = r.ShortStr(); !ok {
		id = r.Str("record id")
	}
	if dn, ok = r.ShortStr(); !ok {
		dn = r.Str("record dn")
	}
	kind = r.Byte("record kind")
	n := r.Count("attribute count")
	for range n {
		// A reference to a name seen before, inline; anything else in name.
		var name int
		if ref, ok := r.SmallUvarint(); ok && ref != 0 && ref <= uint64(len(d.names)) {
			name = int(ref - 1)
		} else {
			if ok {
				r.Off-- // unread the one byte
			}
			name = d.name()
		}
		m, ok := r.SmallUvarint()
		if !ok {
			m = uint64(r.Count("value count"))
		} else if int(m) > len(r.Data)-r.Off {
			r.Fail("value count")
		}
		if r.Err != nil {
			break
		}
		d.nStrs += int(m)
		if cap(d.strs)-len(d.strs) < int(m) {
			d.strs = make([]string, 0, max(int(m), 256))
		}
		start := len(d.strs)
		for range m {
			v, ok := r.ShortStr()
			if !ok {
				v = r.Str("attribute value")
			}
			d.strs = append(d.strs, v)
		}
		if r.Err != nil {
			break
		}
		v.Text(name, d.strs[start:len(d.strs):len(d.strs)])
	}
	n = r.Count("binary attribute count")
	for range n {
		name := d.name()
		m := r.Count("binary value count")
		if r.Err != nil {
			break
		}
		d.nBins += m
		if cap(d.bins)-len(d.bins) < m {
			d.bins = make([][]byte, 0, max(m, 16))
		}
		start := len(d.bins)
		for range m {
			d.bins = append(d.bins, r.Bytes("binary value"))
		}
		if r.Err != nil {
			break
		}
		v.Binary(name, d.bins[start:len(d.bins):len(d.bins)])
	}
	if r.Err == nil && d.left == 0 && r.Off != len(r.Data) {
		r.Err = fmt.Errorf("%w: %d bytes after the last record", ErrCorrupt, len(r.Data)-r.Off)
	}
	if r.Err != nil {
		return "", "", 0, r.Err
	}
	return id, dn, kind, nil
}

// name reads a name reference and returns the name's number in the batch.
func (d *RecordDecoder) name() int {
	r := &d.r
	ref := r.Uvarint("attribute name")
	if r.Err != nil {
		return 0
	}
	if ref == 0 {
		d.names = append(d.names, r.Str("attribute name"))
		return len(d.names) - 1
	}
	if ref > uint64(len(d.names)) {
		r.Fail("attribute name reference")
		return 0
	}
	return int(ref - 1)
}

// Next decodes the next record into rec, clearing and reusing its maps. The value slices
// it stores are carved from scratch space that the next Reset reuses: use DecodeRecords
// for records that must outlive the batch.
func (d *RecordDecoder) Next(rec *Record) error {
	if rec.Attributes == nil {
		rec.Attributes = make(map[string][]string)
	} else {
		clear(rec.Attributes)
	}
	if rec.Binary != nil {
		clear(rec.Binary)
	}
	d.fill = mapFiller{d: d, rec: rec}
	id, dn, kind, err := d.Visit(&d.fill)
	d.fill = mapFiller{}
	rec.ID, rec.DN, rec.Kind = id, dn, kind
	return err
}

// mapFiller is the Visitor behind Next.
type mapFiller struct {
	d   *RecordDecoder
	rec *Record
}

func (f *mapFiller) Text(name int, values []string) {
	f.rec.Attributes[f.d.names[name]] = values
}

func (f *mapFiller) Binary(name int, values [][]byte) {
	if f.rec.Binary == nil {
		f.rec.Binary = make(map[string][][]byte)
	}
	f.rec.Binary[f.d.names[name]] = values
}

// DecodeRecords decodes a whole records batch into fresh records that share no memory
// with data.
func DecodeRecords(data []byte) ([]Record, error) {
	var d RecordDecoder
	n, err := d.Reset(data)
	if err != nil {
		return nil, err
	}
	recs := make([]Record, n)
	for i := range recs {
		if err := d.Next(&recs[i]); err != nil {
			return nil, err
		}
		for name, vals := range recs[i].Binary {
			cp := make([][]byte, len(vals))
			for j, v := range vals {
				cp[j] = append([]byte(nil), v...)
			}
			recs[i].Binary[name] = cp
		}
	}
	return recs, nil
}

// ResultDecoder decodes a results batch one result at a time. Every profile it yields is
// freshly allocated and shares no memory with the input. The zero value is ready to use.
type ResultDecoder struct {
	r    reader
	left int
}

// Reset starts decoding data and returns the number of results in it. A batch that failed
// as a whole returns an error carrying its reason (a *BatchError).
func (d *ResultDecoder) Reset(data []byte) (int, error) {
	resetReader(&d.r, data, false)
	d.left = 0
	switch d.r.Byte("batch status") {
	case StatusOK:
		d.left = d.r.Count("result count")
	case StatusFailed:
		reason := d.r.Str("batch failure")
		if d.r.Err == nil {
			return 0, &BatchError{Reason: reason}
		}
	default:
		d.r.Fail("batch status")
	}
	return d.left, d.r.Err
}

// BatchError is a guest's report that it could not map a batch at all.
type BatchError struct {
	Reason string
}

func (e *BatchError) Error() string { return "mapping rejected the batch: " + e.Reason }

// Next decodes the next result into res.
func (d *ResultDecoder) Next(res *Result) error {
	r := &d.r
	if r.Err != nil {
		return r.Err
	}
	if d.left <= 0 {
		return fmt.Errorf("%w: no more results", ErrCorrupt)
	}
	d.left--
	*res = Result{Outcome: Outcome(r.Byte("result outcome"))}
	switch res.Outcome {
	case Mapped:
		res.Profile = d.profile()
	case Skipped, Failed:
		res.Message = r.Str("result message")
	default:
		r.Fail("result outcome")
	}
	if r.Err == nil && d.left == 0 && r.Off != len(r.Data) {
		r.Err = fmt.Errorf("%w: %d bytes after the last result", ErrCorrupt, len(r.Data)-r.Off)
	}
	if r.Err != nil {
		*res = Result{}
	}
	return r.Err
}

func (d *ResultDecoder) profile() *profile.Profile {
	r := &d.r
	p := new(profile.Profile)
	for i := range p.Core {
		p.Core[i] = r.Str("core field")
	}
	p.Manager = r.Str("manager")
	p.Active = r.Byte("active") != 0
	if n := r.Count("profile attribute count"); n > 0 {
		p.Attributes = make(map[string]string, n)
		for range n {
			k := r.Str("profile attribute key")
			p.Attributes[k] = r.Str("profile attribute value")
		}
	}
	if r.Byte("photo flag") != 0 {
		ct := r.Str("photo content type")
		data := r.Bytes("photo data")
		p.Photo = &profile.Photo{ContentType: ct, Data: append([]byte(nil), data...)}
	}
	if n := r.Count("seeded count"); n > 0 {
		p.Seeded = make([]string, n)
		for i := range p.Seeded {
			p.Seeded[i] = r.Str("seeded field")
		}
	}
	return p
}

// DecodeResults decodes a whole results batch.
func DecodeResults(data []byte) ([]Result, error) {
	var d ResultDecoder
	n, err := d.Reset(data)
	if err != nil {
		return nil, err
	}
	res := make([]Result, n)
	for i := range res {
		if err := d.Next(&res[i]); err != nil {
			return nil, err
		}
	}
	return res, nil
}

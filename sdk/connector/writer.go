package connector

import (
	"context"
	"fmt"

	"github.com/peoplesync/peoplesync/sdk/internal/recordwire"
)

// WriterReader is a Connector that can also read into a RecordWriter: it hands over
// each record's parts (ID, DN, attribute names and value bytes) instead of a Record. A
// connector that decodes a wire format (LDAP's BER) saves the strings and maps of a
// Record per person that the plugin server would only encode again: served as a plugin,
// the parts go straight into the batch on its way to the engine. Serve calls ReadTo
// when the connector has it; Read stays what every other caller uses, and a connector
// usually implements it as ReadTo with NewRecordWriter(emit).
type WriterReader interface {
	Connector
	// ReadTo is Read, writing each record to w instead of emitting it.
	ReadTo(ctx context.Context, req ReadRequest, w *RecordWriter) (ReadResult, error)
}

// ErrRepeatedName is wrapped by RecordWriter.End's error for a record that names an
// attribute twice. The writer is left as before the record: the connector may merge
// the values and write the record again.
var ErrRepeatedName = recordwire.ErrRepeatedName

// RecordWriter takes a read's records in parts: Begin, then the record's ID, DN and
// attributes in any order, then End. The byte slices given to it (and the slices that
// hold them) must stay unchanged until End returns; nothing of them is kept after.
// Within a record an attribute name may appear once among the text attributes and once
// among the binary ones. A RecordWriter is not safe for concurrent use.
type RecordWriter struct {
	emit EmitFunc // End emits a Record built from the parts, or
	b    *batcher // End encodes the parts into the batch being built

	kind    ChangeKind
	id      string
	dn      []byte
	problem string
	attrs   []recordwire.Part
}

// NewRecordWriter returns a RecordWriter that emits each record to emit.
func NewRecordWriter(emit EmitFunc) *RecordWriter {
	return &RecordWriter{emit: emit}
}

// Begin starts the next record, of the given kind.
func (w *RecordWriter) Begin(kind ChangeKind) {
	w.kind, w.id, w.dn, w.problem = kind, "", nil, ""
	clear(w.attrs) // drop the previous record's values
	w.attrs = w.attrs[:0]
}

// SetID sets the record's external ID.
func (w *RecordWriter) SetID(id string) { w.id = id }

// SetProblem says what is wrong with an Invalid record; its attributes are not sent.
func (w *RecordWriter) SetProblem(problem string) { w.problem = problem }

// SetDN sets the record's DN.
func (w *RecordWriter) SetDN(dn []byte) { w.dn = dn }

// Text adds a text attribute: values are its values, each UTF-8 text.
func (w *RecordWriter) Text(name string, values [][]byte) {
	w.attrs = append(w.attrs, recordwire.Part{Name: name, Values: values})
}

// Binary adds a binary attribute (a photo, a GUID).
func (w *RecordWriter) Binary(name string, values [][]byte) {
	w.attrs = append(w.attrs, recordwire.Part{Name: name, Values: values, Binary: true})
}

// End writes the record. It fails, writing nothing, when an attribute name repeats; an
// error from the consumer (the emit function, or sending a full batch) comes back too.
func (w *RecordWriter) End() error {
	if w.kind == Invalid {
		if w.b != nil {
			w.b.enc.Add(&recordwire.Record{ID: w.id, DN: string(w.dn), Kind: recordwire.Invalid, Problem: w.problem})
			return w.b.sendIfFull()
		}
		return w.emit(Record{ID: w.id, DN: string(w.dn), Kind: Invalid, Problem: w.problem})
	}
	if w.b != nil {
		if err := w.b.enc.AddParts(w.id, w.dn, uint8(w.kind), w.attrs); err != nil {
			return fmt.Errorf("record %q: %w", w.id, err)
		}
		return w.b.sendIfFull()
	}
	rec := Record{ID: w.id, DN: string(w.dn), Kind: w.kind}
	for _, a := range w.attrs {
		if a.Binary {
			if _, dup := rec.Binary[a.Name]; dup {
				return fmt.Errorf("record %q: binary %q: %w", w.id, a.Name, ErrRepeatedName)
			}
			if rec.Binary == nil {
				rec.Binary = make(map[string][][]byte)
			}
			vals := make([][]byte, len(a.Values))
			for i, v := range a.Values {
				vals[i] = append([]byte{}, v...)
			}
			rec.Binary[a.Name] = vals
			continue
		}
		if _, dup := rec.Attributes[a.Name]; dup {
			return fmt.Errorf("record %q: %q: %w", w.id, a.Name, ErrRepeatedName)
		}
		if rec.Attributes == nil {
			rec.Attributes = make(map[string][]string, len(w.attrs))
		}
		vals := make([]string, len(a.Values))
		for i, v := range a.Values {
			vals[i] = string(v)
		}
		rec.Attributes[a.Name] = vals
	}
	return w.emit(rec)
}

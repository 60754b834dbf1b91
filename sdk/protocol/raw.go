package protocol

import (
	"context"

	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/internal/recordwire"
)

// RawBatch is one batch of a read as it crossed the plugin boundary: checked, but not
// decoded. A host reads each record's ID, kind and canonical form (see Canonicalizer)
// from it and decodes only the records it needs with Record: a sync that finds most
// records unchanged since its last run spares itself building them. A RawBatch is safe
// for concurrent use; it holds the batch's bytes until the last reference to it goes.
type RawBatch struct {
	b *recordwire.Batch
}

// RawReader is a Connector that can hand over whole batches undecoded: the Connector
// that Dispense returns for a plugin process is one.
type RawReader interface {
	// ReadRaw is Read with one call of fn per batch instead of one emit per record. The
	// batches' records count towards ReadResult.Count as Read's do.
	ReadRaw(ctx context.Context, req connector.ReadRequest, fn func(*RawBatch) error) (connector.ReadResult, error)
}

// NewRawBatch encodes records into a RawBatch, as the plugin protocol would carry them:
// for consumers of raw batches to test with, and for in-process connectors.
func NewRawBatch(records []connector.Record) (*RawBatch, error) {
	wire := make([]recordwire.Record, len(records))
	for i := range records {
		wire[i] = toWire(&records[i])
	}
	b, err := recordwire.NewBatch(wire)
	if err != nil {
		return nil, err
	}
	return &RawBatch{b: b}, nil
}

// Len returns the number of records in the batch.
func (b *RawBatch) Len() int { return b.b.Len() }

// Size returns the number of bytes the batch holds.
func (b *RawBatch) Size() int { return b.b.Size() }

// ID returns the external ID of record i (a fresh string).
func (b *RawBatch) ID(i int) string { return b.b.ID(i) }

// DN returns the DN of record i (a fresh string).
func (b *RawBatch) DN(i int) string { return b.b.DN(i) }

// Kind returns the change kind of record i.
func (b *RawBatch) Kind(i int) connector.ChangeKind { return connector.ChangeKind(b.b.Kind(i)) }

// Problem returns what is wrong with record i if it is Invalid (a fresh string), else "".
func (b *RawBatch) Problem(i int) string { return b.b.Problem(i) }

// Record decodes record i into a Record that shares no memory with the batch.
func (b *RawBatch) Record(i int) (connector.Record, error) {
	r, err := b.b.Record(i)
	if err != nil {
		return connector.Record{}, err
	}
	return fromWire(&r), nil
}

// RecordVisitor is shown the parts of one record by RawBatch.Visit, in the order the
// batch holds them: Begin, Text for each text attribute, BeginBinary, Binary for each
// binary attribute. The byte slices alias the batch and the value slices are reused:
// both are valid only during the call. Begin's kind is a connector.ChangeKind.
type RecordVisitor interface {
	// Begin starts the record; text is its number of text attributes.
	Begin(id, dn []byte, kind uint8, text int)
	// Text is one text attribute.
	Text(name string, values [][]byte)
	// BeginBinary follows the text attributes; n is the number of binary ones.
	BeginBinary(n int)
	// Binary is one binary attribute.
	Binary(name string, values [][]byte)
}

// Visit shows record i to v part by part, without building a Record: a consumer that
// encodes records again (for a mapping module) copies bytes instead of decoding them.
func (b *RawBatch) Visit(i int, v RecordVisitor) error { return b.b.Visit(i, v) }

// Canonicalizer lays records out in one canonical form: the same bytes for the same
// record however its attributes were ordered, in a Record or in a RawBatch. A host hashes
// it to tell whether a record changed since it last saw it, so the form is a storage
// format: package recordwire specifies it and pins it with test vectors. The zero value
// is ready to use; a Canonicalizer is not safe for concurrent use.
type Canonicalizer struct {
	c recordwire.Canonicalizer
}

// AppendRecord appends r's canonical form to dst.
func (c *Canonicalizer) AppendRecord(dst []byte, r *connector.Record) []byte {
	w := toWire(r)
	return c.c.AppendRecord(dst, &w)
}

// AppendRaw appends the canonical form of record i of b to dst: the bytes AppendRecord
// appends for b.Record(i).
func (c *Canonicalizer) AppendRaw(dst []byte, b *RawBatch, i int) []byte {
	return c.c.AppendRaw(dst, b.b, i)
}

func toWire(r *connector.Record) recordwire.Record {
	return recordwire.Record{ID: r.ID, DN: r.DN, Kind: uint8(r.Kind), Problem: r.Problem, Attributes: r.Attributes, Binary: r.Binary}
}

func fromWire(r *recordwire.Record) connector.Record {
	return connector.Record{ID: r.ID, DN: r.DN, Kind: connector.ChangeKind(r.Kind), Problem: r.Problem, Attributes: r.Attributes, Binary: r.Binary}
}

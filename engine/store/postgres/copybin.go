package postgres

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// copyBuffer builds the rows of a COPY in PostgreSQL's binary format, typed by the
// caller column by column. pgx's CopyFrom boxes every value in an interface and finds
// its encoder by reflection, which cost the initial sync more CPU than building the
// rows: here a value is appended as it is.
//
// The format: a signature, flags and an empty header extension; then per row its field
// count and each field as its length (-1 for NULL) and bytes; then -1 as the trailer.
type copyBuffer struct {
	buf  []byte
	rows int
}

// copySignature starts every binary COPY: the signature, flags 0, no header extension.
const copySignature = "PGCOPY\n\xff\r\n\x00" + "\x00\x00\x00\x00" + "\x00\x00\x00\x00"

// oidText is the type OID of text, the element type of the text[] columns.
const oidText = 25

// row starts a row of n fields.
func (c *copyBuffer) row(n int) {
	if c.buf == nil {
		c.buf = append(c.buf, copySignature...)
	}
	c.buf = binary.BigEndian.AppendUint16(c.buf, uint16(n))
	c.rows++
}

// text appends a text field, made storable (see clean).
func (c *copyBuffer) text(s string) {
	s = clean(s)
	c.buf = binary.BigEndian.AppendUint32(c.buf, uint32(len(s)))
	c.buf = append(c.buf, s...)
}

// bytea appends a bytea field; nil is NULL.
func (c *copyBuffer) bytea(b []byte) {
	if b == nil {
		c.null()
		return
	}
	c.buf = binary.BigEndian.AppendUint32(c.buf, uint32(len(b)))
	c.buf = append(c.buf, b...)
}

// uuid appends a uuid field.
func (c *copyBuffer) uuid(id [16]byte) {
	c.buf = binary.BigEndian.AppendUint32(c.buf, 16)
	c.buf = append(c.buf, id[:]...)
}

// uuidOrNull appends a uuid field, NULL unless ok.
func (c *copyBuffer) uuidOrNull(id [16]byte, ok bool) {
	if !ok {
		c.null()
		return
	}
	c.uuid(id)
}

// boolean appends a boolean field.
func (c *copyBuffer) boolean(v bool) {
	c.buf = binary.BigEndian.AppendUint32(c.buf, 1)
	if v {
		c.buf = append(c.buf, 1)
	} else {
		c.buf = append(c.buf, 0)
	}
}

// jsonb appends a jsonb field from its JSON text: format version 1, then the text.
func (c *copyBuffer) jsonb(doc []byte) {
	c.buf = binary.BigEndian.AppendUint32(c.buf, uint32(len(doc)+1))
	c.buf = append(c.buf, 1)
	c.buf = append(c.buf, doc...)
}

// textArray appends a one-dimensional text[] field without NULLs, each element made
// storable: dimensions, a no-NULLs flag, the element type, each dimension's size and
// lower bound (1), then the elements as fields.
func (c *copyBuffer) textArray(elems []string) {
	at := len(c.buf)
	c.buf = append(c.buf, 0, 0, 0, 0) // the field's length, set below
	if len(elems) == 0 {
		c.buf = binary.BigEndian.AppendUint32(c.buf, 0) // no dimensions
		c.buf = binary.BigEndian.AppendUint32(c.buf, 0)
		c.buf = binary.BigEndian.AppendUint32(c.buf, oidText)
	} else {
		c.buf = binary.BigEndian.AppendUint32(c.buf, 1)
		c.buf = binary.BigEndian.AppendUint32(c.buf, 0)
		c.buf = binary.BigEndian.AppendUint32(c.buf, oidText)
		c.buf = binary.BigEndian.AppendUint32(c.buf, uint32(len(elems)))
		c.buf = binary.BigEndian.AppendUint32(c.buf, 1)
		for _, e := range elems {
			c.text(e)
		}
	}
	binary.BigEndian.PutUint32(c.buf[at:], uint32(len(c.buf)-at-4))
}

// null appends a NULL field.
func (c *copyBuffer) null() {
	c.buf = binary.BigEndian.AppendUint32(c.buf, 0xffffffff)
}

// copyInto sends the rows to table's columns in tx, and returns how many were copied.
func (c *copyBuffer) copyInto(ctx context.Context, tx pgx.Tx, table string, columns []string) (int64, error) {
	if c.rows == 0 {
		return 0, nil
	}
	cols := make([]string, len(columns))
	for i, col := range columns {
		cols[i] = pgx.Identifier{col}.Sanitize()
	}
	sql := fmt.Sprintf("COPY %s (%s) FROM STDIN (FORMAT binary)", pgx.Identifier{table}.Sanitize(), strings.Join(cols, ", "))
	data := binary.BigEndian.AppendUint16(c.buf, 0xffff) // the trailer
	tag, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(data), sql)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

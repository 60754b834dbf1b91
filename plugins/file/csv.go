package file

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// readCSV streams the rows of a CSV export (RFC 4180, with a header row) to b. Empty
// cells are absent attributes; binary columns hold base64.
//
// A row with a quote error or the wrong number of fields is Invalid without an ID: a
// stray quote can swallow the rows after it, and a missing or extra comma shifts every
// column after it, so nothing in the row can be trusted to be whose it looks like. A
// quoted field still open at the end of the file is a cut-off file, and fails the read.
func readCSV(r io.Reader, b *builder) error {
	c := &csvReader{lr: newLineReader(r, b.cfg.path)}
	ok, err := c.read()
	if err != nil || !ok {
		return err // a file without a header has no people; the engine's guards judge that
	}
	if c.quoteErr != "" {
		return b.lineErr(c.quoteLine, "header: %s", c.quoteErr)
	}
	names := make([]attr, len(c.ends))
	seen := make(map[string]int, len(c.ends))
	idCol := -1
	for i := range c.ends {
		h := strings.TrimSpace(string(c.field(i)))
		switch {
		case h == "":
			return b.lineErr(c.start, "column %d of the header has no name", i+1)
		case badText(h) != "":
			return b.lineErr(c.start, "column %d of the header: its name %s", i+1, badText(h))
		}
		if prev, dup := seen[strings.ToLower(h)]; dup {
			return b.lineErr(c.start, "columns %d and %d are both named %s", prev+1, i+1, h)
		}
		seen[strings.ToLower(h)] = i
		names[i] = b.newAttr(h)
		if names[i].kind&kindID != 0 {
			idCol = i
		}
	}
	if idCol < 0 {
		return b.lineErr(c.start, "the header has no column %s, the ID attribute", b.cfg.idAttr)
	}
	sep := b.cfg.separator
	for {
		ok, err := c.read()
		if err != nil || !ok {
			return err
		}
		line := c.start
		b.begin(line)
		switch {
		case c.quoteErr != "":
			b.failUnclear(c.quoteLine, "%s (a quote error can swallow the rows after it)", c.quoteErr)
		case len(c.ends) != len(names):
			b.failUnclear(line, "the row has %d fields and the header %d, so its columns may be shifted", len(c.ends), len(names))
		case b.collect:
			c.cell(b, line, names[idCol], string(c.field(idCol)), sep, true)
		default:
			row := string(c.buf) // one allocation for the row's values
			from := 0
			for i, to := range c.ends {
				c.cell(b, line, names[i], row[from:to], sep, i == idCol)
				from = to
			}
		}
		if err := b.end(); err != nil {
			return err
		}
	}
}

// cell adds the values of one cell. An empty ID cell is an empty ID, not a missing one.
func (c *csvReader) cell(b *builder, line int, a attr, cell, sep string, isID bool) {
	values := [1]string{cell}
	vs := values[:]
	if sep != "" {
		vs = splitValues(cell, sep)
	}
	if isID && (len(vs) == 0 || len(vs) == 1 && vs[0] == "") {
		b.text(line, a, "")
		return
	}
	for _, v := range vs {
		switch {
		case v == "":
		case a.kind&kindBinary != 0:
			b.base64(line, a, v)
		default:
			b.text(line, a, v)
		}
	}
}

// splitValues splits a multi-valued cell, trimming each value and dropping empty ones.
func splitValues(cell, sep string) []string {
	parts := strings.Split(cell, sep)
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// csvReader splits a CSV file into records of fields. It reads lines through a
// lineReader, so a CSV file has the same line rules as the other formats.
type csvReader struct {
	lr        *lineReader
	buf       []byte // the current record's fields, unquoted, end to end
	ends      []int  // where each field ends in buf
	start     int    // the line where the current record starts
	quoteErr  string // a quote error in the current record, "" if none
	quoteLine int    // the line of quoteErr
}

func (c *csvReader) field(i int) []byte {
	from := 0
	if i > 0 {
		from = c.ends[i-1]
	}
	return c.buf[from:c.ends[i]]
}

// read reads the next record, skipping empty lines. It returns false at the end of the
// file, and an error for a file problem. A quote error ends the record at the end of its
// line, and sets quoteErr.
func (c *csvReader) read() (bool, error) {
	var line []byte
	for len(line) == 0 {
		l, ok := c.lr.next()
		if !ok {
			return false, c.lr.err
		}
		line = l
	}
	c.start = c.lr.n
	c.buf, c.ends, c.quoteErr = c.buf[:0], c.ends[:0], ""
	pos := 0
	for {
		if pos < len(line) && line[pos] == '"' {
			openLine, openCol := c.lr.n, pos+1
			pos++
			for {
				i := bytes.IndexByte(line[pos:], '"')
				if i < 0 { // the field goes on on the next line
					c.buf = append(c.buf, line[pos:]...)
					c.buf = append(c.buf, '\n')
					if len(c.buf) > maxLine {
						return false, &LineError{Path: c.lr.path, Line: c.start, Err: fmt.Errorf("record longer than %d MiB", maxLine>>20)}
					}
					l, ok := c.lr.next()
					if !ok {
						if c.lr.err != nil {
							return false, c.lr.err
						}
						return false, &LineError{Path: c.lr.path, Line: openLine, Err: fmt.Errorf(
							"the quoted field that starts in column %d is not closed by the end of the file: the file looks cut off (or a quote is missing), so the read is incomplete", openCol)}
					}
					line, pos = l, 0
					continue
				}
				c.buf = append(c.buf, line[pos:pos+i]...)
				pos += i + 1
				if pos < len(line) && line[pos] == '"' { // "" is a quote
					c.buf = append(c.buf, '"')
					pos++
					continue
				}
				break
			}
			c.ends = append(c.ends, len(c.buf))
			switch {
			case pos == len(line):
				return true, nil
			case line[pos] == ',':
				pos++
				continue
			}
			c.quote(pos+1, `extraneous " after a quoted field (write a quote inside a quoted field as "")`)
			return true, nil
		}
		field := line[pos:]
		i := bytes.IndexByte(field, ',')
		if i >= 0 {
			field = field[:i]
		}
		if j := bytes.IndexByte(field, '"'); j >= 0 {
			c.quote(pos+j+1, `bare " in a field that is not quoted`)
			return true, nil
		}
		c.buf = append(c.buf, field...)
		c.ends = append(c.ends, len(c.buf))
		if i < 0 {
			return true, nil
		}
		pos += i + 1
	}
}

func (c *csvReader) quote(col int, what string) {
	c.quoteLine = c.lr.n
	if c.lr.n != c.start {
		c.quoteErr = fmt.Sprintf("column %d (in the row that starts at line %d): %s", col, c.start, what)
	} else {
		c.quoteErr = fmt.Sprintf("column %d: %s", col, what)
	}
}

package file

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/peoplesync/peoplesync/sdk/connector"
)

// maxLine bounds one physical line (a JSON Lines record with a photo is one line).
const maxLine = 64 << 20

var bom = []byte{0xEF, 0xBB, 0xBF}

// newScanner returns a line scanner over r that tolerates long lines.
func newScanner(r io.Reader) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	return sc
}

// scanErr describes a scanner's failure after line n.
func (b *builder) scanErr(err error, n int) error {
	if errors.Is(err, bufio.ErrTooLong) {
		return b.lineErr(n+1, "line longer than %d MiB", maxLine>>20)
	}
	return fmt.Errorf("reading %s: %w", b.cfg.path, err)
}

// ldifReader parses LDIF content records (RFC 2849) one entry at a time.
type ldifReader struct {
	b     *builder
	emit  func(connector.Record) error
	rec   connector.Record
	start int  // line of the current entry's dn:, 0 between entries
	first bool // no logical line seen yet (version: may come)
}

// readLDIF streams the entries of an LDIF export to emit.
func readLDIF(r io.Reader, b *builder, emit func(connector.Record) error) error {
	p := &ldifReader{b: b, emit: emit, first: true}
	sc := newScanner(r)
	var (
		cur       []byte // the logical line being unfolded
		curLine   int
		inComment bool
		n         int
	)
	for sc.Scan() {
		n++
		line := sc.Bytes()
		if n == 1 {
			line = bytes.TrimPrefix(line, bom)
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) > 0 && line[0] == ' ' { // a folded continuation
			switch {
			case inComment:
			case curLine == 0:
				return b.lineErr(n, "continuation line (it starts with a space) without a line to continue")
			default:
				cur = append(cur, line[1:]...)
			}
			continue
		}
		if curLine != 0 {
			if err := p.line(cur, curLine); err != nil {
				return err
			}
			curLine = 0
		}
		inComment = false
		switch {
		case len(line) == 0:
			if err := p.end(); err != nil {
				return err
			}
		case line[0] == '#':
			inComment = true
		default:
			cur = append(cur[:0], line...)
			curLine = n
		}
	}
	if err := sc.Err(); err != nil {
		return b.scanErr(err, n)
	}
	if curLine != 0 {
		if err := p.line(cur, curLine); err != nil {
			return err
		}
	}
	return p.end()
}

// line handles one unfolded "name: value", "name:: base64" or "name:< url" line.
func (p *ldifReader) line(text []byte, n int) error {
	colon := bytes.IndexByte(text, ':')
	if colon <= 0 {
		return p.b.lineErr(n, "expected \"attribute: value\", found %q", truncate(text))
	}
	name := text[:colon]
	if bytes.ContainsAny(name, " \t") {
		return p.b.lineErr(n, "invalid attribute name %q", truncate(name))
	}
	rest := text[colon+1:]
	kind := byte(0)
	if len(rest) > 0 && (rest[0] == ':' || rest[0] == '<') {
		kind, rest = rest[0], rest[1:]
	}
	value := string(bytes.TrimLeft(rest, " "))

	first := p.first
	p.first = false
	if p.start == 0 {
		switch {
		case first && strings.EqualFold(string(name), "version"):
			if value != "1" {
				return p.b.lineErr(n, "unsupported LDIF version %q, want 1", value)
			}
			return nil
		case !strings.EqualFold(string(name), "dn"):
			return p.b.lineErr(n, "an entry must start with a dn: line, found %q", truncate(name))
		}
		dn, err := p.decode(kind, value, n, "dn")
		if err != nil {
			return err
		}
		p.rec = newRecord()
		p.rec.DN = dn
		p.start = n
		return nil
	}
	switch strings.ToLower(string(name)) {
	case "dn":
		return p.b.lineErr(n, "second dn: line in the entry that starts at line %d (is a blank line missing?)", p.start)
	case "changetype", "control":
		return p.b.lineErr(n, "%s: LDIF change records are not supported; export the directory's entries as content records", name)
	}
	attr := p.b.intern(name)
	switch kind {
	case ':':
		return p.b.addBase64(&p.rec, n, attr, value)
	case '<':
		return p.b.lineErr(n, "attribute %s: values given by URL (%q) are not supported", attr, value)
	default:
		return p.b.addText(&p.rec, n, attr, value)
	}
}

// decode returns a dn's value as text.
func (p *ldifReader) decode(kind byte, value string, n int, name string) (string, error) {
	switch kind {
	case ':':
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(value))
		if err != nil {
			return "", p.b.lineErr(n, "%s: invalid base64: %w", name, err)
		}
		return string(raw), nil
	case '<':
		return "", p.b.lineErr(n, "%s: values given by URL are not supported", name)
	}
	return value, nil
}

// end closes the current entry, if any, and emits it.
func (p *ldifReader) end() error {
	if p.start == 0 {
		return nil
	}
	start := p.start
	p.start = 0
	if err := p.b.finish(&p.rec, start); err != nil {
		return err
	}
	return p.emit(p.rec)
}

// truncate shortens text quoted in an error.
func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

package file

import (
	"bytes"
	"encoding/base64"
	"io"
	"strings"
)

// ldifReader parses LDIF content records (RFC 2849) one entry at a time. An entry is the
// lines between blank lines, so a bad line leaves the entries around it readable: it
// makes its own entry Invalid.
type ldifReader struct {
	b     *builder
	first bool // no logical line seen yet (version: may come)
	hasDN bool // the current entry started with its dn: line
	skip  bool // the rest of the current entry is not attributes (a change record, a merged entry)
}

// readLDIF streams the entries of an LDIF export to b.
func readLDIF(r io.Reader, b *builder) error {
	p := &ldifReader{b: b, first: true}
	lr := newLineReader(r, b.cfg.path)
	var (
		cur       []byte // the logical line being unfolded
		curLine   int
		inComment bool
	)
	for {
		line, ok := lr.next()
		if !ok {
			break
		}
		n := lr.n
		if len(line) > 0 && line[0] == ' ' { // a folded continuation
			switch {
			case inComment:
			case curLine == 0:
				p.first = false
				if b.start == 0 {
					b.begin(n)
				}
				b.failUnclear(n, "continuation line (it starts with a space) without a line to continue (is there a blank line inside a folded value?)")
				p.skip = true
			default:
				if len(cur)+len(line) > maxLine {
					return b.lineErr(curLine, "folded line longer than %d MiB", maxLine>>20)
				}
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
			if err := b.end(); err != nil {
				return err
			}
			p.hasDN, p.skip = false, false
		case line[0] == '#':
			inComment = true
		default:
			cur = append(cur[:0], line...)
			curLine = n
		}
	}
	if lr.err != nil {
		return lr.err
	}
	if curLine != 0 {
		if err := p.line(cur, curLine); err != nil {
			return err
		}
	}
	return b.end()
}

// line handles one unfolded "name: value", "name:: base64" or "name:< url" line. Only a
// bad version: line is an error; every other problem is the entry's.
func (p *ldifReader) line(text []byte, n int) error {
	b := p.b
	colon := bytes.IndexByte(text, ':')
	var name, rest []byte
	if colon > 0 {
		name, rest = text[:colon], text[colon+1:]
	}
	kind := byte(0)
	if len(rest) > 0 && (rest[0] == ':' || rest[0] == '<') {
		kind, rest = rest[0], rest[1:]
	}
	value := bytes.TrimLeft(rest, " ")

	first := p.first
	p.first = false
	if b.start == 0 {
		if first && bytes.EqualFold(name, []byte("version")) {
			if kind != 0 || string(value) != "1" {
				return b.lineErr(n, "unsupported LDIF version %s, want 1", truncateQuote(value))
			}
			return nil
		}
		b.begin(n)
		if bytes.EqualFold(name, []byte("dn")) {
			p.hasDN = true
			p.dn(kind, value, n)
			return nil
		}
		b.fail(n, "an entry must start with a dn: line, found %s", truncateQuote(text))
	}
	if p.skip {
		return nil
	}
	if colon <= 0 {
		if hasFoldPrefix(text, b.cfg.idAttr) {
			b.failUnclear(n, "expected \"attribute: value\", found %s", truncateQuote(text))
		} else {
			b.fail(n, "expected \"attribute: value\", found %s", truncateQuote(text))
		}
		return nil
	}
	switch {
	case bytes.EqualFold(name, []byte("dn")):
		// Two entries without the blank line between them: which ID is whose?
		b.failUnclear(n, "second dn: line in the entry that starts at line %d (is a blank line missing?)", b.start)
		p.skip = true
		return nil
	case bytes.EqualFold(name, []byte("changetype")), bytes.EqualFold(name, []byte("control")):
		b.failUnclear(n, "%s: LDIF change records are not supported; export the directory's entries as content records", name)
		p.skip = true
		return nil
	}
	if b.collect && !bytes.EqualFold(name, []byte(b.cfg.idAttr)) {
		return nil // the first pass looks at nothing but the ID
	}
	attr := b.attr(name)
	if attr.kind&kindBadName != 0 || bytes.ContainsAny(name, " \t") {
		if hasFoldPrefix(name, b.cfg.idAttr) {
			b.failUnclear(n, "invalid attribute name %s", truncateQuote(name))
		} else {
			b.fail(n, "invalid attribute name %s", truncateQuote(name))
		}
		return nil
	}
	switch kind {
	case ':':
		b.base64(n, attr, string(value))
	case '<':
		b.badValue(n, attr, "is given by URL (%s), which is not supported", truncateQuote(value))
	default:
		b.text(n, attr, string(value))
	}
	return nil
}

// dn reads the entry's dn: line.
func (p *ldifReader) dn(kind byte, value []byte, n int) {
	b := p.b
	if b.collect {
		return
	}
	dn := string(value)
	switch kind {
	case ':':
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(dn))
		if err != nil {
			b.dnBroken = true
			b.fail(n, "dn holds invalid base64: %v", err)
			return
		}
		dn = string(raw)
	case '<':
		b.dnBroken = true
		b.fail(n, "dn is given by URL (%s), which is not supported", truncateQuote(value))
		return
	}
	if what := badText(dn); what != "" {
		b.dnBroken = true
		b.fail(n, "dn %s", what)
		return
	}
	b.rec.DN = dn
}

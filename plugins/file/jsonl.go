package file

import (
	"bytes"
	"io"
	"unicode/utf16"
	"unicode/utf8"
)

// readJSONL streams a JSON Lines export, one object per line, to b. Values are strings,
// numbers (kept as written), booleans or arrays of those; null is an absent attribute;
// binary attributes hold base64 strings.
//
// A line is its own record, so a bad line never hides another. A line that is not valid
// JSON is Invalid without an ID (what looks like its ID might not be); a valid object
// with a bad value (a nested object, bytes that are not UTF-8, "\u0000") is Invalid
// with its ID.
//
// The parser is this package's own, not encoding/json: that replaces bytes that are not
// UTF-8 and lone surrogate escapes with U+FFFD without a word, lets the last of two equal
// keys win, and builds a map of every line, where the first pass only needs the ID.
func readJSONL(r io.Reader, b *builder) error {
	lr := newLineReader(r, b.cfg.path)
	p := &jsonLine{b: b, keys: make(map[string]struct{})}
	for {
		line, ok := lr.next()
		if !ok {
			return lr.err
		}
		if len(trimJSONSpace(line)) == 0 {
			continue
		}
		b.begin(lr.n)
		p.object(line, lr.n)
		if err := b.end(); err != nil {
			return err
		}
	}
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func trimJSONSpace(s []byte) []byte {
	for len(s) > 0 && isJSONSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isJSONSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// jsonLine parses one line as a flat JSON object (RFC 8259) and hands its members to b.
type jsonLine struct {
	b     *builder
	s     []byte
	pos   int
	n     int                 // the line
	keys  map[string]struct{} // the keys of the object so far (second pass)
	key   []byte              // the decoded key
	val   []byte              // the decoded string value
	stack []byte              // closing brackets while skipping a nested value
}

// object parses line as the current record.
func (p *jsonLine) object(line []byte, n int) {
	p.s, p.pos, p.n = line, 0, n
	if !p.b.collect {
		clear(p.keys)
	}
	if what := p.parseObject(); what != "" {
		p.b.failUnclear(n, "the line is not a valid JSON object: %s at column %d", what, p.pos+1)
	}
}

func (p *jsonLine) parseObject() string {
	p.ws()
	if !p.eat('{') {
		return "want {"
	}
	p.ws()
	if !p.eat('}') {
		for {
			if p.peek() != '"' {
				return "want a key (a string)"
			}
			if what, surrogate := p.str(&p.key); what != "" {
				return what
			} else if what := p.member(surrogate); what != "" {
				return what
			}
			p.ws()
			if p.eat('}') {
				break
			}
			if !p.eat(',') {
				return "want , or }"
			}
			p.ws()
		}
	}
	p.ws()
	if p.pos != len(p.s) {
		return "text after the object (one object per line)"
	}
	return ""
}

// member reads ": value" after the key in p.key.
func (p *jsonLine) member(surrogate bool) string {
	b := p.b
	var name attr
	skip := false
	switch {
	case b.collect && !bytes.EqualFold(p.key, []byte(b.cfg.idAttr)):
		skip = true // the first pass looks at nothing but the ID
	default:
		name = b.attr(p.key)
		if surrogate || name.kind&kindBadName != 0 {
			b.fail(p.n, "key %s is not a valid attribute name (it is empty or not UTF-8 text)", truncateQuote(p.key))
			skip = true
		} else if !b.collect {
			if _, dup := p.keys[name.name]; dup {
				b.fail(p.n, "key %s appears twice in the object", quoteName(name.name))
			}
			p.keys[name.name] = struct{}{}
		}
	}
	p.ws()
	if !p.eat(':') {
		return "want : after the key"
	}
	p.ws()
	if p.peek() != '[' {
		return p.element(name, skip)
	}
	p.pos++
	p.ws()
	if p.eat(']') {
		return ""
	}
	for {
		if what := p.element(name, skip); what != "" {
			return what
		}
		p.ws()
		if p.eat(']') {
			return ""
		}
		if !p.eat(',') {
			return "want , or ] in an array"
		}
		p.ws()
	}
}

// element reads one value of attribute name: a scalar, or a nested array or object,
// which the record cannot hold (a problem of the record, not of the line's syntax).
func (p *jsonLine) element(name attr, skip bool) string {
	b := p.b
	start := p.pos
	switch c := p.peek(); c {
	case '"':
		what, surrogate := p.str(&p.val)
		switch {
		case what != "":
			return what
		case skip:
		case surrogate:
			b.badValue(p.n, name, "holds a \\u escape of half a UTF-16 surrogate pair, which is not text")
		case name.kind&kindBinary != 0:
			b.base64(p.n, name, string(p.val))
		default:
			b.text(p.n, name, string(p.val))
		}
		return ""
	case '{', '[':
		if what := p.skipNested(); what != "" {
			return what
		}
		if !skip {
			b.badValue(p.n, name, "holds a nested array or object; values must be strings, numbers, booleans or arrays of those")
		}
		return ""
	case 'n':
		if !p.literal("null") {
			return "invalid literal"
		}
		return ""
	case 't', 'f':
		if !p.literal("true") && !p.literal("false") {
			return "invalid literal"
		}
	default:
		if !p.number() {
			return "want a value"
		}
	}
	switch {
	case skip:
	case name.kind&kindBinary != 0:
		b.badValue(p.n, name, "is binary and must hold base64 strings")
	default:
		b.text(p.n, name, string(p.s[start:p.pos]))
	}
	return ""
}

func (p *jsonLine) peek() byte {
	if p.pos < len(p.s) {
		return p.s[p.pos]
	}
	return 0
}

func (p *jsonLine) eat(c byte) bool {
	if p.pos < len(p.s) && p.s[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

func (p *jsonLine) ws() {
	for p.pos < len(p.s) && isJSONSpace(p.s[p.pos]) {
		p.pos++
	}
}

func (p *jsonLine) literal(lit string) bool {
	if bytes.HasPrefix(p.s[p.pos:], []byte(lit)) {
		p.pos += len(lit)
		return true
	}
	return false
}

// number reads a number as RFC 8259 writes it.
func (p *jsonLine) number() bool {
	digits := func() bool {
		from := p.pos
		for p.pos < len(p.s) && '0' <= p.s[p.pos] && p.s[p.pos] <= '9' {
			p.pos++
		}
		return p.pos > from
	}
	p.eat('-')
	switch c := p.peek(); {
	case c == '0':
		p.pos++
	case '1' <= c && c <= '9':
		digits()
	default:
		return false
	}
	if p.eat('.') && !digits() {
		return false
	}
	if p.eat('e') || p.eat('E') {
		if !p.eat('+') {
			p.eat('-')
		}
		if !digits() {
			return false
		}
	}
	return true
}

// str reads the string at p.pos into *dst, decoded. Bytes that are not UTF-8 are kept
// (the builder rejects them as text); surrogate reports a \u escape of half a surrogate
// pair, which has no text at all.
func (p *jsonLine) str(dst *[]byte) (what string, surrogate bool) {
	s, out := p.s, (*dst)[:0]
	defer func() { *dst = out }()
	p.pos++ // the opening quote
	for {
		from := p.pos
		for p.pos < len(s) && s[p.pos] != '"' && s[p.pos] != '\\' && s[p.pos] >= 0x20 {
			p.pos++
		}
		out = append(out, s[from:p.pos]...)
		if p.pos >= len(s) {
			return "unterminated string", false
		}
		switch c := s[p.pos]; {
		case c == '"':
			p.pos++
			return "", surrogate
		case c < 0x20:
			return "control character in a string (it must be escaped)", false
		}
		p.pos++ // the backslash
		if p.pos >= len(s) {
			return "unterminated string", false
		}
		e := s[p.pos]
		p.pos++
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "invalid \\u escape", false
			}
			if utf16.IsSurrogate(r) {
				if r < 0xDC00 && bytes.HasPrefix(s[p.pos:], []byte(`\u`)) {
					save := p.pos
					p.pos += 2
					r2, ok := p.hex4()
					if !ok {
						return "invalid \\u escape", false
					}
					if r = utf16.DecodeRune(r, r2); r != utf8.RuneError {
						out = utf8.AppendRune(out, r)
						continue
					}
					p.pos = save // the next escape stands on its own
				}
				surrogate = true
				continue
			}
			out = utf8.AppendRune(out, r)
		default:
			return "invalid escape", false
		}
	}
}

func (p *jsonLine) hex4() (rune, bool) {
	if p.pos+4 > len(p.s) {
		return 0, false
	}
	var r rune
	for _, c := range p.s[p.pos : p.pos+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	p.pos += 4
	return r, true
}

// skipNested checks the syntax of the nested array or object at p.pos and moves past
// it, without recursion, so that a line of a million brackets cannot exhaust the stack.
func (p *jsonLine) skipNested() string {
	stack := p.stack[:0]
	defer func() { p.stack = stack }()
	for {
		p.ws()
		switch p.peek() {
		case '{':
			p.pos++
			p.ws()
			if p.eat('}') {
				break
			}
			stack = append(stack, '}')
			if what := p.keyColon(); what != "" {
				return what
			}
			continue
		case '[':
			p.pos++
			p.ws()
			if p.eat(']') {
				break
			}
			stack = append(stack, ']')
			continue
		case '"':
			if what, _ := p.str(&p.val); what != "" {
				return what
			}
		case 'n':
			if !p.literal("null") {
				return "invalid literal"
			}
		case 't', 'f':
			if !p.literal("true") && !p.literal("false") {
				return "invalid literal"
			}
		default:
			if !p.number() {
				return "want a value"
			}
		}
		// A value ended: close what it ends.
		for {
			if len(stack) == 0 {
				return ""
			}
			p.ws()
			closer := stack[len(stack)-1]
			if p.eat(closer) {
				stack = stack[:len(stack)-1]
				continue
			}
			if !p.eat(',') {
				return "want , or " + string(closer)
			}
			if closer == '}' {
				p.ws()
				if what := p.keyColon(); what != "" {
					return what
				}
			}
			break
		}
	}
}

// keyColon reads `"key" :` inside a nested object.
func (p *jsonLine) keyColon() string {
	if p.peek() != '"' {
		return "want a key (a string)"
	}
	if what, _ := p.str(&p.val); what != "" {
		return what
	}
	p.ws()
	if !p.eat(':') {
		return "want : after the key"
	}
	return ""
}

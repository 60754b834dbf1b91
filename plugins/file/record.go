package file

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"strings"
	"unicode/utf8"

	"github.com/peoplesync/peoplesync/sdk/connector"
)

// LineError is a problem with an export as a whole, at one line: the read cannot go on
// past it (an unsupported LDIF version, a bad CSV header, a line over the maximum length)
// or its result cannot be trusted (the file looks cut off). A read that meets one fails,
// and the engine concludes nothing from it. A problem with one record is not a
// LineError: it becomes an Invalid record, and the read goes on.
type LineError struct {
	// Path is the export file as configured.
	Path string
	// Line is the 1-based line of the problem.
	Line int
	// Err is the problem.
	Err error
}

// Error reads "path:line: problem", the form editors and terminals link to.
func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.Path, e.Line, e.Err) }

// Unwrap returns the problem.
func (e *LineError) Unwrap() error { return e.Err }

// attrKind says what the connector makes of an attribute, by its name.
type attrKind uint8

const (
	kindBinary  attrKind = 1 << iota // bytes, not text
	kindID                           // the ID attribute (any case)
	kindDN                           // the DN attribute of CSV and JSON Lines (any case)
	kindBadName                      // empty, or not UTF-8 text without NUL
)

// builder assembles the records of one pass for every format: the parsers hand it names
// and values, it knows which attributes are binary and which hold the ID and DN, checks
// the values, and at the end of each record emits it, Upsert or Invalid.
//
// A read makes two passes over the file. The first (collect) only finds each record's
// ID, and so skips every other value: the IDs go into ids, which then knows every ID that
// appears twice. The second emits, and makes both records of a duplicate ID Invalid.
type builder struct {
	cfg     *config
	attrs   map[string]attr // attribute name → interned name and kind
	ids     *idTable
	collect bool                         // the first pass: only IDs matter
	once    bool                         // the only pass (a pipe): IDs are noted as they come
	out     func(connector.Record) error // the second pass's emit
	onEnd   func() error                 // the first pass's check for a cancelled read

	// The record being built.
	rec      connector.Record
	start    int      // line where it starts; 0 between records
	idVals   []string // values of its ID attribute (binary ones as hex)
	idBad    int      // the line of a value of the ID attribute that could not be read, or 0
	dnVals   []string
	problem  problem // the first thing wrong with it
	more     int     // how many more problems it has
	unclear  bool    // its extent or ID cannot be trusted: it gets no ID
	dnBroken bool    // its DN could not be read
	count    int     // records ended in this pass
}

// problem is what is wrong with a record, at a line.
type problem struct {
	line int
	what string
}

func newBuilder(cfg *config, ids *idTable, collect bool, out func(connector.Record) error) *builder {
	return &builder{
		cfg:     cfg,
		attrs:   make(map[string]attr),
		ids:     ids,
		collect: collect,
		out:     out,
	}
}

// lineErr is a file problem at line.
func (b *builder) lineErr(line int, format string, args ...any) error {
	return &LineError{Path: b.cfg.path, Line: line, Err: fmt.Errorf(format, args...)}
}

// attr is an attribute name, interned, with what the connector makes of it.
type attr struct {
	name string
	kind attrKind
}

// attr returns the attribute called name, without allocating when the name was seen
// before: one map lookup a value.
func (b *builder) attr(name []byte) attr {
	if a, ok := b.attrs[string(name)]; ok {
		return a
	}
	return b.newAttr(string(name))
}

func (b *builder) newAttr(name string) attr {
	if a, ok := b.attrs[name]; ok {
		return a
	}
	var k attrKind
	lower := strings.ToLower(name)
	if strings.Contains(lower, ";binary") {
		k |= kindBinary
	}
	for _, n := range b.cfg.binary {
		if lower == n {
			k |= kindBinary
		}
	}
	if strings.EqualFold(name, b.cfg.idAttr) {
		k |= kindID
	}
	if b.cfg.dnAttr != "" && strings.EqualFold(name, b.cfg.dnAttr) {
		k |= kindDN
	}
	if name == "" || badText(name) != "" {
		k |= kindBadName
	}
	a := attr{name, k}
	b.attrs[name] = a
	return a
}

// begin starts a record at line.
func (b *builder) begin(line int) {
	b.start = line
	b.idVals = b.idVals[:0]
	b.dnVals = b.dnVals[:0]
	b.idBad, b.unclear, b.dnBroken = 0, false, false
	b.problem, b.more = problem{}, 0
	if !b.collect {
		b.rec = connector.Record{Kind: connector.Upsert, Attributes: make(map[string][]string, 16)}
	}
}

// skips reports whether the values of a can be skipped: in the first pass, every
// attribute but the ID.
func (b *builder) skips(a attr) bool {
	return b.collect && a.kind&kindID == 0
}

// fail records a problem with the current record that leaves its ID readable.
func (b *builder) fail(line int, format string, args ...any) {
	if b.problem.what != "" {
		b.more++
		return
	}
	b.problem = problem{line, fmt.Sprintf(format, args...)}
}

// failFirst records a problem that matters more than any the record has so far (one
// that keeps the record's ID from the engine, or makes its twin Invalid too), so that
// its Problem leads with it.
func (b *builder) failFirst(line int, format string, args ...any) {
	if b.problem.what != "" {
		b.more++
	}
	b.problem = problem{line, fmt.Sprintf(format, args...)}
}

// failUnclear records a problem after which the record's extent, and so its ID, cannot
// be trusted: it becomes an Invalid record without an ID, which deletes nobody.
func (b *builder) failUnclear(line int, format string, args ...any) {
	if b.unclear {
		b.more++
		return
	}
	b.unclear = true
	b.failFirst(line, format+"; the record's ID cannot be read reliably, so nobody is deleted in this run", args...)
}

// text adds a text value as the source holds it. A binary attribute keeps its bytes.
func (b *builder) text(line int, a attr, value string) {
	if b.skips(a) {
		return
	}
	k := a.kind
	if k&kindBinary != 0 {
		b.bytes(a, []byte(value))
		return
	}
	if what := badText(value); what != "" {
		if k&kindID != 0 {
			b.idBad = line
		}
		if k&kindDN != 0 {
			b.dnBroken = true
		}
		b.fail(line, "attribute %s %s", quoteName(a.name), what)
		return
	}
	if k&kindID != 0 {
		b.idVals = append(b.idVals, value)
	}
	if k&kindDN != 0 {
		b.dnVals = append(b.dnVals, value)
	}
	if !b.collect {
		b.rec.Attributes[a.name] = append(b.rec.Attributes[a.name], value)
	}
}

// base64 adds a value that the source encodes in base64: LDIF's "::" values, and binary
// attributes in CSV and JSON Lines.
func (b *builder) base64(line int, a attr, encoded string) {
	if b.skips(a) {
		return
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if err != nil {
		b.badValue(line, a, "holds invalid base64: %v", err)
		return
	}
	if a.kind&kindBinary != 0 {
		b.bytes(a, raw)
		return
	}
	b.text(line, a, string(raw))
}

// badValue records a value of name that cannot be read at all.
func (b *builder) badValue(line int, a attr, format string, args ...any) {
	k := a.kind
	if k&kindID != 0 {
		b.idBad = line
	}
	if k&kindDN != 0 {
		b.dnBroken = true
	}
	b.fail(line, "attribute %s %s", quoteName(a.name), fmt.Sprintf(format, args...))
}

func (b *builder) bytes(a attr, value []byte) {
	if a.kind&kindID != 0 {
		if len(value) == 0 {
			b.idVals = append(b.idVals, "")
		} else {
			b.idVals = append(b.idVals, hex.EncodeToString(value))
		}
	}
	if b.collect {
		return
	}
	if b.rec.Binary == nil {
		b.rec.Binary = make(map[string][][]byte, 2)
	}
	b.rec.Binary[a.name] = append(b.rec.Binary[a.name], value)
}

// badText says what is wrong with a text value: "" if it is valid UTF-8 without a NUL
// byte, the rule for every format. (Postgres text holds neither, and a value silently
// changed or dropped is a value the source does not hold.)
func badText(s string) string {
	if !utf8.ValidString(s) {
		return "holds bytes that are not UTF-8 text (list it in binary_attributes if it is binary)"
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "holds a NUL byte, which text cannot hold"
	}
	return ""
}

// quoteName quotes an attribute name in a problem when it needs quoting.
func quoteName(name string) string {
	if name != "" && badText(name) == "" && !strings.ContainsAny(name, " \t\"\\") && utf8.RuneCountInString(name) <= 64 {
		return name
	}
	return truncateQuote([]byte(name))
}

// end finishes the current record: in the first pass it notes its ID; in the second it
// emits it, as an Upsert, or Invalid if anything is wrong with it.
func (b *builder) end() error {
	if b.start == 0 {
		return nil
	}
	start := b.start
	b.start = 0
	b.count++
	id, idOK := b.id(start)
	if b.collect {
		if idOK {
			b.ids.add(id, start)
		}
		if b.onEnd != nil {
			return b.onEnd()
		}
		return nil
	}
	if idOK && b.once {
		if first, seen := b.ids.firstLine(id); seen {
			b.failFirst(start, "ID %s appears more than once in the file (first at line %d); this record is not applied, but the first was read before it: a pipe is read only once, so export to a file to have neither applied",
				truncateQuote([]byte(id)), first)
		} else {
			b.ids.add(id, start)
		}
	} else if idOK {
		other, dup, known := b.ids.lookup(id, start)
		if !known {
			return fmt.Errorf("reading %s: %w (line %d holds ID %q, which the first pass did not see there)", b.cfg.path, errChanged, start, truncateQuote([]byte(id)))
		}
		if dup {
			// Neither record is applied: nobody can tell which one is the person.
			b.failFirst(start, "ID %s appears more than once in the file (also at line %d); neither record is applied",
				truncateQuote([]byte(id)), other)
		}
	}
	if !b.dnBroken && len(b.dnVals) > 0 {
		if len(b.dnVals) != 1 {
			b.fail(start, "record has %d values of its DN attribute %s, want one", len(b.dnVals), b.cfg.dnAttr)
		} else {
			b.rec.DN = b.dnVals[0]
		}
	}
	if b.problem.what == "" {
		b.rec.ID = id
		return b.out(b.rec)
	}
	bad := connector.Record{Kind: connector.Invalid, Problem: b.problemText()}
	if idOK {
		bad.ID = id
	}
	if !b.dnBroken && badText(b.rec.DN) == "" {
		bad.DN = b.rec.DN
	}
	return b.out(bad)
}

// id returns the current record's ID, if it has exactly one readable value and the
// record's extent can be trusted; otherwise it records the problem.
func (b *builder) id(start int) (string, bool) {
	switch {
	case b.unclear:
		return "", false
	case b.idBad != 0:
		b.failUnclear(b.idBad, "the value of its ID attribute %s cannot be read", b.cfg.idAttr)
		return "", false
	case len(b.idVals) == 0:
		b.failFirst(start, "record has no ID attribute %s; it might be anyone's, so nobody is deleted in this run", b.cfg.idAttr)
		return "", false
	case len(b.idVals) > 1:
		b.failFirst(start, "record has %d values of its ID attribute %s, want one; it might be anyone's, so nobody is deleted in this run", len(b.idVals), b.cfg.idAttr)
		return "", false
	case b.idVals[0] == "":
		b.failFirst(start, "its ID attribute %s is empty; it might be anyone's, so nobody is deleted in this run", b.cfg.idAttr)
		return "", false
	}
	return b.idVals[0], true
}

// problemText is an Invalid record's Problem: "path:line: what".
func (b *builder) problemText() string {
	s := fmt.Sprintf("%s:%d: %s", b.cfg.path, b.problem.line, b.problem.what)
	switch b.more {
	case 0:
	case 1:
		s += " (and 1 more problem in the record)"
	default:
		s += fmt.Sprintf(" (and %d more problems in the record)", b.more)
	}
	return s
}

// idTable is the IDs of a file's records, from the first pass, for the second. It holds
// a 64-bit hash of each ID, not the ID, so that it costs 16 bytes a person: two IDs
// whose hashes collide (for a million people, a chance of about 1 in 30 billion) look
// like a duplicate, and both records are Invalid, which protects both people.
type idTable struct {
	seed  maphash.Seed
	lines map[uint64]idLines
}

// idLines are the first two lines where an ID appears; second is 0 for a unique ID.
type idLines struct{ first, second uint32 }

func newIDTable() *idTable {
	return &idTable{seed: maphash.MakeSeed(), lines: make(map[uint64]idLines)}
}

func (t *idTable) add(id string, line int) {
	h := maphash.String(t.seed, id)
	l := t.lines[h]
	switch {
	case l.first == 0:
		l.first = clampLine(line)
	case l.second == 0:
		l.second = clampLine(line)
	default:
		return
	}
	t.lines[h] = l
}

// firstLine returns the line where id first appeared, if it did.
func (t *idTable) firstLine(id string) (int, bool) {
	l, ok := t.lines[maphash.String(t.seed, id)]
	return int(l.first), ok
}

// lookup says whether id appears more than once, and at which other line; known is false
// if the first pass did not see id at line.
func (t *idTable) lookup(id string, line int) (other int, dup, known bool) {
	l, ok := t.lines[maphash.String(t.seed, id)]
	switch {
	case !ok:
		return 0, false, false
	case l.second == 0:
		return 0, false, l.first == clampLine(line)
	case l.first == clampLine(line):
		return int(l.second), true, true
	default:
		return int(l.first), true, true
	}
}

func clampLine(line int) uint32 {
	if line > 1<<32-1 {
		return 1<<32 - 1
	}
	return uint32(line)
}

// errChanged marks a file that changed between the two passes of a read.
var errChanged = errors.New("the file changed while it was being read")

// truncateQuote quotes text for a problem, shortened.
func truncateQuote(b []byte) string {
	if len(b) > 40 {
		return fmt.Sprintf("%q…", b[:40])
	}
	return fmt.Sprintf("%q", b)
}

// hasFoldPrefix reports whether text starts with prefix, ignoring ASCII case.
func hasFoldPrefix(text []byte, prefix string) bool {
	return len(text) >= len(prefix) && bytes.EqualFold(text[:len(prefix)], []byte(prefix))
}

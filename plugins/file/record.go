package file

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"strings"
	"unicode/utf8"

	"github.com/peoplesync/peoplesync/sdk/connector"
)

// LineError is a problem in an export at one line. A read that meets one fails: a bad
// export must never look like people who left.
type LineError struct {
	// Path is the export file as configured.
	Path string
	// Line is the 1-based line where the faulty record (or syntax) starts.
	Line int
	// Err is the problem.
	Err error
}

// Error reads "path:line: problem", the form editors and terminals link to.
func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.Path, e.Line, e.Err) }

// Unwrap returns the problem.
func (e *LineError) Unwrap() error { return e.Err }

// builder assembles records for every format: it knows which attributes are binary,
// extracts the ID and DN, and refuses a second record with the same ID.
type builder struct {
	cfg    *config
	names  map[string]string // interned attribute names
	binary map[string]bool   // attribute name → is binary, cached
	seed   maphash.Seed
	seen   map[uint64]int // hash of an ID → line of its record
}

func newBuilder(cfg *config) *builder {
	return &builder{
		cfg:    cfg,
		names:  make(map[string]string),
		binary: make(map[string]bool),
		seed:   maphash.MakeSeed(),
		seen:   make(map[uint64]int),
	}
}

// lineErr wraps a problem at line.
func (b *builder) lineErr(line int, format string, args ...any) error {
	return &LineError{Path: b.cfg.path, Line: line, Err: fmt.Errorf(format, args...)}
}

// intern returns name as a string shared by every record, without allocating when the
// name was seen before.
func (b *builder) intern(name []byte) string {
	if s, ok := b.names[string(name)]; ok {
		return s
	}
	s := string(name)
	b.names[s] = s
	return s
}

func (b *builder) isBinary(name string) bool {
	bin, ok := b.binary[name]
	if !ok {
		lower := strings.ToLower(name)
		bin = strings.Contains(lower, ";binary")
		for _, n := range b.cfg.binary {
			bin = bin || lower == n
		}
		b.binary[name] = bin
	}
	return bin
}

func newRecord() connector.Record {
	return connector.Record{Kind: connector.Upsert, Attributes: make(map[string][]string, 16)}
}

// addText adds a text value as it appears in the source.
func (b *builder) addText(r *connector.Record, line int, name, value string) error {
	if b.isBinary(name) {
		b.addBytes(r, name, []byte(value))
		return nil
	}
	if !utf8.ValidString(value) {
		return b.lineErr(line, "attribute %s holds bytes that are not UTF-8 text; list it in binary_attributes", name)
	}
	r.Attributes[name] = append(r.Attributes[name], value)
	return nil
}

// addBase64 adds a value that the source encodes in base64: LDIF's "::" values, and
// binary attributes in CSV and JSON Lines.
func (b *builder) addBase64(r *connector.Record, line int, name, encoded string) error {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if err != nil {
		return b.lineErr(line, "attribute %s: invalid base64: %w", name, err)
	}
	if b.isBinary(name) {
		b.addBytes(r, name, raw)
		return nil
	}
	return b.addText(r, line, name, string(raw))
}

func (b *builder) addBytes(r *connector.Record, name string, value []byte) {
	if r.Binary == nil {
		r.Binary = make(map[string][][]byte, 2)
	}
	r.Binary[name] = append(r.Binary[name], value)
}

// lookup finds an attribute by name, ignoring case as LDAP does.
func lookup[V any](m map[string][]V, name string) ([]V, string) {
	if v, ok := m[name]; ok {
		return v, name
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v, k
		}
	}
	return nil, ""
}

// finish sets the record's ID (and, for CSV and JSON Lines, its DN) and checks that the
// ID is present, single and not seen before. line is where the record starts.
func (b *builder) finish(r *connector.Record, line int) error {
	id := b.cfg.idAttr
	if vs, name := lookup(r.Attributes, id); name != "" {
		if len(vs) != 1 || vs[0] == "" {
			return b.lineErr(line, "record has %d values of its ID attribute %s, want one non-empty value", len(vs), id)
		}
		r.ID = vs[0]
	} else if vs, name := lookup(r.Binary, id); name != "" {
		if len(vs) != 1 || len(vs[0]) == 0 {
			return b.lineErr(line, "record has %d values of its ID attribute %s, want one non-empty value", len(vs), id)
		}
		r.ID = hex.EncodeToString(vs[0])
	} else {
		return b.lineErr(line, "record has no ID attribute %s", id)
	}
	if b.cfg.dnAttr != "" {
		if vs, name := lookup(r.Attributes, b.cfg.dnAttr); name != "" {
			if len(vs) != 1 {
				return b.lineErr(line, "record has %d values of its DN attribute %s, want one", len(vs), b.cfg.dnAttr)
			}
			r.DN = vs[0]
		}
	}
	h := maphash.String(b.seed, r.ID)
	if first, dup := b.seen[h]; dup {
		return b.lineErr(line, "ID %q again (first at line %d): %w", r.ID, first, errDuplicateID)
	}
	b.seen[h] = line
	return nil
}

// errDuplicateID marks an export that names one ID twice.
var errDuplicateID = errors.New("duplicate ID")

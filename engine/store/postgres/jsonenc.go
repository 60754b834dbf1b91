package postgres

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// The documents a shared profile's merge writes for every profile of a batch (its
// attributes and its provenance) are encoded here rather than by encoding/json, whose
// reflection over maps, sorting of keys and time.Time marshaling took 1.8 s of CPU in a
// 100,000-person joining run, on a machine whose two cores Postgres shares. The output is
// the same JSON document: keys sorted, so that equal maps give equal bytes.

// appendJSONString appends s as a JSON string. Text that is not valid UTF-8 has its
// invalid bytes replaced (stored values are valid; see clean).
func appendJSONString(b []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// sortedKeys returns the keys of m in order, in keys (reused).
func sortedKeys[V any](keys []string, m map[string]V) []string {
	keys = keys[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// jsonEncoder encodes a batch's documents, reusing its buffers.
type jsonEncoder struct {
	keys []string
	// times caches the last formatted time: a batch's fields mostly share one.
	lastTime time.Time
	lastText []byte
}

// attributes encodes a profile's attributes as a JSON object.
func (e *jsonEncoder) attributes(m map[string]string) string {
	e.keys = sortedKeys(e.keys, m)
	b := make([]byte, 0, 32*len(m)+2)
	b = append(b, '{')
	for i, k := range e.keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, m[k])
	}
	return string(append(b, '}'))
}

// provenance encodes a profile's provenance as a JSON object of origins.
func (e *jsonEncoder) provenance(m map[string]origin) string {
	e.keys = sortedKeys(e.keys, m)
	b := make([]byte, 0, 64*len(m)+2)
	b = append(b, '{')
	for i, k := range e.keys {
		if i > 0 {
			b = append(b, ',')
		}
		o := m[k]
		b = appendJSONString(b, k)
		b = append(b, `:{"s":`...)
		b = appendJSONString(b, o.Sync)
		b = append(b, `,"t":"`...)
		if !o.Since.Equal(e.lastTime) || e.lastText == nil || o.Since.Location() != e.lastTime.Location() {
			e.lastTime, e.lastText = o.Since, o.Since.AppendFormat(e.lastText[:0], time.RFC3339Nano)
		}
		b = append(b, e.lastText...)
		b = append(b, `"}`...)
	}
	return string(append(b, '}'))
}

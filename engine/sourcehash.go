package engine

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"

	"github.com/peoplesync/peoplesync/sdk/connector"
)

// sourceHasher hashes records as the connector returned them, salted with the mapping's
// identity. Two records with equal source hashes map to equal profiles: a mapping module
// sees nothing but the record and its settings (no clock, randomness, files or network).
// So a record whose source hash is the stored one is skipped without running the mapping,
// which is most of the work of a sync over an unchanged directory.
//
// A record is laid out in buf (length-prefixed, attributes in name order) and hashed at
// once. The zero value is ready; it keeps its buffers from record to record, and since the
// records of a directory mostly have the same attribute names, it sorts names only when
// they differ from the previous record's.
type sourceHasher struct {
	buf          []byte
	text, binary []string // the previous record's names, sorted
}

func (h *sourceHasher) sum(salt []byte, r *connector.Record) [32]byte {
	buf := appendField(h.buf[:0], salt)
	buf = appendField(buf, []byte(r.ID))
	buf = appendField(buf, []byte(r.DN))

	h.text = sortedNames(r.Attributes, h.text)
	buf = binary.LittleEndian.AppendUint64(buf, uint64(len(h.text)))
	for _, name := range h.text {
		vs := r.Attributes[name]
		buf = appendString(buf, name)
		buf = binary.LittleEndian.AppendUint64(buf, uint64(len(vs)))
		for _, v := range vs {
			buf = appendString(buf, v)
		}
	}

	h.binary = sortedNames(r.Binary, h.binary)
	buf = binary.LittleEndian.AppendUint64(buf, uint64(len(h.binary)))
	for _, name := range h.binary {
		vs := r.Binary[name]
		buf = appendString(buf, name)
		buf = binary.LittleEndian.AppendUint64(buf, uint64(len(vs)))
		for _, v := range vs {
			buf = appendField(buf, v)
		}
	}
	h.buf = buf
	return sha256.Sum256(buf)
}

// sortedNames returns m's keys in order: prev itself if it holds exactly those keys (it
// is sorted and its names distinct, so equal length and every name in m means the same
// set), else prev's memory refilled and sorted.
func sortedNames[V any](m map[string]V, prev []string) []string {
	if len(prev) == len(m) {
		same := true
		for _, name := range prev {
			if _, ok := m[name]; !ok {
				same = false
				break
			}
		}
		if same {
			return prev
		}
	}
	prev = prev[:0]
	for name := range m {
		prev = append(prev, name)
	}
	slices.Sort(prev)
	return prev
}

func appendField(buf, b []byte) []byte {
	buf = binary.LittleEndian.AppendUint64(buf, uint64(len(b)))
	return append(buf, b...)
}

func appendString(buf []byte, s string) []byte {
	buf = binary.LittleEndian.AppendUint64(buf, uint64(len(s)))
	return append(buf, s...)
}

package engine

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"

	"github.com/peoplesync/peoplesync/sdk/connector"
)

// sourceHash hashes a record as the connector returned it, salted with the mapping's
// identity. Two records with equal source hashes map to equal profiles: a mapping module
// sees nothing but the record and its settings (no clock, randomness, files or network).
// So a record whose source hash is the stored one is skipped without running the mapping,
// which is most of the work of a sync over an unchanged directory.
//
// The record is laid out in buf (length-prefixed, attributes in name order) and hashed
// at once; buf is returned for reuse by the next call.
func sourceHash(salt []byte, r *connector.Record, buf []byte, names []string) ([32]byte, []byte, []string) {
	buf = appendField(buf[:0], salt)
	buf = appendField(buf, []byte(r.ID))
	buf = appendField(buf, []byte(r.DN))

	names = names[:0]
	for name := range r.Attributes {
		names = append(names, name)
	}
	slices.Sort(names)
	buf = binary.LittleEndian.AppendUint64(buf, uint64(len(names)))
	for _, name := range names {
		vs := r.Attributes[name]
		buf = appendString(buf, name)
		buf = binary.LittleEndian.AppendUint64(buf, uint64(len(vs)))
		for _, v := range vs {
			buf = appendString(buf, v)
		}
	}

	names = names[:0]
	for name := range r.Binary {
		names = append(names, name)
	}
	slices.Sort(names)
	buf = binary.LittleEndian.AppendUint64(buf, uint64(len(names)))
	for _, name := range names {
		vs := r.Binary[name]
		buf = appendString(buf, name)
		buf = binary.LittleEndian.AppendUint64(buf, uint64(len(vs)))
		for _, v := range vs {
			buf = appendField(buf, v)
		}
	}
	return sha256.Sum256(buf), buf, names
}

func appendField(buf, b []byte) []byte {
	buf = binary.LittleEndian.AppendUint64(buf, uint64(len(b)))
	return append(buf, b...)
}

func appendString(buf []byte, s string) []byte {
	buf = binary.LittleEndian.AppendUint64(buf, uint64(len(s)))
	return append(buf, s...)
}

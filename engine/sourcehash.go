package engine

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"sort"

	"github.com/peoplesync/peoplesync/sdk/connector"
)

// sourceHash hashes a record as the connector returned it, salted with the mapping's
// identity. Two records with equal source hashes map to equal profiles: a mapping module
// sees nothing but the record and its settings (no clock, randomness, files or network).
// So a record whose source hash is the stored one is skipped without running the mapping,
// which is most of the work of a sync over an unchanged directory.
func sourceHash(salt []byte, r *connector.Record) [32]byte {
	h := sha256.New()
	put := func(b []byte) {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	put(salt)
	put([]byte(r.ID))
	put([]byte(r.DN))
	putValues(h, put, r.Attributes)
	putBinary(h, put, r.Binary)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// putValues feeds text attributes in name order.
func putValues(h hash.Hash, put func([]byte), attrs map[string][]string) {
	names := make([]string, 0, len(attrs))
	for name := range attrs {
		names = append(names, name)
	}
	sort.Strings(names)
	putCount(h, len(names))
	for _, name := range names {
		put([]byte(name))
		vs := attrs[name]
		putCount(h, len(vs))
		for _, v := range vs {
			put([]byte(v))
		}
	}
}

// putBinary feeds binary attributes in name order.
func putBinary(h hash.Hash, put func([]byte), attrs map[string][][]byte) {
	names := make([]string, 0, len(attrs))
	for name := range attrs {
		names = append(names, name)
	}
	sort.Strings(names)
	putCount(h, len(names))
	for _, name := range names {
		put([]byte(name))
		vs := attrs[name]
		putCount(h, len(vs))
		for _, v := range vs {
			put(v)
		}
	}
}

func putCount(h hash.Hash, n int) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(n))
	h.Write(b[:])
}

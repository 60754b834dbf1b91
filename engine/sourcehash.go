package engine

import (
	"crypto/sha256"
	"encoding/binary"

	"github.com/peoplesync/peoplesync/sdk/connector"
)

// sourceHasher hashes records as the connector returned them, salted with the mapping's
// identity. Two records with equal source hashes map to equal profiles: a mapping module
// sees nothing but the record and its settings (no clock, randomness, files or network).
// So a record whose source hash is the stored one is skipped without running the mapping,
// which is most of the work of a sync over an unchanged directory.
//
// The hash is sha256 over the salt (length-prefixed) and the record's canonical form
// (connector.Canonicalizer), from a decoded Record or straight from the batch it arrived
// in: the same hash either way, and the same as earlier versions stored. The zero value
// is ready; it keeps its buffer from record to record.
type sourceHasher struct {
	buf []byte
	c   connector.Canonicalizer
}

func (h *sourceHasher) sum(salt []byte, r *connector.Record) [32]byte {
	h.buf = h.c.AppendRecord(h.salted(salt), r)
	return sha256.Sum256(h.buf)
}

// sumRaw is sum for record i of a batch not decoded.
func (h *sourceHasher) sumRaw(salt []byte, b *connector.RawBatch, i int) [32]byte {
	h.buf = h.c.AppendRaw(h.salted(salt), b, i)
	return sha256.Sum256(h.buf)
}

func (h *sourceHasher) salted(salt []byte) []byte {
	buf := binary.LittleEndian.AppendUint64(h.buf[:0], uint64(len(salt)))
	return append(buf, salt...)
}

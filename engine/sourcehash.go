package engine

import (
	"crypto/sha256"
	"encoding/binary"

	"github.com/peoplesync/peoplesync/sdk/protocol"
)

// sourceHasher hashes records as the connector returned them, salted with the mapping's
// identity. Two records with equal source hashes map to equal profiles: a mapping module
// sees nothing but the record and its settings (no clock, randomness, files or network).
// So a record whose source hash is the stored one is skipped without running the mapping,
// which is most of the work of a sync over an unchanged directory.
//
// The hash is sha256 over the salt (length-prefixed) and the record's canonical form
// (protocol.Canonicalizer), taken straight from the batch the record arrived in: the
// same as a decoded Record's canonical form, and the same as earlier versions stored.
// The zero value is ready; it keeps its buffer from record to record.
type sourceHasher struct {
	buf []byte
	c   protocol.Canonicalizer
}

// sum hashes record i of a batch, without decoding it.
func (h *sourceHasher) sum(salt []byte, b *protocol.RawBatch, i int) [32]byte {
	h.buf = h.c.AppendRaw(h.salted(salt), b, i)
	return sha256.Sum256(h.buf)
}

func (h *sourceHasher) salted(salt []byte) []byte {
	buf := binary.LittleEndian.AppendUint64(h.buf[:0], uint64(len(salt)))
	return append(buf, salt...)
}

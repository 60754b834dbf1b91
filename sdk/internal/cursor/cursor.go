// Package cursor reads the SDK's length-prefixed binary encodings, the connector
// protocol's record batches (sdk/connector) and the mapping wire format
// (sdk/mapping/wire): unsigned varints (encoding/binary's Uvarint), single bytes, and
// strings and byte slices as a length followed by their bytes.
//
// It compiles into WASM mapping modules, where calls are costly: the fast paths
// (ShortStr, SmallUvarint) are small enough to inline into a decoding loop.
package cursor

import (
	"encoding/binary"
	"fmt"
)

// Reader walks an encoding. The first error sticks: every later read returns zero
// values, and the caller checks Err once after a run of reads. Strings are substrings of
// Text, which holds Data as a string (a copy, or Data itself when nothing changes it).
type Reader struct {
	Data []byte
	Text string
	Off  int
	// Base is added to offsets in error messages: the offset of Data in a larger input.
	Base int
	Err  error
	// Corrupt is the sentinel every error wraps.
	Corrupt error
}

// Fail records that the next item, what, is not valid, unless an error is recorded.
func (r *Reader) Fail(what string) {
	if r.Err == nil {
		r.Err = fmt.Errorf("%w: bad %s at byte %d", r.Corrupt, what, r.Base+r.Off)
	}
}

// Uvarint reads an unsigned varint.
func (r *Reader) Uvarint(what string) uint64 {
	if r.Err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.Data[r.Off:])
	if n <= 0 {
		r.Fail(what)
		return 0
	}
	r.Off += n
	return v
}

// Count reads a count of items that each take at least one byte, so that a corrupt count
// cannot make a decoder allocate for more items than the input could hold.
func (r *Reader) Count(what string) int {
	v := r.Uvarint(what)
	if v > uint64(len(r.Data)-r.Off) {
		r.failCount(what, v)
		return 0
	}
	return int(v)
}

// failCount records a count larger than the input could hold (out of line: the error
// path would slow Count's).
func (r *Reader) failCount(what string, v uint64) {
	if r.Err == nil {
		r.Err = fmt.Errorf("%w: bad %s at byte %d: %d exceeds the %d bytes left", r.Corrupt, what, r.Base+r.Off, v, len(r.Data)-r.Off)
	}
}

// Byte reads one byte.
func (r *Reader) Byte(what string) byte {
	if r.Err != nil {
		return 0
	}
	if r.Off >= len(r.Data) {
		r.Fail(what)
		return 0
	}
	b := r.Data[r.Off]
	r.Off++
	return b
}

// Span reads a length and returns where the bytes it counts lie in Data.
func (r *Reader) Span(what string) (start, end int) {
	n := r.Uvarint(what)
	if r.Err != nil {
		return 0, 0
	}
	if n > uint64(len(r.Data)-r.Off) {
		r.Fail(what)
		return 0, 0
	}
	start = r.Off
	r.Off += int(n)
	return start, r.Off
}

// Str reads a string, a substring of Text.
func (r *Reader) Str(what string) string {
	s, e := r.Span(what)
	return r.Text[s:e]
}

// Bytes reads a byte slice, a sub-slice of Data (capped, so appending copies).
func (r *Reader) Bytes(what string) []byte {
	s, e := r.Span(what)
	return r.Data[s:e:e]
}

// ShortStr reads a string shorter than 128 bytes, or returns false without reading: the
// fast path of Str, small enough to inline. It ignores Err; callers check it after the
// loop.
func (r *Reader) ShortStr() (string, bool) {
	off := r.Off
	if off >= len(r.Data) {
		return "", false
	}
	n := int(r.Data[off])
	if n >= 0x80 || n >= len(r.Text)-off {
		return "", false
	}
	r.Off = off + 1 + n
	return r.Text[off+1 : r.Off], true
}

// SmallUvarint reads a varint below 128, or returns false without reading: the fast path
// of Uvarint, as ShortStr is of Str.
func (r *Reader) SmallUvarint() (uint64, bool) {
	off := r.Off
	if off >= len(r.Data) || r.Data[off] >= 0x80 {
		return 0, false
	}
	r.Off = off + 1
	return uint64(r.Data[off]), true
}

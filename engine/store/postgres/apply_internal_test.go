package postgres

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"
)

// Profile IDs are version 7 UUIDs: the RFC 9562 version and variant bits, the time of
// their making in the first 48 bits, and IDs made in a later millisecond sort after.
func TestNewUUIDIsVersion7(t *testing.T) {
	before := time.Now().UnixMilli()
	first, err := newUUID()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	second, err := newUUID()
	if err != nil {
		t.Fatal(err)
	}
	after := time.Now().UnixMilli()
	for _, u := range [][16]byte{first, second} {
		if u[6]>>4 != 7 || u[8]>>6 != 2 {
			t.Errorf("%x: version %d, variant %b; want 7, 10", u, u[6]>>4, u[8]>>6)
		}
		ms := int64(binary.BigEndian.Uint64(append([]byte{0, 0}, u[:6]...)))
		if ms < before || ms > after {
			t.Errorf("%x: time %d, want within [%d, %d]", u, ms, before, after)
		}
	}
	if bytes.Compare(first[:], second[:]) >= 0 {
		t.Errorf("%x made before %x sorts after it", first, second)
	}
}

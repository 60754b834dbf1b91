package engine

import (
	"crypto/sha256"
	"testing"
)

func TestStoredIndexStates(t *testing.T) {
	seen := newSeenSet()
	src := func(s string) [32]byte { return sha256.Sum256([]byte(s)) }
	a, b, c := src("a1"), src("b1"), src("c1")
	idx := &storedIndex{entries: []indexEntry{
		{key: seen.key("a"), source: sourcePrefix(a[:])},
		{key: seen.key("b"), source: noSourcePrefix},
		{key: seen.key("c"), source: deletedSource},
	}}
	sortIndex(idx)
	cases := []struct {
		id     string
		source [32]byte
		want   linkState
	}{
		{"a", a, linkUnchanged},
		{"a", src("a2"), linkUnknown}, // changed at the source
		{"b", b, linkUnknown},         // no source hash stored
		{"c", c, linkUnknown},         // deleted: to be restored
		{"d", src("d1"), linkNew},
	}
	for _, tc := range cases {
		if got := idx.state(seen.key(tc.id), &tc.source); got != tc.want {
			t.Errorf("state(%s) = %d, want %d", tc.id, got, tc.want)
		}
	}
	if n := idx.unseenLive(seen); n != 2 {
		t.Errorf("unseenLive before the read = %d, want 2", n)
	}
	seen.add("a")
	seen.add("c") // deleted: not counted either way
	if n := idx.unseenLive(seen); n != 1 {
		t.Errorf("unseenLive with b unseen = %d, want 1", n)
	}

	// Two links on one key: the index answers nothing rather than guess.
	idx.entries = append(idx.entries, idx.entries[0])
	sortIndex(idx)
	if got := idx.state(seen.key("a"), &a); got != linkUnknown {
		t.Errorf("ambiguous index: state = %d, want linkUnknown", got)
	}
	if n := idx.unseenLive(seen); n != -1 {
		t.Errorf("ambiguous index: unseenLive = %d, want -1", n)
	}
	var none *storedIndex
	if none.state(seen.key("a"), &a) != linkUnknown || none.unseenLive(seen) != -1 {
		t.Error("a nil index must know nothing")
	}
}

func TestSourcePrefixAvoidsReservedValues(t *testing.T) {
	if got := sourcePrefix(nil); got != noSourcePrefix {
		t.Errorf("sourcePrefix(nil) = %d, want noSourcePrefix", got)
	}
	for _, b := range [][]byte{make([]byte, 32), append([]byte{1}, make([]byte, 31)...)} {
		if got := sourcePrefix(b); got == deletedSource || got == noSourcePrefix {
			t.Errorf("sourcePrefix(%x) = %d, a reserved value", b[:8], got)
		}
	}
}

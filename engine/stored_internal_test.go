package engine

import (
	"crypto/sha256"
	"fmt"
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
		if got := idx.state(idx.find(seen.key(tc.id)), &tc.source); got != tc.want {
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
	if got := idx.state(idx.find(seen.key("a")), &a); got != linkUnknown {
		t.Errorf("ambiguous index: state = %d, want linkUnknown", got)
	}
	if n := idx.unseenLive(seen); n != -1 {
		t.Errorf("ambiguous index: unseenLive = %d, want -1", n)
	}
	var none *storedIndex
	if none.state(none.find(seen.key("a")), &a) != linkUnknown || none.unseenLive(seen) != -1 {
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

// The bucketed index finds every key it holds and no other, at sizes around the bucket
// table's steps, with colliding bucket bits and with an empty index.
func TestStoredIndexFind(t *testing.T) {
	seen := newSeenSet()
	for _, n := range []int{0, 1, 2, 3, 7, 8, 9, 1000, 1 << 12, 1<<12 + 1} {
		idx := &storedIndex{}
		for i := range n {
			idx.entries = append(idx.entries, indexEntry{key: seen.key(fmt.Sprint("in-", i)), source: uint64(i + 2)})
		}
		sortIndex(idx)
		if idx.ambiguous || len(idx.entries) != n {
			t.Fatalf("n=%d: ambiguous %v, %d entries", n, idx.ambiguous, len(idx.entries))
		}
		for i := range n {
			slot := idx.find(seen.key(fmt.Sprint("in-", i)))
			if slot < 0 || idx.entries[slot].source != uint64(i+2) {
				t.Fatalf("n=%d: in-%d at slot %d", n, i, slot)
			}
			if slot := idx.find(seen.key(fmt.Sprint("out-", i))); slot != notInIndex {
				t.Fatalf("n=%d: out-%d found at %d", n, i, slot)
			}
		}
		for k := range len(idx.starts) - 1 {
			for i := idx.starts[k]; i < idx.starts[k+1]; i++ {
				if got := idx.entries[i].key[0] >> idx.shift; got != uint64(k) {
					t.Fatalf("n=%d: entry %d in bucket %d, its key says %d", n, i, k, got)
				}
			}
		}
	}
	// Keys that share their top bits land in one bucket and are still told apart.
	idx := &storedIndex{entries: []indexEntry{
		{key: [2]uint64{5, 2}, source: 2}, {key: [2]uint64{5, 1}, source: 3}, {key: [2]uint64{6, 1}, source: 4},
		{key: [2]uint64{1 << 63, 0}, source: 5},
	}}
	sortIndex(idx)
	for key, want := range map[[2]uint64]uint64{{5, 1}: 3, {5, 2}: 2, {6, 1}: 4, {1 << 63, 0}: 5} {
		if slot := idx.find(key); slot < 0 || idx.entries[slot].source != want {
			t.Errorf("find(%v) = slot %d", key, slot)
		}
	}
	if slot := idx.find([2]uint64{5, 3}); slot != notInIndex {
		t.Errorf("find of an absent key in a full bucket = %d", slot)
	}
}

// Once the index is attached, the seen set keeps its keys as bits: keys added before
// move there, a key is seen once whichever way it was added, and unseenLive is exact.
func TestSeenSetAttached(t *testing.T) {
	seen := newSeenSet()
	idx := &storedIndex{}
	const links = 3000
	for i := range links {
		source := uint64(i + 2)
		if i%10 == 0 {
			source = deletedSource
		}
		idx.entries = append(idx.entries, indexEntry{key: seen.key(fmt.Sprint("link-", i)), source: source})
	}
	sortIndex(idx)
	// Before the index is loaded: some links and some new IDs.
	for i := range 100 {
		if !seen.add(fmt.Sprint("link-", i)) || !seen.add(fmt.Sprint("new-", i)) {
			t.Fatalf("first add of #%d refused", i)
		}
	}
	seen.attach(idx)
	if len(seen.recent) != 100 {
		t.Fatalf("after attach the map holds %d keys, want only the 100 new ones", len(seen.recent))
	}
	for i := range links {
		id := fmt.Sprint("link-", i)
		k := seen.key(id)
		slot := idx.find(k)
		if i < 100 {
			if !seen.contains(k, slot) || !seen.contains(k, unlocated) || seen.add(id) {
				t.Fatalf("%s, added before attach, is not seen", id)
			}
			continue
		}
		if i%2 == 0 {
			if seen.contains(k, slot) {
				t.Fatalf("%s seen before it was added", id)
			}
			seen.insert(k, slot)
		}
	}
	for i := range 200 {
		id := fmt.Sprint("new-", i)
		if added := seen.add(id); added != (i >= 100) {
			t.Fatalf("add(%s) = %v", id, added)
		}
	}
	for i := range links {
		if want := i < 100 || i%2 == 0; seen.has(fmt.Sprint("link-", i)) != want {
			t.Fatalf("has(link-%d) = %v", i, !want)
		}
	}
	want := 0
	for i := 100; i < links; i++ {
		if i%2 == 1 && i%10 != 0 {
			want++
		}
	}
	if got := idx.unseenLive(seen); got != want {
		t.Errorf("unseenLive = %d, want %d", got, want)
	}
}

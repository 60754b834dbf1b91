package engine

import (
	"context"
	"encoding/binary"
	"math/bits"
	"slices"

	"github.com/peoplesync/peoplesync/engine/store"
)

// storedIndex is what a full read knows up front about every link of its sync: the
// external ID (as the seen set's 128-bit key), the first 8 bytes of the source hash, and
// whether the profile is deleted. With it a batch looks up in the store only the records
// that changed at the source: an unchanged record is skipped, and a record the index does
// not know is new. It costs about 27 bytes a link (24 an entry, a bucket table of at most
// 4), and one streaming query instead of one lookup per batch (most of the store's work in
// a run over an unchanged directory).
//
// The keys are hashes, spread evenly over their range, so the entries are kept in
// buckets by their top bits, about one or two to a bucket: finding a key costs one look
// at the bucket table and one at its entries, where a search of the sorted entries cost
// several cache misses (at 100,000 unchanged people the look-ups took ~45 ms of a 0.9 s
// run, and sorting the entries ~60 ms where bucketing them takes a few).
//
// The index is a snapshot taken under the sync's lock, so no other writer changes the
// sync's links while the run uses it. Hash collisions only ever cost work, never a wrong
// write: a new ID colliding with a stored one is looked up (and found absent), and an
// unchanged verdict needs the 128-bit ID key and the 64-bit source prefix to match.
type storedIndex struct {
	entries []indexEntry // by bucket, and by key within each
	// starts[b] is where bucket b begins in entries (starts[b+1] where it ends); a key's
	// bucket is key[0] >> shift.
	starts []uint32
	shift  uint
	// ambiguous is set when two links share a key: the index then answers nothing and
	// the run looks everything up, as it would without it.
	ambiguous bool
}

type indexEntry struct {
	key    [2]uint64
	source uint64 // sourcePrefix of the stored source hash, or deletedSource
}

// Reserved values of indexEntry.source. sourcePrefix never returns them.
const (
	deletedSource  uint64 = 0 // the link's profile is soft-deleted
	noSourcePrefix uint64 = 1 // live, without a recorded source hash
)

// Slots that are not an entry's position in the index (see storedIndex.find).
const (
	notInIndex = -1 // the index has no link with this key
	unlocated  = -2 // not looked for: the index was not loaded yet, or answers nothing
)

// loadStoredIndex streams the sync's links from the store into an index keyed like seen.
func loadStoredIndex(ctx context.Context, s store.Store, sync string, seen *seenSet) (*storedIndex, error) {
	idx := &storedIndex{}
	err := s.LinkSources(ctx, sync, func(ext, src []byte, deleted bool) error {
		e := indexEntry{key: seen.keyBytes(ext), source: deletedSource}
		if !deleted {
			e.source = sourcePrefix(src)
		}
		idx.entries = append(idx.entries, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sortIndex(idx)
	return idx, nil
}

// sortIndex puts the entries into their buckets, sorts each bucket by key, and notes
// whether two entries share one. It leaves entries without spare capacity.
func sortIndex(idx *storedIndex) {
	n := len(idx.entries)
	// 2^b buckets for n entries, n/2 < 2^b <= n: one or two entries to a bucket.
	b := min(max(bits.Len(uint(n))-1, 1), 32)
	idx.shift = uint(64 - b)
	starts := make([]uint32, 1<<b+1)
	for i := range idx.entries {
		starts[idx.entries[i].key[0]>>idx.shift+1]++
	}
	for i := 1; i < len(starts); i++ {
		starts[i] += starts[i-1]
	}
	// Scatter into place, each bucket filled from its end (next[k] counts down from
	// the end of bucket k, which is where bucket k+1 starts).
	sorted := make([]indexEntry, n)
	next := starts[1:]
	for i := n - 1; i >= 0; i-- {
		k := idx.entries[i].key[0] >> idx.shift
		next[k]--
		sorted[next[k]] = idx.entries[i]
	}
	// next[k], that is starts[k+1], is now bucket k's own start.
	copy(starts, starts[1:])
	starts[len(starts)-1] = uint32(n)
	idx.entries, idx.starts = sorted, starts
	idx.ambiguous = false
	for k := range len(starts) - 1 {
		bucket := sorted[starts[k]:starts[k+1]]
		if len(bucket) < 2 {
			continue
		}
		slices.SortFunc(bucket, func(a, b indexEntry) int { return compareKeys(a.key, b.key) })
		for i := 1; i < len(bucket); i++ {
			if bucket[i].key == bucket[i-1].key {
				idx.ambiguous = true
			}
		}
	}
}

// sourcePrefix is the index's form of a source hash: its first 8 bytes, or noSourcePrefix
// when there is none. Real prefixes that fall on a reserved value are moved off it, which
// costs the comparison a fraction of a bit.
func sourcePrefix(src []byte) uint64 {
	if len(src) < 8 {
		return noSourcePrefix
	}
	return max(binary.LittleEndian.Uint64(src), 2)
}

// linkState is what the index says about one record of the read.
type linkState uint8

const (
	// linkUnknown: look the record up in the store (it changed, its profile is deleted,
	// or the index cannot tell).
	linkUnknown linkState = iota
	// linkNew: the sync has no link with this external ID.
	linkNew
	// linkUnchanged: the link's profile is live and its source hash is this record's.
	linkUnchanged
)

// usable reports whether the index answers at all: a nil or ambiguous one does not.
func (x *storedIndex) usable() bool { return x != nil && !x.ambiguous }

// find returns the slot of the link with this seen-set key: its position among the
// entries, notInIndex, or unlocated when the index is not usable.
func (x *storedIndex) find(key [2]uint64) int {
	if !x.usable() {
		return unlocated
	}
	b := key[0] >> x.shift
	for i := x.starts[b]; i < x.starts[b+1]; i++ {
		if x.entries[i].key == key {
			return int(i)
		}
	}
	return notInIndex
}

// state says what the index knows about a record with this source hash whose key is at
// slot (from find). A nil index knows nothing.
func (x *storedIndex) state(slot int, source *[32]byte) linkState {
	switch {
	case !x.usable() || slot == unlocated:
		return linkUnknown
	case slot == notInIndex:
		return linkNew
	}
	if e := x.entries[slot]; e.source > noSourcePrefix && e.source == sourcePrefix(source[:]) {
		return linkUnchanged
	}
	return linkUnknown
}

// unseenLive counts the live links whose external ID the read did not return: the
// candidates for deletion after a complete full read (the links this run created or
// restored were all seen). It returns -1 when the index cannot tell.
func (x *storedIndex) unseenLive(seen *seenSet) int {
	if !x.usable() {
		return -1
	}
	seen.attach(x)
	n := 0
	for i := range x.entries {
		if x.entries[i].source != deletedSource && !seen.contains(x.entries[i].key, i) {
			n++
		}
	}
	return n
}

package engine

import (
	"context"
	"encoding/binary"
	"slices"

	"github.com/peoplesync/peoplesync/engine/store"
)

// storedIndex is what a full read knows up front about every link of its sync: the
// external ID (as the seen set's 128-bit key), the first 8 bytes of the source hash, and
// whether the profile is deleted. With it a batch looks up in the store only the records
// that changed at the source: an unchanged record is skipped, and a record the index does
// not know is new. It costs 24 bytes a link, and one streaming query instead of one
// lookup per batch (most of the store's work in a run over an unchanged directory).
//
// The index is a snapshot taken under the sync's lock, so no other writer changes the
// sync's links while the run uses it. Hash collisions only ever cost work, never a wrong
// write: a new ID colliding with a stored one is looked up (and found absent), and an
// unchanged verdict needs the 128-bit ID key and the 64-bit source prefix to match.
type storedIndex struct {
	entries []indexEntry // by key
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
	idx.entries = slices.Clip(idx.entries)
	return idx, nil
}

// sortIndex sorts the entries by key and notes whether two share one.
func sortIndex(idx *storedIndex) {
	slices.SortFunc(idx.entries, func(a, b indexEntry) int { return compareKeys(a.key, b.key) })
	idx.ambiguous = false
	for i := 1; i < len(idx.entries); i++ {
		if idx.entries[i].key == idx.entries[i-1].key {
			idx.ambiguous = true
			return
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

// state says what the index knows about the record with this seen-set key and source
// hash. A nil index knows nothing.
func (x *storedIndex) state(key [2]uint64, source *[32]byte) linkState {
	if x == nil || x.ambiguous {
		return linkUnknown
	}
	i, found := searchKeys(len(x.entries), func(i int) [2]uint64 { return x.entries[i].key }, key)
	if !found {
		return linkNew
	}
	if e := x.entries[i]; e.source > noSourcePrefix && e.source == sourcePrefix(source[:]) {
		return linkUnchanged
	}
	return linkUnknown
}

// unseenLive counts the live links whose external ID the read did not return: the
// candidates for deletion after a complete full read (the links this run created or
// restored were all seen). It returns -1 when the index cannot tell.
func (x *storedIndex) unseenLive(seen *seenSet) int {
	if x == nil || x.ambiguous {
		return -1
	}
	n := 0
	for i := range x.entries {
		if x.entries[i].source != deletedSource && !seen.contains(x.entries[i].key) {
			n++
		}
	}
	return n
}

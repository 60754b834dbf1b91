package engine

import (
	"hash/maphash"
	"slices"
)

// seenSet is the set of external IDs a read returned: the one structure of a run that
// grows with the directory. It keeps a 128-bit hash of each ID, not the ID, and keeps
// most of them in one sorted array (16 bytes an entry) with only the latest in a small
// map, because a map of a million entries costs more than three times the array while it
// grows. Two IDs colliding (odds about 1 in 10^26 for a million IDs) would make the later
// one look like a duplicate and keep the earlier one's profile from deletion.
//
// In a full read most IDs are the sync's links, which the stored index already holds:
// once the index is attached, those are one bit each, set at the slot where the index
// has them, and only the IDs the index does not know go into the array and the map. At
// 100,000 unchanged people the map and the array cost the run ~75 ms, the bits ~1.
type seenSet struct {
	seed1, seed2 maphash.Seed
	sorted       [][2]uint64            // merged entries, in order
	recent       map[[2]uint64]struct{} // entries since the last merge
	// index, once attached, holds the IDs marked in bits (bit i for its entry i); no key
	// of the index is then in sorted or recent.
	index *storedIndex
	bits  []uint64
}

// seenMergeAt is how many recent entries the map holds before they are merged into the
// sorted array.
const seenMergeAt = 1 << 16

func newSeenSet() *seenSet {
	return &seenSet{seed1: maphash.MakeSeed(), seed2: maphash.MakeSeed(), recent: make(map[[2]uint64]struct{})}
}

func (s *seenSet) key(id string) [2]uint64 {
	return [2]uint64{maphash.String(s.seed1, id), maphash.String(s.seed2, id)}
}

// keyBytes is key for an ID held in bytes (maphash hashes both forms alike).
func (s *seenSet) keyBytes(id []byte) [2]uint64 {
	return [2]uint64{maphash.Bytes(s.seed1, id), maphash.Bytes(s.seed2, id)}
}

func compareKeys(a, b [2]uint64) int {
	switch {
	case a[0] < b[0]:
		return -1
	case a[0] > b[0]:
		return 1
	case a[1] < b[1]:
		return -1
	case a[1] > b[1]:
		return 1
	}
	return 0
}

// attach makes the set keep the keys of idx in bits from now on, moving those it holds
// already; an index that answers nothing, or a second one, is not attached. Only the
// goroutine that adds to the set may call it.
func (s *seenSet) attach(idx *storedIndex) {
	if s.index != nil || !idx.usable() {
		return
	}
	s.index = idx
	s.bits = make([]uint64, (len(idx.entries)+63)/64)
	for k := range s.recent {
		if slot := idx.find(k); slot >= 0 {
			s.mark(slot)
			delete(s.recent, k)
		}
	}
	s.sorted = slices.DeleteFunc(s.sorted, func(k [2]uint64) bool {
		slot := idx.find(k)
		if slot >= 0 {
			s.mark(slot)
		}
		return slot >= 0
	})
}

// slot returns where k's bit is, or notInIndex when k is kept in the array and map:
// given, if the caller found it in the attached index (or unlocated: look for it).
func (s *seenSet) slot(k [2]uint64, given int) int {
	switch {
	case s.index == nil:
		return notInIndex
	case given == unlocated:
		return s.index.find(k)
	}
	return given
}

func (s *seenSet) mark(slot int) { s.bits[slot/64] |= 1 << (slot % 64) }

// contains reports whether the key k was recorded; slot is where the attached index
// has k (see storedIndex.find), or unlocated.
func (s *seenSet) contains(k [2]uint64, slot int) bool {
	if slot = s.slot(k, slot); slot >= 0 {
		return s.bits[slot/64]&(1<<(slot%64)) != 0
	}
	if _, ok := s.recent[k]; ok {
		return true
	}
	_, ok := searchKeys(len(s.sorted), func(i int) [2]uint64 { return s.sorted[i] }, k)
	return ok
}

// add records id and reports whether it was new.
func (s *seenSet) add(id string) bool {
	k := s.key(id)
	slot := s.slot(k, unlocated)
	if s.contains(k, slot) {
		return false
	}
	s.insert(k, slot)
	return true
}

// insert records a key known to be absent (the caller just checked with contains);
// slot is as for contains.
func (s *seenSet) insert(k [2]uint64, slot int) {
	if slot = s.slot(k, slot); slot >= 0 {
		s.mark(slot)
		return
	}
	s.recent[k] = struct{}{}
	if len(s.recent) >= seenMergeAt {
		s.merge()
	}
}

// merge moves the recent entries into the sorted array.
func (s *seenSet) merge() {
	batch := make([][2]uint64, 0, len(s.recent))
	for k := range s.recent {
		batch = append(batch, k)
	}
	slices.SortFunc(batch, compareKeys)
	merged := make([][2]uint64, 0, len(s.sorted)+len(batch))
	i, j := 0, 0
	for i < len(s.sorted) && j < len(batch) {
		if compareKeys(s.sorted[i], batch[j]) < 0 {
			merged = append(merged, s.sorted[i])
			i++
		} else {
			merged = append(merged, batch[j])
			j++
		}
	}
	merged = append(append(merged, s.sorted[i:]...), batch[j:]...)
	s.sorted = merged
	clear(s.recent)
}

// has reports whether id was recorded.
func (s *seenSet) has(id string) bool {
	return s.contains(s.key(id), unlocated)
}

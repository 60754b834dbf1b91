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
type seenSet struct {
	seed1, seed2 maphash.Seed
	sorted       [][2]uint64            // merged entries, in order
	recent       map[[2]uint64]struct{} // entries since the last merge
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

func (s *seenSet) contains(k [2]uint64) bool {
	if _, ok := s.recent[k]; ok {
		return true
	}
	_, ok := searchKeys(len(s.sorted), func(i int) [2]uint64 { return s.sorted[i] }, k)
	return ok
}

// add records id and reports whether it was new.
func (s *seenSet) add(id string) bool {
	return s.addKey(s.key(id))
}

// addKey records the ID whose key is k and reports whether it was new.
func (s *seenSet) addKey(k [2]uint64) bool {
	if s.contains(k) {
		return false
	}
	s.insert(k)
	return true
}

// insert records a key known to be absent (the caller just checked with contains).
func (s *seenSet) insert(k [2]uint64) {
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
	return s.contains(s.key(id))
}

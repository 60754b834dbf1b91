package engine

import "hash/maphash"

// seenSet is the set of external IDs a read returned. It keeps a 128-bit hash of each ID
// instead of the ID itself: 16 bytes an entry rather than the ID's string, which is what
// lets a run over a million people stay small. Two IDs colliding (odds about 1 in 10^26
// for a million IDs) would make the later one look like a duplicate and keep the
// earlier one's profile from deletion.
type seenSet struct {
	seed1, seed2 maphash.Seed
	ids          map[[2]uint64]struct{}
}

func newSeenSet() *seenSet {
	return &seenSet{seed1: maphash.MakeSeed(), seed2: maphash.MakeSeed(), ids: make(map[[2]uint64]struct{})}
}

func (s *seenSet) key(id string) [2]uint64 {
	return [2]uint64{maphash.String(s.seed1, id), maphash.String(s.seed2, id)}
}

// add records id and reports whether it was new.
func (s *seenSet) add(id string) bool {
	k := s.key(id)
	if _, ok := s.ids[k]; ok {
		return false
	}
	s.ids[k] = struct{}{}
	return true
}

// has reports whether id was recorded.
func (s *seenSet) has(id string) bool {
	_, ok := s.ids[s.key(id)]
	return ok
}

package engine

import (
	"math/bits"
	"sort"
)

// searchKeys returns the first position i in [0, n) where key(i) >= k, and whether
// key(i) == k, for keys sorted by compareKeys. The keys are hashes, spread evenly over
// the 64-bit range, so k's place is guessed from k[0] and the search gallops out from
// there: a few probes in one neighbourhood of the array, where a binary search over a
// million keys jumps through twenty cache misses.
func searchKeys(n int, key func(int) [2]uint64, k [2]uint64) (int, bool) {
	if n == 0 {
		return 0, false
	}
	guess, _ := bits.Mul64(k[0], uint64(n)) // k[0]/2^64 of the way into n
	lo, hi := int(guess), int(guess)
	if compareKeys(key(lo), k) < 0 {
		// The first key >= k is right of the guess.
		lo++
		bound := 1
		for lo+bound-1 < n && compareKeys(key(lo+bound-1), k) < 0 {
			lo += bound
			bound *= 2
		}
		hi = min(lo+bound-1, n)
	} else {
		// key(hi) >= k: the first such key is at hi or left of it.
		bound := 1
		for hi-bound >= 0 && compareKeys(key(hi-bound), k) >= 0 {
			hi -= bound
			bound *= 2
		}
		lo = max(hi-bound+1, 0)
	}
	i := lo + sort.Search(hi-lo, func(j int) bool { return compareKeys(key(lo+j), k) >= 0 })
	return i, i < n && key(i) == k
}

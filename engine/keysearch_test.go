package engine

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// searchKeys finds what a binary search finds, for keys spread evenly or not, present
// or absent, at the ends and in between.
func TestSearchKeysAgreesWithBinarySearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 3, 10, 100, 1000, 5000} {
		for _, spread := range []string{"even", "clustered"} {
			keys := make([][2]uint64, n)
			for i := range keys {
				keys[i] = [2]uint64{rng.Uint64(), rng.Uint64()}
				if spread == "clustered" { // all in a sliver of the range, ties on [0]
					keys[i][0] = 1<<40 + rng.Uint64N(uint64(n/4+1))
				}
			}
			slices.SortFunc(keys, compareKeys)
			keys = slices.CompactFunc(keys, func(a, b [2]uint64) bool { return a == b })
			at := func(i int) [2]uint64 { return keys[i] }
			queries := append([][2]uint64{{0, 0}, {^uint64(0), ^uint64(0)}}, keys...)
			for range 200 {
				queries = append(queries, [2]uint64{rng.Uint64(), rng.Uint64()})
				if len(keys) > 0 {
					k := keys[rng.IntN(len(keys))]
					queries = append(queries, [2]uint64{k[0], k[1] + 1}, [2]uint64{k[0], k[1] - 1})
				}
			}
			for _, q := range queries {
				wantI, wantOK := slices.BinarySearchFunc(keys, q, compareKeys)
				gotI, gotOK := searchKeys(len(keys), at, q)
				if gotI != wantI || gotOK != wantOK {
					t.Fatalf("n=%d %s: searchKeys(%x) = %d, %v; binary search says %d, %v", len(keys), spread, q, gotI, gotOK, wantI, wantOK)
				}
			}
		}
	}
}

func BenchmarkSearchKeys(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	keys := make([][2]uint64, 1_000_000)
	for i := range keys {
		keys[i] = [2]uint64{rng.Uint64(), rng.Uint64()}
	}
	slices.SortFunc(keys, compareKeys)
	at := func(i int) [2]uint64 { return keys[i] }
	queries := make([][2]uint64, 4096)
	for i := range queries {
		queries[i] = keys[rng.IntN(len(keys))]
	}
	found := 0
	b.Run("binary", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, ok := slices.BinarySearchFunc(keys, queries[i%len(queries)], compareKeys); ok {
				found++
			}
			i++
		}
	})
	b.Run("interpolated", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, ok := searchKeys(len(keys), at, queries[i%len(queries)]); ok {
				found++
			}
			i++
		}
	})
	if found == 0 {
		b.Fatal("found no key")
	}
}

package engine

import (
	"fmt"
	"testing"
)

func TestSeenSet(t *testing.T) {
	// Enough IDs for several merges into the sorted array.
	const n = 3*seenMergeAt + 1234
	s := newSeenSet()
	for i := range n {
		if !s.add(fmt.Sprintf("id-%d", i)) {
			t.Fatalf("id-%d reported as already seen", i)
		}
	}
	for i := range n {
		if !s.has(fmt.Sprintf("id-%d", i)) {
			t.Fatalf("id-%d not found", i)
		}
		if s.has(fmt.Sprintf("other-%d", i)) {
			t.Fatalf("other-%d found", i)
		}
	}
	// A second add is refused whether the first is merged or still recent.
	for _, id := range []string{"id-42", fmt.Sprintf("id-%d", n-1)} {
		if s.add(id) {
			t.Fatalf("a second add of %s reported it new", id)
		}
	}
	if len(s.sorted) != 3*seenMergeAt || len(s.recent) != 1234 {
		t.Fatalf("sorted %d, recent %d", len(s.sorted), len(s.recent))
	}
}

func BenchmarkSeenSet(b *testing.B) {
	ids := make([]string, 1<<20)
	for i := range ids {
		ids[i] = fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
	}
	b.ResetTimer()
	for range b.N {
		s := newSeenSet()
		for _, id := range ids {
			s.add(id)
		}
		for _, id := range ids[:1000] {
			s.has(id)
		}
	}
}

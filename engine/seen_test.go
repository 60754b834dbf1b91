package engine

import (
	"fmt"
	"testing"
)

func TestSeenSet(t *testing.T) {
	s := newSeenSet()
	for i := range 10000 {
		if !s.add(fmt.Sprintf("id-%d", i)) {
			t.Fatalf("id-%d reported as already seen", i)
		}
	}
	for i := range 10000 {
		if !s.has(fmt.Sprintf("id-%d", i)) {
			t.Fatalf("id-%d not found", i)
		}
		if s.has(fmt.Sprintf("other-%d", i)) {
			t.Fatalf("other-%d found", i)
		}
	}
	if s.add("id-42") {
		t.Fatal("a second add of id-42 reported it new")
	}
}

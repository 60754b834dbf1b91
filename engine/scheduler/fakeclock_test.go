package scheduler

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeClock is a Clock whose time moves only when the test sets it. An After channel
// fires when the fake time reaches its deadline; until then it is a waiter, and the test
// can wait until the scheduler waits (waitingFor) before it moves the time, so that
// nothing in these tests depends on how fast the machine is.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeTimer
	// changed is closed, and replaced, whenever a waiter is added.
	changed chan struct{}
}

type fakeTimer struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(now time.Time) *fakeClock {
	return &fakeClock{now: now, changed: make(chan struct{})}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeTimer{at: c.now.Add(d), ch: ch})
	close(c.changed)
	c.changed = make(chan struct{})
	return ch
}

// Set moves the time to t and fires every waiter whose deadline is not after t.
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(t) {
			kept = append(kept, w)
			continue
		}
		w.ch <- t // buffered, sent once
	}
	clear(c.waiters[len(kept):])
	c.waiters = kept
}

// pending returns the deadlines of the waiters, earliest first.
func (c *fakeClock) pending() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]time.Time, 0, len(c.waiters))
	for _, w := range c.waiters {
		out = append(out, w.at)
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}

// waitingFor blocks until, for each of deadlines, someone waits on an After that fires
// then: the scheduler is blocked until the test moves the time. It returns the deadlines
// of every waiter. It fails the test if that does not happen before the test's deadline.
func (c *fakeClock) waitingFor(t *testing.T, deadlines ...time.Time) []time.Time {
	t.Helper()
	end := testDeadline(t)
	for {
		c.mu.Lock()
		changed := c.changed
		c.mu.Unlock()
		have := c.pending()
		all := true
		for _, d := range deadlines {
			if !slices.ContainsFunc(have, d.Equal) {
				all = false
			}
		}
		if all {
			return have
		}
		select {
		case <-changed:
		case <-end:
			t.Fatalf("the scheduler never waited for %v (it waits for %v)", deadlines, have)
		}
	}
}

// testDeadline fires shortly before the test binary's deadline (go test -timeout), so
// that a wait that never ends fails its test, saying what it waited for, instead of
// ending the binary with a dump of every goroutine. Without a deadline it never fires.
func testDeadline(t *testing.T) <-chan time.Time {
	d, ok := t.Deadline()
	if !ok {
		return nil
	}
	left := time.Until(d)
	return time.After(left - min(left/10, 10*time.Second))
}

// recv receives from ch, failing the test if nothing comes before its deadline.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-testDeadline(t):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// TestFakeClock: the fake's After fires only once the time is set past its deadline, and
// waitingFor sees a waiter that comes after it started waiting.
func TestFakeClock(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2030, 1, 1, 10, 0, 0, 0, time.UTC)
	c := newFakeClock(t0)
	if got := <-c.After(0); !got.Equal(t0) {
		t.Errorf("After(0) fired with %v, want now", got)
	}
	after := make(chan (<-chan time.Time), 1)
	go func() { after <- c.After(time.Minute) }()
	if got := c.waitingFor(t, t0.Add(time.Minute)); len(got) != 1 || !got[0].Equal(t0.Add(time.Minute)) {
		t.Errorf("waiters %v", got)
	}
	ch := recv(t, after, "After to return")
	c.Set(t0.Add(59 * time.Second))
	select {
	case <-ch:
		t.Fatal("After(1m) fired after 59 s")
	default:
	}
	c.Set(t0.Add(61 * time.Second))
	if got := <-ch; !got.Equal(t0.Add(61 * time.Second)) {
		t.Errorf("After fired with %v", got)
	}
	if p := c.pending(); len(p) != 0 {
		t.Errorf("waiters left: %v", p)
	}
}

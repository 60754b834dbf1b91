package scheduler

// testSignals are the moments a test of this package waits for instead of sleeping. Each
// is a no-op until the test initialises it, so the daemon pays a nil check per run.
type testSignals struct {
	// runEnded receives a job's status once a tick's run, or its attempt to begin one
	// (the tick was taken, the sync stayed locked), has ended and the status records it:
	// from then on the job's next tick is not skipped as busy.
	runEnded testSignal[JobStatus]
}

// testSignal is a buffered channel that the scheduler sends on, if a test made it.
type testSignal[T any] struct{ ch chan T }

// init makes the channel; a test calls it before Start.
func (s *testSignal[T]) init() { s.ch = make(chan T, 64) }

// signal sends v if a test is listening. It never blocks: a test that lets the buffer
// fill has lost track of what happened, and is told so.
func (s *testSignal[T]) signal(v T) {
	if s.ch == nil {
		return
	}
	select {
	case s.ch <- v:
	default:
		panic("scheduler: test signal buffer is full: the test does not read it")
	}
}

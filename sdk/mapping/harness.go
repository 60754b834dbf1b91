package mapping

// Harness runs a mapping function natively exactly as a module instance runs it, wire
// encoding included, for tests and benchmarks of a module's package. It is not safe for
// concurrent use; give each goroutine its own.
type Harness struct {
	r runner
}

// NewHarness returns a Harness for fn and, if not nil, the settings check check.
func NewHarness(fn Func, check ConfigureFunc) *Harness {
	return &Harness{r: runner{fn: fn, check: check}}
}

// Configure does what peoplesync_configure does with settings (a JSON object).
func (h *Harness) Configure(settings []byte) error {
	return h.r.configure(settings)
}

// MapBatch does what peoplesync_map does: it maps a wire-encoded records batch and
// returns the wire-encoded results, valid until the next call.
func (h *Harness) MapBatch(batch []byte) []byte {
	in := h.r.alloc(len(batch))
	copy(in, batch)
	return h.r.mapBatch(in)
}

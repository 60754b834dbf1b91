package engine

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/sdk/connector"
)

// Phases of a run, as Progress names them.
const (
	PhaseReading   = "reading"
	PhaseDeleting  = "deleting"
	PhaseResolving = "resolving managers"
)

// Progress is a snapshot of a run on its way: what a terminal shows live and what a
// daemon logs every so often.
type Progress struct {
	Sync  string
	Phase string
	// Read is how many records the connector has returned so far.
	Read int64
	// Mapped is how many of them the run has handled: mapped and compared, or found
	// unchanged at the source (which needs no mapping), or failed.
	Mapped int64
	// Written is how many profiles the run has created or updated so far.
	Written int64
	// Total is how many records the read is expected to return (the sync's previous
	// complete read of the same mode), or 0 when nobody knows.
	Total   int64
	Elapsed time.Duration
}

// Rate is the records handled per second so far.
func (p Progress) Rate() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Mapped) / p.Elapsed.Seconds()
}

// ProgressFunc receives a run's progress. The run calls it from its own goroutines, at
// most a few times per batch (never per record) and possibly at the same time from
// several of them: it must be quick and safe for concurrent use. The last call of a
// run comes before Run returns.
type ProgressFunc func(Progress)

// progress is a pass's live counts, kept apart from the comparer's own so that the
// readers of a snapshot need no lock: each is added to once per batch.
type progress struct {
	fn                    ProgressFunc
	start                 time.Time
	total                 int64
	phase                 atomic.Pointer[string]
	read, mapped, written atomic.Int64
}

// report calls the hook with a snapshot, if the run has one.
func (p *pass) report() {
	pr := &p.progress
	if pr.fn == nil {
		return
	}
	phase := PhaseReading
	if ph := pr.phase.Load(); ph != nil {
		phase = *ph
	}
	pr.fn(Progress{
		Sync: p.sync.Name, Phase: phase, Total: pr.total,
		Read: pr.read.Load(), Mapped: pr.mapped.Load(), Written: pr.written.Load(),
		Elapsed: p.engine.now().Sub(pr.start),
	})
}

// enter reports that the run entered phase.
func (p *pass) enter(phase string) {
	if p.progress.fn == nil {
		return
	}
	p.progress.phase.Store(&phase)
	p.report()
}

// expectedRecords is how many records the sync's last complete read in this mode
// returned: what a progress bar can count up to. 0 if there was none.
func (p *pass) expectedRecords(ctx context.Context) int64 {
	if p.opts.Mode == connector.Delta {
		return 0 // a delta read returns whatever changed
	}
	runs, err := p.engine.Store.Runs(ctx, p.sync.Name, 10)
	if err != nil {
		p.log.Debug("no previous run to estimate the read's size", "err", err)
		return 0
	}
	for _, r := range runs {
		if r.Mode != modeName(p.opts.Mode) {
			continue
		}
		switch r.Status {
		case store.StatusSucceeded, store.StatusGuarded, store.StatusCompletedWithErrors:
			return r.Processed
		}
	}
	return 0
}

// RateWindow is the span over which RateMeter measures a current rate: long enough to
// smooth the bursts of batches, short enough that a stalled source shows as one within
// seconds.
const RateWindow = 5 * time.Second

// RateMeter measures a current rate (records handled per second over the last
// RateWindow) from samples of a growing count. The zero value is ready; it is not safe
// for concurrent use.
type RateMeter struct {
	samples []rateSample // oldest first; at most one older than RateWindow is kept
}

type rateSample struct {
	at time.Time
	n  int64
}

// Add records that the count was n at t.
func (m *RateMeter) Add(t time.Time, n int64) {
	m.samples = append(m.samples, rateSample{at: t, n: n})
	// Keep the newest sample at or before t-RateWindow as the base, and what follows.
	cut := 0
	for i, s := range m.samples {
		if t.Sub(s.at) >= RateWindow {
			cut = i
		}
	}
	m.samples = m.samples[cut:]
}

// Rate is the rate at t, when the count is n: the growth since the oldest kept sample
// over the time since it, or 0 without one. A count that stopped growing reads 0 once
// the samples of its last growth are RateWindow old.
func (m *RateMeter) Rate(t time.Time, n int64) float64 {
	if len(m.samples) == 0 {
		return 0
	}
	base := m.samples[0]
	for _, s := range m.samples[1:] {
		if t.Sub(s.at) < RateWindow {
			break
		}
		base = s
	}
	d := t.Sub(base.at).Seconds()
	if d <= 0 || n < base.n {
		return 0
	}
	return float64(n-base.n) / d
}

// ProgressLog logs a run's progress as one line every so often, for logs that no one
// watches live (off a terminal, and in serve). Each line is as of the moment it is
// logged: the elapsed time goes on, and the rate is the current one (RateMeter), while
// the run is between snapshots, as when its source stalls.
type ProgressLog struct {
	log  *slog.Logger
	now  func() time.Time
	tick <-chan time.Time

	mu     sync.Mutex
	last   Progress
	lastAt time.Time // when last was given
	seen   bool
	rate   RateMeter

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// StartProgressLog starts logging, every interval, the progress its Update was last
// given (nothing until the first). Stop ends it.
func StartProgressLog(log *slog.Logger, every time.Duration) *ProgressLog {
	t := time.NewTicker(every)
	l := newProgressLog(log, time.Now, t.C)
	go func() {
		<-l.done
		t.Stop()
	}()
	return l
}

// newProgressLog starts a ProgressLog that reads the time from now and logs a line on
// every tick.
func newProgressLog(log *slog.Logger, now func() time.Time, tick <-chan time.Time) *ProgressLog {
	l := &ProgressLog{log: log, now: now, tick: tick, stop: make(chan struct{}), done: make(chan struct{})}
	go l.loop()
	return l
}

// Update is the ProgressFunc that feeds the log.
func (l *ProgressLog) Update(p Progress) {
	now := l.now()
	l.mu.Lock()
	if !l.seen {
		// The run's start: the first rate counts from there.
		l.rate.Add(now.Add(-p.Elapsed), 0)
	}
	l.last, l.lastAt, l.seen = p, now, true
	l.rate.Add(now, p.Mapped)
	l.mu.Unlock()
}

func (l *ProgressLog) loop() {
	defer close(l.done)
	for {
		select {
		case <-l.stop:
			return
		case <-l.tick:
			l.line()
		}
	}
}

// line logs the progress as of now.
func (l *ProgressLog) line() {
	now := l.now()
	l.mu.Lock()
	p, seen := l.last, l.seen
	elapsed := p.Elapsed + now.Sub(l.lastAt)
	rate := l.rate.Rate(now, p.Mapped)
	l.mu.Unlock()
	if !seen {
		return
	}
	attrs := []any{"sync", p.Sync, "phase", p.Phase, "read", p.Read, "mapped", p.Mapped,
		"written", p.Written, "rate_per_s", int64(rate), "elapsed", elapsed.Round(time.Second)}
	if p.Total > 0 {
		attrs = append(attrs, "expected", p.Total)
	}
	l.log.Info("sync progress", attrs...)
}

// Stop stops the log and waits for its last line; it is idempotent.
func (l *ProgressLog) Stop() {
	l.once.Do(func() { close(l.stop) })
	<-l.done
}

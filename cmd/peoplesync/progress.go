package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"

	"github.com/peoplesync/peoplesync/engine"
)

// defaultProgressEvery is how often a run off a terminal logs its progress.
const defaultProgressEvery = 10 * time.Second

// startProgress shows a run's progress on stderr: a live line on a terminal, cleared
// before the summary; otherwise a log line every --progress-every. Progress never goes
// to stdout, which holds the result (JSON with --output json). The returned stop ends
// it and must be called before the summary is printed.
func (a *app) startProgress() (engine.ProgressFunc, func()) {
	if a.progressEvery < 0 {
		return nil, func() {}
	}
	if isTerminal(a.stderr) {
		v := newProgressView(a.stderr, a.logOut)
		return v.update, v.stop
	}
	pl := engine.StartProgressLog(a.logger, a.progressEvery)
	return pl.Update, pl.Stop
}

// progressView is the live line of a run on a terminal, drawn by mpb: a bar when the
// run knows how many records to expect, a spinner otherwise, with the counts, the
// current rate (over the last engine.RateWindow: a stalled source reads 0/s) and the
// time so far. While it shows, the process's log lines print above it.
type progressView struct {
	p     *mpb.Progress
	logs  *switchWriter
	now   func() time.Time // the clock; time.Now but in tests
	start time.Time
	last  atomic.Pointer[engine.Progress]
	once  sync.Once
	mu    sync.Mutex // guards bar and total
	bar   *mpb.Bar
	total int64
	// rate is the current rate, not the run's average. It has a lock of its own: the
	// bar's rendering reads it while update may hold mu.
	rateMu sync.Mutex
	rate   engine.RateMeter
}

func newProgressView(w io.Writer, logs *switchWriter) *progressView {
	v := &progressView{p: mpb.New(mpb.WithOutput(w)), logs: logs, now: time.Now}
	v.start = v.now()
	v.rate.Add(v.start, 0)
	if logs != nil {
		logs.set(v.p)
	}
	return v
}

// update is the run's ProgressFunc.
func (v *progressView) update(p engine.Progress) {
	v.last.Store(&p)
	v.once.Do(func() {
		if v.p == nil {
			return
		}
		v.mu.Lock()
		defer v.mu.Unlock()
		// The bar starts without a total of its own (so it never completes on reaching
		// it) and shows the expected one: a directory may have grown since.
		opts := []mpb.BarOption{
			mpb.PrependDecorators(decor.Name(p.Sync + " ")),
			mpb.AppendDecorators(decor.Any(v.describe)),
		}
		if p.Total > 0 {
			v.bar = v.p.New(0, mpb.BarStyle(), append(opts, mpb.BarWidth(30))...)
			v.total = p.Total
			v.bar.SetTotal(p.Total, false)
		} else {
			v.bar = v.p.New(0, mpb.SpinnerStyle(), append(opts, mpb.BarWidth(1))...)
		}
	})
	v.rateMu.Lock()
	v.rate.Add(v.now(), p.Mapped)
	v.rateMu.Unlock()
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.bar == nil {
		return // a view without a container (a test's)
	}
	if v.total > 0 && p.Mapped > v.total {
		v.total = p.Mapped
		v.bar.SetTotal(-1, false)
	}
	v.bar.SetCurrent(p.Mapped)
}

// describe renders the counts after the bar.
func (v *progressView) describe(decor.Statistics) string {
	p := v.last.Load()
	if p == nil {
		return ""
	}
	now := v.now()
	elapsed := now.Sub(v.start)
	v.rateMu.Lock()
	rate := v.rate.Rate(now, p.Mapped)
	v.rateMu.Unlock()
	var b strings.Builder
	if p.Total > 0 {
		fmt.Fprintf(&b, " %3d%% ", p.Mapped*100/max(p.Total, p.Mapped, 1))
	}
	fmt.Fprintf(&b, " read %s · mapped %s · written %s", thousands(p.Read), thousands(p.Mapped), thousands(p.Written))
	if elapsed >= time.Second {
		fmt.Fprintf(&b, " · %s/s", thousands(int64(rate)))
	}
	fmt.Fprintf(&b, " · %s", elapsed.Round(time.Second))
	if p.Phase != engine.PhaseReading {
		fmt.Fprintf(&b, " · %s", p.Phase)
	}
	return b.String()
}

// stop clears the line and gives the log lines their terminal back.
func (v *progressView) stop() {
	v.mu.Lock()
	if v.bar != nil {
		v.bar.Abort(true) // drop it: the summary follows in its place
	}
	v.mu.Unlock()
	if v.logs != nil {
		v.logs.set(nil)
	}
	v.p.Wait()
}

// thousands writes n with thin separators: 123,456.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	if n < 0 || len(s) <= 3 {
		return s
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// switchWriter is the log's writer: stderr, or while a live progress line shows, the
// progress container, which prints each line above the bar.
type switchWriter struct {
	mu   sync.Mutex
	base io.Writer
	to   io.Writer
}

func (w *switchWriter) set(to io.Writer) {
	w.mu.Lock()
	w.to = to
	w.mu.Unlock()
}

func (w *switchWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.to != nil {
		return w.to.Write(b)
	}
	return w.base.Write(b)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

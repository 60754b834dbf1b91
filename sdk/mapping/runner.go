package mapping

import (
	"errors"
	"fmt"
	"runtime/debug"
	"sync/atomic"

	"github.com/peoplesync/peoplesync/sdk/mapping/wire"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

// Func maps one record to a profile, or returns Skip(reason), or another error.
type Func func(r *Record, s *Settings) (*profile.Profile, error)

// ConfigureFunc checks settings when the host configures the module, so that a mistake in
// the sync's HCL fails the sync's start with one message instead of every record.
type ConfigureFunc func(s *Settings) error

// WithSettings makes a mapping function and a settings check of fn, a function that
// takes the settings parsed by parse into what it needs (a config struct). parse runs
// once per configuration: the check reports its error, which fails the sync at start
// (and `peoplesync validate`), and every record's call gets its result, without parsing
// the settings again.
//
// The keys parse looks up are the settings the module declares: the check also fails for
// any other key in the sync's settings, with the nearest known key as a "did you mean"
// (see Settings.CheckKnown), so a typo is not silently ignored.
//
//	var Map, check = mapping.WithSettings(parseConfig, mapRecord)
//
//	func init() {
//		mapping.Handle(Map)
//		mapping.HandleConfigure(check)
//	}
func WithSettings[C any](parse func(*Settings) (C, error), fn func(*Record, C) (*profile.Profile, error)) (Func, ConfigureFunc) {
	var last atomic.Pointer[parsed[C]] // the settings last seen, parsed
	load := func(s *Settings) (C, error) {
		if p := last.Load(); p != nil && p.settings == s {
			return p.config, p.err
		}
		c, err := parse(s)
		last.Store(&parsed[C]{settings: s, config: c, err: err})
		return c, err
	}
	mapFn := func(r *Record, s *Settings) (*profile.Profile, error) {
		c, err := load(s)
		if err != nil {
			return nil, err
		}
		return fn(r, c)
	}
	check := func(s *Settings) error {
		if s == nil {
			_, err := load(s)
			return err
		}
		s.read = map[string]bool{}
		_, err := load(s)
		known := sortedKeys(s.read)
		s.read = nil
		return errors.Join(err, s.CheckKnown(known...))
	}
	return mapFn, check
}

// parsed is what WithSettings's parse made of one Settings.
type parsed[C any] struct {
	settings *Settings
	config   C
	err      error
}

// the module's one runner: a guest instance is single-threaded and maps one batch at a
// time.
var guest runner

// Handle registers the module's mapping function. Call it from an init function of
// package main: a reactor module's main never runs.
func Handle(fn Func) {
	guest.fn = fn
}

// HandleConfigure registers a function that checks the settings once, when the host
// configures the module. Its error fails the configuration.
func HandleConfigure(fn ConfigureFunc) {
	guest.check = fn
}

// runner is the portable part of the ABI: everything but the wasm exports, so that tests
// exercise it natively.
type runner struct {
	fn       Func
	check    ConfigureFunc
	settings *Settings

	in   []byte // the host writes its input here
	out  []byte // results, kept until the next call
	dec  wire.RecordDecoder
	tab  *nameTable
	fill recordFiller
	rec  Record
}

// alloc returns a buffer of size bytes for the host's next input. Each input gets a fresh
// buffer that nothing changes after the host wrote it, so decoded strings can alias it
// instead of a copy (see wire.RecordDecoder.ResetImmutable).
func (r *runner) alloc(size int) []byte {
	r.in = make([]byte, max(size, 1))[:size]
	return r.in
}

// configure decodes and checks the settings.
func (r *runner) configure(data []byte) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("settings check panicked: %v", p)
		}
	}()
	s, err := ParseSettings(data)
	if err != nil {
		return err
	}
	if r.check != nil {
		if err := r.check(s); err != nil {
			return err
		}
	}
	r.settings = s
	return nil
}

// mapBatch maps a wire-encoded records batch and returns the wire-encoded results, in a
// buffer kept until the next call.
func (r *runner) mapBatch(data []byte) []byte {
	out := r.out[:0]
	if r.out != nil && cap(r.out) > 1<<20 {
		out = nil // do not pin a huge buffer after one batch of large photos
	}
	n, err := r.dec.ResetImmutable(data)
	switch {
	case err != nil:
		out = wire.AppendBatchFailure(out, err.Error())
	case r.fn == nil:
		out = wire.AppendBatchFailure(out, "the module registered no mapping function (mapping.Handle)")
	default:
		if r.settings == nil {
			r.settings, _ = ParseSettings(nil)
		}
		if r.tab == nil {
			r.tab = newNameTable()
			r.fill = recordFiller{dec: &r.dec, tab: r.tab}
		}
		r.tab.startBatch()
		out = wire.AppendResultsHeader(out, n)
		var res wire.Result
		for range n {
			r.tab.next()
			id, dn, kind, err := r.dec.Visit(&r.fill)
			if err != nil {
				out = wire.AppendBatchFailure(out[:0], err.Error())
				break
			}
			r.rec = Record{ID: id, DN: dn, Kind: ChangeKind(kind), tab: r.tab}
			res = r.mapOne(&r.rec)
			out = wire.AppendResult(out, &res)
		}
	}
	r.out = out
	return out
}

// mapOne calls the mapping function, turning a panic into the record's error.
func (r *runner) mapOne(rec *Record) (res wire.Result) {
	defer func() {
		if p := recover(); p != nil {
			res = wire.Result{Outcome: wire.Failed, Message: fmt.Sprintf("mapping panicked: %v\n%s", p, stackTop(debug.Stack()))}
		}
	}()
	p, err := r.fn(rec, r.settings)
	if err != nil {
		if reason, ok := IsSkip(err); ok {
			if reason == "" {
				reason = "skipped by the mapping"
			}
			return wire.Result{Outcome: wire.Skipped, Message: reason}
		}
		return wire.Result{Outcome: wire.Failed, Message: err.Error()}
	}
	if p == nil {
		return wire.Result{Outcome: wire.Failed, Message: "mapping returned neither a profile nor an error"}
	}
	return wire.Result{Outcome: wire.Mapped, Profile: p}
}

// stackTop keeps the first lines of a stack trace: enough to find the panic's line.
func stackTop(stack []byte) []byte {
	const maxLines = 12
	lines := 0
	for i, c := range stack {
		if c == '\n' {
			lines++
			if lines == maxLines {
				return stack[:i]
			}
		}
	}
	return stack
}

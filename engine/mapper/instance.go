package mapper

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/peoplesync/peoplesync/sdk/mapping/wire"
)

// instance is one instantiated module. It is used by one goroutine at a time and
// discarded after any failed call: a trapped Go guest is broken.
type instance struct {
	mod        api.Module
	mem        api.Memory
	abiVersion api.Function
	alloc      api.Function
	configureF api.Function
	mapF       api.Function
	stderr     *head
	stack      [2]uint64
	in         []byte
	enc        wire.RecordEncoder
	dec        wire.ResultDecoder
}

func (m *Module) instantiate(ctx context.Context) (*instance, error) {
	stderr := &head{}
	cfg := wazero.NewModuleConfig().
		WithName(""). // anonymous: one compiled module, many instances
		WithStartFunctions(exportInitialize).
		WithStderr(stderr)
	limit := m.startLimit()
	callCtx, cancel := m.callContext(ctx, limit)
	defer cancel()
	mod, err := m.rt.InstantiateModule(callCtx, m.compiled, cfg)
	if err != nil {
		if why := stopped(ctx, callCtx, exportInitialize, limit); why != nil {
			return nil, fmt.Errorf("instantiate: %w", why)
		}
		return nil, fmt.Errorf("instantiate: %s", withStderr(err, stderr))
	}
	inst := &instance{
		mod:        mod,
		mem:        mod.Memory(),
		abiVersion: mod.ExportedFunction(exportABIVersion),
		alloc:      mod.ExportedFunction(exportAlloc),
		configureF: mod.ExportedFunction(exportConfigure),
		mapF:       mod.ExportedFunction(exportMap),
		stderr:     stderr,
	}
	return inst, nil
}

func (inst *instance) close(ctx context.Context) {
	_ = inst.mod.Close(ctx)
}

// call writes input into the guest, calls fn on it, within limit, and returns fn's packed
// output, a view of guest memory valid until the next call.
func (inst *instance) call(ctx context.Context, m *Module, fn api.Function, input []byte, limit time.Duration) ([]byte, error) {
	inst.stderr.reset()
	callCtx, cancel := m.callContext(ctx, limit)
	defer cancel()
	stack := inst.stack[:]
	stack[0] = uint64(len(input))
	if err := inst.alloc.CallWithStack(callCtx, stack); err != nil {
		return nil, inst.callError(ctx, callCtx, exportAlloc, limit, err)
	}
	ptr := uint32(stack[0])
	if !inst.mem.Write(ptr, input) {
		return nil, fmt.Errorf("%w: %s returned %d, outside memory", ErrTrapped, exportAlloc, ptr)
	}
	stack[0], stack[1] = uint64(ptr), uint64(len(input))
	if err := fn.CallWithStack(callCtx, stack); err != nil {
		return nil, inst.callError(ctx, callCtx, fn.Definition().Name(), limit, err)
	}
	packed := stack[0]
	if packed == 0 {
		return nil, nil
	}
	out, ok := inst.mem.Read(uint32(packed>>32), uint32(packed))
	if !ok {
		return nil, fmt.Errorf("%w: output %#x lies outside memory", ErrTrapped, packed)
	}
	return out, nil
}

func (inst *instance) callError(ctx, callCtx context.Context, name string, limit time.Duration, err error) error {
	if why := stopped(ctx, callCtx, name, limit); why != nil {
		return why
	}
	return fmt.Errorf("%w: %s: %s", ErrTrapped, name, withStderr(err, inst.stderr))
}

// stopped says why the call of name, made with callCtx (ctx bounded by limit), was
// stopped, or returns nil if it was not: it failed by itself.
func stopped(ctx, callCtx context.Context, name string, limit time.Duration) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s stopped: %w", name, ctx.Err())
	}
	if errors.Is(callCtx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w: %s %w (limit %s)", ErrTrapped, name, errOutOfTime, limit)
	}
	return nil
}

// configure hands the settings to the guest.
func (inst *instance) configure(ctx context.Context, m *Module, settings []byte) error {
	out, err := inst.call(ctx, m, inst.configureF, settings, m.startLimit())
	if err != nil {
		return fmt.Errorf("configure: %w", err)
	}
	if out != nil {
		return fmt.Errorf("mapping settings: %s", out)
	}
	return nil
}

// mapInto maps recs and stores the results in out. An error other than a
// *wire.BatchError means the instance is broken.
func (inst *instance) mapInto(ctx context.Context, m *Module, recs []Input, out []Result) error {
	raw := rawAppender{enc: &inst.enc, buf: inst.enc.Begin(inst.in[:0], len(recs))}
	for i := range recs {
		in := &recs[i]
		if err := in.Raw.Visit(in.I, &raw); err != nil {
			return fmt.Errorf("encode record %q: %w", in.Raw.ID(in.I), err)
		}
	}
	buf := raw.buf
	if cap(buf) <= 4<<20 {
		inst.in = buf // keep the buffer, unless a batch of photos made it huge
	}
	data, err := inst.call(ctx, m, inst.mapF, buf, m.opts.CallTimeout)
	if err != nil {
		return err
	}
	n, err := inst.dec.Reset(data)
	if err != nil {
		var batchErr *wire.BatchError
		if errors.As(err, &batchErr) {
			return batchErr
		}
		return fmt.Errorf("%w: corrupt results: %w", ErrTrapped, err)
	}
	if n != len(recs) {
		return fmt.Errorf("%w: %d results for %d records", ErrTrapped, n, len(recs))
	}
	var res wire.Result
	for i := range out {
		if err := inst.dec.Next(&res); err != nil {
			return fmt.Errorf("%w: corrupt results: %w", ErrTrapped, err)
		}
		switch res.Outcome {
		case wire.Mapped:
			out[i] = Result{Profile: res.Profile}
		case wire.Skipped:
			reason := res.Message
			if reason == "" {
				reason = "skipped by the mapping"
			}
			out[i] = Result{SkipReason: reason}
		default:
			out[i] = Result{Err: &RecordError{Message: res.Message}}
		}
	}
	return nil
}

// rawAppender encodes records for the module as RawBatch.Visit shows them.
type rawAppender struct {
	enc *wire.RecordEncoder
	buf []byte
}

func (a *rawAppender) Begin(id, dn []byte, kind uint8, text int) {
	a.buf = a.enc.AppendHead(a.buf, id, dn, kind, text)
}

func (a *rawAppender) Text(name string, values [][]byte) {
	a.buf = a.enc.AppendAttr(a.buf, name, values)
}

func (a *rawAppender) BeginBinary(n int) { a.buf = wire.AppendCount(a.buf, n) }

func (a *rawAppender) Binary(name string, values [][]byte) {
	a.buf = a.enc.AppendAttr(a.buf, name, values)
}

// RecordError is a mapping's own error for one record. It wraps ErrMapping.
type RecordError struct {
	Message string
}

func (e *RecordError) Error() string { return "mapping failed: " + e.Message }

// Unwrap makes errors.Is(err, ErrMapping) hold.
func (e *RecordError) Unwrap() error { return ErrMapping }

// withStderr condenses a failed call's error to its first line (wazero appends the wasm
// stack trace) and adds what the guest wrote to stderr: a Go runtime's fatal error.
func withStderr(err error, h *head) string {
	msg, _, _ := strings.Cut(err.Error(), "\n")
	if g := h.summary(); g != "" {
		msg += " (guest: " + g + ")"
	}
	return msg
}

// head keeps the first bytes a guest writes to stderr during one call: a Go guest's fatal
// error or unrecovered panic starts with its message.
type head struct {
	mu  sync.Mutex
	buf []byte
}

const headSize = 4096

func (h *head) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if room := headSize - len(h.buf); room > 0 {
		h.buf = append(h.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (h *head) reset() {
	h.mu.Lock()
	h.buf = h.buf[:0]
	h.mu.Unlock()
}

// summary returns the first line written and, for a Go traceback, where the failing
// goroutine was: "panic: boom at /src/main.go:39".
func (h *head) summary() string {
	h.mu.Lock()
	text := string(bytes.ToValidUTF8(h.buf, []byte("?")))
	h.mu.Unlock()
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return ""
	}
	msg := strings.TrimSpace(lines[0])
	for i, l := range lines {
		if strings.HasPrefix(l, "goroutine ") && i+2 < len(lines) && strings.HasPrefix(lines[i+2], "\t") {
			where, _, _ := strings.Cut(strings.TrimSpace(lines[i+2]), " +0x")
			msg += " at " + where
			break
		}
	}
	return msg
}

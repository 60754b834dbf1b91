// Package mapper runs WASM mapping modules: it compiles a module once, keeps a pool of
// configured instances, and maps batches of records to profiles through them.
//
//	records ─► batches of 64 ─► wire encoding ─► instance (peoplesync_map) ─► results
//	                                              │ trap: discard the instance,
//	                                              └ map the batch again, one record per
//	                                                fresh instance, so only the culprit fails
//
// The guest side, and the ABI between the two, is package sdk/mapping. A module gets no
// files, network or environment, fake clocks and randomness, a memory cap and a time
// limit per call.
//
// # The time limit
//
// Every call into an instance is limited, to Options.CallTimeout or DefaultCallTimeout
// (10 s), and stops when its context ends. wazero v1.12 cannot do that cheaply: the code
// it compiles never looks outside itself, and compiled guest code cannot be preempted by
// the Go scheduler, so a guest looping unchecked cannot be stopped and also holds up the
// next stop-the-world of the garbage collector, and with it the whole process. wazero's
// own check (RuntimeConfig.WithCloseOnContextDone) leaves the guest for Go at every loop
// header, and Go's WebAssembly passes loop headers all the time (it even dispatches
// within a function through one): the default module maps about 3× fewer records per
// second with it (see BenchmarkDefaultModule).
//
// So Compile instruments the module first (package interrupt): a countdown on a new
// global at every loop header (and before every call outside a loop that may recurse),
// a few instructions, whose slow path, every 2^16 of them, calls tick, a Go function.
// tick lets the scheduler preempt and the collector stop the goroutine, and panics,
// which fails the call, once the call's context (a context.WithTimeout of the limit) has
// ended. On the busy 2-core machine that costs the default module 5–20% of its records
// per CPU second (BenchmarkDefaultModule, 8 interleaved rounds: 4% between the medians,
// 11% as the median of the rounds' ratios; one instance on a locked thread, alternating
// with an uninstrumented one: 13–23%), where wazero's check costs ≈65%.
// Of that, the decrement alone costs nothing measurable and the branch about 6%; the
// rest comes with the call on the slow path, probably because wazero's register
// allocator then keeps the values live at a loop header on the stack. (Checking at
// back-edges and before calls instead of at loop headers measured no better.)
// The instrumented bytes are what wazero compiles and caches; the mapping's identity
// stays the hash of the module's own bytes.
//
//	call ──► guest ─ loop ─► countdown ─ 0? ─► tick (Go): ctx done? panic ─► call fails
//	              ▲                                     │ no: budget = 2^16
//	              └─────────────────────────────────────┘
//
// A call that runs out of time traps like any other: the batch is mapped again record by
// record, so a record that loops forever costs its run two limits and fails alone with
// "ran out of time (limit 10s)". A module that runs out of time on StuckAfter (3) records
// in a row looks stuck: the Mapper then fails every remaining record at once with
// ErrStuck, for the rest of its life (one run's, in the engine), rather than spend the
// limit twice on each. A call stopped by its context fails with the context's error and
// counts for nothing.
//
// Starting an instance (the guest's _initialize, its ABI version and configuration) gets
// the larger of CallTimeout and DefaultCallTimeout: starting a Go runtime is what a busy
// machine slows most, and a tight CallTimeout is meant for records.
package mapper

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/peoplesync/peoplesync/engine/mapper/interrupt"
	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/mapping"
	"github.com/peoplesync/peoplesync/sdk/mapping/wire"
	"github.com/peoplesync/peoplesync/sdk/profile"
	"github.com/peoplesync/peoplesync/sdk/protocol"
)

// ABIVersion is the mapping ABI version this host speaks.
const ABIVersion = mapping.ABIVersion

// Names of the exports every mapping module has.
const (
	exportABIVersion = "peoplesync_abi_version"
	exportAlloc      = "peoplesync_alloc"
	exportConfigure  = "peoplesync_configure"
	exportMap        = "peoplesync_map"
	exportInitialize = "_initialize"
)

// Defaults for Options.
const (
	DefaultMemoryLimitPages = 512 // 32 MiB
	DefaultBatchSize        = 64
	// DefaultCallTimeout limits a call when Options.CallTimeout is 0. A call maps one
	// batch and normally takes well under 10 ms, but the first calls into a fresh
	// instance (the Go runtime's start-up, a cold compilation cache) on a busy 2-core
	// machine have been seen to take far longer: 10 s leaves three orders of magnitude
	// for that, and still stops a module that loops forever within a run.
	DefaultCallTimeout = 10 * time.Second
	// StuckAfter is how many records in a row may each run out of time before the Mapper
	// takes its module for stuck and fails its remaining records at once (ErrStuck).
	StuckAfter = 3
	// DefaultMaxModuleBytes bounds a module file: a Go module is a few MiB, and the
	// compiler needs many times a module's size in memory.
	DefaultMaxModuleBytes = 64 << 20
)

var (
	// ErrNotMappingModule marks a file that is not a peoplesync mapping module.
	ErrNotMappingModule = errors.New("not a peoplesync mapping module")
	// ErrABIVersion marks a module built for another mapping ABI version. Its text fits
	// the message it is wrapped in: "mapping ABI version 0, this peoplesync needs 1".
	ErrABIVersion = errors.New("ABI version")
	// ErrTrapped marks a record whose mapping trapped (a fault, running out of memory or
	// time), as opposed to one the mapping refused with an error.
	ErrTrapped = errors.New("mapping trapped")
	// ErrMapping marks a record the mapping returned an error for.
	ErrMapping = errors.New("mapping failed")
	// ErrModuleTooLarge marks a module file over Options.MaxModuleBytes.
	ErrModuleTooLarge = errors.New("mapping module too large")
	// ErrClosed is returned by a closed Mapper.
	ErrClosed = errors.New("mapper is closed")
	// ErrStuck marks a record a Mapper did not map because its module looks stuck:
	// StuckAfter records in a row ran out of time. It wraps ErrTrapped.
	ErrStuck = fmt.Errorf("%w: the module looks stuck", ErrTrapped)

	// errOutOfTime marks a call that ran out of time (it wraps ErrTrapped too).
	errOutOfTime = errors.New("ran out of time")
	// errStopped is what the countdown's host function panics with to stop a call;
	// callError reports why instead.
	errStopped = errors.New("call stopped by the host")
)

// Options tune a module's sandbox and pool. The zero value is the defaults.
type Options struct {
	// MemoryLimitPages caps each instance's memory in 64 KiB pages; 0 means 512 (32 MiB).
	MemoryLimitPages uint32
	// CallTimeout limits one call into an instance (one batch, or one record when a
	// batch is mapped again record by record): a call over it traps, and so does a call
	// whose context ends. 0 means DefaultCallTimeout.
	CallTimeout time.Duration
	// MaxModuleBytes refuses module files larger than this; 0 means 64 MiB.
	MaxModuleBytes int64
	// CacheDir holds wazero's compilation cache, so that a second Compile of the same
	// module skips the compiler. "" means os.UserCacheDir()/peoplesync/wazero (no cache if
	// there is no user cache directory).
	CacheDir string
	// DisableCache compiles without a file cache.
	DisableCache bool
	// Instances is the most instances a Mapper runs at once; 0 means GOMAXPROCS.
	Instances int
	// BatchSize is the number of records per call; 0 means 64.
	BatchSize int
	// Logger receives warnings (a trap, an unusable cache directory); nil means
	// slog.Default().
	Logger *slog.Logger

	// interruption is how a call is stopped; only the tests change it, to measure the
	// alternatives (BenchmarkDefaultModule).
	interruption interruption
	// onTick, if set, runs in every call of tick: tests learn from it that a guest runs.
	onTick func()
}

// interruption is a way of stopping a running call.
type interruption int

const (
	// countdown instruments the module (package interrupt): every 2^16 loop headers
	// the guest calls tick, which stops the call once its context has ended. The
	// default.
	countdown interruption = iota
	// noInterruption runs the module as it is, without a time limit: a call cannot be
	// stopped. How the mapper ran by default before the countdown.
	noInterruption
	// closeOnContextDone has wazero check the module's state at every loop header
	// (RuntimeConfig.WithCloseOnContextDone). How CallTimeout worked before the
	// countdown.
	closeOnContextDone
)

func (o Options) withDefaults() Options {
	if o.MemoryLimitPages == 0 {
		o.MemoryLimitPages = DefaultMemoryLimitPages
	}
	if o.MaxModuleBytes <= 0 {
		o.MaxModuleBytes = DefaultMaxModuleBytes
	}
	if o.Instances <= 0 {
		o.Instances = runtime.GOMAXPROCS(0)
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = DefaultCallTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Module is a compiled mapping module. It is safe for concurrent use.
type Module struct {
	path     string
	sum      [32]byte
	opts     Options
	log      *slog.Logger
	rt       wazero.Runtime
	cache    wazero.CompilationCache
	compiled wazero.CompiledModule
}

// DefaultCacheDir returns the compilation cache directory used when Options.CacheDir is
// empty, or "" if the user has no cache directory.
func DefaultCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "peoplesync", "wazero")
}

// Compile reads, compiles and checks the mapping module at path. Its errors name path.
func Compile(ctx context.Context, path string, opts Options) (*Module, error) {
	opts = opts.withDefaults()
	code, err := readModule(path, opts.MaxModuleBytes)
	if err != nil {
		return nil, err
	}
	m := &Module{path: path, sum: sha256.Sum256(code), opts: opts}
	m.log = opts.Logger.With("part", "mapper", "module", path)

	cfg := wazero.NewRuntimeConfig().
		WithMemoryLimitPages(opts.MemoryLimitPages).
		WithCloseOnContextDone(opts.interruption == closeOnContextDone)
	if !opts.DisableCache {
		dir := opts.CacheDir
		if dir == "" {
			dir = DefaultCacheDir()
		}
		if dir != "" {
			cache, err := wazero.NewCompilationCacheWithDir(dir)
			if err != nil {
				m.log.Warn("compiling without a cache", "dir", dir, "err", err)
			} else {
				m.cache = cache
				cfg = cfg.WithCompilationCache(cache)
			}
		}
	}
	m.rt = wazero.NewRuntimeWithConfig(ctx, cfg)
	if err := m.setup(ctx, code); err != nil {
		_ = m.Close(ctx)
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// readModule reads a module file of at most limit bytes, without reading more than that
// of a larger one.
func readModule(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read mapping module: %w", err)
	}
	defer f.Close()
	code, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read mapping module: %w", err)
	}
	if int64(len(code)) > limit {
		size := int64(len(code))
		if fi, err := f.Stat(); err == nil {
			size = fi.Size()
		}
		return nil, fmt.Errorf("%s: %w: %.1f MiB, the limit is %.1f MiB", path, ErrModuleTooLarge,
			float64(size)/(1<<20), float64(limit)/(1<<20))
	}
	return code, nil
}

func (m *Module) setup(ctx context.Context, code []byte) error {
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, m.rt); err != nil {
		return fmt.Errorf("instantiate WASI: %w", err)
	}
	compiled, err := m.compile(ctx, code)
	if err != nil {
		return err
	}
	m.compiled = compiled
	if err := checkExports(compiled); err != nil {
		return err
	}
	inst, err := m.instantiate(ctx)
	if err != nil {
		return err
	}
	defer inst.close(ctx)
	stack := inst.stack[:1]
	callCtx, cancel := m.callContext(ctx, m.startLimit())
	defer cancel()
	if err := inst.abiVersion.CallWithStack(callCtx, stack); err != nil {
		return fmt.Errorf("%s: %s", exportABIVersion, withStderr(err, inst.stderr))
	}
	if v := uint32(stack[0]); v != ABIVersion {
		return fmt.Errorf("mapping %w %d, this peoplesync needs %d", ErrABIVersion, v, ABIVersion)
	}
	return nil
}

// compile compiles code, instrumented with the countdown unless the options say
// otherwise.
func (m *Module) compile(ctx context.Context, code []byte) (wazero.CompiledModule, error) {
	if m.opts.interruption != countdown {
		compiled, err := m.rt.CompileModule(ctx, code)
		if err != nil {
			return nil, fmt.Errorf("not a valid WebAssembly module: %w", err)
		}
		return compiled, nil
	}
	_, err := m.rt.NewHostModuleBuilder(interrupt.ImportModule).
		NewFunctionBuilder().
		WithGoFunction(api.GoFunc(m.tick), nil, []api.ValueType{api.ValueTypeI32}).
		Export(interrupt.ImportName).
		Instantiate(ctx)
	if err != nil {
		return nil, fmt.Errorf("instantiate %s: %w", interrupt.ImportModule, err)
	}
	instrumented, _, err := interrupt.Instrument(code)
	if err == nil {
		compiled, cerr := m.rt.CompileModule(ctx, instrumented)
		if cerr == nil {
			return compiled, nil
		}
		err = cerr
	}
	// The rewriter checks little: if the module itself is invalid, wazero says best why,
	// in terms of the module as its author built it.
	if _, cerr := m.rt.CompileModule(ctx, code); cerr != nil {
		return nil, fmt.Errorf("not a valid WebAssembly module: %w", cerr)
	}
	return nil, fmt.Errorf("cannot add time checks to the module (%w): please report this", err)
}

// tickBudget is how many checks an instrumented guest passes between two calls of tick.
// The default module passes ≈2.2 × 2^16 of them to map a batch of 64 records, and the
// endless loop of testdata/trap reaches the next tick within 0.1–0.5 ms (the latter on
// the busy 2-core machine): that bounds how long a guest holds up a garbage collection
// or a cancelled context, for two or three host calls per batch.
const tickBudget = 1 << 16

// tick is the countdown's host function (see package interrupt): Go code that the guest
// calls every tickBudget checks. Running it lets the Go
// scheduler preempt the goroutine and a garbage collection stop the world; it stops
// the call, by a panic that wazero returns as the call's error, once the call's context
// (which carries the time limit) has ended.
func (m *Module) tick(ctx context.Context, stack []uint64) {
	if m.opts.onTick != nil {
		m.opts.onTick()
	}
	if ctx.Err() != nil {
		panic(errStopped)
	}
	stack[0] = tickBudget
}

func checkExports(c wazero.CompiledModule) error {
	i32, i64 := api.ValueTypeI32, api.ValueTypeI64
	want := []struct {
		name            string
		params, results []api.ValueType
	}{
		{exportMap, []api.ValueType{i32, i32}, []api.ValueType{i64}},
		{exportABIVersion, nil, []api.ValueType{i32}},
		{exportAlloc, []api.ValueType{i32}, []api.ValueType{i32}},
		{exportConfigure, []api.ValueType{i32, i32}, []api.ValueType{i64}},
	}
	funcs := c.ExportedFunctions()
	for _, w := range want {
		f, ok := funcs[w.name]
		if !ok {
			return fmt.Errorf("does not export %s: %w", w.name, ErrNotMappingModule)
		}
		if !sameTypes(f.ParamTypes(), w.params) || !sameTypes(f.ResultTypes(), w.results) {
			return fmt.Errorf("%s has the wrong signature (%s) -> (%s): %w", w.name,
				typeNames(f.ParamTypes()), typeNames(f.ResultTypes()), ErrNotMappingModule)
		}
	}
	if _, ok := funcs[exportInitialize]; !ok {
		return fmt.Errorf("does not export %s: build it as a reactor (go build -buildmode=c-shared): %w",
			exportInitialize, ErrNotMappingModule)
	}
	if len(c.ExportedMemories()) == 0 {
		return fmt.Errorf("exports no memory: %w", ErrNotMappingModule)
	}
	return nil
}

func sameTypes(a, b []api.ValueType) bool {
	return bytes.Equal(a, b)
}

func typeNames(ts []api.ValueType) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = api.ValueTypeName(t)
	}
	return strings.Join(names, ", ")
}

// Close releases the compiled module and every instance of it.
func (m *Module) Close(ctx context.Context) error {
	var errs []error
	if m.rt != nil {
		if err := m.rt.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("close runtime: %w", err))
		}
	}
	if m.cache != nil {
		if err := m.cache.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("close compilation cache: %w", err))
		}
	}
	return errors.Join(errs...)
}

// callContext bounds one call into an instance by limit. (A timer per call costs ≈1 µs;
// a call maps a batch in about 0.5 ms.)
func (m *Module) callContext(ctx context.Context, limit time.Duration) (context.Context, context.CancelFunc) {
	if m.opts.interruption == noInterruption {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, limit)
}

// startLimit bounds the calls that start an instance (the module's _initialize, its ABI
// version, its configuration): CallTimeout, but never less than DefaultCallTimeout, as
// starting the Go runtime of a guest is the work most slowed by a busy machine, and a
// tight CallTimeout is meant for the records.
func (m *Module) startLimit() time.Duration {
	return max(m.opts.CallTimeout, DefaultCallTimeout)
}

// Result is what the mapping made of one record. Exactly one of Profile, SkipReason and
// Err is set.
type Result struct {
	Profile *profile.Profile
	// SkipReason is non-empty for a record the mapping skipped.
	SkipReason string
	// Err is the record's failure: it wraps ErrMapping (the mapping's own error),
	// ErrTrapped (the mapping crashed or ran out of memory or time) or the context's error.
	Err error
}

// Mapper maps records through a pool of instances configured with one mapping's
// settings. It is safe for concurrent use.
type Mapper struct {
	m        *Module
	settings []byte
	identity []byte
	idle     chan *instance
	slots    chan struct{} // one token per instance that may still be created

	mu     sync.Mutex
	closed bool
	done   chan struct{} // closed by Close, to wake callers waiting for an instance
	traps  atomic.Int64

	// timeouts counts the records in a row that ran out of time alone; stuck is set once
	// it reaches StuckAfter, and stays set.
	timeouts atomic.Int32
	stuck    atomic.Bool
}

// NewMapper returns a Mapper whose instances are configured with settingsJSON (a JSON
// object; empty means no settings). The module checks the settings here, so a mistake in
// them fails NewMapper.
func (m *Module) NewMapper(ctx context.Context, settingsJSON []byte) (*Mapper, error) {
	settings, err := compactSettings(settingsJSON)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.path, err)
	}
	mp := &Mapper{
		m:        m,
		settings: settings,
		identity: identity(m.sum, settings),
		idle:     make(chan *instance, m.opts.Instances),
		slots:    make(chan struct{}, m.opts.Instances),
		done:     make(chan struct{}),
	}
	for range m.opts.Instances {
		mp.slots <- struct{}{}
	}
	// Configure one instance now, so that bad settings fail here, not per record.
	<-mp.slots
	inst, err := mp.newInstance(ctx)
	if err != nil {
		return nil, err
	}
	mp.put(inst)
	return mp, nil
}

// compactSettings is the settings JSON in the one form an identity hashes.
func compactSettings(settingsJSON []byte) ([]byte, error) {
	settings := bytes.TrimSpace(settingsJSON)
	if len(settings) == 0 {
		settings = []byte("{}")
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, settings); err != nil {
		return nil, fmt.Errorf("mapping settings are not valid JSON: %w", err)
	}
	return compact.Bytes(), nil
}

// Identity returns the identity (see Mapper.Identity) that the module at path, configured
// with settingsJSON, will have, without compiling it: a sync can start reading while its
// module compiles.
func Identity(path string, settingsJSON []byte, opts Options) ([]byte, error) {
	code, err := readModule(path, opts.withDefaults().MaxModuleBytes)
	if err != nil {
		return nil, err
	}
	settings, err := compactSettings(settingsJSON)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return identity(sha256.Sum256(code), settings), nil
}

// identity is the content-hash salt of a module configured with settings.
func identity(moduleSum [32]byte, settings []byte) []byte {
	h := sha256.New()
	h.Write(moduleSum[:])
	var n [8]byte
	binary.LittleEndian.PutUint32(n[:4], ABIVersion)
	h.Write(n[:4])
	binary.LittleEndian.PutUint64(n[:], uint64(len(settings)))
	h.Write(n[:])
	h.Write(settings)
	return h.Sum(nil)
}

// Identity returns the mapping's identity: sha256 over the module's own sha256, the ABI
// version and the (compacted) settings JSON. A profile's content hash is salted with it,
// so that a new module or new settings re-map every profile.
func (mp *Mapper) Identity() []byte {
	return bytes.Clone(mp.identity)
}

// Traps returns how many instances this Mapper has discarded after a trap.
func (mp *Mapper) Traps() int64 { return mp.traps.Load() }

// Stuck reports whether the Mapper has taken its module for stuck (see ErrStuck): it
// then fails every record at once, for the rest of its life (a run's, in the engine).
func (mp *Mapper) Stuck() bool { return mp.stuck.Load() }

// stuckError is the error of a record not mapped because the module looks stuck.
func (mp *Mapper) stuckError() error {
	return fmt.Errorf("%w: %d records in a row ran out of time (limit %s); not mapped",
		ErrStuck, StuckAfter, mp.m.opts.CallTimeout)
}

// callEnded counts, for the stuck rule, how a call into an instance ended: alone says
// the call mapped a single record, err is its failure or nil.
func (mp *Mapper) callEnded(alone bool, err error) {
	if !errors.Is(err, errOutOfTime) {
		mp.timeouts.Store(0)
		return
	}
	if !alone { // the batch is mapped again record by record: the records will tell
		return
	}
	if n := mp.timeouts.Add(1); n == StuckAfter && !mp.stuck.Swap(true) {
		mp.m.log.Error("mapping module looks stuck: failing its remaining records without calling it",
			"records_out_of_time", n, "limit", mp.m.opts.CallTimeout)
	}
}

func (mp *Mapper) newInstance(ctx context.Context) (*instance, error) {
	inst, err := mp.m.instantiate(ctx)
	if err != nil {
		mp.slots <- struct{}{}
		return nil, fmt.Errorf("%s: %w", mp.m.path, err)
	}
	if err := inst.configure(ctx, mp.m, mp.settings); err != nil {
		inst.close(ctx)
		mp.slots <- struct{}{}
		return nil, fmt.Errorf("%s: %w", mp.m.path, err)
	}
	return inst, nil
}

// get returns an idle instance, or a new one while the pool is not full, or waits.
func (mp *Mapper) get(ctx context.Context) (*instance, error) {
	select {
	case inst := <-mp.idle:
		return inst, nil
	default:
	}
	select {
	case inst := <-mp.idle:
		return inst, nil
	case <-mp.slots:
		return mp.newInstance(ctx)
	case <-mp.done:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// put returns an instance to the pool, or closes it if the Mapper is closed.
func (mp *Mapper) put(inst *instance) {
	mp.mu.Lock()
	defer mp.mu.Unlock()
	if mp.closed {
		inst.close(context.Background())
		return
	}
	mp.idle <- inst // never blocks: the pool has room for every instance
}

// discard closes a broken instance and frees its slot for a fresh one.
func (mp *Mapper) discard(ctx context.Context, inst *instance) {
	inst.close(ctx)
	mp.slots <- struct{}{}
}

// Close closes every instance. Calls to Map that are running finish the batches they
// started; their other batches fail with ErrClosed. Close is idempotent.
func (mp *Mapper) Close(ctx context.Context) error {
	mp.mu.Lock()
	if mp.closed {
		mp.mu.Unlock()
		return nil
	}
	mp.closed = true
	close(mp.done)
	mp.mu.Unlock()
	for {
		select {
		case inst := <-mp.idle:
			inst.close(ctx)
		default:
			return nil
		}
	}
}

// Input is one record to map: record I of the raw batch Raw, which is encoded for the
// module straight from the batch's bytes (no Record is built).
type Input struct {
	Raw *protocol.RawBatch
	I   int
}

// id is the input's external ID, for logs.
func (in *Input) id() string { return in.Raw.ID(in.I) }

// Map maps records, in order: result i belongs to records[i]. A call maps its batches on
// as many instances as the pool allows, and several calls may run at once. A record whose
// mapping traps fails alone.
//
// The records take the path a connector's do: encoded into a raw batch first, as they
// would have crossed the plugin boundary.
func (mp *Mapper) Map(ctx context.Context, records []connector.Record) []Result {
	raw, err := protocol.NewRawBatch(records)
	if err != nil { // only a record that names an attribute twice, which maps cannot
		results := make([]Result, len(records))
		for i := range results {
			results[i].Err = fmt.Errorf("encode record %q: %w", records[i].ID, err)
		}
		return results
	}
	inputs := make([]Input, len(records))
	for i := range inputs {
		inputs[i] = Input{Raw: raw, I: i}
	}
	return mp.MapInputs(ctx, inputs)
}

// MapInputs is Map for inputs that may still be in their raw batches.
func (mp *Mapper) MapInputs(ctx context.Context, records []Input) []Result {
	results := make([]Result, len(records))
	size := mp.m.opts.BatchSize
	batches := (len(records) + size - 1) / size
	batch := func(i int) {
		lo := i * size
		hi := min(lo+size, len(records))
		mp.mapBatch(ctx, records[lo:hi], results[lo:hi])
	}
	workers := min(batches, mp.m.opts.Instances)
	if workers <= 1 {
		for i := range batches {
			batch(i)
		}
		return results
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= batches {
					return
				}
				batch(i)
			}
		})
	}
	wg.Wait()
	return results
}

// mapBatch maps one batch on one instance; after a trap it maps each record alone.
func (mp *Mapper) mapBatch(ctx context.Context, recs []Input, out []Result) {
	mp.mu.Lock()
	closed := mp.closed
	mp.mu.Unlock()
	if closed {
		fill(out, ErrClosed)
		return
	}
	if mp.stuck.Load() {
		fill(out, mp.stuckError())
		return
	}
	inst, err := mp.get(ctx)
	if errors.Is(err, ErrClosed) {
		fill(out, ErrClosed)
		return
	}
	if err != nil {
		fill(out, fmt.Errorf("mapping: %w", err))
		return
	}
	err = inst.mapInto(ctx, mp.m, recs, out)
	if ctx.Err() == nil {
		mp.callEnded(len(recs) == 1, err)
	}
	if err == nil {
		mp.put(inst)
		return
	}
	var batchErr *wire.BatchError
	if errors.As(err, &batchErr) {
		// The guest is fine; it refused the whole batch.
		mp.put(inst)
		fill(out, &RecordError{Message: err.Error()})
		return
	}
	mp.discard(ctx, inst)
	mp.traps.Add(1)
	if ctx.Err() != nil {
		fill(out, fmt.Errorf("mapping: %w", ctx.Err()))
		return
	}
	if len(recs) == 1 {
		mp.m.log.Warn("mapping trapped", "record", recs[0].id(), "err", err)
		out[0] = Result{Err: err}
		return
	}
	for i := range recs {
		mp.mapBatch(ctx, recs[i:i+1], out[i:i+1])
	}
}

func fill(out []Result, err error) {
	for i := range out {
		out[i] = Result{Err: err}
	}
}

package interrupt_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/peoplesync/peoplesync/engine/mapper/interrupt"
)

var errStop = errors.New("stopped by the test's tick")

// host is the tests' tick: it counts its calls, returns budget and, once it has been
// called stopAfter times (if positive), stops the guest.
type host struct {
	budget    uint32
	stopAfter int
	calls     int
}

func (h *host) tick(_ context.Context, stack []uint64) {
	h.calls++
	if h.stopAfter > 0 && h.calls >= h.stopAfter {
		panic(errStop)
	}
	stack[0] = uint64(h.budget)
}

// newRuntime returns a runtime with the tick import (if h is set) and any other modules,
// instantiated in order and named as given.
func newRuntime(t *testing.T, cfg wazero.RuntimeConfig, h *host, others ...namedModule) wazero.Runtime {
	t.Helper()
	ctx := context.Background()
	if cfg == nil {
		cfg = wazero.NewRuntimeConfig()
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	t.Cleanup(func() { _ = rt.Close(ctx) })
	if h != nil {
		_, err := rt.NewHostModuleBuilder(interrupt.ImportModule).NewFunctionBuilder().
			WithGoFunction(api.GoFunc(h.tick), nil, []api.ValueType{api.ValueTypeI32}).
			Export(interrupt.ImportName).Instantiate(ctx)
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range others {
		if _, err := rt.InstantiateWithConfig(ctx, o.code, wazero.NewModuleConfig().WithName(o.name)); err != nil {
			t.Fatalf("instantiate %s: %v", o.name, err)
		}
	}
	return rt
}

type namedModule struct {
	name string
	code []byte
}

func instrument(t *testing.T, code []byte) ([]byte, interrupt.Stats) {
	t.Helper()
	out, stats, err := interrupt.Instrument(code)
	if err != nil {
		t.Fatalf("Instrument: %v", err)
	}
	return out, stats
}

func instantiate(t *testing.T, rt wazero.Runtime, code []byte) api.Module {
	t.Helper()
	mod, err := rt.InstantiateWithConfig(context.Background(), code, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		t.Fatalf("instantiate: %v", err)
	}
	return mod
}

func call(t *testing.T, mod api.Module, name string, args ...uint64) ([]uint64, error) {
	t.Helper()
	f := mod.ExportedFunction(name)
	if f == nil {
		t.Fatalf("no export %s", name)
	}
	return f.Call(context.Background(), args...)
}

// countModule exports count(n), the sum of 1..n computed in a loop; it calls nothing, so
// only its loop is checked.
var countModule = module(
	section(1, vec(funcType([]byte{i32}, []byte{i32}))),
	section(3, vec(u32(0))),
	section(7, vec(exportFunc("count", 0))),
	section(10, vec(code([]byte{1, i32},
		op(opBlock, empty, opLoop, empty),
		localGet(0), op(i32Eqz), brIf(1),
		localGet(1), localGet(0), op(i32Add), localSet(1),
		localGet(0), i32c(1), op(i32Sub), localSet(0),
		br(0),
		op(opEnd, opEnd),
		localGet(1),
	))),
)

func TestCountdownCallsTick(t *testing.T) {
	t.Parallel()
	out, stats := instrument(t, countModule)
	if stats != (interrupt.Stats{Loops: 1}) {
		t.Errorf("stats %+v, want one loop and no call", stats)
	}
	h := &host{budget: 7}
	mod := instantiate(t, newRuntime(t, nil, h), out)
	res, err := call(t, mod, "count", 1000)
	if err != nil || res[0] != 500500 {
		t.Fatalf("count(1000) = %v, %v; want 500500", res, err)
	}
	// 1001 loop headers; the first check calls tick, and then every 7th.
	if want := (1001 + 6) / 7; h.calls != want {
		t.Errorf("tick called %d times, want %d", h.calls, want)
	}
	// The budget carries over from call to call: the last tick was at the 995th check,
	// so count(5)'s 6 checks, the 1002nd to the 1007th, call it once.
	h.calls = 0
	if _, err := call(t, mod, "count", 5); err != nil {
		t.Fatal(err)
	}
	if h.calls != 1 {
		t.Errorf("count(5) after count(1000): tick called %d times, want 1 (its 7th check)", h.calls)
	}
}

func TestTickStopsRunawayCode(t *testing.T) {
	t.Parallel()
	t1 := funcType([]byte{i32}, []byte{i32})
	cases := []struct {
		name  string
		code  []byte
		arg   uint64
		stats interrupt.Stats
	}{
		{"endless loop", module(
			section(1, vec(funcType(nil, nil))),
			section(3, vec(u32(0))),
			section(7, vec(exportFunc("run", 0))),
			section(10, vec(code(nil, op(opLoop, empty), br(0), op(opEnd)))),
		), 0, interrupt.Stats{Loops: 1}},
		{"loop calling a function", module(
			section(1, vec(funcType(nil, nil))),
			section(3, vec(u32(0), u32(0))),
			section(7, vec(exportFunc("run", 0))),
			section(10, vec(
				code(nil, op(opLoop, empty), callFn(1), br(0), op(opEnd)),
				code(nil, op(0x01)),
			)),
		), 0, interrupt.Stats{Loops: 1}},
		// f(n) = n == 0 ? 0 : f(n-1) + f(n-1) + 1: 2^50 calls and no loop at all.
		{"recursion without loops", module(
			section(1, vec(t1)),
			section(3, vec(u32(0))),
			section(7, vec(exportFunc("run", 0))),
			section(10, vec(code(nil,
				localGet(0), op(i32Eqz), op(opIf, i32), i32c(0), op(opElse),
				localGet(0), i32c(1), op(i32Sub), callFn(0),
				localGet(0), i32c(1), op(i32Sub), callFn(0),
				op(i32Add), i32c(1), op(i32Add), op(opEnd),
			))),
		), 50, interrupt.Stats{Calls: 2}},
		// The same through a table: call_indirect may lead anywhere.
		{"indirect recursion", module(
			section(1, vec(t1)),
			section(3, vec(u32(0))),
			section(4, vec([]byte{funcref, 0, 1})),
			section(7, vec(exportFunc("run", 0))),
			section(9, vec(cat(u32(0), i32c(0), op(opEnd), vec(u32(0))))),
			section(10, vec(code(nil,
				localGet(0), op(i32Eqz), op(opIf, i32), i32c(0), op(opElse),
				localGet(0), i32c(1), op(i32Sub), i32c(0), callIndirect(0, 0),
				localGet(0), i32c(1), op(i32Sub), i32c(0), callIndirect(0, 0),
				op(i32Add), i32c(1), op(i32Add), op(opEnd),
			))),
		), 50, interrupt.Stats{Calls: 2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, stats := instrument(t, tc.code)
			if stats != tc.stats {
				t.Errorf("stats %+v, want %+v", stats, tc.stats)
			}
			h := &host{budget: 1000, stopAfter: 5}
			mod := instantiate(t, newRuntime(t, nil, h), out)
			var args []uint64
			if tc.arg != 0 {
				args = []uint64{tc.arg}
			}
			_, err := call(t, mod, "run", args...)
			if !errors.Is(err, errStop) {
				t.Fatalf("err %v, want the tick's panic", err)
			}
		})
	}
}

// The context of the call reaches tick: a host can stop a call by cancelling it.
func TestTickSeesTheCallsContext(t *testing.T) {
	t.Parallel()
	out, _ := instrument(t, module(
		section(1, vec(funcType(nil, nil))),
		section(3, vec(u32(0))),
		section(7, vec(exportFunc("run", 0))),
		section(10, vec(code(nil, op(opLoop, empty), br(0), op(opEnd)))),
	))
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	running := make(chan struct{}, 1)
	_, err := rt.NewHostModuleBuilder(interrupt.ImportModule).NewFunctionBuilder().
		WithGoFunction(api.GoFunc(func(ctx context.Context, stack []uint64) {
			select {
			case running <- struct{}{}:
			default:
			}
			if ctx.Err() != nil {
				panic(ctx.Err())
			}
			stack[0] = 1 << 16
		}), nil, []api.ValueType{api.ValueTypeI32}).
		Export(interrupt.ImportName).Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mod := instantiate(t, rt, out)
	callCtx, cancel := context.WithCancel(ctx)
	go func() {
		<-running
		cancel()
	}()
	if _, err := mod.ExportedFunction("run").Call(callCtx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

// envModule is what renumberModule imports: add1, add10 and the global base = 40.
var envModule = module(
	section(1, vec(funcType([]byte{i32}, []byte{i32}))),
	section(3, vec(u32(0), u32(0))),
	section(6, vec(cat([]byte{i32, 0}, i32c(40), op(opEnd)))),
	section(7, vec(exportFunc("add1", 0), exportFunc("add10", 1), cat(str("base"), []byte{3}, u32(0)))),
	section(10, vec(
		code(nil, localGet(0), i32c(1), op(i32Add)),
		code(nil, localGet(0), i32c(10), op(i32Add)),
	)),
)

// renumberModule refers to functions in every way the binary format allows: calls,
// call_indirect through tables filled by every kind of element segment, ref.func in code
// and in a global, exports (one of them an import), the start function and the name
// section. Its functions:
//
//	0 add1 (import)   1 add10 (import)   2 double   3 viaCalls   4 viaTable   5 start
//	6 unused          7 triple           8 init     9 refCall    10 viaGlobal
var renumberModule = func() []byte {
	t0, t1, t2 := funcType(nil, []byte{i32}), funcType([]byte{i32}, []byte{i32}), funcType(nil, nil)
	_ = t0
	fnames := vec(
		cat(u32(0), str("add1_import")),
		cat(u32(2), str("double_fn")),
		cat(u32(7), str("triple_fn")),
	)
	lnames := vec(cat(u32(2), vec(cat(u32(0), str("x")))))
	names := cat(str("name"), section(0, str("renumber")), section(1, fnames), section(2, lnames))
	initTable := func(seg, dst, n int32) []byte {
		return cat(i32c(dst), i32c(0), i32c(n), misc(12, u32(uint32(seg)), u32(0)), misc(13, u32(uint32(seg))))
	}
	setAndCall := func(slot int32, ref []byte) []byte {
		return cat(i32c(slot), ref, op(0x26, 0), localGet(0), i32c(slot), callIndirect(1, 0))
	}
	return module(
		section(1, vec(t0, t1, t2)),
		section(2, vec(
			cat(str("env"), str("add1"), []byte{0}, u32(1)),
			cat(str("env"), str("base"), []byte{3, i32, 0}),
			cat(str("env"), str("add10"), []byte{0}, u32(1)),
		)),
		section(3, vec(u32(1), u32(1), u32(1), u32(2), u32(2), u32(1), u32(2), u32(1), u32(1))),
		section(4, vec([]byte{funcref, 0, 10})),
		section(6, vec(
			cat([]byte{i32, 1}, i32c(0), op(opEnd)),        // 1: started
			cat([]byte{funcref, 0}, refFunc(7), op(opEnd)), // 2: triple
		)),
		section(7, vec(
			exportFunc("double", 2), exportFunc("viaCalls", 3), exportFunc("viaTable", 4),
			exportFunc("triple", 7), exportFunc("init", 8), exportFunc("refCall", 9),
			exportFunc("viaGlobal", 10), exportFunc("add1again", 0),
			cat(str("started"), []byte{3}, u32(1)),
		)),
		section(8, u32(5)),
		section(9, vec(
			cat(u32(0), i32c(0), op(opEnd), vec(u32(2), u32(3))),                                                 // slots 0, 1: double, viaCalls
			cat(u32(2), u32(0), i32c(2), op(opEnd), []byte{0}, vec(u32(0))),                                      // slot 2: add1
			cat(u32(4), i32c(3), op(opEnd), vec(cat(refFunc(7), op(opEnd)))),                                     // slot 3: triple
			cat(u32(1), []byte{0}, vec(u32(7))),                                                                  // passive: triple
			cat(u32(5), []byte{funcref}, vec(cat(refFunc(2), op(opEnd)), cat([]byte{0xd0, funcref}, op(opEnd)))), // passive: double, null
			cat(u32(3), []byte{0}, vec(u32(2))),                                                                  // declarative: double
			cat(u32(6), u32(0), i32c(7), op(opEnd), []byte{funcref}, vec(cat(refFunc(3), op(opEnd)))),            // slot 7: viaCalls
			cat(u32(7), []byte{funcref}, vec(cat(refFunc(7), op(opEnd)))),                                        // declarative: triple
		)),
		section(10, vec(
			code(nil, localGet(0), i32c(2), op(i32Mul)),             // 2 double
			code(nil, localGet(0), callFn(2), callFn(0), callFn(1)), // 3 viaCalls
			code(nil, i32c(5), localGet(0), callIndirect(1, 0)),     // 4 viaTable
			code(nil, globalGet(0), globalSet(1)),                   // 5 start
			code(nil),                                               // 6 unused
			code(nil, localGet(0), i32c(3), op(i32Mul)),             // 7 triple
			code(nil, initTable(3, 4, 1), initTable(4, 5, 2)),       // 8 init: slots 4, 5, 6
			code(nil, setAndCall(8, refFunc(2))),                    // 9 refCall
			code(nil, setAndCall(9, globalGet(2))),                  // 10 viaGlobal
		)),
		section(0, names),
		section(0, str("producers"), []byte{0}),
		section(0, str(".debug_info"), []byte{1, 2, 3}),
	)
}()

func TestRenumberingKeepsBehaviour(t *testing.T) {
	t.Parallel()
	out, _ := instrument(t, renumberModule)
	ctx := context.Background()
	env := namedModule{"env", envModule}
	cfg := wazero.NewRuntimeConfig().WithCustomSections(true)
	before := instantiate(t, newRuntime(t, cfg, nil, env), renumberModule)
	after := instantiate(t, newRuntime(t, cfg, &host{budget: 3}, env), out)
	for _, mod := range []api.Module{before, after} {
		if _, err := mod.ExportedFunction("init").Call(ctx); err != nil {
			t.Fatal(err)
		}
	}
	outcome := func(mod api.Module, name string, arg uint64) string {
		res, err := mod.ExportedFunction(name).Call(ctx, arg)
		if err != nil {
			msg, _, _ := strings.Cut(err.Error(), "\n")
			return "error " + msg
		}
		return fmt.Sprint(res)
	}
	calls := 0
	for _, name := range []string{"double", "viaCalls", "triple", "refCall", "viaGlobal", "add1again", "viaTable"} {
		for arg := range uint64(10) {
			want, got := outcome(before, name, arg), outcome(after, name, arg)
			if got != want {
				t.Errorf("%s(%d) = %s instrumented, %s before", name, arg, got, want)
			}
			calls++
		}
	}
	// viaTable covers every slot: 0 double(5), 1 viaCalls(5) = 21, 2 add1(5), 3
	// triple(5), 4 triple, 5 double, 6 null, 7 viaCalls, 8 double, 9 triple.
	want := []string{"[10]", "[21]", "[6]", "[15]", "[15]", "[10]", "error", "[21]", "[10]", "[15]"}
	for slot, w := range want {
		if got := outcome(after, "viaTable", uint64(slot)); !strings.HasPrefix(got, w) {
			t.Errorf("viaTable(%d) = %s, want %s", slot, got, w)
		}
	}
	// The start function ran: started = base.
	if got := after.ExportedGlobal("started").Get(); got != 40 {
		t.Errorf("started = %d, want 40 (the start function did not run)", got)
	}
	// Names follow their functions; a DWARF section is dropped, other custom sections stay.
	compiled, err := newRuntime(t, cfg, nil).CompileModule(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	defs := compiled.ExportedFunctions()
	if got := defs["double"].Name(); got != "double_fn" {
		t.Errorf("double's name %q, want double_fn", got)
	}
	if got := defs["triple"].Name(); got != "triple_fn" {
		t.Errorf("triple's name %q, want triple_fn", got)
	}
	var customs []string
	for _, c := range compiled.CustomSections() {
		customs = append(customs, c.Name())
	}
	if strings.Join(customs, ",") != "producers" {
		t.Errorf("custom sections %v, want only producers", customs)
	}
}

// opcodeModule's main runs an instruction of every immediate's shape (block types by
// value type and type index, a loop with parameters, br_table, select with types,
// memarg, constants, the 0xfc and 0xfd prefixes, references) and returns a checksum.
var opcodeModule = func() []byte {
	const l0, l1, l2, l3 = 0, 1, 2, 3 // i32, i32, i64, v128
	addToL2 := cat(op(i64ExtendI32U), localGet(l2), op(i64Add), localSet(l2))
	lanes := make([]byte, 16)
	for i := range lanes {
		lanes[i] = byte(31 - i)
	}
	v128c := func(seed byte) []byte {
		b := []byte{}
		for i := range 16 {
			b = append(b, seed+byte(i))
		}
		return simd(0x0c, b)
	}
	main := code([]byte{2, i32, 1, i64, 1, v128},
		op(0x01), // nop
		i32c(10), localSet(l0),
		// A loop with a result, counting l0 down.
		op(opBlock, i32, opLoop, i32),
		localGet(l0), i32c(1), op(i32Sub), localTee(l0), brIf(0), localGet(l0),
		op(opEnd, opEnd, drop),
		// A block and a loop typed by index, with parameters.
		i32c(3), i32c(4), op(opBlock), u32(1), op(i32Add), i32c(5), op(opEnd),
		op(i32Mul), localSet(l1),
		i32c(1), i32c(2), op(opLoop), u32(1), op(opEnd), op(i32Add), op(drop),
		// br_table
		op(opBlock, empty, opBlock, empty, opBlock, empty),
		localGet(l1), i32c(3), op(0x70), op(0x0e), vec(u32(0), u32(1)), u32(2),
		op(opEnd, opEnd, opEnd),
		localGet(l1), op(opIf, i64), i64c(-123456789012), op(opElse), i64c(1), op(opEnd), localSet(l2),
		i32c(0), op(opIf, empty, 0x00, opEnd), // unreachable, never reached
		i32c(1), i32c(2), localGet(l1), op(0x1c), vec([]byte{i32}), op(drop),
		// Bulk memory.
		i32c(0), i32c(0), i32c(8), misc(8, u32(0), u32(0)), misc(9, u32(0)),
		i32c(16), i32c(0), i32c(8), misc(10, u32(0), u32(0)),
		i32c(32), i32c(0x55), i32c(4), misc(11, u32(0)),
		i32c(0), op(0x29), memarg(3, 16), localGet(l2), op(i64Add), localSet(l2), // i64.load
		i32c(40), i32c(7), op(0x3a), memarg(0, 0), // i32.store8
		op(0x3f, 0), op(drop), i32c(0), op(0x40, 0), op(drop),
		// Floats and saturating truncation, sign extension.
		f32c(1.5), misc(0), op(drop),
		f64c(2.25), misc(7), localGet(l2), op(i64Add), localSet(l2),
		i32c(255), op(0xc0), op(drop),
		// Tables and references.
		misc(16, u32(0)), op(drop),
		op(0xd0, funcref), i32c(1), misc(15, u32(0)), op(drop),
		i32c(0), i32c(0), i32c(1), misc(12, u32(0), u32(0)), misc(13, u32(0)),
		i32c(1), i32c(0), i32c(1), misc(14, u32(0), u32(0)),
		i32c(2), op(0xd0, funcref), i32c(1), misc(17, u32(0)),
		i32c(0), op(0x25, 0, 0xd1, drop),
		i32c(3), refFunc(1), op(0x26, 0),
		i32c(6), i32c(3), callIndirect(2, 0), addToL2,
		i32c(1), callFn(1), addToL2,
		// SIMD.
		v128c(1), v128c(100), simd(0x0d, lanes), localSet(l3),
		localGet(l3), simd(0x1b, []byte{1}), addToL2,
		i32c(0), localGet(l3), simd(0x56, memarg(2, 0), []byte{1}), localSet(l3),
		i32c(0), simd(0x5c, memarg(2, 0)), localGet(l3), simd(0xae), simd(0x1d, []byte{0}),
		localGet(l2), op(i64Add), localSet(l2),
		i32c(48), localGet(l3), simd(0x0b, memarg(4, 0)),
		i32c(0), simd(0x01, memarg(3, 0)), op(drop),
		i32c(0), simd(0x07, memarg(0, 0)), i32c(9), simd(0x17, []byte{2}), simd(0x53), op(drop),
		// The checksum, through a global.
		globalGet(0), localGet(l2), op(i64Add), globalSet(0), globalGet(0), op(opReturn),
	)
	return module(
		section(1, vec(
			funcType(nil, []byte{i64}),
			funcType([]byte{i32, i32}, []byte{i32, i32}),
			funcType([]byte{i32}, []byte{i32}),
		)),
		section(3, vec(u32(0), u32(2))),
		section(4, vec([]byte{funcref, 0, 4})),
		section(5, vec([]byte{0, 1})),
		section(6, vec(cat([]byte{i64, 1}, i64c(7), op(opEnd)))),
		section(7, vec(exportFunc("main", 0))),
		section(9, vec(cat(u32(1), []byte{0}, vec(u32(1))))),
		section(12, u32(1)),
		section(10, vec(main, code(nil, localGet(0), i32c(100), op(i32Add)))),
		section(11, vec(cat(u32(1), str("abcdefgh")))),
	)
}()

func TestEveryImmediateShape(t *testing.T) {
	t.Parallel()
	out, stats := instrument(t, opcodeModule)
	if stats.Loops != 2 {
		t.Errorf("stats %+v, want 2 loops", stats)
	}
	before := instantiate(t, newRuntime(t, nil, nil), opcodeModule)
	after := instantiate(t, newRuntime(t, nil, &host{budget: 2}), out)
	want, err := call(t, before, "main")
	if err != nil {
		t.Fatal(err)
	}
	got, err := call(t, after, "main")
	if err != nil || got[0] != want[0] {
		t.Fatalf("main() = %v, %v instrumented; %v before", got, err, want)
	}
}

// A module without imports, globals or even types gets the sections it needs, in order.
func TestAddsMissingSections(t *testing.T) {
	t.Parallel()
	for name, code := range map[string][]byte{
		"empty":      module(),
		"no imports": module(section(1, vec(funcType(nil, nil))), section(3, vec(u32(0))), section(10, vec(code(nil)))),
		"count":      countModule,
	} {
		out, _ := instrument(t, code)
		h := &host{budget: 1}
		mod := instantiate(t, newRuntime(t, nil, h), out)
		if name == "count" {
			if _, err := call(t, mod, "count", 3); err != nil || h.calls != 4 {
				t.Errorf("%s: count(3): %v, %d ticks, want 4", name, err, h.calls)
			}
		}
	}
}

func TestRefusesWhatItCannotRewrite(t *testing.T) {
	t.Parallel()
	cases := map[string][]byte{
		"not wasm":  []byte("\x00asn\x01\x00\x00\x00"),
		"version 2": []byte("\x00asm\x02\x00\x00\x00"),
		"exception handling": module(
			section(1, vec(funcType(nil, nil))), section(3, vec(u32(0))),
			section(10, vec(code(nil, op(0x06, empty, opEnd))))),
		"sections out of order": module(section(3, vec()), section(1, vec())),
		"unknown section":       module(section(14, vec())),
		"truncated section":     module(section(1, vec(funcType(nil, nil))))[:12],
		"code past its end": module(
			section(1, vec(funcType(nil, nil))), section(3, vec(u32(0))),
			section(10, vec(cat(u32(3), []byte{0, opEnd, opEnd})))),
	}
	for name, code := range cases {
		if _, _, err := interrupt.Instrument(code); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// Instrument never panics on a prefix of a module, and a prefix that wazero takes (one
// that ends between two sections) it takes instrumented.
func TestPrefixes(t *testing.T) {
	t.Parallel()
	for _, code := range [][]byte{renumberModule, opcodeModule} {
		for n := range len(code) {
			out, _, err := interrupt.Instrument(code[:n])
			if err == nil && validModule(code[:n]) && !validModule(out) {
				t.Errorf("a valid prefix of %d bytes is invalid once instrumented", n)
			}
		}
	}
}

func validModule(code []byte) bool {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	_, err := rt.CompileModule(ctx, code)
	return err == nil
}

func FuzzInstrument(f *testing.F) {
	for _, code := range [][]byte{countModule, renumberModule, opcodeModule, envModule} {
		f.Add(code)
	}
	f.Fuzz(func(t *testing.T, code []byte) {
		out, _, err := interrupt.Instrument(code)
		if err != nil {
			return
		}
		if validModule(code) && !validModule(out) {
			ctx := context.Background()
			rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
			defer rt.Close(ctx)
			_, err := rt.CompileModule(ctx, out)
			t.Fatalf("valid module invalid once instrumented: %v", err)
		}
		if bytes.Equal(out, code) {
			t.Fatal("Instrument changed nothing")
		}
	})
}

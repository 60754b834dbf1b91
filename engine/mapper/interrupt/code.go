package interrupt

// Opcodes the rewriter acts on; every other opcode is copied with its immediates.
const (
	opUnreachable        = 0x00
	opBlock              = 0x02
	opLoop               = 0x03
	opIf                 = 0x04
	opEnd                = 0x0b
	opCall               = 0x10
	opCallIndirect       = 0x11
	opReturnCall         = 0x12 // tail calls
	opReturnCallIndirect = 0x13
	opGlobalGet          = 0x23
	opGlobalSet          = 0x24
	opI32Const           = 0x41
	opI32Eqz             = 0x45
	opI32Sub             = 0x6b
	opRefFunc            = 0xd2
	prefixMisc           = 0xfc // saturating truncation, bulk memory, tables
	prefixSIMD           = 0xfd
	prefixAtomic         = 0xfe // threads
	blockTypeEmpty       = 0x40
)

// isValType reports whether c is a one-byte value type (number, vector or reference).
func isValType(c byte) bool {
	switch c {
	case 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f:
		return true
	}
	return false
}

// rewriter holds what rewriting one module's code needs.
type rewriter struct {
	// imports is the number of functions the original module imports: the new import
	// takes index imports, and every function defined in the module moves up by one.
	imports uint32
	// check is the countdown, ready to insert.
	check []byte
	stats Stats
	// blocks is expr's stack of open blocks, kept to spare an allocation per function.
	blocks []bool
}

// funcIndex maps a function index of the original module to the rewritten one.
func (w *rewriter) funcIndex(i uint32) uint32 {
	if i >= w.imports {
		return i + 1
	}
	return i
}

// countdown encodes the check that expr inserts:
//
//	global.get $budget
//	i32.const 1
//	i32.sub
//	global.set $budget
//	global.get $budget    ;; wazero reuses the value just stored: no second load
//	i32.eqz
//	if
//	  call $tick          ;; the host: may stop the call; returns the next budget
//	  global.set $budget
//	end
//
// It leaves the operand stack as it found it, so it is valid at the start of any loop,
// whatever the loop's parameters, and before any call, whatever its arguments. The budget starts at 1, so the first check calls tick.
func countdown(budget, tick uint32) []byte {
	var b []byte
	b = appendU32(append(b, opGlobalGet), budget)
	b = append(b, opI32Const, 1, opI32Sub)
	b = appendU32(append(b, opGlobalSet), budget)
	b = appendU32(append(b, opGlobalGet), budget)
	b = append(b, opI32Eqz, opIf, blockTypeEmpty)
	b = appendU32(append(b, opCall), tick)
	b = appendU32(append(b, opGlobalSet), budget)
	b = append(b, opEnd)
	return b
}

// body rewrites one function body (locals, then code) and appends it to out.
func (w *rewriter) body(r *reader, out []byte) []byte {
	start := r.off
	for n := r.count(); n > 0 && r.err == nil; n-- {
		r.u32() // how many
		if t := r.byte(); !isValType(t) && r.err == nil {
			r.fail("local of unknown type %#x", t)
		}
	}
	out = append(out, r.b[start:r.off]...)
	out = w.expr(r, out, true)
	if r.err == nil && r.off != len(r.b) {
		r.fail("%d bytes after the end of the function body", len(r.b)-r.off)
	}
	return out
}

// expr copies instructions up to and including the end that closes the expression,
// renumbering function indices. If instrument is set, it inserts the check after every
// loop header, and before every call that may lead back into the module (to a function
// it defines, or through a table) but is not inside a loop.
//
// Those two bound the time between two checks. Code inside a loop is reached only
// through the loop's header, so an invocation that calls into the module passes a check
// before it does; one that does not is a leaf, which runs for a time its size bounds.
// Between two checks, then, every frame on the stack only moves forward through its
// body (a back-edge would pass a header), and each call it makes is to a leaf or passes
// a check: the time is bounded by the size of the code times the depth of the stack,
// which wazero bounds. (Checking every function entry instead costs Go guests twice as
// many checks: their functions call morestack in a prologue, before their main loop, a
// call that is rarely made but needs a check in front.)
func (w *rewriter) expr(r *reader, out []byte, instrument bool) []byte {
	// blocks holds, for each open block, whether it is a loop; loops counts them.
	blocks := w.blocks[:0]
	blocks = append(blocks, false)
	loops := 0
	for len(blocks) > 0 && r.err == nil {
		start := r.off
		op := r.byte()
		switch op {
		case opBlock, opIf:
			r.blockType()
			blocks = append(blocks, false)
		case opLoop:
			r.blockType()
			blocks = append(blocks, true)
			loops++
			if instrument {
				out = append(out, r.b[start:r.off]...)
				out = append(out, w.check...)
				w.stats.Loops++
				continue
			}
		case opEnd:
			if blocks[len(blocks)-1] {
				loops--
			}
			blocks = blocks[:len(blocks)-1]
		case opCall, opReturnCall, opRefFunc:
			i := r.u32()
			if instrument && op != opRefFunc && i >= w.imports && loops == 0 {
				out = append(out, w.check...)
				w.stats.Calls++
			}
			out = appendU32(append(out, op), w.funcIndex(i))
			continue
		case opCallIndirect, opReturnCallIndirect:
			r.u32()
			r.u32()
			if instrument && loops == 0 {
				out = append(out, w.check...)
				w.stats.Calls++
			}
		default:
			r.immediates(op)
		}
		out = append(out, r.b[start:r.off]...)
	}
	w.blocks = blocks
	return out
}

// blockType skips a block type: empty, a value type or a type index (s33).
func (r *reader) blockType() {
	if c := r.peek(); c == blockTypeEmpty || isValType(c) {
		r.byte()
		return
	}
	r.skipSLEB(33)
}

func (r *reader) memarg() {
	align := r.u32()
	if align&0x40 != 0 { // multiple memories: a memory index follows
		r.u32()
	}
	r.uleb(64) // offset (64 bits for memory64)
}

// immediates skips the immediates of op, which is neither a block, loop, if, end, call,
// return_call nor ref.func.
func (r *reader) immediates(op byte) {
	switch {
	case op == 0x01, op == 0x05, op == 0x0f, op == 0x1a, op == 0x1b, op == 0xd1, op == opUnreachable:
		// nop, else, return, drop, select, ref.is_null, unreachable
	case op == 0x0c, op == 0x0d: // br, br_if
		r.u32()
	case op == 0x0e: // br_table
		for n := r.count(); n > 0 && r.err == nil; n-- {
			r.u32()
		}
		r.u32()
	case op == 0x1c: // select with types
		for n := r.count(); n > 0 && r.err == nil; n-- {
			r.byte()
		}
	case op >= 0x20 && op <= 0x26: // local.*, global.*, table.get/set
		r.u32()
	case op >= 0x28 && op <= 0x3e: // loads and stores
		r.memarg()
	case op == 0x3f, op == 0x40: // memory.size, memory.grow: memory index
		r.u32()
	case op == opI32Const:
		r.skipSLEB(32)
	case op == 0x42: // i64.const
		r.skipSLEB(64)
	case op == 0x43: // f32.const
		r.bytes(4)
	case op == 0x44: // f64.const
		r.bytes(8)
	case op >= 0x45 && op <= 0xc4: // numeric operators, sign extension
	case op == 0xd0: // ref.null: heap type
		r.skipSLEB(33)
	case op == prefixMisc:
		r.misc(r.u32())
	case op == prefixSIMD:
		r.simd(r.u32())
	case op == prefixAtomic:
		r.atomic(r.u32())
	default:
		// 0x06–0x0a, 0x18, 0x19, 0x1f: exception handling; 0x14, 0x15: typed function
		// references; the rest is unassigned. wazero runs none of them by default.
		r.off--
		r.fail("unsupported opcode %#x", op)
	}
}

func (r *reader) misc(sub uint32) {
	switch {
	case sub <= 7: // saturating truncation
	case sub == 8, sub == 10, sub == 12, sub == 14: // memory.init, memory.copy, table.init, table.copy
		r.u32()
		r.u32()
	case sub == 9, sub == 11, sub == 13, sub >= 15 && sub <= 17: // data.drop, memory.fill, elem.drop, table.grow/size/fill
		r.u32()
	default:
		r.fail("unsupported opcode 0xfc %d", sub)
	}
}

func (r *reader) simd(sub uint32) {
	switch {
	case sub <= 0x0b: // v128.load…, v128.store
		r.memarg()
	case sub == 0x0c, sub == 0x0d: // v128.const, i8x16.shuffle
		r.bytes(16)
	case sub >= 0x15 && sub <= 0x22: // extract_lane, replace_lane
		r.byte()
	case sub >= 0x54 && sub <= 0x5b: // v128.load*_lane, v128.store*_lane
		r.memarg()
		r.byte()
	case sub == 0x5c, sub == 0x5d: // v128.load32_zero, v128.load64_zero
		r.memarg()
	case sub <= 0x113: // the other operators, relaxed SIMD included, have no immediates
	default:
		r.fail("unsupported opcode 0xfd %d", sub)
	}
}

func (r *reader) atomic(sub uint32) {
	switch {
	case sub <= 0x02: // memory.atomic.notify, wait32, wait64
		r.memarg()
	case sub == 0x03: // atomic.fence
		r.byte()
	case sub >= 0x10 && sub <= 0x4e: // atomic loads, stores, read-modify-writes
		r.memarg()
	default:
		r.fail("unsupported opcode 0xfe %d", sub)
	}
}

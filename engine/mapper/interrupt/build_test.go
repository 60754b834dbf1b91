package interrupt_test

// A small assembler for the tests' hand-made modules: each helper returns the bytes of
// one piece of the binary format.

import "math"

func u32(v uint32) []byte {
	var b []byte
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func s64(v int64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func vec(items ...[]byte) []byte { return cat(u32(uint32(len(items))), cat(items...)) }

func str(s string) []byte { return cat(u32(uint32(len(s))), []byte(s)) }

func section(id byte, body ...[]byte) []byte {
	b := cat(body...)
	return cat([]byte{id}, u32(uint32(len(b))), b)
}

func module(sections ...[]byte) []byte {
	return cat([]byte{0, 'a', 's', 'm', 1, 0, 0, 0}, cat(sections...))
}

const (
	i32, i64, f32, f64, v128, funcref = 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70
)

func funcType(params, results []byte) []byte {
	return cat([]byte{0x60}, u32(uint32(len(params))), params, u32(uint32(len(results))), results)
}

// code is one entry of the code section: locals (pairs of count and type) and the body's
// instructions, to which it adds the final end.
func code(locals []byte, instrs ...[]byte) []byte {
	body := cat(u32(uint32(len(locals)/2)), locals, cat(instrs...), []byte{0x0b})
	return cat(u32(uint32(len(body))), body)
}

func exportFunc(name string, idx uint32) []byte { return cat(str(name), []byte{0}, u32(idx)) }

// Instructions.
func op(b ...byte) []byte                 { return b }
func i32c(v int32) []byte                 { return cat([]byte{0x41}, s64(int64(v))) }
func i64c(v int64) []byte                 { return cat([]byte{0x42}, s64(v)) }
func localGet(i uint32) []byte            { return cat([]byte{0x20}, u32(i)) }
func localSet(i uint32) []byte            { return cat([]byte{0x21}, u32(i)) }
func localTee(i uint32) []byte            { return cat([]byte{0x22}, u32(i)) }
func globalGet(i uint32) []byte           { return cat([]byte{0x23}, u32(i)) }
func globalSet(i uint32) []byte           { return cat([]byte{0x24}, u32(i)) }
func callFn(i uint32) []byte              { return cat([]byte{0x10}, u32(i)) }
func callIndirect(typ, tab uint32) []byte { return cat([]byte{0x11}, u32(typ), u32(tab)) }
func refFunc(i uint32) []byte             { return cat([]byte{0xd2}, u32(i)) }
func br(depth uint32) []byte              { return cat([]byte{0x0c}, u32(depth)) }
func brIf(depth uint32) []byte            { return cat([]byte{0x0d}, u32(depth)) }
func memarg(align, offset uint32) []byte  { return cat(u32(align), u32(offset)) }
func misc(sub uint32, imm ...[]byte) []byte {
	return cat([]byte{0xfc}, u32(sub), cat(imm...))
}
func simd(sub uint32, imm ...[]byte) []byte {
	return cat([]byte{0xfd}, u32(sub), cat(imm...))
}
func f32c(v float32) []byte {
	bits := math.Float32bits(v)
	return []byte{0x43, byte(bits), byte(bits >> 8), byte(bits >> 16), byte(bits >> 24)}
}
func f64c(v float64) []byte {
	bits := math.Float64bits(v)
	b := []byte{0x44}
	for i := range 8 {
		b = append(b, byte(bits>>(8*i)))
	}
	return b
}

const (
	opBlock, opLoop, opIf, opElse, opEnd = 0x02, 0x03, 0x04, 0x05, 0x0b
	empty                                = 0x40
	i32Add, i32Sub, i32Mul, i32Eqz       = 0x6a, 0x6b, 0x6c, 0x45
	i64Add, i64ExtendI32U                = 0x7c, 0xad
	drop, opReturn                       = 0x1a, 0x0f
)

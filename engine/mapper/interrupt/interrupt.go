// Package interrupt rewrites a WebAssembly module so that its host can stop it cheaply.
//
// wazero v1.12 compiles guest code that never looks at anything outside itself, so a
// guest that loops forever cannot be stopped from another goroutine, and, since the Go
// runtime cannot preempt machine code it did not compile, it also holds up every
// stop-the-world of the garbage collector, and with it the whole process. wazero's own
// remedy (RuntimeConfig.WithCloseOnContextDone) leaves the guest for Go at every loop
// header to look at the module's state, which costs a Go guest several times its speed.
//
// Instrument adds a countdown instead: a mutable i32 global that every loop header
// decrements, and so does every call outside a loop that may lead back into the module
// (a recursion need not loop), and an imported host function, ImportModule.ImportName of
// type () -> i32, that the guest calls when the countdown reaches zero:
//
//	loop                      (or: before a call outside any loop)
//	  budget--; budget == 0 ? budget = tick()   ── Go code: the scheduler can preempt,
//	  …                                            a GC can stop the world, the host
//	end                                            can panic to stop the call (wazero
//	                                               turns the panic into its error)
//
// Between two checks a guest runs for a bounded time (see rewriter.expr for why).
//
// The host decides how often it is called by the budget tick returns. A call the guest
// never returns from (a host function that blocks) is outside this scheme, as is a single
// bulk-memory instruction, which runs for a bounded time.
//
// The import is a function, and imported functions come first in the function index
// space, so every function the module defines moves up by one: calls, ref.func, exports,
// the start function, element segments and the name section are renumbered. Sections
// that point into the code by offset (DWARF's .debug_*) are dropped, since the offsets
// no longer hold. The budget global is appended after the module's own globals, so no
// global index moves.
package interrupt

import (
	"bytes"
	"errors"
	"fmt"
)

// The import that the instrumented module calls when its countdown runs out. The host
// must provide it, of type () -> i32: it returns how many more loop headers and function
// entries the guest may pass before it calls again (0 is taken as 1), or panics to stop
// the call.
const (
	ImportModule = "peoplesync_interrupt"
	ImportName   = "tick"
)

// Stats count the checks Instrument inserted.
type Stats struct {
	// Loops is the number of loop headers checked.
	Loops int
	// Calls is the number of calls checked: calls outside any loop that may lead back
	// into the module (and so recurse).
	Calls int
}

// Section ids, and the order in which non-custom sections must appear.
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
	secTag       = 13
)

var sectionRank = [...]int{
	secType: 1, secImport: 2, secFunction: 3, secTable: 4, secMemory: 5, secTag: 6,
	secGlobal: 7, secExport: 8, secStart: 9, secElement: 10, secDataCount: 11, secCode: 12,
	secData: 13,
}

var header = []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}

// ErrNotModule marks input that is not a WebAssembly binary module.
var ErrNotModule = errors.New("not a WebAssembly binary module")

type section struct {
	id   byte
	body []byte
}

// Instrument returns a copy of the binary module code with the countdown described in
// the package doc, and how many checks it inserted. It parses only what it rewrites and
// checks little else: the result is meant for a runtime that validates it. An error means
// code is malformed or uses a feature Instrument does not know (exception handling,
// typed function references, GC types).
func Instrument(code []byte) ([]byte, Stats, error) {
	if !bytes.HasPrefix(code, header) {
		return nil, Stats{}, ErrNotModule
	}
	r := &reader{b: code, off: len(header)}
	var secs []section
	last := 0
	for !r.done() {
		id := r.byte()
		body := r.name() // a section is a byte vector
		if r.err != nil {
			break
		}
		if id != secCustom {
			if int(id) >= len(sectionRank) || sectionRank[id] == 0 {
				return nil, Stats{}, fmt.Errorf("unknown section id %d", id)
			}
			if sectionRank[id] <= last {
				return nil, Stats{}, fmt.Errorf("section %d out of order or repeated", id)
			}
			last = sectionRank[id]
		}
		secs = append(secs, section{id, body})
	}
	if r.err != nil {
		return nil, Stats{}, fmt.Errorf("sections: %w", r.err)
	}

	m := &module{}
	for _, s := range secs {
		var err error
		switch s.id {
		case secType:
			err = m.readTypes(s.body)
		case secImport:
			err = m.readImports(s.body)
		case secGlobal:
			m.globals, err = vectorLen(s.body)
		}
		if err != nil {
			return nil, Stats{}, fmt.Errorf("section %d: %w", s.id, err)
		}
	}
	w := &rewriter{imports: m.funcImports}
	w.check = countdown(m.globalImports+m.globals, m.funcImports)

	out := make([]byte, 0, len(code)+len(code)/4+64)
	out = append(out, header...)
	// The type, import and global sections are needed even if the module has none.
	missing := map[byte]bool{secType: true, secImport: true, secGlobal: true}
	emitMissing := func(before int) error {
		for _, id := range []byte{secType, secImport, secGlobal} {
			if missing[id] && sectionRank[id] < before {
				body, err := m.rewrite(w, id, nil)
				if err != nil {
					return err
				}
				out = appendSection(out, id, body)
				missing[id] = false
			}
		}
		return nil
	}
	for _, s := range secs {
		if s.id == secCustom {
			body, keep, err := customSection(w, s.body)
			if err != nil {
				return nil, Stats{}, err
			}
			if keep {
				out = appendSection(out, s.id, body)
			}
			continue
		}
		if err := emitMissing(sectionRank[s.id]); err != nil {
			return nil, Stats{}, err
		}
		missing[s.id] = false
		body, err := m.rewrite(w, s.id, s.body)
		if err != nil {
			return nil, Stats{}, fmt.Errorf("section %d: %w", s.id, err)
		}
		out = appendSection(out, s.id, body)
	}
	if err := emitMissing(len(sectionRank) + 1); err != nil {
		return nil, Stats{}, err
	}
	return out, w.stats, nil
}

// module is what Instrument learns from the original module before rewriting it.
type module struct {
	types         uint32
	tickType      uint32 // index of a type () -> i32
	hasTickType   bool
	funcImports   uint32
	globalImports uint32
	globals       uint32 // defined in the module
}

func vectorLen(body []byte) (uint32, error) {
	r := &reader{b: body}
	n := r.count()
	return n, r.err
}

func (m *module) readTypes(body []byte) error {
	r := &reader{b: body}
	m.types = r.count()
	for i := uint32(0); i < m.types && r.err == nil; i++ {
		if form := r.byte(); form != 0x60 && r.err == nil {
			return fmt.Errorf("type %d: form %#x is not a function type", i, form)
		}
		params := r.count()
		r.bytes(params)
		results := r.name()
		if params == 0 && len(results) == 1 && results[0] == 0x7f && !m.hasTickType {
			m.tickType, m.hasTickType = i, true
		}
	}
	return r.err
}

func (m *module) readImports(body []byte) error {
	r := &reader{b: body}
	for n := r.count(); n > 0 && r.err == nil; n-- {
		r.name()
		r.name()
		switch kind := r.byte(); kind {
		case 0: // function
			r.u32()
			m.funcImports++
		case 1: // table
			r.byte()
			r.limits()
		case 2: // memory
			r.limits()
		case 3: // global
			r.byte()
			r.byte()
			m.globalImports++
		case 4: // tag
			r.byte()
			r.u32()
		default:
			r.fail("import kind %d", kind)
		}
	}
	return r.err
}

func (r *reader) limits() {
	flags := r.byte()
	if flags > 7 {
		r.fail("limits flags %#x", flags)
	}
	r.uleb(64)
	if flags&1 != 0 {
		r.uleb(64)
	}
}

// rewrite returns the new body of section id (body is nil for a section the module
// lacks).
func (m *module) rewrite(w *rewriter, id byte, body []byte) ([]byte, error) {
	r := &reader{b: body}
	var out []byte
	switch id {
	case secType:
		if m.hasTickType {
			return body, nil
		}
		m.tickType, m.hasTickType = m.types, true
		if body != nil {
			r.count()
		}
		out = appendU32(out, m.types+1)
		out = append(out, r.b[r.off:]...)
		r.off = len(r.b)
		out = append(out, 0x60, 0, 1, 0x7f)
	case secImport:
		n := uint32(0)
		if body != nil {
			n = r.count()
		}
		out = appendU32(out, n+1)
		out = append(out, r.b[r.off:]...)
		r.off = len(r.b)
		out = appendVec(out, uint32(len(ImportModule)), []byte(ImportModule))
		out = appendVec(out, uint32(len(ImportName)), []byte(ImportName))
		out = append(out, 0)
		out = appendU32(out, m.tickType)
	case secGlobal:
		n := uint32(0)
		if body != nil {
			n = r.count()
		}
		out = appendU32(out, n+1)
		for ; n > 0 && r.err == nil; n-- {
			out = append(out, r.bytes(2)...) // type, mutability
			out = w.expr(r, out, false)
		}
		// (global (mut i32) (i32.const 1)): the first check calls the host.
		out = append(out, 0x7f, 1, opI32Const, 1, opEnd)
	case secExport:
		n := r.count()
		out = appendU32(out, n)
		for ; n > 0 && r.err == nil; n-- {
			name := r.name()
			kind := r.byte()
			i := r.u32()
			if kind == 0 {
				i = w.funcIndex(i)
			}
			out = append(appendVec(out, uint32(len(name)), name), kind)
			out = appendU32(out, i)
		}
	case secStart:
		out = appendU32(out, w.funcIndex(r.u32()))
	case secElement:
		out = w.elements(r)
	case secCode:
		n := r.count()
		out = make([]byte, 0, len(body)+len(body)/4)
		out = appendU32(out, n)
		var fn []byte
		for i := uint32(0); i < n && r.err == nil; i++ {
			size := r.u32()
			br := &reader{b: r.bytes(size)}
			if r.err != nil {
				break
			}
			fn = w.body(br, fn[:0])
			if br.err != nil {
				return nil, fmt.Errorf("function %d: %w", m.funcImports+i, br.err)
			}
			out = appendVec(out, uint32(len(fn)), fn)
		}
	default:
		return body, nil
	}
	if r.err == nil && r.off != len(r.b) {
		r.fail("%d bytes after the section's content", len(r.b)-r.off)
	}
	return out, r.err
}

// elements rewrites the element section: segments list function indices or constant
// expressions, which may hold ref.func.
func (w *rewriter) elements(r *reader) []byte {
	n := r.count()
	out := appendU32(nil, n)
	for ; n > 0 && r.err == nil; n-- {
		flags := r.u32()
		out = appendU32(out, flags)
		if flags > 7 {
			r.fail("element segment flags %d", flags)
			break
		}
		if flags&1 == 0 { // active
			if flags&2 != 0 {
				out = appendU32(out, r.u32()) // table
			}
			out = w.expr(r, out, false) // offset
		}
		if flags&3 != 0 {
			out = append(out, r.byte()) // element kind or reference type
		}
		count := r.count()
		out = appendU32(out, count)
		for ; count > 0 && r.err == nil; count-- {
			if flags&4 != 0 {
				out = w.expr(r, out, false)
			} else {
				out = appendU32(out, w.funcIndex(r.u32()))
			}
		}
	}
	return out
}

// customSection rewrites the name section, drops sections that point into the code by
// offset and keeps the others.
func customSection(w *rewriter, body []byte) ([]byte, bool, error) {
	r := &reader{b: body}
	name := string(r.name())
	if r.err != nil {
		return nil, false, fmt.Errorf("custom section: %w", r.err)
	}
	switch {
	case name == "name":
		out, err := w.names(r)
		if err != nil {
			return nil, false, nil // a broken name section only costs stack traces their names
		}
		return append(appendVec(nil, uint32(len(name)), []byte(name)), out...), true, nil
	case len(name) > 7 && name[:7] == ".debug_", name == "sourceMappingURL":
		return nil, false, nil
	}
	return body, true, nil
}

// names renumbers the function indices of the name section's function (1), local (2)
// and label (3) subsections.
func (w *rewriter) names(r *reader) ([]byte, error) {
	var out []byte
	for !r.done() {
		id := r.byte()
		sub := &reader{b: r.name()}
		if r.err != nil {
			break
		}
		var body []byte
		switch id {
		case 1:
			n := sub.count()
			body = appendU32(body, n)
			for ; n > 0 && sub.err == nil; n-- {
				body = appendU32(body, w.funcIndex(sub.u32()))
				nm := sub.name()
				body = appendVec(body, uint32(len(nm)), nm)
			}
		case 2, 3:
			n := sub.count()
			body = appendU32(body, n)
			for ; n > 0 && sub.err == nil; n-- {
				body = appendU32(body, w.funcIndex(sub.u32()))
				start := sub.off
				for m := sub.count(); m > 0 && sub.err == nil; m-- {
					sub.u32()
					sub.name()
				}
				body = append(body, sub.b[start:sub.off]...)
			}
		default:
			body = sub.b
			sub.off = len(sub.b)
		}
		if sub.err != nil {
			return nil, sub.err
		}
		if sub.off != len(sub.b) {
			return nil, errors.New("name subsection longer than its content")
		}
		out = appendSection(out, id, body)
	}
	return out, r.err
}

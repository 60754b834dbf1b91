//go:build wasip1

package mapping

import (
	"runtime"
	"unsafe"
)

// The module's exports. Addresses in a wasm32 memory fit in 32 bits.

//go:wasmexport peoplesync_abi_version
func exportABIVersion() uint32 {
	return ABIVersion
}

//go:wasmexport peoplesync_alloc
func exportAlloc(size uint32) uint32 {
	return addr(guest.alloc(int(size)))
}

//go:wasmexport peoplesync_configure
func exportConfigure(ptr, size uint32) uint64 {
	if err := guest.configure(guest.view(ptr, size)); err != nil {
		guest.out = append(guest.out[:0], err.Error()...)
		if len(guest.out) == 0 {
			guest.out = append(guest.out, "configure failed"...)
		}
		return pack(guest.out)
	}
	return 0
}

//go:wasmexport peoplesync_map
func exportMap(ptr, size uint32) uint64 {
	out := pack(guest.mapBatch(guest.view(ptr, size)))
	// A reactor's goroutines run only when an export yields: without this the
	// garbage collector's background mark worker starves, each cycle drags on through
	// allocation assists, and the heap (and the instance's memory, which never shrinks)
	// grew to ~32 MiB where ~10 MiB is enough. Yielding once a batch costs nothing
	// measurable.
	runtime.Gosched()
	return out
}

// view returns the input the host wrote, which must lie in the last alloc'd buffer.
func (r *runner) view(ptr, size uint32) []byte {
	base := addr(r.in)
	if len(r.in) == 0 || ptr < base || uint64(ptr)+uint64(size) > uint64(base)+uint64(len(r.in)) {
		return nil // decodes as corrupt: the host broke the ABI
	}
	return r.in[ptr-base : ptr-base+size]
}

func addr(b []byte) uint32 {
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}

func pack(b []byte) uint64 {
	return uint64(addr(b))<<32 | uint64(len(b))
}

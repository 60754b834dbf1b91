// Command abi0 exports the mapping ABI's functions without the SDK and claims ABI
// version 0.
package main

func main() {}

//go:wasmexport peoplesync_abi_version
func abiVersion() uint32 { return 0 }

//go:wasmexport peoplesync_alloc
func alloc(size uint32) uint32 { return 0 }

//go:wasmexport peoplesync_configure
func configure(ptr, size uint32) uint64 { return 0 }

//go:wasmexport peoplesync_map
func mapBatch(ptr, size uint32) uint64 { return 0 }

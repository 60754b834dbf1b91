// Command notmapping is a WASI reactor that is not a mapping module.
package main

func main() {}

//go:wasmexport add
func add(a, b uint32) uint32 { return a + b }

//go:build !wasip1

package main

import (
	"testing"

	"github.com/peoplesync/peoplesync/engine/mapper/mappertest"
)

// TestThroughHost maps the golden cases through the WASM sandbox: the results must be
// the golden files that TestGolden checks natively.
func TestThroughHost(t *testing.T) {
	mappertest.CheckGoldens(t, ".", "testdata", cases())
}

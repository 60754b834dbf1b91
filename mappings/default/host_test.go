//go:build !wasip1

package main

import (
	"context"
	"testing"

	"github.com/peoplesync/peoplesync/engine/mapper"
	"github.com/peoplesync/peoplesync/engine/mapper/mappertest"
	"github.com/peoplesync/peoplesync/sdk/connector"
)

// TestThroughHost builds this module for WASM and maps the golden cases through the
// sandbox: the results must be the golden files the native tests check.
func TestThroughHost(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a WASM module")
	}
	ctx := context.Background()
	m, err := mapper.Compile(ctx, mappertest.Build(t, "."), mapper.Options{CacheDir: t.TempDir(), Instances: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(ctx)
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			mp, err := m.NewMapper(ctx, []byte(tc.settings))
			if err != nil {
				t.Fatal(err)
			}
			defer mp.Close(ctx)
			res := mp.Map(ctx, []connector.Record{tc.rec})[0]
			g := golden{Profile: res.Profile, Skip: res.SkipReason}
			if res.Err != nil {
				g.Error = res.Err.Error()
			}
			checkGolden(t, tc.name, g)
		})
	}
}

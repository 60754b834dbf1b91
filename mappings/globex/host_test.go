//go:build !wasip1

package main

import (
	"context"
	"errors"
	"testing"

	"github.com/peoplesync/peoplesync/engine/mapper"
	"github.com/peoplesync/peoplesync/engine/mapper/mappertest"
	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/mapping/mappingtest"
)

// TestThroughHost maps the golden cases through the WASM sandbox: the results must be
// the golden files that TestGolden checks natively.
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
	for _, c := range cases() {
		t.Run(c.Name, func(t *testing.T) {
			mp, err := m.NewMapper(ctx, []byte(c.Settings))
			if err != nil {
				t.Fatal(err)
			}
			defer mp.Close(ctx)
			res := mp.Map(ctx, []connector.Record{c.Record})[0]
			o := mappingtest.Outcome{Profile: res.Profile, Skip: res.SkipReason}
			var recErr *mapper.RecordError
			if errors.As(res.Err, &recErr) {
				o.Error = recErr.Message
			} else if res.Err != nil {
				t.Fatalf("not the mapping's own error: %v", res.Err)
			}
			mappingtest.Check(t, "testdata", c.Name, o, false)
		})
	}
}

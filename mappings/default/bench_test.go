//go:build !wasip1

package main

import (
	"syscall"
	"testing"
	"time"

	"github.com/peoplesync/peoplesync/sdk/mapping"
	"github.com/peoplesync/peoplesync/sdk/mapping/mappingtest"
	"github.com/peoplesync/peoplesync/sdk/mapping/wire"
)

// BenchmarkMapNative runs the default mapping function alone, natively, on the record
// that engine/mapper's BenchmarkDefaultModule sends through the sandbox
// (mappingtest.LDAPPerson), on every core.
func BenchmarkMapNative(b *testing.B) {
	s, err := mapping.ParseSettings([]byte(`{"default_country_code": "49"}`))
	if err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		r := mapping.NewRecord(mappingtest.LDAPPerson())
		for pb.Next() {
			p, err := Map(r, s)
			if err != nil || p == nil {
				b.Errorf("%v %v", p, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkMapNativeWire is BenchmarkMapNative plus what a module instance does around the
// mapping function: decoding a batch of 64 records and encoding the results.
func BenchmarkMapNativeWire(b *testing.B) {
	src := mappingtest.LDAPPerson()
	batch := make([]wire.Record, 64)
	for i := range batch {
		batch[i] = wire.Record{ID: src.ID, DN: src.DN, Attributes: src.Attributes, Binary: src.Binary}
	}
	in := wire.AppendRecords(nil, batch)
	cpu := cpuTime(b)
	b.RunParallel(func(pb *testing.PB) {
		h := mapping.NewHarness(Map, nil)
		if err := h.Configure([]byte(`{"default_country_code": "49"}`)); err != nil {
			b.Error(err)
			return
		}
		for pb.Next() {
			if out := h.MapBatch(in); len(out) < 64*20 {
				b.Errorf("short output: %q", out)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(b.N*len(batch))/(cpuTime(b)-cpu).Seconds(), "records/cpu-s")
	b.ReportMetric(0, "ns/op")
}

// cpuTime returns the CPU time the process has used, user and system: a throughput per
// CPU second is steadier than per wall second on a machine that other work shares.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

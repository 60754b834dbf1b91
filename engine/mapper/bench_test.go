package mapper_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/peoplesync/peoplesync/engine/mapper"
	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/protocol"
)

// BenchmarkDefaultModule maps realistic LDAP records through the default module with every
// instance busy: one MapInputs call of 64 records (one batch, from a raw batch as the
// engine maps them) per iteration from each of GOMAXPROCS goroutines. Compare records/s
// with BenchmarkMapNative in mappings/default.
func BenchmarkDefaultModule(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts mapper.Options
	}{
		{"countdown", mapper.Options{}}, // the default: package interrupt
		{"no_interruption", mapper.WithoutInterruption(mapper.Options{})},
		{"close_on_context_done", mapper.WithCloseOnContextDone(mapper.Options{CallTimeout: 30 * time.Second})},
	} {
		b.Run(bc.name, func(b *testing.B) {
			m := compile(b, "default", bc.opts)
			mp := newMapper(b, m, `{"default_country_code": "49"}`)
			batch := make([]connector.Record, mapper.DefaultBatchSize)
			for i := range batch {
				batch[i] = ldapRecord()
				batch[i].ID = fmt.Sprint(i)
			}
			raw, err := protocol.NewRawBatch(batch)
			if err != nil {
				b.Fatal(err)
			}
			inputs := make([]mapper.Input, len(batch))
			for i := range inputs {
				inputs[i] = mapper.Input{Raw: raw, I: i}
			}
			ctx := context.Background()
			// Warm every instance up before timing.
			for range 4 {
				mp.Map(ctx, append(append(batch[:0:0], batch...), batch...))
			}
			b.ResetTimer()
			cpu := cpuTime(b)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					for _, r := range mp.MapInputs(ctx, inputs) {
						if r.Profile == nil {
							b.Errorf("%+v", r)
							return
						}
					}
				}
			})
			b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(b.N*len(batch))/(cpuTime(b)-cpu).Seconds(), "records/cpu-s")
			b.ReportMetric(0, "ns/op")
		})
	}
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

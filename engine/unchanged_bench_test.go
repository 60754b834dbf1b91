package engine_test

// The fixture is an HR export written with encoding/csv (RFC 4180, a header row), with the
// columns of the bench's two-source HR export (bench/sources.go).

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/peoplesync/peoplesync/config"
	"github.com/peoplesync/peoplesync/engine"
	"github.com/peoplesync/peoplesync/engine/setup"
	"github.com/peoplesync/peoplesync/engine/store/pgtest"
	"github.com/peoplesync/peoplesync/engine/store/postgres"
	"github.com/peoplesync/peoplesync/examples/peoplegen"
	"github.com/peoplesync/peoplesync/sdk/connector"
)

// BenchmarkUnchangedCSV measures issue 11's speed target for a file source: a full sync
// of an unchanged HR export (the bundled file connector in its subprocess, the default
// mapping, a real Postgres) against reading the same export through the same connector
// and nothing else, which is what `peoplesync check` does (the read limit). Each round
// does both, one after the other, so that the machine's noise falls on both alike; the
// ratio is reported as "ratio" (target ≤ 1.2), with the host process's CPU a record in
// each. BENCH_PEOPLE sets the size (default 100,000); BENCH_CPUPROFILE names a file for
// a CPU profile of the timed rounds only, labelled phase=read and phase=sync
// (pprof -tagfocus). The initial sync that fills the store runs
// once, before the timer.
func BenchmarkUnchangedCSV(b *testing.B) {
	people := 100_000
	if s := os.Getenv("BENCH_PEOPLE"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("BENCH_PEOPLE=%q: want a positive number", s)
		}
		people = n
	}
	ctx := context.Background()
	dir := b.TempDir()
	csvPath := filepath.Join(dir, "hr.csv")
	writeHRExport(b, csvPath, people)

	st, err := postgres.Open(ctx, pgtest.NewDatabase(b), postgres.Options{})
	if err != nil {
		b.Fatalf("open store: %v", err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		b.Fatalf("migrate: %v", err)
	}
	cfgPath := filepath.Join(dir, "sync.hcl")
	src := fmt.Sprintf(`
store {
  url = "postgres://unused"
}
connector "hr" {
  plugin = "file"
  config {
    path         = %q
    id_attribute = "employee_id"
  }
}
mapping "m" {
  module   = %q
  settings = { email_domain = "example.com", default_country_code = "49" }
}
sync "people" {
  connector = connector.hr
  mapping   = mapping.m
  schedule  = "@hourly"
}
`, csvPath, module(b, "default"))
	if err := os.WriteFile(cfgPath, []byte(src), 0o644); err != nil {
		b.Fatal(err)
	}
	cfg, diags := config.Load(cfgPath)
	if diags.HasErrors() {
		b.Fatalf("config: %s", diags.Error())
	}
	prep, diags := setup.Sync(ctx, cfg, "people", setup.Options{Executable: os.Args[0]})
	if diags.HasErrors() {
		b.Fatalf("setup: %s", diags.Error())
	}
	defer prep.Close(ctx)
	eng := &engine.Engine{Store: st, Holder: "bench"}
	first, err := eng.Run(ctx, prep.Sync, engine.Options{})
	if err != nil || first.Created != int64(people) {
		b.Fatalf("initial sync: %v (created %d of %d)", err, first.Created, people)
	}
	// The read limit goes through a connector process of its own, as check does.
	proc, diags := setup.Connector(ctx, cfg, "hr", setup.Options{Executable: os.Args[0]})
	if diags.HasErrors() {
		b.Fatalf("connector: %s", diags.Error())
	}
	defer proc.Kill()

	if path := os.Getenv("BENCH_CPUPROFILE"); path != "" {
		// Only the unchanged runs, not the initial sync (mostly mapping) before them.
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	var syncTime, readTime, syncCPU, readCPU, pluginCPU time.Duration
	b.ResetTimer()
	for b.Loop() {
		start, cpu := time.Now(), processCPU(b)
		var res connector.ReadResult
		var err error
		pprof.Do(ctx, pprof.Labels("phase", "read"), func(ctx context.Context) {
			res, err = proc.Read(ctx, connector.ReadRequest{Mode: connector.Full}, func(connector.Record) error { return nil })
		})
		readTime += time.Since(start)
		readCPU += processCPU(b) - cpu
		if err != nil || res.Count != int64(people) {
			b.Fatalf("read: %v (%d records)", err, res.Count)
		}
		start, cpu, child := time.Now(), processCPU(b), childrenCPU(b)
		var r engine.Result
		pprof.Do(ctx, pprof.Labels("phase", "sync"), func(ctx context.Context) {
			r, err = eng.Run(ctx, prep.Sync, engine.Options{})
		})
		syncTime += time.Since(start)
		syncCPU += processCPU(b) - cpu
		pluginCPU += childrenCPU(b) - child
		if err != nil || r.Unchanged != int64(people) || r.Processed != int64(people) {
			b.Fatalf("unchanged sync: %v (%+v)", err, r)
		}
	}
	b.StopTimer()
	records := float64(people * b.N)
	b.ReportMetric(syncTime.Seconds()/float64(b.N), "sync-s/op")
	b.ReportMetric(readTime.Seconds()/float64(b.N), "read-s/op")
	b.ReportMetric(float64(syncTime)/float64(readTime), "ratio")
	b.ReportMetric(float64(syncCPU.Nanoseconds())/records, "sync-host-cpu-ns/record")
	b.ReportMetric(float64(readCPU.Nanoseconds())/records, "read-host-cpu-ns/record")
	b.ReportMetric(float64(pluginCPU.Nanoseconds())/records, "sync-plugin-cpu-ns/record")
}

// childrenCPU is the CPU time (user and system) that this process's running children
// (the connector processes) have used, from /proc (Linux): they are killed, not reaped
// through wait, so RUSAGE_CHILDREN would not count them. Clock ticks are 1/100 s.
func childrenCPU(b *testing.B) time.Duration {
	b.Helper()
	lists, _ := filepath.Glob("/proc/self/task/*/children")
	var ticks int64
	for _, list := range lists {
		data, err := os.ReadFile(list)
		if err != nil {
			continue // the thread exited
		}
		for _, pid := range strings.Fields(string(data)) {
			stat, err := os.ReadFile("/proc/" + pid + "/stat")
			if err != nil {
				continue
			}
			// utime and stime are the 14th and 15th fields, the 12th and 13th after
			// the command's closing parenthesis.
			s := string(stat)
			fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
			if len(fields) < 13 {
				b.Fatalf("short /proc/%s/stat: %q", pid, s)
			}
			for _, f := range fields[11:13] {
				n, err := strconv.ParseInt(f, 10, 64)
				if err != nil {
					b.Fatalf("/proc/%s/stat: %v", pid, err)
				}
				ticks += n
			}
		}
	}
	return time.Duration(ticks) * (time.Second / 100)
}

// processCPU is the CPU time (user and system) this process has used: the host's side,
// not the connector process's.
func processCPU(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// writeHRExport writes n generated people as an HR export, managers by employee number.
func writeHRExport(b *testing.B, path string, n int) {
	b.Helper()
	o := peoplegen.Defaults(n)
	o.PhotoEvery = 0
	people := peoplegen.Generate(o)
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	bw := bufio.NewWriter(f)
	cw := csv.NewWriter(bw)
	_ = cw.Write([]string{"employee_id", "username", "first_name", "last_name", "email", "job_title", "department", "cost_center", "manager_id", "status"})
	for _, p := range people {
		manager := ""
		if p.ManagerIndex >= 0 {
			manager = people[p.ManagerIndex].EmployeeNumber
		}
		status := "active"
		if p.Disabled {
			status = "inactive"
		}
		_ = cw.Write([]string{p.EmployeeNumber, p.UID, p.GivenName, p.FamilyName, p.Mail, "HR " + p.Title, p.Department,
			fmt.Sprintf("CC-%d", len(p.Department)*7), manager, status})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		b.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

package connhost_test

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/peoplesync/peoplesync/engine/connhost"
	"github.com/peoplesync/peoplesync/sdk/connector"
)

// writeLDIF writes n people of about 15 attributes each, like a directory export.
func writeLDIF(b *testing.B, path string, n int) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "version: 1")
	for i := range n {
		fmt.Fprintf(w, "\ndn: uid=user%06d,ou=people,dc=example,dc=com\n", i)
		fmt.Fprintf(w, "objectClass: top\nobjectClass: person\nobjectClass: inetOrgPerson\n")
		fmt.Fprintf(w, "entryUUID: 00000000-0000-4000-8000-%012d\n", i)
		fmt.Fprintf(w, "uid: user%06d\ncn:: %s\ngivenName: Zoë\nsn: Ødegård %d\n", i, base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "Zoë Ødegård %d", i)), i)
		fmt.Fprintf(w, "mail: user%06d@example.com\ntitle: Engineer\nou: Research\n", i)
		fmt.Fprintf(w, "employeeNumber: E%06d\ntelephoneNumber: +45 0480 %04d\n", i, i%10000)
		fmt.Fprintf(w, "manager: uid=user%06d,ou=people,dc=example,dc=com\npreferredLanguage: da\n", i/10)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkReadLDIFThroughConnhost reads 50k generated people from the bundled file
// connector in a subprocess, across the gRPC boundary.
func BenchmarkReadLDIFThroughConnhost(b *testing.B) {
	const people = 50_000
	path := filepath.Join(b.TempDir(), "people.ldif")
	writeLDIF(b, path, people)
	p, err := connhost.Start(b.Context(), connhost.Spec{Name: "bench", Plugin: "file"}, options(nil))
	if err != nil {
		b.Fatal(err)
	}
	defer p.Kill()
	cfg, _ := json.Marshal(map[string]string{"path": path})
	if d, err := p.Configure(b.Context(), cfg); err != nil || d.HasErrors() {
		b.Fatal(err, d)
	}
	hostBefore, pluginBefore := selfCPU(b), childrenCPU(b)
	b.ResetTimer()
	for b.Loop() {
		res, err := p.Read(b.Context(), connector.ReadRequest{}, func(connector.Record) error { return nil })
		if err != nil || res.Count != people {
			b.Fatalf("Read: %v, %d records", err, res.Count)
		}
	}
	b.StopTimer()
	records := float64(people * b.N)
	b.ReportMetric(records/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64((selfCPU(b)-hostBefore).Nanoseconds())/records, "host-cpu-ns/record")
	b.ReportMetric(float64((childrenCPU(b)-pluginBefore).Nanoseconds())/records, "plugin-cpu-ns/record")
}

// selfCPU is the CPU time (user and system) this process has used.
func selfCPU(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// childrenCPU is the CPU time (user and system) that this process's running children
// have used, read from /proc (Linux only): the plugin process is killed, not reaped
// through wait, so RUSAGE_CHILDREN would not count it.
func childrenCPU(b *testing.B) time.Duration {
	b.Helper()
	lists, _ := filepath.Glob("/proc/self/task/*/children")
	if len(lists) == 0 {
		b.Skip("no /proc/self/task/*/children on this system")
	}
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
			// Fields after the command's closing parenthesis; utime and stime are the
			// 14th and 15th fields of the whole line.
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
	// Linux reports these in clock ticks of USER_HZ, which is 100 on every platform Go
	// supports.
	return time.Duration(ticks) * (time.Second / 100)
}

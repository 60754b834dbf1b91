package connhost_test

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

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
	b.ResetTimer()
	for b.Loop() {
		res, err := p.Read(b.Context(), connector.ReadRequest{}, func(connector.Record) error { return nil })
		if err != nil || res.Count != people {
			b.Fatalf("Read: %v, %d records", err, res.Count)
		}
	}
	b.ReportMetric(float64(people*b.N)/b.Elapsed().Seconds(), "records/s")
}

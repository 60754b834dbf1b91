package file_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/peoplesync/peoplesync/plugins/file"
	"github.com/peoplesync/peoplesync/sdk/connector"
)

// BenchmarkReadLDIF reads 50k generated people in process: the parser's share of a read
// through connhost.
func BenchmarkReadLDIF(b *testing.B) {
	const people = 50_000
	path := filepath.Join(b.TempDir(), "people.ldif")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := range people {
		fmt.Fprintf(w, "dn: uid=user%06d,ou=people,dc=example,dc=com\nobjectClass: top\nobjectClass: person\nobjectClass: inetOrgPerson\n", i)
		fmt.Fprintf(w, "entryUUID: 00000000-0000-4000-8000-%012d\nuid: user%06d\ncn: Zoë Ødegård %d\ngivenName: Zoë\nsn: Ødegård %d\n", i, i, i, i)
		fmt.Fprintf(w, "mail: user%06d@example.com\ntitle: Engineer\nou: Research\nemployeeNumber: E%06d\n", i, i)
		fmt.Fprintf(w, "telephoneNumber: +45 0480 %04d\nmanager: uid=user%06d,ou=people,dc=example,dc=com\npreferredLanguage: da\n\n", i%10000, i/10)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	_ = f.Close()
	c := file.New()
	if d, _ := c.Configure(b.Context(), config(b, map[string]any{"path": path})); d.HasErrors() {
		b.Fatal(d)
	}
	for b.Loop() {
		res, err := c.Read(b.Context(), connector.ReadRequest{}, func(connector.Record) error { return nil })
		if err != nil || res.Count != people {
			b.Fatalf("Read: %v, %d", err, res.Count)
		}
	}
	b.ReportMetric(float64(people*b.N)/b.Elapsed().Seconds(), "records/s")
}

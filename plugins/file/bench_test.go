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

const benchPeople = 50_000

// BenchmarkReadLDIF reads 50k generated people in process: the parser's share of a read
// through connhost.
func BenchmarkReadLDIF(b *testing.B) {
	benchRead(b, "people.ldif", nil, func(w *bufio.Writer, i int) {
		fmt.Fprintf(w, "dn: uid=user%06d,ou=people,dc=example,dc=com\nobjectClass: top\nobjectClass: person\nobjectClass: inetOrgPerson\n", i)
		fmt.Fprintf(w, "entryUUID: 00000000-0000-4000-8000-%012d\nuid: user%06d\ncn: Zoë Ødegård %d\ngivenName: Zoë\nsn: Ødegård %d\n", i, i, i, i)
		fmt.Fprintf(w, "mail: user%06d@example.com\ntitle: Engineer\nou: Research\nemployeeNumber: E%06d\n", i, i)
		fmt.Fprintf(w, "telephoneNumber: +45 0480 %04d\nmanager: uid=user%06d,ou=people,dc=example,dc=com\npreferredLanguage: da\n\n", i%10000, i/10)
	})
}

// BenchmarkReadCSV reads the same people as an HR CSV export.
func BenchmarkReadCSV(b *testing.B) {
	benchRead(b, "people.csv", map[string]any{"dn_attribute": "dn", "multi_value_separator": ";"}, func(w *bufio.Writer, i int) {
		if i == 0 {
			fmt.Fprintln(w, "id,dn,uid,cn,givenName,sn,mail,title,ou,employeeNumber,telephoneNumber,manager,preferredLanguage")
		}
		fmt.Fprintf(w, "00000000-0000-4000-8000-%012d,\"uid=user%06d,ou=people,dc=example,dc=com\",user%06d,Zoë Ødegård %d,Zoë,Ødegård %d,", i, i, i, i, i)
		fmt.Fprintf(w, "user%06d@example.com,\"Engineer, Research\",Research,E%06d,+45 0480 %04d,\"uid=user%06d,ou=people,dc=example,dc=com\",da\n", i, i, i%10000, i/10)
	})
}

// BenchmarkReadJSONL reads the same people as JSON Lines.
func BenchmarkReadJSONL(b *testing.B) {
	benchRead(b, "people.jsonl", map[string]any{"dn_attribute": "dn"}, func(w *bufio.Writer, i int) {
		fmt.Fprintf(w, `{"id":"00000000-0000-4000-8000-%012d","dn":"uid=user%06d,ou=people,dc=example,dc=com","uid":"user%06d","cn":"Zoë Ødegård %d","givenName":"Zoë","sn":"Ødegård %d",`, i, i, i, i, i)
		fmt.Fprintf(w, `"mail":["user%06d@example.com"],"title":"Engineer","ou":"Research","employeeNumber":%d,"telephoneNumber":"+45 0480 %04d","manager":"uid=user%06d,ou=people,dc=example,dc=com","active":true}`+"\n", i, i, i%10000, i/10)
	})
}

func benchRead(b *testing.B, name string, extra map[string]any, person func(w *bufio.Writer, i int)) {
	path := filepath.Join(b.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := range benchPeople {
		person(w, i)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	_ = f.Close()
	cfg := map[string]any{"path": path}
	for k, v := range extra {
		cfg[k] = v
	}
	c := file.New()
	if d, _ := c.Configure(b.Context(), config(b, cfg)); d.HasErrors() {
		b.Fatal(d)
	}
	for b.Loop() {
		res, err := c.Read(b.Context(), connector.ReadRequest{}, func(r connector.Record) error {
			if r.Kind != connector.Upsert {
				return fmt.Errorf("record %q: %s", r.ID, r.Problem)
			}
			return nil
		})
		if err != nil || res.Count != benchPeople {
			b.Fatalf("Read: %v, %d", err, res.Count)
		}
	}
	b.ReportMetric(float64(benchPeople*b.N)/b.Elapsed().Seconds(), "records/s")
}

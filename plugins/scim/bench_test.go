package scim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/peoplesync/peoplesync/sdk/connector"
)

// benchUsers is the directory every benchmark reads: 100k users shaped like RFC 7643
// §8.2's, about 900 bytes each, in pages of the fixture's 1000.
const benchUsers = 100_000

// BenchmarkRead100k reads 100k users from the local fixture with the connector and,
// for comparison, with a plain client that only pages through the same fixture and
// decodes each page's ids. Both report records/s. Run:
//
//	go test -run '^$' -bench Read100k -benchtime 3x ./plugins/scim/
func BenchmarkRead100k(b *testing.B) {
	users := generatedUsers(benchUsers)
	b.Run("local", func(b *testing.B) { benchRead(b, &provider{users: users}) })
	// The same, with 20 ms added to every page, about a round trip to a service in
	// another region: what asking ahead is for.
	b.Run("20ms-a-page", func(b *testing.B) { benchRead(b, &provider{users: users, latency: 20 * time.Millisecond}) })
}

func benchRead(b *testing.B, p *provider) {
	srv, ca := p.serve(b)
	url := srv.URL + "/scim/v2"

	for _, mode := range []struct {
		name        string
		noReadAhead bool
	}{{"connector", false}, {"connector-no-read-ahead", true}} {
		b.Run(mode.name, func(b *testing.B) {
			c := New().(*Connector)
			cfg := json.RawMessage(fmt.Sprintf(`{"url": %q, "ca_file": %q, "token": %q, "page_size": 1000}`, url, ca, testToken))
			if diags, err := c.Configure(b.Context(), cfg); err != nil || diags.HasErrors() {
				b.Fatal(err, diags)
			}
			c.client.noReadAhead = mode.noReadAhead
			n := 0
			for b.Loop() {
				n = 0
				_, err := c.Read(b.Context(), connector.ReadRequest{}, func(connector.Record) error { n++; return nil })
				if err != nil {
					b.Fatal(err)
				}
			}
			if n != benchUsers {
				b.Fatalf("read %d users", n)
			}
			b.ReportMetric(float64(benchUsers*b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}

	b.Run("plain-client", func(b *testing.B) {
		client := srv.Client()
		n := 0
		for b.Loop() {
			n = 0
			for start := 1; ; {
				req, _ := http.NewRequestWithContext(b.Context(), http.MethodGet, fmt.Sprintf("%s/Users?startIndex=%d&count=1000", url, start), nil)
				req.Header.Set("Authorization", "Bearer "+testToken)
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				var page struct {
					TotalResults int `json:"totalResults"`
					Resources    []struct {
						ID string `json:"id"`
					} `json:"Resources"`
				}
				err = json.NewDecoder(resp.Body).Decode(&page)
				_ = resp.Body.Close()
				if err != nil {
					b.Fatal(err)
				}
				n += len(page.Resources)
				start += len(page.Resources)
				if len(page.Resources) == 0 || start > page.TotalResults {
					break
				}
			}
		}
		if n != benchUsers {
			b.Fatalf("read %d users", n)
		}
		b.ReportMetric(float64(benchUsers*b.N)/b.Elapsed().Seconds(), "records/s")
	})
}

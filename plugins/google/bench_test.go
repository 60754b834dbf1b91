package google

// The benchmarks read from fakeGoogle (fixture_test.go), which follows the Directory
// API's discovery document; see there.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/peoplesync/peoplesync/plugins/internal/connectortesting"
	"github.com/peoplesync/peoplesync/sdk/connector"
)

// benchUsers is the size of the directory the benchmarks read.
const benchUsers = 100_000

// BenchmarkFullRead reads 100k users from the local fake, pages of 500, into records
// (b.N reads). Compare its records/s with BenchmarkPlainPaging's, which only fetches and
// splits the same pages: the gap is what the connector adds to the round trips.
func BenchmarkFullRead(b *testing.B) { benchmarkRead(b, false) }

// BenchmarkFullReadNoReadAhead is BenchmarkFullRead asking for each page only after the
// one before is converted: what asking ahead brings.
func BenchmarkFullReadNoReadAhead(b *testing.B) { benchmarkRead(b, true) }

func benchmarkRead(b *testing.B, noReadAhead bool) {
	f := newFakeGoogle(b)
	f.keepPaths = false
	manyUsers(f, benchUsers)
	c := newTestConnector(&sleeper{})
	c.noReadAhead = noReadAhead
	connectortesting.Configure(b, c, f.config(nil))
	b.ResetTimer()
	for b.Loop() {
		n := 0
		res, err := c.Read(context.Background(), connector.ReadRequest{}, func(r connector.Record) error {
			n++
			return nil
		})
		if err != nil || n != benchUsers || res.Count != benchUsers {
			b.Fatalf("read %d records (count %d): %v", n, res.Count, err)
		}
	}
	b.ReportMetric(float64(benchUsers)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkPlainPaging is the baseline: one token (taken from the fake directly, no
// JWT), then GET users with the same query, each page decoded only as far as its users
// array and next page token.
func BenchmarkPlainPaging(b *testing.B) {
	f := newFakeGoogle(b)
	f.keepPaths = false
	manyUsers(f, benchUsers)
	f.tokens["plain-token"] = -1
	roots := x509.NewCertPool()
	roots.AddCert(f.srv.Certificate())
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	q := url.Values{"customer": {"my_customer"}, "maxResults": {"500"}, "viewType": {"admin_view"}, "projection": {"basic"},
		"fields": {"nextPageToken,users(" + strings.Join(userFields, ",") + ")"}}
	b.ResetTimer()
	for b.Loop() {
		n := 0
		for token := ""; ; {
			if token != "" {
				q.Set("pageToken", token)
			} else {
				q.Del("pageToken")
			}
			req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/admin/directory/v1/users?"+q.Encode(), nil)
			req.Header.Set("Authorization", "Bearer plain-token")
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var p struct {
				Users         []json.RawMessage `json:"users"`
				NextPageToken string            `json:"nextPageToken"`
			}
			err = json.NewDecoder(resp.Body).Decode(&p)
			_ = resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Fatalf("HTTP %d: %v", resp.StatusCode, err)
			}
			n += len(p.Users)
			if token = p.NextPageToken; token == "" {
				break
			}
		}
		if n != benchUsers {
			b.Fatalf("paged %d users", n)
		}
	}
	b.ReportMetric(float64(benchUsers)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

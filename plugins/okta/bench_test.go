package okta

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/peoplesync/peoplesync/plugins/internal/connectortesting"
	"github.com/peoplesync/peoplesync/sdk/connector"
)

// benchUsers is the size of the org the benchmarks read.
const benchUsers = 100_000

// BenchmarkFullRead reads 100k users from the local Okta fake (fixture_test.go), pages
// of 200, into records (b.N reads). Compare its records/s with BenchmarkPlainPaging's,
// which only fetches and splits the same pages: the gap is what the connector adds to
// the round trips.
func BenchmarkFullRead(b *testing.B) {
	f := newFakeOkta(b)
	f.keepPaths = false
	f.window = 1 << 30
	manyUsers(f, benchUsers)
	c, _ := newTestConnector(f)
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

// BenchmarkPlainPaging is the baseline: GET /api/v1/users with the same query and the
// API token, each page decoded only as far as its array of users, following the Link
// header's next link.
func BenchmarkPlainPaging(b *testing.B) {
	f := newFakeOkta(b)
	f.keepPaths = false
	f.window = 1 << 30
	manyUsers(f, benchUsers)
	roots := x509.NewCertPool()
	roots.AddCert(f.srv.Certificate())
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	first := f.srv.URL + usersPath + "?" + url.Values{"limit": {"200"}, "filter": {fullFilter}}.Encode()
	b.ResetTimer()
	for b.Loop() {
		n := 0
		for link := first; link != ""; {
			req, _ := http.NewRequest(http.MethodGet, link, nil)
			req.Header.Set("Authorization", "SSWS "+fakeToken)
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var page []json.RawMessage
			err = json.NewDecoder(resp.Body).Decode(&page)
			_ = resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Fatalf("HTTP %d: %v", resp.StatusCode, err)
			}
			n += len(page)
			link, _ = nextLink(resp.Header, link)
		}
		if n != benchUsers {
			b.Fatalf("paged %d users", n)
		}
	}
	b.ReportMetric(float64(benchUsers)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

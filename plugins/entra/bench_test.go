package entra

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/peoplesync/peoplesync/plugins/internal/connectortesting"
	"github.com/peoplesync/peoplesync/sdk/connector"
)

// benchUsers is the size of the directory the benchmarks read.
const benchUsers = 100_000

// BenchmarkFullRead reads 100k users from the local Graph fake, pages of 999 with the
// manager expanded, into records (b.N reads). Compare its records/s with
// BenchmarkPlainPaging's, which only fetches and splits the same pages: the gap is what
// the connector adds to the round trips.
func BenchmarkFullRead(b *testing.B) {
	f := newFakeGraph(b)
	f.keepPaths = false
	manyUsers(f, benchUsers)
	c := newTestConnector(&sleeper{})
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

// BenchmarkPlainPaging is the baseline: one token, then GET /users with the same query,
// each page decoded only as far as its value array and next link.
func BenchmarkPlainPaging(b *testing.B) {
	f := newFakeGraph(b)
	f.keepPaths = false
	manyUsers(f, benchUsers)
	roots := x509.NewCertPool()
	roots.AddCert(f.srv.Certificate())
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {fakeClientID},
		"client_secret": {fakeSecret}, "scope": {f.srv.URL + "/.default"}}
	resp, err := hc.PostForm(f.srv.URL+"/"+fakeTenant+"/oauth2/v2.0/token", form)
	if err != nil {
		b.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil {
		b.Fatal(err)
	}
	_ = resp.Body.Close()
	first := f.srv.URL + "/v1.0/users?$select=" + strings.Join(defaultProperties, ",") + "&$expand=manager($select=id)&$top=999"
	b.ResetTimer()
	for b.Loop() {
		n := 0
		for link := first; link != ""; {
			req, _ := http.NewRequest(http.MethodGet, link, nil)
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var page struct {
				NextLink string            `json:"@odata.nextLink"`
				Value    []json.RawMessage `json:"value"`
			}
			err = json.NewDecoder(resp.Body).Decode(&page)
			_ = resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Fatalf("HTTP %d: %v", resp.StatusCode, err)
			}
			n += len(page.Value)
			link = page.NextLink
		}
		if n != benchUsers {
			b.Fatalf("paged %d users", n)
		}
	}
	b.ReportMetric(float64(benchUsers)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkClientAssertion makes and signs one certificate client assertion (one per
// token request, so once an hour or so of a read): its cost is the RSA-2048 signature.
func BenchmarkClientAssertion(b *testing.B) {
	app := credentials()[0]
	f := newFakeGraph(b)
	cfg, diags := parseConfig(certConfig(f, app, nil))
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	now := time.Now()
	for b.Loop() {
		if _, err := clientAssertion(cfg, now); err != nil {
			b.Fatal(err)
		}
	}
}

package scim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/connectortest"
)

// The people of the fixture's small directory: Barbara is RFC 7643 §8.2's full user with
// the enterprise extension of §8.3; Min-jun lacks most attributes; Zoë's names are not
// ASCII, her emails have no primary and her addresses two types.
var (
	barbara = `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
              "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
  "id": "2819c223-7f76-453a-919d-413861904646",
  "externalId": "701984",
  "userName": "bjensen@example.com",
  "name": {"formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen", "givenName": "Barbara",
           "middleName": "Jane", "honorificPrefix": "Ms.", "honorificSuffix": "III"},
  "displayName": "Babs Jensen",
  "nickName": "Babs",
  "profileUrl": "https://login.example.com/bjensen",
  "emails": [{"value": "bjensen@example.com", "type": "work"},
             {"value": "babs@jensen.org", "type": "home", "primary": true}],
  "addresses": [{"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood",
                 "region": "CA", "postalCode": "91608", "country": "USA",
                 "formatted": "100 Universal City Plaza\nHollywood, CA 91608 USA", "primary": true},
                {"type": "home", "streetAddress": "456 Hollywood Blvd", "locality": "Hollywood",
                 "region": "CA", "postalCode": "91608", "country": "USA"}],
  "phoneNumbers": [{"value": "555-555-5555", "type": "work"}, {"value": "555-555-4444", "type": "mobile"}],
  "photos": [{"value": "https://photos.example.com/profilephoto/72930000000Ccne/F", "type": "photo"},
             {"value": "https://photos.example.com/profilephoto/72930000000Ccne/T", "type": "thumbnail"}],
  "userType": "Employee",
  "title": "Tour Guide",
  "preferredLanguage": "en-US",
  "locale": "en-US",
  "timezone": "America/Los_Angeles",
  "active": true,
  "password": "t1meMa$heen",
  "groups": [{"value": "e9e30dba-f08f-4109-8486-d5c6a331660a", "display": "Tour Guides"}],
  "x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx"}],
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
    "employeeNumber": "701984", "costCenter": "4130", "organization": "Universal Studios",
    "division": "Theme Park", "department": "Tour Operations",
    "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d",
                "$ref": "../Users/26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"}},
  "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z", "lastModified": "2011-05-13T04:42:34Z",
           "version": "W/\"3694e05e9dff591\"",
           "location": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646"}
}`
	minjun = `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "b3c2e1d0-0001", "userName": "mkim",
  "active": false, "name": {"givenName": ""}, "emails": [], "meta": {"resourceType": "User"}}`
	// Case differs from the RFC's on purpose: attribute names are case-insensitive
	// (RFC 7643 §2.1), and some services send "active" as a string.
	zoe = `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
              "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
  "ID": "c4d3-zoe", "UserName": "zoë.çelik@example.de",
  "name": {"givenName": "Zoë", "familyName": "Çelik-Müller", "formatted": "Zoë Çelik-Müller"},
  "displayName": "Zoë Çelik-Müller 🌻", "Active": "True",
  "emails": [{"value": "zoe@example.de", "type": "Work"}, {"value": "zoe@privat.example", "type": "other"}],
  "phoneNumbers": [{"value": "+49 30 1234567"}],
  "addresses": [{"type": "home", "locality": "Köln", "country": "DE"}, {"type": "work", "locality": "Berlin", "country": "DE"}],
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {"department": "Forschung & Entwicklung",
    "manager": {"value": "2819c223-7f76-453a-919d-413861904646"}}
}`
)

const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"

// want are the records the small directory reads as, written out by hand from the
// flattening rules of the package doc.
var want = []connector.Record{
	{ID: "2819c223-7f76-453a-919d-413861904646", Attributes: map[string][]string{
		"externalId":                   {"701984"},
		"userName":                     {"bjensen@example.com"},
		"name.formatted":               {"Ms. Barbara J Jensen, III"},
		"name.familyName":              {"Jensen"},
		"name.givenName":               {"Barbara"},
		"name.middleName":              {"Jane"},
		"name.honorificPrefix":         {"Ms."},
		"name.honorificSuffix":         {"III"},
		"displayName":                  {"Babs Jensen"},
		"nickName":                     {"Babs"},
		"profileUrl":                   {"https://login.example.com/bjensen"},
		"title":                        {"Tour Guide"},
		"userType":                     {"Employee"},
		"preferredLanguage":            {"en-US"},
		"locale":                       {"en-US"},
		"timezone":                     {"America/Los_Angeles"},
		"active":                       {"true"},
		"emails":                       {"babs@jensen.org", "bjensen@example.com"},
		"emails.home":                  {"babs@jensen.org"},
		"emails.work":                  {"bjensen@example.com"},
		"phoneNumbers":                 {"555-555-5555", "555-555-4444"},
		"phoneNumbers.work":            {"555-555-5555"},
		"phoneNumbers.mobile":          {"555-555-4444"},
		"photos":                       {"https://photos.example.com/profilephoto/72930000000Ccne/F", "https://photos.example.com/profilephoto/72930000000Ccne/T"},
		"photos.photo":                 {"https://photos.example.com/profilephoto/72930000000Ccne/F"},
		"photos.thumbnail":             {"https://photos.example.com/profilephoto/72930000000Ccne/T"},
		"addresses.formatted":          {"100 Universal City Plaza\nHollywood, CA 91608 USA"},
		"addresses.streetAddress":      {"100 Universal City Plaza"},
		"addresses.locality":           {"Hollywood"},
		"addresses.region":             {"CA"},
		"addresses.postalCode":         {"91608"},
		"addresses.country":            {"USA"},
		"addresses.work.formatted":     {"100 Universal City Plaza\nHollywood, CA 91608 USA"},
		"addresses.work.streetAddress": {"100 Universal City Plaza"},
		"addresses.work.locality":      {"Hollywood"},
		"addresses.work.region":        {"CA"},
		"addresses.work.postalCode":    {"91608"},
		"addresses.work.country":       {"USA"},
		"addresses.home.streetAddress": {"456 Hollywood Blvd"},
		"addresses.home.locality":      {"Hollywood"},
		"addresses.home.region":        {"CA"},
		"addresses.home.postalCode":    {"91608"},
		"addresses.home.country":       {"USA"},
		ent + "employeeNumber":         {"701984"},
		ent + "costCenter":             {"4130"},
		ent + "organization":           {"Universal Studios"},
		ent + "division":               {"Theme Park"},
		ent + "department":             {"Tour Operations"},
		ent + "manager.value":          {"26118915-6090-4610-87e4-49d8ca9f808d"},
		ent + "manager.displayName":    {"John Smith"},
		"meta.lastModified":            {"2011-05-13T04:42:34Z"},
	}},
	{ID: "b3c2e1d0-0001", Attributes: map[string][]string{
		"userName": {"mkim"},
		"active":   {"false"},
	}},
	{ID: "c4d3-zoe", Attributes: map[string][]string{
		"userName":                {"zoë.çelik@example.de"},
		"name.givenName":          {"Zoë"},
		"name.familyName":         {"Çelik-Müller"},
		"name.formatted":          {"Zoë Çelik-Müller"},
		"displayName":             {"Zoë Çelik-Müller 🌻"},
		"active":                  {"true"},
		"emails":                  {"zoe@example.de", "zoe@privat.example"},
		"emails.work":             {"zoe@example.de"},
		"emails.other":            {"zoe@privat.example"},
		"phoneNumbers":            {"+49 30 1234567"},
		"addresses.locality":      {"Köln"},
		"addresses.country":       {"DE"},
		"addresses.home.locality": {"Köln"},
		"addresses.home.country":  {"DE"},
		"addresses.work.locality": {"Berlin"},
		"addresses.work.country":  {"DE"},
		ent + "department":        {"Forschung & Entwicklung"},
		ent + "manager.value":     {"2819c223-7f76-453a-919d-413861904646"},
	}},
}

func raws(docs ...string) []json.RawMessage {
	out := make([]json.RawMessage, len(docs))
	for i, d := range docs {
		out[i] = json.RawMessage(d)
	}
	return out
}

// testConfig is a config for the fixture at srv with the CA file ca, plus extra.
func testConfig(url, ca string, extra string) json.RawMessage {
	cfg := fmt.Sprintf(`{"url": %q, "ca_file": %q, "token": %q`, url+"/scim/v2", ca, testToken)
	if extra != "" {
		cfg += ", " + extra
	}
	return json.RawMessage(cfg + "}")
}

// newTest returns a connector whose clock is clk (which never sleeps) and whose jitter is
// none.
func newTest(clk *fakeClock) *Connector {
	return &Connector{clock: clk, jitter: func(int64) int64 { return 0 }}
}

func TestConformance(t *testing.T) {
	good := &provider{users: raws(barbara, minjun, zoe), maxResults: 2}
	srv, ca := good.serve(t)
	bad := &provider{users: raws(
		barbara,
		`{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "no-id"}`,
		`{"id": "u-bad-active", "userName": "x", "active": "maybe"}`,
		`{"id": "u-bad-emails", "userName": "y", "emails": "y@example.com"}`,
		`{"id": "u-nul", "userName": "nul\u0000here"}`,
		zoe,
	)}
	badSrv, badCA := bad.serve(t)
	connectortest.Run(t, connectortest.Harness{
		New:          func(*testing.T) connector.Connector { return newTest(newFakeClock()) },
		Config:       testConfig(srv.URL, ca, `"page_size": 2`),
		Want:         want,
		BadConfig:    json.RawMessage(`{"url": "https://scim.example.com/v2", "token": "x", "page_size": 0}`),
		BadAttribute: "page_size",
		BadRecords: &connectortest.BadSource{
			Config: testConfig(badSrv.URL, badCA, `"page_size": 4`),
			Valid:  []connector.Record{want[0], want[2]},
			Invalid: []connector.Record{
				{ID: "", Problem: "startIndex=1, resource 2: the resource has no id"},
				{ID: "u-bad-active", Problem: `resource 3: attribute active is a JSON value "maybe", where SCIM wants a boolean`},
				{ID: "u-bad-emails", Problem: "attribute emails is a JSON string, where SCIM wants a list"},
				{ID: "u-nul", Problem: "startIndex=5, resource 1: attribute userName holds a NUL character"},
			},
		},
	})
}

// read reads everything with cfg and returns the records.
func read(t *testing.T, c *Connector, cfg json.RawMessage) ([]connector.Record, error) {
	t.Helper()
	diags, err := c.Configure(t.Context(), cfg)
	if err != nil || diags.HasErrors() {
		t.Fatalf("Configure: %v %+v", err, diags)
	}
	var got []connector.Record
	res, err := c.Read(t.Context(), connector.ReadRequest{}, func(r connector.Record) error {
		got = append(got, r)
		return nil
	})
	if err == nil && res.Count != int64(len(got)) {
		t.Errorf("Count = %d, but %d records came", res.Count, len(got))
	}
	return got, err
}

func ids(rs []connector.Record) []string {
	var out []string
	for _, r := range rs {
		if r.Kind == connector.Upsert {
			out = append(out, r.ID)
		}
	}
	return out
}

func invalids(rs []connector.Record) []connector.Record {
	var out []connector.Record
	for _, r := range rs {
		if r.Kind == connector.Invalid {
			out = append(out, r)
		}
	}
	return out
}

func TestPagingAcrossManyPagesAndShortPages(t *testing.T) {
	p := &provider{users: generatedUsers(1234), short: 7}
	srv, ca := p.serve(t)
	got, err := read(t, newTest(newFakeClock()), testConfig(srv.URL, ca, `"page_size": 50`))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1234 || len(invalids(got)) != 0 {
		t.Fatalf("read %d records (%d invalid), want 1234 users", len(got), len(invalids(got)))
	}
	for i, r := range got {
		if want := fmt.Sprintf("%08x-4f1c-4a3b-9c5d-%012d", i, i); r.ID != want {
			t.Fatalf("record %d is %q, want %q", i, r.ID, want)
		}
	}
	// 7 a page, each page asked from where the last one ended. The page asked ahead
	// while the first was read (at 51, as if the first were as long as asked for) may
	// have reached the service before the connector dropped it.
	asked := map[string]bool{}
	for _, q := range p.requests {
		asked[q] = true
	}
	for start := 1; start <= 1234; start += 7 {
		q := fmt.Sprintf("count=50&startIndex=%d", start)
		if !asked[q] {
			t.Errorf("no request %s", q)
		}
		delete(asked, q)
	}
	delete(asked, "count=50&startIndex=51")
	if len(asked) > 0 {
		t.Errorf("requests beyond the pages: %v", asked)
	}
}

func TestPagesAreAskedAhead(t *testing.T) {
	p := &provider{users: generatedUsers(95)}
	srv, ca := p.serve(t)
	if _, err := read(t, newTest(newFakeClock()), testConfig(srv.URL, ca, `"page_size": 10`)); err != nil {
		t.Fatal(err)
	}
	// Full pages: every request asked ahead is the one needed, none past the end.
	want := []string{}
	for start := 1; start <= 95; start += 10 {
		want = append(want, fmt.Sprintf("count=10&startIndex=%d", start))
	}
	if !slices.Equal(p.requests, want) {
		t.Errorf("requests %v, want %v", p.requests, want)
	}
}

func TestFilterIsPassedThrough(t *testing.T) {
	p := &provider{users: raws(barbara, minjun, zoe), filterSupported: true}
	srv, ca := p.serve(t)
	c := newTest(newFakeClock())
	got, err := read(t, c, testConfig(srv.URL, ca, `"filter": "active eq true"`))
	if err != nil {
		t.Fatal(err)
	}
	if g := ids(got); !slices.Equal(g, []string{want[0].ID, want[2].ID}) {
		t.Errorf("read %v, want Barbara and Zoë", g)
	}
	if err := c.Check(t.Context()); err != nil {
		t.Errorf("Check: %v", err)
	}
	if !strings.Contains(p.requests[0], "filter=active+eq+true") {
		t.Errorf("request %q does not carry the filter", p.requests[0])
	}

	// A filter the service rejects fails the read with its SCIM error.
	_, err = read(t, c, testConfig(srv.URL, ca, `"filter": "title sw \"Tour\""`))
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 400 || se.SCIMType != "invalidFilter" {
		t.Fatalf("read with a rejected filter = %v, want a 400 invalidFilter StatusError", err)
	}

	// A service that says it cannot filter fails Check.
	p.mu.Lock()
	p.filterSupported = false
	p.mu.Unlock()
	if _, err := c.Configure(t.Context(), testConfig(srv.URL, ca, `"filter": "active eq true"`)); err != nil {
		t.Fatal(err)
	}
	if err := c.Check(t.Context()); err == nil || !strings.Contains(err.Error(), "does not support filtering") {
		t.Errorf("Check against a service without filtering = %v", err)
	}
}

func TestThrottlingWaitsRetryAfterAndBacksOff(t *testing.T) {
	p := &provider{users: generatedUsers(30), retryAfter: "7",
		throttle: map[int64]int{11: 2}, unavailable: map[int64]int{21: 3}}
	srv, ca := p.serve(t)
	clk := newFakeClock()
	got, err := read(t, newTest(clk), testConfig(srv.URL, ca, `"page_size": 10`))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 30 {
		t.Fatalf("read %d records, want 30", len(got))
	}
	// Two Retry-After waits, then the back-off (no jitter): 0.5 s, 1 s, 2 s.
	wantSleeps := []time.Duration{7 * time.Second, 7 * time.Second, 500 * time.Millisecond, time.Second, 2 * time.Second}
	if s := clk.slept(); !slices.Equal(s, wantSleeps) {
		t.Errorf("slept %v, want %v", s, wantSleeps)
	}
}

func TestRetryAfterAsHTTPDate(t *testing.T) {
	clk := newFakeClock()
	p := &provider{users: generatedUsers(3), throttle: map[int64]int{1: 1},
		retryAfter: clk.Now().Add(90 * time.Second).Format(http.TimeFormat)}
	srv, ca := p.serve(t)
	if _, err := read(t, newTest(clk), testConfig(srv.URL, ca, "")); err != nil {
		t.Fatal(err)
	}
	if s := clk.slept(); !slices.Equal(s, []time.Duration{90 * time.Second}) {
		t.Errorf("slept %v, want [1m30s]", s)
	}
}

func TestJitterIsBounded(t *testing.T) {
	most := &client{jitter: func(n int64) int64 { return n - 1 }}
	least := &client{jitter: func(int64) int64 { return 0 }}
	for _, tc := range []struct {
		attempt int
		want    time.Duration
	}{{0, time.Second}, {1, 2 * time.Second}, {2, 4 * time.Second}, {5, 32 * time.Second}, {6, time.Minute}, {40, time.Minute}} {
		if got := most.backoff(tc.attempt); got != tc.want {
			t.Errorf("backoff(%d) with the most jitter = %s, want %s", tc.attempt, got, tc.want)
		}
		if got := least.backoff(tc.attempt); got != tc.want/2 {
			t.Errorf("backoff(%d) with no jitter = %s, want %s", tc.attempt, got, tc.want/2)
		}
	}
}

func TestRetriesAreBounded(t *testing.T) {
	p := &provider{users: generatedUsers(5), throttle: map[int64]int{1: 100}, retryAfter: "1"}
	srv, ca := p.serve(t)
	clk := newFakeClock()
	got, err := read(t, newTest(clk), testConfig(srv.URL, ca, `"max_retries": 3`))
	if err == nil || !strings.Contains(err.Error(), "429 Too Many Requests") || !strings.Contains(err.Error(), "gave up after 3 retries") {
		t.Fatalf("read against a service that always throttles = %v", err)
	}
	if len(got) != 0 || len(p.requests) != 4 {
		t.Errorf("%d records and %d requests, want none and 4", len(got), len(p.requests))
	}

	// A Retry-After longer than the connector waits fails at once.
	p2 := &provider{users: generatedUsers(5), throttle: map[int64]int{1: 1}, retryAfter: "3600"}
	srv2, ca2 := p2.serve(t)
	if _, err := read(t, newTest(newFakeClock()), testConfig(srv2.URL, ca2, "")); err == nil || !strings.Contains(err.Error(), "Retry-After asks to wait") {
		t.Errorf("read with Retry-After: 3600 = %v", err)
	}
}

func TestServerErrorMidReadFailsTheRead(t *testing.T) {
	p := &provider{users: generatedUsers(50), fail500: 21}
	srv, ca := p.serve(t)
	got, err := read(t, newTest(newFakeClock()), testConfig(srv.URL, ca, `"page_size": 10`))
	if err == nil {
		t.Fatal("a read whose third page fails with 500 succeeded")
	}
	if !strings.Contains(err.Error(), "500 Internal Server Error") || !strings.Contains(err.Error(), "startIndex=21") {
		t.Errorf("error %q does not say 500 and which page", err)
	}
	if len(got) != 20 {
		t.Errorf("%d records before the failure, want the first two pages' 20", len(got))
	}
}

func TestTokenRevokedMidReadFailsTheRead(t *testing.T) {
	p := &provider{users: generatedUsers(30), afterPage: func(p *provider, start int64) {
		if start == 1 {
			p.revoked = true
		}
	}}
	srv, ca := p.serve(t)
	got, err := read(t, newTest(newFakeClock()), testConfig(srv.URL, ca, `"page_size": 10`))
	var se *StatusError
	if !errors.As(err, &se) || se.Status != http.StatusUnauthorized {
		t.Fatalf("read after the token was revoked = %v, want a 401", err)
	}
	if len(got) != 10 || p.unauthorized != 1 {
		t.Errorf("%d records and %d answers 401, want the first page and one 401 (no retry)", len(got), p.unauthorized)
	}
}

func TestCutOffBodyFailsTheRead(t *testing.T) {
	p := &provider{users: generatedUsers(30), cutAt: 11}
	srv, ca := p.serve(t)
	_, err := read(t, newTest(newFakeClock()), testConfig(srv.URL, ca, `"page_size": 10`))
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("read of a cut-off page = %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestListChangingDuringTheReadDeletesNobody(t *testing.T) {
	// After the first page the first user is removed: everyone shifts forward by one, so
	// the user who was 11th is now 10th and the page at 11 skips them.
	p := &provider{users: generatedUsers(25), afterPage: func(p *provider, start int64) {
		if start == 1 {
			p.users = p.users[1:]
		}
	}}
	srv, ca := p.serve(t)
	got, err := read(t, newTest(newFakeClock()), testConfig(srv.URL, ca, `"page_size": 10`))
	if err != nil {
		t.Fatal(err)
	}
	inv := invalids(got)
	if len(inv) != 1 || inv[0].ID != "" || !strings.Contains(inv[0].Problem, "totalResults went from 25 to 24") {
		t.Fatalf("invalid records %+v, want one without ID saying totalResults changed", inv)
	}
	if n := len(ids(got)); n != 24 {
		t.Errorf("%d users, want 24 (one was skipped by the shift)", n)
	}

	// An addition at the front shifts a user onto the next page: they come twice.
	p2 := &provider{users: generatedUsers(15), afterPage: func(p *provider, start int64) {
		if start == 1 {
			p.users = append([]json.RawMessage{generatedUser(99)}, p.users...)
		}
	}}
	srv2, ca2 := p2.serve(t)
	got, err = read(t, newTest(newFakeClock()), testConfig(srv2.URL, ca2, `"page_size": 10`))
	if err != nil {
		t.Fatal(err)
	}
	inv = invalids(got)
	if len(inv) != 1 || inv[0].ID != "" {
		t.Fatalf("invalid records %+v, want one without ID", inv)
	}
	if g := ids(got); len(g) != 15 || len(slices.Compact(slices.Sorted(slices.Values(g)))) != 15 {
		t.Errorf("users %d, want the 15 of the first page's list, each once", len(g))
	}
}

func TestAuthFailures(t *testing.T) {
	p := &provider{users: generatedUsers(3)}
	srv, ca := p.serve(t)
	c := newTest(newFakeClock())
	cfg := json.RawMessage(fmt.Sprintf(`{"url": %q, "ca_file": %q, "token": "wrong-token"}`, srv.URL+"/scim/v2", ca))
	if diags, err := c.Configure(t.Context(), cfg); err != nil || diags.HasErrors() {
		t.Fatal(err, diags)
	}
	err := c.Check(t.Context())
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 401 {
		t.Fatalf("Check with a wrong token = %v, want a 401", err)
	}
	if strings.Contains(err.Error(), "wrong-token") {
		t.Errorf("the error shows the token: %v", err)
	}
	if p.unauthorized != 1 {
		t.Errorf("%d requests were answered 401; a 401 must not be retried", p.unauthorized)
	}

	// Basic authentication reaches the service as RFC 7617 says.
	var gotUser, gotPass string
	basic := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotUser, gotPass, _ = r.BasicAuth()
		r.Header.Set("Authorization", "Bearer "+testToken)
		p.ServeHTTP(w, r)
	})
	bsrv, bca := serveHandler(t, basic)
	cfg = json.RawMessage(fmt.Sprintf(`{"url": %q, "ca_file": %q, "username": "sync", "password": "pä55"}`, bsrv.URL+"/scim/v2", bca))
	if diags, err := c.Configure(t.Context(), cfg); err != nil || diags.HasErrors() {
		t.Fatal(err, diags)
	}
	if err := c.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	if gotUser != "sync" || gotPass != "pä55" {
		t.Errorf("basic auth sent %q/%q", gotUser, gotPass)
	}
}

func TestNotSCIMAnswers(t *testing.T) {
	cases := map[string]http.HandlerFunc{
		"a login page": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<html>Sign in</html>")
		},
		"a user, not a list": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/scim+json")
			_, _ = io.WriteString(w, minjun)
		},
		"a list without totalResults": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/scim+json")
			_, _ = io.WriteString(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"Resources":[]}`)
		},
		"a service that ignores startIndex": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/scim+json")
			_, _ = fmt.Fprintf(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":5,"startIndex":1,"Resources":[%s]}`, generatedUser(len(r.URL.RawQuery)))
		},
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			srv, ca := serveHandler(t, h)
			if _, err := read(t, newTest(newFakeClock()), testConfig(srv.URL, ca, `"page_size": 1`)); err == nil {
				t.Errorf("read of %s succeeded", name)
			}
		})
	}
}

func TestRequestRateIsLimited(t *testing.T) {
	p := &provider{users: generatedUsers(40)}
	srv, ca := p.serve(t)
	clk := newFakeClock()
	if _, err := read(t, newTest(clk), testConfig(srv.URL, ca, `"page_size": 10, "requests_per_second": 2`)); err != nil {
		t.Fatal(err)
	}
	// Four pages at 2 a second: the first at once, each other 0.5 s after the last.
	if s := clk.slept(); !slices.Equal(s, []time.Duration{500 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond}) {
		t.Errorf("slept %v, want 3 × 500ms", s)
	}
}

func TestConfigDiagnostics(t *testing.T) {
	cases := []struct{ config, attr, summary string }{
		{`{}`, "url", "Missing SCIM URL"},
		{`{"url": "ftp://x"}`, "url", "Invalid SCIM URL"},
		{`{"url": "https://u:p@scim.example.com"}`, "url", "Credentials in the URL"},
		{`{"url": "http://scim.example.com", "token": "t"}`, "url", "Credentials in clear text"},
		{`{"url": "https://scim.example.com", "token": "t", "username": "u", "password": "p"}`, "token", "Two kinds of credentials"},
		{`{"url": "https://scim.example.com", "username": "u"}`, "password", "Missing password"},
		{`{"url": "https://scim.example.com", "token": ""}`, "token", "Empty token"},
		{`{"url": "https://scim.example.com", "page_size": 1.5}`, "page_size", "Invalid page size"},
		{`{"url": "https://scim.example.com", "max_retries": 99}`, "max_retries", "Invalid max retries"},
		{`{"url": "https://scim.example.com", "requests_per_second": 0}`, "requests_per_second", "Invalid request rate"},
		{`{"url": "https://scim.example.com", "request_timeout": "soon"}`, "request_timeout", "Invalid duration"},
		{`{"url": "https://scim.example.com", "ca_file": "/nonexistent/ca.pem"}`, "ca_file", "Cannot read the CA file"},
		{`{"url": "https://scim.example.com", "filter": "  "}`, "filter", "Blank filter"},
		{`{"url": "https://scim.example.com", "colour": "red"}`, "colour", "Unsupported attribute"},
	}
	for _, tc := range cases {
		_, diags := parseConfig(json.RawMessage(tc.config))
		if !slices.ContainsFunc(diags, func(d connector.Diagnostic) bool {
			return d.Severity == connector.Error && d.Attribute == tc.attr && d.Summary == tc.summary
		}) {
			t.Errorf("%s: diagnostics %+v, want %q on %s", tc.config, diags, tc.summary, tc.attr)
		}
		for _, d := range diags {
			if strings.Contains(d.Detail, `"t"`) || strings.Contains(d.Detail, "u:p") {
				t.Errorf("%s: a diagnostic shows a secret: %+v", tc.config, d)
			}
		}
	}
	if cfg, diags := parseConfig(json.RawMessage(`{"url": "http://localhost:8080/scim/v2", "token": "t", "allow_insecure_http": true}`)); diags.HasErrors() || cfg.base.String() != "http://localhost:8080/scim/v2/" {
		t.Errorf("allow_insecure_http: %+v", diags)
	}
}

func TestDelta(t *testing.T) {
	c := New()
	d, _ := c.Describe(t.Context())
	if d.Capabilities.Delta {
		t.Error("the SCIM connector declares delta reads it does not have")
	}
	for _, a := range d.Schema.Attributes {
		if (a.Name == "token" || a.Name == "password") != a.Sensitive {
			t.Errorf("attribute %s: Sensitive = %v", a.Name, a.Sensitive)
		}
	}
}

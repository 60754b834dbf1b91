package okta

// The tests run against fakeOkta (fixture_test.go), which follows Okta's published
// Management API OpenAPI spec; see there for the documents it follows.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/peoplesync/peoplesync/plugins/internal/connectortesting"
	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/connectortest"
)

// sleeper records the waits of the connector and advances the fake's clock by them,
// instead of sleeping.
type sleeper struct {
	clock *fakeClock
	waits []time.Duration
}

func (s *sleeper) sleep(ctx context.Context, d time.Duration) error {
	s.clock.mu.Lock()
	s.waits = append(s.waits, d)
	s.clock.now = s.clock.now.Add(d)
	s.clock.mu.Unlock()
	return ctx.Err()
}

func (s *sleeper) all() []time.Duration {
	s.clock.mu.Lock()
	defer s.clock.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// newTestConnector returns a connector on the fake's clock, and its sleeper.
func newTestConnector(f *fakeOkta) (*Connector, *sleeper) {
	s := &sleeper{clock: f.clock}
	c := New().(*Connector)
	c.clock = clock{now: f.clock.Now, sleep: s.sleep}
	return c, s
}

const (
	graceID = "00u1grace0000000a1d7"
	adaID   = "00u2ada00000000000d7"
	zoeID   = "00u3zoe00000000000d7"
	liID    = "00u4li000000000000d7"
)

// people are users as the spec's UserProfile describes them: one with every base
// attribute and custom ones (an array, a number, a boolean), one managed by her, one
// suspended with non-ASCII names and missing fields, one deprovisioned.
func people() []*fakeUser {
	return []*fakeUser{
		{id: graceID, profile: map[string]any{
			"login": "grace.hopper@example.com", "email": "grace.hopper@example.com", "firstName": "Grace", "lastName": "Hopper",
			"displayName": "Grace Hopper", "title": "CTO", "department": "Engineering", "organization": "Example Inc.",
			"employeeNumber": "1906", "primaryPhone": "+1 212 555 0100", "mobilePhone": "+1 212 555 0101",
			"locale": "en_US", "timezone": "America/New_York", "city": "New York", "countryCode": "US",
			"costCenter": "CC-1", "division": "Research", "preferredLanguage": "en", "userType": "Employee",
			"cars": []any{"Bus", "Tram"}, "level": 7, "remote": true,
		}},
		{id: adaID, profile: map[string]any{
			"login": "ada@example.com", "email": "Ada.Lovelace@example.com", "firstName": "Ada", "lastName": "Lovelace",
			"title": "Analyst", "managerId": graceID, "manager": "Grace Hopper", "secondEmail": "",
		}},
		{id: zoeID, status: "SUSPENDED", profile: map[string]any{
			"login": "zoe@example.no", "email": "zoe@example.no", "firstName": "Zoë", "lastName": nil,
			"displayName": "Zoë Ødegård", "city": "Tromsø", "managerId": adaID,
		}},
		{id: liID, status: "DEPROVISIONED", profile: map[string]any{
			"login": "li.lei@example.cn", "email": "li.lei@example.cn", "firstName": "雷", "lastName": "李",
			"department": "研究开发", "managerId": graceID,
		}},
	}
}

// stamps are the top-level attributes the fake gives a user.
func stamps(f *fakeOkta, id string) map[string][]string {
	f.mu.Lock()
	u := f.users[id]
	f.mu.Unlock()
	if u == nil {
		return map[string][]string{} // not in this fake
	}
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
	m := map[string][]string{
		"id": {id}, "status": {u.status}, "created": {ts(u.created)}, "statusChanged": {ts(u.updated)},
		"lastUpdated": {ts(u.updated)}, "passwordChanged": {ts(u.created)}, "type.id": {"oty1162QAr8hJjTaq0g4"},
	}
	if u.status != "STAGED" {
		m["activated"] = []string{ts(u.created)}
	}
	return m
}

func with(base map[string][]string, more map[string][]string) map[string][]string {
	for k, v := range more {
		base[k] = v
	}
	return base
}

// want are the records of people(): top-level properties by name, the profile as
// profile.NAME (nulls and empty strings absent; numbers and booleans as JSON writes
// them; arrays element by element) and the manager's id as manager.
func want(f *fakeOkta) []connector.Record {
	return []connector.Record{
		{ID: graceID, Attributes: with(stamps(f, graceID), map[string][]string{
			"profile.login": {"grace.hopper@example.com"}, "profile.email": {"grace.hopper@example.com"},
			"profile.firstName": {"Grace"}, "profile.lastName": {"Hopper"}, "profile.displayName": {"Grace Hopper"},
			"profile.title": {"CTO"}, "profile.department": {"Engineering"}, "profile.organization": {"Example Inc."},
			"profile.employeeNumber": {"1906"}, "profile.primaryPhone": {"+1 212 555 0100"}, "profile.mobilePhone": {"+1 212 555 0101"},
			"profile.locale": {"en_US"}, "profile.timezone": {"America/New_York"}, "profile.city": {"New York"},
			"profile.countryCode": {"US"}, "profile.costCenter": {"CC-1"}, "profile.division": {"Research"},
			"profile.preferredLanguage": {"en"}, "profile.userType": {"Employee"}, "profile.cars": {"Bus", "Tram"},
			"profile.level": {"7"}, "profile.remote": {"true"},
		})},
		{ID: adaID, Attributes: with(stamps(f, adaID), map[string][]string{
			"profile.login": {"ada@example.com"}, "profile.email": {"Ada.Lovelace@example.com"}, "profile.firstName": {"Ada"},
			"profile.lastName": {"Lovelace"}, "profile.title": {"Analyst"}, "profile.managerId": {graceID},
			"profile.manager": {"Grace Hopper"}, "manager": {graceID},
		})},
		{ID: zoeID, Attributes: with(stamps(f, zoeID), map[string][]string{
			"profile.login": {"zoe@example.no"}, "profile.email": {"zoe@example.no"}, "profile.firstName": {"Zoë"},
			"profile.displayName": {"Zoë Ødegård"}, "profile.city": {"Tromsø"}, "profile.managerId": {adaID}, "manager": {adaID},
		})},
		{ID: liID, Attributes: with(stamps(f, liID), map[string][]string{
			"profile.login": {"li.lei@example.cn"}, "profile.email": {"li.lei@example.cn"}, "profile.firstName": {"雷"},
			"profile.lastName": {"李"}, "profile.department": {"研究开发"}, "profile.managerId": {graceID}, "manager": {graceID},
		})},
	}
}

func TestConforms(t *testing.T) {
	f := newFakeOkta(t)
	f.add(people()...)
	bad := newFakeOkta(t)
	bad.add(people()[:2]...)
	bad.add(
		&fakeUser{profile: map[string]any{"login": "nobody@example.com"}},
		&fakeUser{id: liID, profile: map[string]any{"login": "li@example.cn", "firstName": "Li\u0000Lei"}},
		&fakeUser{id: "00u9bad0000000000000", raw: "{\"id\": \"00u9bad0000000000000\", \"status\": \"ACTIVE\", \"profile\": {\"login\": \"x\xff@example.com\"}}"},
	)
	connectortest.Run(t, connectortest.Harness{
		New: func(*testing.T) connector.Connector {
			c, _ := newTestConnector(f)
			return c
		},
		Config:       f.config(map[string]any{"page_size": 2}),
		Want:         want(f),
		BadConfig:    f.config(map[string]any{"org_url": "http://example.okta.com"}),
		BadAttribute: "org_url",
		BadRecords: &connectortest.BadSource{
			Config: bad.config(map[string]any{"page_size": 2}),
			Valid:  want(bad)[:2],
			Invalid: []connector.Record{
				{ID: "", Problem: "page 3, user 1: the user has no id"},
				{ID: liID, Problem: "profile.firstName holds a NUL character"},
				{ID: "00u9bad0000000000000", Problem: "text that is not UTF-8"},
			},
		},
	})
}

func TestFullReadAsksForEveryStatus(t *testing.T) {
	f := newFakeOkta(t)
	f.add(people()...)
	c, _ := newTestConnector(f)
	connectortesting.Configure(t, c, f.config(nil))
	got, res, err := connectortesting.Read(t, c, connector.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Errorf("read %d users, want 4 (the deprovisioned one too)", len(got))
	}
	for _, r := range got {
		if r.ID == liID && r.Attributes["status"][0] != "DEPROVISIONED" {
			t.Errorf("deprovisioned user: %+v", r)
		}
	}
	if len(f.paths) != 1 || !strings.Contains(f.paths[0], "limit=200") || !strings.Contains(f.paths[0], "filter=status+eq+%22STAGED%22+or+") ||
		!strings.Contains(f.paths[0], "DEPROVISIONED") {
		t.Errorf("requests %q; want one page, limit=200, a filter of every status", f.paths)
	}
	if _, ok := parseCursor(res.Cursor); !ok {
		t.Errorf("cursor %q is not a timestamp", res.Cursor)
	}
}

// manyUsers adds n users, each managed by the one before.
func manyUsers(f *fakeOkta, n int) {
	users := make([]*fakeUser, n)
	id := func(i int) string { return fmt.Sprintf("00u%017d", i) }
	for i := range users {
		users[i] = &fakeUser{id: id(i), profile: map[string]any{
			"login": fmt.Sprintf("p%d@example.com", i), "email": fmt.Sprintf("p%d@example.com", i),
			"firstName": "Person", "lastName": fmt.Sprint(i), "displayName": fmt.Sprintf("Person %d", i),
			"title": "Engineer", "department": "R&D", "employeeNumber": fmt.Sprint(100000 + i),
			"primaryPhone": "+49 30 1234 5678", "organization": "Example", "city": "Berlin", "countryCode": "DE",
		}}
		if i%10 == 0 {
			users[i].status = "SUSPENDED"
		}
		if i > 0 {
			users[i].profile["managerId"] = id(i - 1)
		}
	}
	f.add(users...)
}

func TestPagingAcrossManyPages(t *testing.T) {
	f := newFakeOkta(t)
	manyUsers(f, 2345)
	c, _ := newTestConnector(f)
	connectortesting.Configure(t, c, f.config(map[string]any{"page_size": 100}))
	got, res, err := connectortesting.Read(t, c, connector.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2345 || res.Count != 2345 {
		t.Fatalf("read %d records (count %d), want 2345", len(got), res.Count)
	}
	seen := map[string]bool{}
	for i, r := range got {
		if seen[r.ID] {
			t.Fatalf("record %q twice", r.ID)
		}
		seen[r.ID] = true
		if i > 0 && r.Attributes["manager"][0] != got[i-1].ID {
			t.Fatalf("record %d: manager %q, want %q", i, r.Attributes["manager"], got[i-1].ID)
		}
	}
	if f.requests != 24 {
		t.Errorf("%d requests, want 24 pages", f.requests)
	}
}

func TestThrottlingHonoursRateLimitReset(t *testing.T) {
	f := newFakeOkta(t)
	manyUsers(f, 50)
	f.fault = func(r *http.Request, n int) (int, map[string]string, bool) {
		now := f.clock.Now().Unix()
		switch n {
		case 2: // the concurrent limit: the reset 7 s after the answer's Date
			return http.StatusTooManyRequests, map[string]string{"X-Rate-Limit-Reset": fmt.Sprint(now + 7), "X-Rate-Limit-Remaining": "0"}, true
		case 3:
			return http.StatusTooManyRequests, map[string]string{"Retry-After": "2", "X-Rate-Limit-Reset": fmt.Sprint(now + 30)}, true
		case 5:
			return http.StatusServiceUnavailable, nil, true // nothing said: back off
		}
		return 0, nil, false
	}
	c, s := newTestConnector(f)
	var logs strings.Builder
	c.log = slog.New(slog.NewTextHandler(&logs, nil))
	connectortesting.Configure(t, c, f.config(map[string]any{"page_size": 10}))
	got, _, err := connectortesting.Read(t, c, connector.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), "retrying"); n != 3 || strings.Contains(logs.String(), fakeToken) || strings.Contains(logs.String(), "after=") {
		t.Errorf("retry logs: %d lines, want 3, without the token or the page's query:\n%s", n, logs.String())
	}
	if len(got) != 50 {
		t.Errorf("read %d records, want 50", len(got))
	}
	waits := s.all()
	if len(waits) != 3 || waits[0] != 7*time.Second || waits[1] != 2*time.Second {
		t.Fatalf("waits %v; want 7s (X-Rate-Limit-Reset), 2s (Retry-After first) and one back-off", waits)
	}
	if waits[2] < 500*time.Millisecond || waits[2] > time.Second {
		t.Errorf("back-off after the first failure of a request = %v, want 0.5–1s", waits[2])
	}
}

func TestRateLimitWindowWaitsInsteadOfA429(t *testing.T) {
	f := newFakeOkta(t)
	manyUsers(f, 95)
	f.clock.Advance(30 * time.Second) // half way through a minute
	f.window = 4
	c, s := newTestConnector(f)
	connectortesting.Configure(t, c, f.config(map[string]any{"page_size": 10}))
	got, _, err := connectortesting.Read(t, c, connector.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 95 {
		t.Errorf("read %d records, want 95", len(got))
	}
	if f.served[http.StatusTooManyRequests] != 0 {
		t.Errorf("%d answers were 429; the connector should wait for the window when X-Rate-Limit-Remaining is 0", f.served[429])
	}
	// 10 pages, 4 a minute: two waits for the reset, the first 30 s, the next a minute.
	if w := s.all(); len(w) != 2 || w[0] != 30*time.Second || w[1] != time.Minute {
		t.Errorf("waits %v, want [30s 1m0s]", w)
	}
}

func TestServerErrorMidReadFailsTheRead(t *testing.T) {
	f := newFakeOkta(t)
	manyUsers(f, 30)
	f.fault = func(r *http.Request, n int) (int, map[string]string, bool) {
		if n >= 2 { // the first page passes; then Okta fails for good
			return http.StatusInternalServerError, nil, true
		}
		return 0, nil, false
	}
	c, s := newTestConnector(f)
	connectortesting.Configure(t, c, f.config(map[string]any{"page_size": 10, "max_retries": 3}))
	got, res, err := connectortesting.Read(t, c, connector.ReadRequest{})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Read = %v, want ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), "page 2") || !strings.Contains(err.Error(), "HTTP 500 E0000009") {
		t.Errorf("error %q does not say which page failed and how", err)
	}
	if strings.Contains(err.Error(), fakeToken) || strings.Contains(err.Error(), "after=") {
		t.Errorf("error %q holds the token or the page's query", err)
	}
	if len(got) != 10 || res != (connector.ReadResult{}) {
		t.Errorf("emitted %d records and result %+v; want the first page and no result", len(got), res)
	}
	if n := len(s.all()); n != 3 {
		t.Errorf("%d waits, want max_retries = 3", n)
	}
}

func TestDeltaReads(t *testing.T) {
	f := newFakeOkta(t)
	f.add(people()...)
	c, _ := newTestConnector(f)
	connectortesting.Configure(t, c, f.config(nil))
	f.clock.Advance(time.Minute)
	_, full, err := connectortesting.Read(t, c, connector.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}

	// Nothing changed: no records, the same cursor.
	f.clock.Advance(time.Minute)
	got, res, err := connectortesting.Read(t, c, connector.ReadRequest{Mode: connector.Delta, Cursor: full.Cursor})
	if err != nil || len(got) != 0 || res.Cursor != full.Cursor {
		t.Fatalf("delta over no change: %d records, cursor %q (was %q), %v", len(got), res.Cursor, full.Cursor, err)
	}
	if !strings.Contains(f.paths[len(f.paths)-1], "filter=lastUpdated+gt+%22"+strings.ReplaceAll(full.Cursor, ":", "%3A")+"%22") {
		t.Errorf("delta request %q does not filter by lastUpdated gt the cursor", f.paths[len(f.paths)-1])
	}

	f.change(adaID, func(u *fakeUser) { u.profile["title"] = "Lead Analyst" })
	f.clock.Advance(time.Second)
	f.change(graceID, func(u *fakeUser) { u.status = "DEPROVISIONED" })
	f.clock.Advance(time.Second)
	f.change(zoeID, func(u *fakeUser) { u.status = "ACTIVE" }) // unsuspended
	f.add(&fakeUser{id: "00u5emile000000000d7", status: "STAGED", profile: map[string]any{"login": "emile@example.fr", "firstName": "Émile", "lastName": "Zola"}})
	f.remove(liID) // deleted from Okta: a delta cannot see it
	f.clock.Advance(time.Minute)

	got, res2, err := connectortesting.Read(t, c, connector.ReadRequest{Mode: connector.Delta, Cursor: res.Cursor})
	if err != nil {
		t.Fatal(err)
	}
	if res2.Count != 4 || res2.Cursor <= res.Cursor {
		t.Errorf("delta result %+v; want 4 records and a later cursor than %s", res2, res.Cursor)
	}
	byID := map[string]connector.Record{}
	for _, r := range got {
		if r.Kind != connector.Upsert {
			t.Errorf("record %s of kind %d; every Okta user is an Upsert", r.ID, r.Kind)
		}
		byID[r.ID] = r
	}
	if r := byID[adaID]; r.Attributes["profile.title"][0] != "Lead Analyst" || r.Attributes["manager"][0] != graceID {
		t.Errorf("changed user: %+v", r)
	}
	if r := byID[graceID]; r.Attributes["status"][0] != "DEPROVISIONED" || r.Attributes["profile.login"][0] != "grace.hopper@example.com" {
		t.Errorf("deprovisioned user: %+v; want an Upsert with status DEPROVISIONED and the profile", r)
	}
	if r := byID[zoeID]; r.Attributes["status"][0] != "ACTIVE" {
		t.Errorf("unsuspended user: %+v", r)
	}
	if r := byID["00u5emile000000000d7"]; r.Attributes["status"][0] != "STAGED" || r.Attributes["profile.firstName"][0] != "Émile" {
		t.Errorf("new user: %+v", r)
	}
	if f.users[zoeID].updated.UTC().Format(timeLayout) != res2.Cursor {
		t.Errorf("cursor %s, want the highest lastUpdated read, %s", res2.Cursor, f.users[zoeID].updated.UTC().Format(timeLayout))
	}

	f.clock.Advance(time.Minute)
	got, _, err = connectortesting.Read(t, c, connector.ReadRequest{Mode: connector.Delta, Cursor: res2.Cursor})
	if err != nil || len(got) != 0 {
		t.Errorf("delta after the changes: %d records, %v", len(got), err)
	}
}

// A user changed while a read pages on, after their page went by, is in the next delta
// read: the cursor does not pass the read's start.
func TestDeltaSeesAChangeMadeDuringTheRead(t *testing.T) {
	f := newFakeOkta(t)
	manyUsers(f, 30)
	f.clock.Advance(time.Hour)
	f.fault = func(r *http.Request, n int) (int, map[string]string, bool) {
		switch n {
		case 2: // page 1 (users 0–9) went by: change user 3, then, later, user 25
			f.changeLocked("00u00000000000000003", func(u *fakeUser) { u.profile["title"] = "Manager" })
			f.clock.Advance(10 * time.Second)
			f.changeLocked("00u00000000000000025", func(u *fakeUser) { u.profile["title"] = "Director" })
		}
		return 0, nil, false
	}
	c, _ := newTestConnector(f)
	connectortesting.Configure(t, c, f.config(map[string]any{"page_size": 10}))
	_, full, err := connectortesting.Read(t, c, connector.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	f.fault = nil
	f.clock.Advance(time.Minute)
	got, _, err := connectortesting.Read(t, c, connector.ReadRequest{Mode: connector.Delta, Cursor: full.Cursor})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range got {
		found = found || (r.ID == "00u00000000000000003" && r.Attributes["profile.title"][0] == "Manager")
	}
	if !found {
		t.Errorf("the delta after the read (cursor %s) misses the change made to a page already read: %d records", full.Cursor, len(got))
	}
}

func TestDeltaCursorMustBeATimestamp(t *testing.T) {
	f := newFakeOkta(t)
	c, _ := newTestConnector(f)
	connectortesting.Configure(t, c, f.config(nil))
	for _, cursor := range []string{"", "modifyTimestamp:20260101000000Z", "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=1", `2026-01-01T00:00:00.000Z" or status eq "ACTIVE`} {
		if _, _, err := connectortesting.Read(t, c, connector.ReadRequest{Mode: connector.Delta, Cursor: cursor}); !errors.Is(err, ErrCursor) {
			t.Errorf("cursor %q: %v, want ErrCursor", cursor, err)
		}
	}
	if len(f.paths) != 0 {
		t.Errorf("bad cursors sent requests: %q", f.paths)
	}
}

func TestNextLinkToAnotherHostFails(t *testing.T) {
	f := newFakeOkta(t)
	manyUsers(f, 5)
	c, _ := newTestConnector(f)
	connectortesting.Configure(t, c, f.config(map[string]any{"page_size": 2}))
	f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", `<https://elsewhere.example.com/api/v1/users?after=00u1&limit=2>; rel="next"`)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("[]"))
	})
	if _, _, err := connectortesting.Read(t, c, connector.ReadRequest{}); !errors.Is(err, ErrProtocol) {
		t.Errorf("Read = %v, want ErrProtocol for a next link to another host", err)
	}
}

func TestNextLink(t *testing.T) {
	base := "https://example.okta.com/api/v1/users?limit=2"
	cases := []struct {
		links []string
		want  string
		ok    bool
	}{
		{nil, "", true},
		{[]string{`<https://example.okta.com/api/v1/users?limit=2>; rel="self"`}, "", true},
		{[]string{`<https://example.okta.com/api/v1/users?limit=2>; rel="self"`, `<https://example.okta.com/api/v1/users?after=00ub&limit=2>; rel="next"`},
			"https://example.okta.com/api/v1/users?after=00ub&limit=2", true},
		{[]string{`<https://example.okta.com/api/v1/users?limit=2>; rel="self", </api/v1/users?after=x%2Cy>;rel=next;title="a, b"`},
			"https://example.okta.com/api/v1/users?after=x%2Cy", true},
		{[]string{`<https://a/>; title="x;y"; rel="prev next"`}, "https://a/", true},
		{[]string{`https://a/; rel="next"`}, "", false},
		{[]string{`<https://a/; rel="next"`}, "", false},
	}
	for _, tc := range cases {
		h := http.Header{}
		for _, l := range tc.links {
			h.Add("Link", l)
		}
		got, ok := nextLink(h, base)
		if got != tc.want || ok != tc.ok {
			t.Errorf("nextLink(%q) = %q, %v; want %q, %v", tc.links, got, ok, tc.want, tc.ok)
		}
	}
}

func TestOAuthClientCredentials(t *testing.T) {
	f := newFakeOkta(t)
	manyUsers(f, 40)
	f.tokenUses = 2 // Okta calls each access token invalid after two requests
	c, _ := newTestConnector(f)
	connectortesting.Configure(t, c, f.oauthConfig(map[string]any{"page_size": 10}))
	got, _, err := connectortesting.Read(t, c, connector.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 40 {
		t.Errorf("read %d records, want 40", len(got))
	}
	if f.issued < 2 {
		t.Errorf("%d tokens issued; the read should have renewed its token", f.issued)
	}
	for _, p := range f.paths {
		if strings.Contains(p, "client_assertion") {
			t.Errorf("request %q carries the assertion in its URL", p)
		}
	}

	// Another key: the token endpoint refuses the assertion.
	other := newFakeOkta(t)
	wrong, _ := newTestConnector(f)
	connectortesting.Configure(t, wrong, f.oauthConfig(map[string]any{"private_key": other.keyPEM()}))
	_, _, err = connectortesting.Read(t, wrong, connector.ReadRequest{})
	if !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), "signature is invalid") {
		t.Fatalf("Read with another key = %v, want ErrCredentials saying the signature is invalid", err)
	}
	if strings.Contains(err.Error(), "PRIVATE KEY") || strings.Contains(err.Error(), "eyJ") {
		t.Errorf("error %q holds the key or a JWT", err)
	}
}

func TestCheck(t *testing.T) {
	f := newFakeOkta(t)
	f.add(people()...)
	c, _ := newTestConnector(f)
	connectortesting.Configure(t, c, f.config(nil))
	if err := c.Check(context.Background()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if last := f.paths[len(f.paths)-1]; last != "GET /api/v1/users?limit=1" {
		t.Errorf("Check asked %q, want one page of one user", last)
	}

	wrong, s := newTestConnector(f)
	connectortesting.Configure(t, wrong, f.config(map[string]any{"api_token": "not-it-000"}))
	err := wrong.Check(context.Background())
	if !errors.Is(err, ErrCredentials) || strings.Contains(err.Error(), "not-it-000") || !strings.Contains(err.Error(), "E0000011") {
		t.Errorf("Check with a wrong token = %v, want ErrCredentials with Okta's code, without the token", err)
	}
	if len(s.all()) != 0 {
		t.Error("a 401 was retried")
	}

	f.fault = func(r *http.Request, n int) (int, map[string]string, bool) { return http.StatusForbidden, nil, true }
	forbidden, _ := newTestConnector(f)
	connectortesting.Configure(t, forbidden, f.config(nil))
	if err := forbidden.Check(context.Background()); !errors.Is(err, ErrForbidden) {
		t.Errorf("Check = %v, want ErrForbidden", err)
	}

	f.fault = nil
	oauth, _ := newTestConnector(f)
	connectortesting.Configure(t, oauth, f.oauthConfig(nil))
	if err := oauth.Check(context.Background()); err != nil {
		t.Errorf("Check with client credentials: %v", err)
	}
}

func TestConfigDiagnostics(t *testing.T) {
	key := newFakeOkta(t).keyPEM()
	keyJSON, _ := json.Marshal(key)
	cases := map[string]struct {
		config string
		attr   string
	}{
		"no org":          {`{"api_token":"s3cr3t"}`, "org_url"},
		"http org":        {`{"org_url":"http://example.okta.com","api_token":"s3cr3t"}`, "org_url"},
		"org with path":   {`{"org_url":"https://example.okta.com/api/v1","api_token":"s3cr3t"}`, "org_url"},
		"no credentials":  {`{"org_url":"https://example.okta.com"}`, "api_token"},
		"empty token":     {`{"org_url":"https://example.okta.com","api_token":""}`, "api_token"},
		"both":            {`{"org_url":"https://example.okta.com","api_token":"s3cr3t","client_id":"0oa1","private_key":` + string(keyJSON) + `}`, "api_token"},
		"no key":          {`{"org_url":"https://example.okta.com","client_id":"0oa1"}`, "private_key"},
		"no client":       {`{"org_url":"https://example.okta.com","private_key":` + string(keyJSON) + `}`, "client_id"},
		"bad key":         {`{"org_url":"https://example.okta.com","client_id":"0oa1","private_key":"s3cr3t"}`, "private_key"},
		"http token url":  {`{"org_url":"https://example.okta.com","client_id":"0oa1","private_key":` + string(keyJSON) + `,"token_url":"http://x/t"}`, "token_url"},
		"oauth without":   {`{"org_url":"https://example.okta.com","api_token":"s3cr3t","scopes":["okta.users.read"]}`, "scopes"},
		"key id without":  {`{"org_url":"https://example.okta.com","api_token":"s3cr3t","key_id":"k1"}`, "key_id"},
		"page size":       {`{"org_url":"https://example.okta.com","api_token":"s3cr3t","page_size":201}`, "page_size"},
		"retries":         {`{"org_url":"https://example.okta.com","api_token":"s3cr3t","max_retries":1.5}`, "max_retries"},
		"rate":            {`{"org_url":"https://example.okta.com","api_token":"s3cr3t","requests_per_second":0}`, "requests_per_second"},
		"unknown":         {`{"org_url":"https://example.okta.com","api_token":"s3cr3t","search":"x"}`, "search"},
		"token type":      {`{"org_url":"https://example.okta.com","api_token":42}`, "api_token"},
		"missing ca file": {`{"org_url":"https://example.okta.com","api_token":"s3cr3t","ca_file":"/nonexistent/ca.pem"}`, "ca_file"},
	}
	for name, tc := range cases {
		_, diags := parseConfig(json.RawMessage(tc.config))
		found := false
		for _, d := range diags {
			found = found || (d.Severity == connector.Error && d.Attribute == tc.attr)
			if strings.Contains(d.Summary+d.Detail, "s3cr3t") || strings.Contains(d.Summary+d.Detail, "PRIVATE KEY-----\nMII") {
				t.Errorf("%s: a diagnostic quotes a secret: %+v", name, d)
			}
		}
		if !found {
			t.Errorf("%s: no error on %s; got %+v", name, tc.attr, diags)
		}
	}
	cfg, diags := parseConfig(json.RawMessage(`{"org_url":"https://example.okta.com/","client_id":"0oa1","private_key":` + string(keyJSON) + `}`))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if cfg.tokenURL != "https://example.okta.com/oauth2/v1/token" || cfg.scopes[0] != "okta.users.read" || cfg.pageSize != 200 || cfg.rate != 5 {
		t.Errorf("defaults: %s %v %d %v", cfg.tokenURL, cfg.scopes, cfg.pageSize, cfg.rate)
	}
}

func TestRepeatedIDFailsTheRead(t *testing.T) {
	f := newFakeOkta(t)
	f.add(people()...)
	f.add(&fakeUser{id: "00u9dup0000000000000", raw: `{"id": "` + adaID + `", "status": "ACTIVE", "profile": {"login": "ada.again@example.com"}}`})
	c, _ := newTestConnector(f)
	connectortesting.Configure(t, c, f.config(map[string]any{"page_size": 2}))
	if _, _, err := connectortesting.Read(t, c, connector.ReadRequest{}); !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "twice") {
		t.Errorf("Read = %v, want ErrProtocol for an id listed twice", err)
	}
}

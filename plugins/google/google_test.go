package google

// The tests read from fakeGoogle (fixture_test.go), which follows the Directory API's
// discovery document and reference, its limits page, and Google's server-to-server
// OAuth 2.0 guide; see there.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peoplesync/peoplesync/plugins/internal/connectortesting"
	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/connectortest"
)

// sleeper records the waits of the retries instead of sleeping.
type sleeper struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeper) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeper) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

func newTestConnector(s *sleeper) *Connector {
	c := New().(*Connector)
	c.clock.sleep = s.sleep
	return c
}

const (
	adaID   = "103581220101000000001"
	graceID = "103581220101000000002"
	zoeID   = "103581220101000000003"
	liID    = "103581220101000000004"
)

// people are users as the User schema describes them, with projection=full: one with
// everything the Admin console fills in, a suspended one with non-ASCII names and most
// fields missing, an archived one whose manager is written in capitals.
func people() []*fakeUser {
	return []*fakeUser{
		{res: map[string]any{
			"id": graceID, "primaryEmail": "grace@example.com", "isAdmin": true, "isDelegatedAdmin": false,
			"name":      map[string]any{"givenName": "Grace", "familyName": "Hopper", "fullName": "Grace Hopper"},
			"suspended": false, "archived": false, "orgUnitPath": "/", "customerId": fakeCustomer,
			"agreedToTerms": true, "creationTime": "2019-03-01T09:00:00.000Z",
			"emails":        []any{map[string]any{"address": "grace@example.com", "primary": true}},
			"organizations": []any{map[string]any{"title": "CTO", "primary": true, "customType": "", "description": "Employee"}},
		}},
		{res: map[string]any{
			"id": adaID, "primaryEmail": "ada@example.com", "isAdmin": false,
			"name":      map[string]any{"givenName": "Ada", "familyName": "Lovelace", "fullName": "Ada Lovelace"},
			"suspended": false, "archived": false, "orgUnitPath": "/Engineering/Engines", "customerId": fakeCustomer,
			"organizations": []any{
				map[string]any{"name": "Difference Engines", "title": "Volunteer", "primary": false, "type": "work"},
				map[string]any{"name": "Example Ltd", "title": "Analyst", "primary": true, "customType": "", "type": "work",
					"department": "Engines", "description": "Employee", "costCenter": "CC-1815", "location": "London", "fullTimeEquivalent": 100000},
			},
			"relations":   []any{map[string]any{"value": "grace@example.com", "type": "manager"}, map[string]any{"value": "charles@example.com", "type": "custom", "customType": "mentor"}},
			"externalIds": []any{map[string]any{"value": "E-1815", "type": "organization"}},
			"phones": []any{
				map[string]any{"value": "+44 7700 900123", "type": "mobile"},
				map[string]any{"value": "+44 20 7946 0958", "type": "work", "primary": true},
			},
			"locations": []any{map[string]any{"type": "desk", "area": "London", "buildingId": "LON-1", "floorName": "2", "floorSection": "B", "deskCode": "2B-11"}},
			"languages": []any{map[string]any{"languageCode": "fr", "preference": "not_preferred"}, map[string]any{"languageCode": "en-GB", "preference": "preferred"}},
			"customSchemas": map[string]any{
				"Employment": map[string]any{"HireDate": "1833-06-05", "Badges": []any{map[string]any{"type": "work", "value": "B-1"}, map[string]any{"type": "work", "value": "B-2"}}},
				"Other":      map[string]any{"Shoe": 38},
			},
			"thumbnailPhotoUrl": "https://lh3.googleusercontent.com/a-/ada", "thumbnailPhotoEtag": `"ada-photo"`,
		}},
		{res: map[string]any{
			"id": zoeID, "primaryEmail": "zoe@eu.example.com",
			"name":      map[string]any{"givenName": "Zoë", "familyName": "Ødegård", "fullName": "Zoë Ødegård"},
			"suspended": true, "suspensionReason": "ADMIN", "archived": false, "orgUnitPath": "/Nord/Tromsø",
			"relations": []any{map[string]any{"value": "ada@example.com", "type": "manager"}},
		}},
		{res: map[string]any{
			"id": liID, "primaryEmail": "li@example.com",
			"name":      map[string]any{"givenName": "雷", "familyName": "李", "fullName": "李 雷"},
			"suspended": false, "archived": true, "orgUnitPath": "/研究",
			"organizations": []any{map[string]any{"department": "研究开发", "customType": ""}},
			"relations":     []any{map[string]any{"value": "GRACE@EXAMPLE.COM", "type": "manager"}},
			"phones":        []any{map[string]any{"value": "+86 10 5555 0100", "type": "work"}},
		}},
	}
}

// want are the records of people(): the fields asked for, flattened, with the
// primaryEmail as the DN.
func want() []connector.Record {
	return []connector.Record{
		{ID: graceID, DN: "grace@example.com", Attributes: map[string][]string{
			"id": {graceID}, "primaryEmail": {"grace@example.com"}, "name.givenName": {"Grace"},
			"name.familyName": {"Hopper"}, "name.fullName": {"Grace Hopper"}, "suspended": {"false"},
			"archived": {"false"}, "orgUnitPath": {"/"}, "organizations.title": {"CTO"},
			"organizations.description": {"Employee"},
		}},
		{ID: adaID, DN: "ada@example.com", Attributes: map[string][]string{
			"id": {adaID}, "primaryEmail": {"ada@example.com"}, "name.givenName": {"Ada"},
			"name.familyName": {"Lovelace"}, "name.fullName": {"Ada Lovelace"}, "suspended": {"false"},
			"archived": {"false"}, "orgUnitPath": {"/Engineering/Engines"},
			"organizations.name": {"Example Ltd"}, "organizations.title": {"Analyst"},
			"organizations.department": {"Engines"}, "organizations.description": {"Employee"},
			"organizations.costCenter": {"CC-1815"}, "organizations.location": {"London"},
			"relations.manager": {"grace@example.com"}, "relations.mentor": {"charles@example.com"},
			"externalIds.organization": {"E-1815"},
			"phones":                   {"+44 20 7946 0958", "+44 7700 900123"}, "phones.work": {"+44 20 7946 0958"},
			"phones.mobile": {"+44 7700 900123"}, "locations.area": {"London"}, "locations.buildingId": {"LON-1"},
			"locations.floorName": {"2"}, "locations.floorSection": {"B"}, "locations.deskCode": {"2B-11"},
			"languages": {"en-GB", "fr"}, "thumbnailPhotoUrl": {"https://lh3.googleusercontent.com/a-/ada"},
		}},
		{ID: zoeID, DN: "zoe@eu.example.com", Attributes: map[string][]string{
			"id": {zoeID}, "primaryEmail": {"zoe@eu.example.com"}, "name.givenName": {"Zoë"},
			"name.familyName": {"Ødegård"}, "name.fullName": {"Zoë Ødegård"}, "suspended": {"true"},
			"archived": {"false"}, "orgUnitPath": {"/Nord/Tromsø"}, "relations.manager": {"ada@example.com"},
		}},
		{ID: liID, DN: "li@example.com", Attributes: map[string][]string{
			"id": {liID}, "primaryEmail": {"li@example.com"}, "name.givenName": {"雷"},
			"name.familyName": {"李"}, "name.fullName": {"李 雷"}, "suspended": {"false"},
			"archived": {"true"}, "orgUnitPath": {"/研究"}, "organizations.department": {"研究开发"},
			"relations.manager": {"GRACE@EXAMPLE.COM"}, "phones": {"+86 10 5555 0100"},
			"phones.work": {"+86 10 5555 0100"},
		}},
	}
}

func TestConforms(t *testing.T) {
	f := newFakeGoogle(t)
	f.add(people()...)
	bad := newFakeGoogle(t)
	bad.add(people()[:2]...)
	bad.add(
		&fakeUser{res: map[string]any{"primaryEmail": "nobody@example.com", "name": map[string]any{"fullName": "No Id"}}},
		&fakeUser{res: map[string]any{"id": zoeID, "primaryEmail": "zoe@example.com", "name": map[string]any{"fullName": "Zoë\u0000"}}},
		&fakeUser{res: map[string]any{"id": liID, "primaryEmail": "li@example.com", "suspended": "no"}},
		&fakeUser{raw: "{\"id\": \"103581220101000000009\", \"primaryEmail\": \"bad\xffutf8@example.com\"}"},
		&fakeUser{res: map[string]any{"id": "103581220101000000010", "primaryEmail": "rel@example.com",
			"relations": map[string]any{"type": "manager", "value": "ada@example.com"}}},
	)
	s := &sleeper{}
	connectortest.Run(t, connectortest.Harness{
		New:          func(*testing.T) connector.Connector { return newTestConnector(s) },
		Config:       f.config(map[string]any{"page_size": 2}),
		Want:         want(),
		BadConfig:    f.config(map[string]any{"subject": "not an address"}),
		BadAttribute: "subject",
		BadRecords: &connectortest.BadSource{
			Config: bad.config(map[string]any{"page_size": 2}),
			Valid:  want()[:2],
			Invalid: []connector.Record{
				{ID: "", Problem: "page 2, user 1: the user has no id"},
				{ID: zoeID, Problem: "name.fullName holds a NUL character"},
				{ID: liID, Problem: "page 3, user 1: suspended is a JSON string"},
				{ID: "103581220101000000009", Problem: "page 3, user 2: text that is not UTF-8"},
				{ID: "103581220101000000010", Problem: "page 4, user 1: relations is a JSON object"},
			},
		},
	})
}

func TestDescribeSaysFullReadsOnly(t *testing.T) {
	d, err := New().Describe(context.Background())
	if err != nil || d.Name != "google" || d.Capabilities.Delta {
		t.Fatalf("Describe = %+v, %v; want google without delta reads", d, err)
	}
	f := newFakeGoogle(t)
	f.add(people()...)
	c := newTestConnector(&sleeper{})
	connectortesting.Configure(t, c, f.config(nil))
	if _, _, err := connectortesting.Read(t, c, connector.ReadRequest{Mode: connector.Delta, Cursor: "x"}); err == nil || !strings.Contains(err.Error(), "no delta reads") {
		t.Errorf("a delta read = %v, want a refusal", err)
	}
}

func TestFullReadRequests(t *testing.T) {
	f := newFakeGoogle(t)
	f.add(people()...)
	c := newTestConnector(&sleeper{})
	connectortesting.Configure(t, c, f.config(nil))
	if _, _, err := connectortesting.Read(t, c, connector.ReadRequest{}); err != nil {
		t.Fatal(err)
	}
	pages := pageURLs(t, f.paths)
	if len(pages) != 1 || len(f.paths) != 2 { // the token, one page
		t.Fatalf("requests %q; want a token and one page", f.paths)
	}
	q := pages[0]
	for k, v := range map[string]string{"customer": "my_customer", "maxResults": "500", "viewType": "admin_view", "projection": "basic"} {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
	if q.Has("domain") || q.Has("customFieldMask") || !strings.HasPrefix(q.Get("fields"), "nextPageToken,users(id,primaryEmail,") ||
		strings.Contains(q.Get("fields"), "customSchemas") {
		t.Errorf("query %v", q)
	}
}

func TestDomainAndCustomSchemas(t *testing.T) {
	f := newFakeGoogle(t)
	f.add(people()...)
	c := newTestConnector(&sleeper{})
	connectortesting.Configure(t, c, f.config(map[string]any{"domain": "example.com", "custom_schemas": []string{"Employment"}}))
	got, _, err := connectortesting.Read(t, c, connector.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 { // Zoë is in eu.example.com
		t.Errorf("read %d users of example.com, want 3", len(got))
	}
	q := pageURLs(t, f.paths)[0]
	if q.Get("domain") != "example.com" || q.Has("customer") || q.Get("projection") != "custom" || q.Get("customFieldMask") != "Employment" {
		t.Errorf("query %v", q)
	}
	ada := got[1]
	if !slices.Equal(ada.Attributes["customSchemas.Employment.HireDate"], []string{"1833-06-05"}) ||
		!slices.Equal(ada.Attributes["customSchemas.Employment.Badges"], []string{"B-1", "B-2"}) ||
		ada.Attributes["customSchemas.Other.Shoe"] != nil {
		t.Errorf("custom schema attributes of %s: %v", ada.ID, ada.Attributes)
	}

	full := newTestConnector(&sleeper{})
	connectortesting.Configure(t, full, f.config(map[string]any{"custom_schemas": []string{"*"}}))
	got, _, err = connectortesting.Read(t, full, connector.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got[1].Attributes["customSchemas.Other.Shoe"], []string{"38"}) {
		t.Errorf("projection full: %v", got[1].Attributes)
	}
	if p := pageURLs(t, f.paths); p[len(p)-1].Get("projection") != "full" {
		t.Errorf("custom_schemas [\"*\"] asked for projection %q", p[len(p)-1].Get("projection"))
	}

	wrong := newTestConnector(&sleeper{})
	connectortesting.Configure(t, wrong, f.config(map[string]any{"domain": "elsewhere.example.org"}))
	if _, _, err := connectortesting.Read(t, wrong, connector.ReadRequest{}); err == nil || !strings.Contains(err.Error(), `domain "elsewhere.example.org"`) ||
		!strings.Contains(err.Error(), "Domain not found.") {
		t.Errorf("read of an unknown domain = %v", err)
	}
}

// manyUsers adds n users, each managed by the one before.
func manyUsers(f *fakeGoogle, n int) {
	users := make([]*fakeUser, n)
	for i := range users {
		users[i] = &fakeUser{res: map[string]any{
			"id": fmt.Sprintf("1%020d", i), "primaryEmail": fmt.Sprintf("p%d@example.com", i),
			"name":      map[string]any{"givenName": "Person", "familyName": fmt.Sprint(i), "fullName": fmt.Sprintf("Person %d", i)},
			"suspended": i%10 == 0, "archived": false, "orgUnitPath": "/R&D", "isAdmin": false, "customerId": fakeCustomer,
			"creationTime":  "2020-01-01T00:00:00.000Z",
			"emails":        []any{map[string]any{"address": fmt.Sprintf("p%d@example.com", i), "primary": true}},
			"organizations": []any{map[string]any{"title": "Engineer", "department": "R&D", "primary": true, "customType": "", "costCenter": "CC-7"}},
			"externalIds":   []any{map[string]any{"value": fmt.Sprint(100000 + i), "type": "organization"}},
			"phones":        []any{map[string]any{"value": "+49 30 1234 5678", "type": "work"}},
			"locations":     []any{map[string]any{"type": "desk", "area": "Berlin", "buildingId": "B1"}},
		}}
		if i > 0 {
			users[i].res["relations"] = []any{map[string]any{"value": fmt.Sprintf("p%d@example.com", i-1), "type": "manager"}}
		}
	}
	f.add(users...)
}

func TestPagingAcrossManyPages(t *testing.T) {
	f := newFakeGoogle(t)
	manyUsers(f, 2345)
	c := newTestConnector(&sleeper{})
	connectortesting.Configure(t, c, f.config(map[string]any{"page_size": 100}))
	got, res, err := connectortesting.Read(t, c, connector.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2345 || res.Count != 2345 {
		t.Fatalf("read %d records (count %d), want 2345", len(got), res.Count)
	}
	for i, r := range got {
		if r.ID != fmt.Sprintf("1%020d", i) || r.DN != fmt.Sprintf("p%d@example.com", i) {
			t.Fatalf("record %d: ID %s DN %s", i, r.ID, r.DN)
		}
		// The manager reference is the manager's primaryEmail, the DN of their record.
		if i > 0 && r.Attributes["relations.manager"][0] != got[i-1].DN {
			t.Fatalf("record %d: manager %q, want %q", i, r.Attributes["relations.manager"], got[i-1].DN)
		}
	}
	if f.requests != 24 {
		t.Errorf("%d API requests, want 24 pages", f.requests)
	}
}

func TestThrottlingIsRetried(t *testing.T) {
	f := newFakeGoogle(t)
	manyUsers(f, 50)
	f.fault = func(r *http.Request, n int) (int, string, string, bool) {
		switch n {
		case 2:
			return http.StatusTooManyRequests, "7", "rateLimitExceeded", true
		case 3:
			return http.StatusServiceUnavailable, "2", "backendError", true
		case 5:
			return http.StatusForbidden, "", "userRateLimitExceeded", true // no Retry-After: back off
		case 6:
			return http.StatusForbidden, "", "quotaExceeded", true
		}
		return 0, "", "", false
	}
	s := &sleeper{}
	c := newTestConnector(s)
	connectortesting.Configure(t, c, f.config(map[string]any{"page_size": 10}))
	got, _, err := connectortesting.Read(t, c, connector.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 50 {
		t.Errorf("read %d records, want 50", len(got))
	}
	waits := s.all()
	if len(waits) != 4 || waits[0] != 7*time.Second || waits[1] != 2*time.Second {
		t.Fatalf("waits %v; want 7s, 2s (Retry-After) and two back-offs", waits)
	}
	// The third wait follows a request's first failure (1 s, jittered into 0.5–1 s), the
	// fourth its second (2 s, into 1–2 s).
	if waits[2] < 500*time.Millisecond || waits[2] > time.Second || waits[3] < time.Second || waits[3] > 2*time.Second {
		t.Errorf("back-offs %v, %v; want 0.5–1s, then 1–2s", waits[2], waits[3])
	}
}

func TestForbiddenFailsAtOnce(t *testing.T) {
	f := newFakeGoogle(t)
	f.add(people()...)
	f.fault = func(r *http.Request, n int) (int, string, string, bool) {
		return http.StatusForbidden, "", "forbidden", true
	}
	s := &sleeper{}
	c := newTestConnector(s)
	connectortesting.Configure(t, c, f.config(nil))
	_, _, err := connectortesting.Read(t, c, connector.ReadRequest{})
	if !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "Not Authorized to access this resource/api") {
		t.Errorf("Read = %v, want ErrForbidden with Google's message", err)
	}
	if len(s.all()) != 0 {
		t.Errorf("a 403 forbidden was retried")
	}
}

func TestServerErrorMidReadFailsTheRead(t *testing.T) {
	f := newFakeGoogle(t)
	manyUsers(f, 50)
	f.fault = func(r *http.Request, n int) (int, string, string, bool) {
		if n >= 3 { // two pages pass; then Google fails for good
			return http.StatusInternalServerError, "", "backendError", true
		}
		return 0, "", "", false
	}
	s := &sleeper{}
	c := newTestConnector(s)
	connectortesting.Configure(t, c, f.config(map[string]any{"page_size": 10, "max_retries": 3}))
	got, res, err := connectortesting.Read(t, c, connector.ReadRequest{})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Read = %v, want ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), "page 3") || !strings.Contains(err.Error(), "HTTP 500 backendError") {
		t.Errorf("error %q does not say which page failed and how", err)
	}
	if len(got) != 20 || res != (connector.ReadResult{}) {
		t.Errorf("emitted %d records and result %+v; want two pages and no result", len(got), res)
	}
	if n := len(s.all()); n != 3 {
		t.Errorf("%d waits, want max_retries = 3", n)
	}
}

func TestTokenExpiresMidRead(t *testing.T) {
	f := newFakeGoogle(t)
	manyUsers(f, 40)
	f.tokenUses = 2 // the API calls each token expired after two requests
	c := newTestConnector(&sleeper{})
	connectortesting.Configure(t, c, f.config(map[string]any{"page_size": 10}))
	got, _, err := connectortesting.Read(t, c, connector.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 40 {
		t.Errorf("read %d records, want 40", len(got))
	}
	if f.issued != 2 {
		t.Errorf("%d tokens issued; want 2 (the second when the API called the first expired)", f.issued)
	}
}

func TestTokenRenewedBeforeItExpires(t *testing.T) {
	f := newFakeGoogle(t)
	manyUsers(f, 40)
	f.tokenLifetime = 90 // inside renewBefore: every request finds its token about to expire
	c := newTestConnector(&sleeper{})
	connectortesting.Configure(t, c, f.config(map[string]any{"page_size": 10}))
	if _, _, err := connectortesting.Read(t, c, connector.ReadRequest{}); err != nil {
		t.Fatal(err)
	}
	if f.issued != f.requests || f.requests != 4 {
		t.Errorf("%d tokens for %d requests; want a new token for each", f.issued, f.requests)
	}
}

func TestRevokedKeyFailsTheRead(t *testing.T) {
	f := newFakeGoogle(t)
	manyUsers(f, 40)
	f.tokenUses = 2
	f.fault = func(r *http.Request, n int) (int, string, string, bool) {
		f.revoked = true // the key was deleted after the first token
		return 0, "", "", false
	}
	c := newTestConnector(&sleeper{})
	connectortesting.Configure(t, c, f.config(map[string]any{"page_size": 10}))
	_, _, err := connectortesting.Read(t, c, connector.ReadRequest{})
	if !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), "invalid_grant: Invalid JWT Signature.") {
		t.Fatalf("Read = %v, want ErrCredentials with Google's reason", err)
	}
	noKeyIn(t, err.Error(), f.key())
}

// noKeyIn fails if text holds any line of the key's PEM body.
func noKeyIn(t *testing.T, text, key string) {
	t.Helper()
	var k struct {
		PrivateKey string `json:"private_key"`
	}
	if err := json.Unmarshal([]byte(key), &k); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(k.PrivateKey, "\n") {
		if len(line) > 16 && !strings.HasPrefix(line, "-----") && strings.Contains(text, line) {
			t.Fatalf("%q holds part of the private key", text)
		}
	}
}

func TestTokenEndpointChecksTheAssertion(t *testing.T) {
	f := newFakeGoogle(t)
	f.add(people()...)
	cases := []struct {
		name   string
		extra  map[string]any
		before func()
		want   string
	}{
		{"another key", map[string]any{"credentials": keyJSON(testKeys()[1], f.srv.URL+"/token")}, nil, "invalid_grant: Invalid JWT Signature."},
		{"not an admin", map[string]any{"subject": "ada@example.com"}, nil, "invalid_grant: Invalid email or User ID"},
		{"no delegation", nil, func() { f.delegated = []string{"https://www.googleapis.com/auth/admin.directory.group.readonly"} },
			"client ID 109876543210987654321 domain-wide delegation of " + scope},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != nil {
				tc.before()
			}
			c := newTestConnector(&sleeper{})
			connectortesting.Configure(t, c, f.config(tc.extra))
			err := c.Check(context.Background())
			if !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check = %v, want ErrCredentials saying %q", err, tc.want)
			}
			noKeyIn(t, err.Error(), f.key())
			noKeyIn(t, err.Error(), keyJSON(testKeys()[1], ""))
		})
	}
}

func TestCheck(t *testing.T) {
	f := newFakeGoogle(t)
	f.add(people()...)
	c := newTestConnector(&sleeper{})
	connectortesting.Configure(t, c, f.config(nil))
	if err := c.Check(context.Background()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	q := pageURLs(t, f.paths)
	if len(q) != 1 || q[0].Get("maxResults") != "1" || q[0].Get("customer") != "my_customer" {
		t.Errorf("Check asked %q, want one page of one user", f.paths)
	}
	wrong := newTestConnector(&sleeper{})
	connectortesting.Configure(t, wrong, f.config(map[string]any{"customer": "C0000000"}))
	if err := wrong.Check(context.Background()); err == nil || !strings.Contains(err.Error(), `customer "C0000000"`) {
		t.Errorf("Check of another customer = %v", err)
	}
}

func TestPhoto(t *testing.T) {
	f := newFakeGoogle(t)
	users := people()
	jpeg := []byte{0xFF, 0xD8, 0xFF, 0xE0, 'J', 'F', 'I', 'F', 0xfb, 0xff}
	users[1].photo = jpeg
	users[2].res["thumbnailPhotoUrl"] = "https://lh3.googleusercontent.com/a-/zoe" // a URL, but no photo: 404
	f.add(users...)
	c := newTestConnector(&sleeper{})
	connectortesting.Configure(t, c, f.config(map[string]any{"include_photo": true}))
	got, _, err := connectortesting.Read(t, c, connector.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		if has := len(r.Binary["photo"]) == 1; has != (r.ID == adaID) || (has && !bytes.Equal(r.Binary["photo"][0], jpeg)) {
			t.Errorf("record %s: photo %v", r.ID, r.Binary["photo"])
		}
	}
	photoRequests := 0
	for _, p := range f.paths {
		if strings.HasSuffix(p, "/photos/thumbnail") {
			photoRequests++
		}
	}
	if photoRequests != 2 { // only the users with a thumbnailPhotoUrl
		t.Errorf("%d photo requests, want 2", photoRequests)
	}
}

func TestDecodeWebSafe(t *testing.T) {
	data := []byte{0xfb, 0xff, 0xfe, 0x01}
	for _, s := range []string{"-__-AQ==", "-__-AQ**", "-__-AQ..", "-__-AQ", "+//+AQ=="} {
		got, err := decodeWebSafe(s)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("decodeWebSafe(%q) = %x, %v; want %x", s, got, err, data)
		}
	}
}

func TestRepeatedIDFailsTheRead(t *testing.T) {
	f := newFakeGoogle(t)
	f.add(people()...)
	f.add(&fakeUser{res: map[string]any{"id": adaID, "primaryEmail": "ada.again@example.com"}})
	c := newTestConnector(&sleeper{})
	connectortesting.Configure(t, c, f.config(map[string]any{"page_size": 2}))
	if _, _, err := connectortesting.Read(t, c, connector.ReadRequest{}); !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "twice") {
		t.Errorf("Read = %v, want ErrProtocol for an id listed twice", err)
	}
}

func TestConfigDiagnostics(t *testing.T) {
	f := newFakeGoogle(t)
	key := f.key()
	base := func(extra string) string {
		return `{"credentials":` + mustJSON(key) + `,"subject":"admin@example.com"` + extra + `}`
	}
	httpKey := mustJSON(keyJSON(testKeys()[0], "http://oauth2.example.com/token"))
	cases := map[string]struct {
		config string
		attr   string
	}{
		"no credentials":    {`{"subject":"admin@example.com"}`, "credentials"},
		"not json":          {`{"credentials":"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----","subject":"admin@example.com"}`, "credentials"},
		"not a sa":          {`{"credentials":"{\"type\":\"authorized_user\",\"client_id\":\"x\"}","subject":"admin@example.com"}`, "credentials"},
		"http token_uri":    {`{"credentials":` + httpKey + `,"subject":"admin@example.com"}`, "credentials"},
		"no subject":        {`{"credentials":` + mustJSON(key) + `}`, "subject"},
		"bad subject":       {`{"credentials":` + mustJSON(key) + `,"subject":"admin"}`, "subject"},
		"both scopes":       {base(`,"customer":"C03az79cb","domain":"example.com"`), "domain"},
		"bad domain":        {base(`,"domain":"example com"`), "domain"},
		"bad customer":      {base(`,"customer":"my customer"`), "customer"},
		"page size":         {base(`,"page_size":501`), "page_size"},
		"retries":           {base(`,"max_retries":1.5`), "max_retries"},
		"rate":              {base(`,"requests_per_second":0`), "requests_per_second"},
		"schema name":       {base(`,"custom_schemas":["Employment","a b"]`), "custom_schemas"},
		"star with others":  {base(`,"custom_schemas":["*","Employment"]`), "custom_schemas"},
		"http api":          {base(`,"api_url":"http://admin.example.com"`), "api_url"},
		"unknown":           {base(`,"query":"isSuspended=false"`), "query"},
		"credentials type":  {`{"credentials":42,"subject":"admin@example.com"}`, "credentials"},
		"no ca":             {base(`,"ca_file":"/nonexistent/ca.pem"`), "ca_file"},
		"photo is not bool": {base(`,"include_photo":"yes"`), "include_photo"},
	}
	for name, tc := range cases {
		_, diags := parseConfig(json.RawMessage(tc.config))
		found := false
		for _, d := range diags {
			found = found || (d.Severity == connector.Error && d.Attribute == tc.attr)
			noKeyIn(t, d.Summary+d.Detail, key)
			if strings.Contains(d.Summary+d.Detail, "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC") {
				t.Errorf("%s: a diagnostic quotes the key: %+v", name, d)
			}
		}
		if !found {
			t.Errorf("%s: no error on %s; got %+v", name, tc.attr, diags)
		}
	}
	cfg, diags := parseConfig(json.RawMessage(base("")))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if cfg.customer != "my_customer" || cfg.apiURL.String() != defaultAPIURL || cfg.pageSize != 500 ||
		cfg.jwt.Subject != fakeAdmin || cfg.jwt.TokenURL != f.srv.URL+"/token" || !slices.Equal(cfg.jwt.Scopes, []string{scope}) {
		t.Errorf("defaults: customer %q, api %s, page size %d, subject %q, token URL %q, scopes %q", cfg.customer, cfg.apiURL, cfg.pageSize, cfg.jwt.Subject, cfg.jwt.TokenURL, cfg.jwt.Scopes)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

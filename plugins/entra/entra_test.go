package entra

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
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

// newTestConnector returns a connector whose retries record their waits in s and
// whose rate limit waits not at all (the fake's rate is the highest there is; the
// spacing itself is TestRequestRate's).
func newTestConnector(s *sleeper) *Connector {
	c := New().(*Connector)
	c.clock.sleep = s.sleep
	c.clock.pace = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
	return c
}

const (
	adaID   = "87d349ed-44d7-43e1-9a83-5f2406dee5bd"
	zoeID   = "5bde3e51-d13b-4db1-9948-fe4b109d11a7"
	liID    = "4782e723-f4f4-4af3-a76e-25e3bab0d896"
	graceID = "e8a02cc7-df4d-4778-956d-784cc9506e5a"
)

// people are users as resources/user.md describes them: one with everything, one with
// non-ASCII names and missing fields, one without a manager or phones.
func people() []*fakeUser {
	return []*fakeUser{
		{props: map[string]any{
			"id": graceID, "displayName": "Grace Hopper", "givenName": "Grace", "surname": "Hopper",
			"userPrincipalName": "grace@contoso.com", "mail": "Grace.Hopper@contoso.com", "jobTitle": "CTO",
			"accountEnabled": true, "businessPhones": []any{}, "userType": "Member",
		}},
		{props: map[string]any{
			"id": adaID, "onPremisesImmutableId": "7Zx6h0TXRECag1/0BSt3vQ==", "displayName": "Ada Lovelace",
			"givenName": "Ada", "surname": "Lovelace", "userPrincipalName": "ada@contoso.com",
			"mail": "Ada.Lovelace@contoso.com", "employeeId": "E-1815", "employeeType": "Employee",
			"jobTitle": "Analyst", "department": "Engines", "companyName": "Contoso Ltd", "officeLocation": "18/2111",
			"businessPhones": []any{"+1 425 555 0109", "+1 425 555 0110"}, "mobilePhone": "+1 425 555 0111",
			"accountEnabled": true, "city": "London", "country": "United Kingdom", "usageLocation": "GB",
			"preferredLanguage": "en-GB", "userType": "Member",
		}, manager: graceID},
		{props: map[string]any{
			"id": zoeID, "displayName": "Zoë Ødegård", "givenName": "Zoë", "surname": "Ødegård",
			"userPrincipalName": "zoe@contoso.com", "mail": nil, "jobTitle": nil, "accountEnabled": false,
			"businessPhones": []any{}, "city": "Tromsø", "country": "Norge",
		}, manager: adaID},
		{props: map[string]any{
			"id": liID, "displayName": "李 雷", "givenName": "雷", "surname": "李", "userPrincipalName": "li@contoso.com",
			"department": "研究开发", "accountEnabled": true, "businessPhones": []any{"+86 10 5555 0100"},
		}, manager: graceID},
	}
}

// want are the records of people(): properties that have a value, Graph's types as
// text, and the manager's id.
func want() []connector.Record {
	return []connector.Record{
		{ID: graceID, Attributes: map[string][]string{
			"id": {graceID}, "displayName": {"Grace Hopper"}, "givenName": {"Grace"}, "surname": {"Hopper"},
			"userPrincipalName": {"grace@contoso.com"}, "mail": {"Grace.Hopper@contoso.com"}, "jobTitle": {"CTO"},
			"accountEnabled": {"true"}, "userType": {"Member"},
		}},
		{ID: adaID, Attributes: map[string][]string{
			"id": {adaID}, "onPremisesImmutableId": {"7Zx6h0TXRECag1/0BSt3vQ=="}, "displayName": {"Ada Lovelace"},
			"givenName": {"Ada"}, "surname": {"Lovelace"}, "userPrincipalName": {"ada@contoso.com"},
			"mail": {"Ada.Lovelace@contoso.com"}, "employeeId": {"E-1815"}, "employeeType": {"Employee"},
			"jobTitle": {"Analyst"}, "department": {"Engines"}, "companyName": {"Contoso Ltd"}, "officeLocation": {"18/2111"},
			"businessPhones": {"+1 425 555 0109", "+1 425 555 0110"}, "mobilePhone": {"+1 425 555 0111"},
			"accountEnabled": {"true"}, "city": {"London"}, "country": {"United Kingdom"}, "usageLocation": {"GB"},
			"preferredLanguage": {"en-GB"}, "userType": {"Member"}, "manager": {graceID},
		}},
		{ID: zoeID, Attributes: map[string][]string{
			"id": {zoeID}, "displayName": {"Zoë Ødegård"}, "givenName": {"Zoë"}, "surname": {"Ødegård"},
			"userPrincipalName": {"zoe@contoso.com"}, "accountEnabled": {"false"}, "city": {"Tromsø"}, "country": {"Norge"},
			"manager": {adaID},
		}},
		{ID: liID, Attributes: map[string][]string{
			"id": {liID}, "displayName": {"李 雷"}, "givenName": {"雷"}, "surname": {"李"}, "userPrincipalName": {"li@contoso.com"},
			"department": {"研究开发"}, "accountEnabled": {"true"}, "businessPhones": {"+86 10 5555 0100"}, "manager": {graceID},
		}},
	}
}

func TestConforms(t *testing.T) {
	f := newFakeGraph(t)
	f.add(people()...)
	bad := newFakeGraph(t)
	bad.add(people()[:2]...)
	bad.add(
		&fakeUser{props: map[string]any{"displayName": "Nobody Without Id"}},
		&fakeUser{props: map[string]any{"id": liID, "displayName": "Li\u0000Lei"}},
	)
	s := &sleeper{}
	connectortest.Run(t, connectortest.Harness{
		New:          func(*testing.T) connector.Connector { return newTestConnector(s) },
		Config:       f.config(map[string]any{"page_size": 2}),
		Want:         want(),
		BadConfig:    f.config(map[string]any{"client_id": " "}),
		BadAttribute: "client_id",
		BadRecords: &connectortest.BadSource{
			Config: bad.config(map[string]any{"page_size": 2}),
			Valid:  want()[:2],
			Invalid: []connector.Record{
				{ID: "", Problem: "page 2, user 1: the user has no id"},
				{ID: liID, Problem: "displayName holds a NUL character"},
			},
		},
	})
}

func TestFullReadRequests(t *testing.T) {
	f := newFakeGraph(t)
	f.add(people()...)
	c := newTestConnector(&sleeper{})
	connectortesting.Configure(t, c, f.config(nil))
	_, res, err := connectortesting.Read(t, c, connector.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Cursor, "/v1.0/users/delta?") || !strings.Contains(res.Cursor, "deltatoken=") {
		t.Errorf("cursor %q is not a delta link", res.Cursor)
	}
	// The manager comes with the list: one request for the delta link, one page.
	if len(f.paths) != 3 { // token, delta link, page
		t.Errorf("requests: %q; want the token, the delta link and one page", f.paths)
	}
	if !strings.Contains(f.paths[2], "$expand=manager($select=id)") || !strings.Contains(f.paths[2], "$top=999") {
		t.Errorf("list request %q lacks $expand=manager($select=id) or $top=999", f.paths[2])
	}
}

// manyUsers adds n users, each managed by the one before.
func manyUsers(f *fakeGraph, n int) {
	users := make([]*fakeUser, n)
	for i := range users {
		users[i] = &fakeUser{props: map[string]any{
			"id": fmt.Sprintf("00000000-0000-4000-8000-%012d", i), "displayName": fmt.Sprintf("Person %d", i),
			"givenName": "Person", "surname": fmt.Sprint(i), "userPrincipalName": fmt.Sprintf("p%d@contoso.com", i),
			"mail": fmt.Sprintf("p%d@contoso.com", i), "jobTitle": "Engineer", "department": "R&D",
			"employeeId": fmt.Sprint(100000 + i), "officeLocation": "B1", "accountEnabled": i%10 != 0,
			"businessPhones": []any{"+49 30 1234 5678"}, "mobilePhone": nil, "companyName": "Contoso",
		}}
		if i > 0 {
			users[i].manager = fmt.Sprintf("00000000-0000-4000-8000-%012d", i-1)
		}
	}
	f.add(users...)
}

func TestPagingAcrossManyPages(t *testing.T) {
	f := newFakeGraph(t)
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
	if f.requests != 1+24 {
		t.Errorf("%d Graph requests, want 25 (the delta link and 24 pages)", f.requests)
	}
}

func TestThrottlingHonoursRetryAfter(t *testing.T) {
	f := newFakeGraph(t)
	manyUsers(f, 50)
	f.fault = func(r *http.Request, n int) (int, string, bool) {
		switch n {
		case 3:
			return http.StatusTooManyRequests, "7", true
		case 4:
			return http.StatusServiceUnavailable, "2", true
		case 6:
			return http.StatusTooManyRequests, "", true // no Retry-After: back off
		}
		return 0, "", false
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
	if len(waits) != 3 || waits[0] != 7*time.Second || waits[1] != 2*time.Second {
		t.Fatalf("waits %v; want 7s, 2s (Retry-After) and one back-off", waits)
	}
	// The third is the second failure of its request: 2^1 s, jittered into [1s, 2s].
	if waits[2] < 500*time.Millisecond || waits[2] > time.Second {
		t.Errorf("back-off after the first failure of a request = %v, want 0.5–1s", waits[2])
	}
}

func TestBackoffGrowsAndIsBounded(t *testing.T) {
	for attempt := range 10 {
		d := backoff(attempt)
		ceil := min(time.Second<<attempt, time.Minute)
		if d < ceil/2 || d > ceil {
			t.Errorf("backoff(%d) = %v, want between %v and %v", attempt, d, ceil/2, ceil)
		}
	}
	h := http.Header{}
	h.Set("Retry-After", "Thu, 03 Dec 2026 15:00:30 GMT")
	if got := retryAfter(h, time.Date(2026, 12, 3, 15, 0, 0, 0, time.UTC)); got != 30*time.Second {
		t.Errorf("Retry-After as a date = %v, want 30s", got)
	}
	h.Set("Retry-After", "86400")
	if got := retryAfter(h, time.Now()); got != maxRetryAfter {
		t.Errorf("Retry-After of a day = %v, want the cap %v", got, maxRetryAfter)
	}
}

func TestServerErrorMidReadFailsTheRead(t *testing.T) {
	f := newFakeGraph(t)
	manyUsers(f, 30)
	f.fault = func(r *http.Request, n int) (int, string, bool) {
		if n >= 3 { // the delta link and the first page pass; then Graph fails for good
			return http.StatusInternalServerError, "", true
		}
		return 0, "", false
	}
	s := &sleeper{}
	c := newTestConnector(s)
	connectortesting.Configure(t, c, f.config(map[string]any{"page_size": 10, "max_retries": 3}))
	got, res, err := connectortesting.Read(t, c, connector.ReadRequest{})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Read = %v, want ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), "page 2") || !strings.Contains(err.Error(), "HTTP 500 generalException") {
		t.Errorf("error %q does not say which page failed and how", err)
	}
	if len(got) != 10 || res != (connector.ReadResult{}) {
		t.Errorf("emitted %d records and result %+v; want the first page and no result", len(got), res)
	}
	if n := len(s.all()); n != 3 {
		t.Errorf("%d waits, want max_retries = 3", n)
	}
}

func TestTokenExpiresMidRead(t *testing.T) {
	f := newFakeGraph(t)
	manyUsers(f, 40)
	f.tokenUses = 2 // Graph calls each token expired after two requests
	c := newTestConnector(&sleeper{})
	connectortesting.Configure(t, c, f.config(map[string]any{"page_size": 10}))
	got, _, err := connectortesting.Read(t, c, connector.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 40 {
		t.Errorf("read %d records, want 40", len(got))
	}
	if f.issued < 3 {
		t.Errorf("%d tokens issued; the read should have renewed its token", f.issued)
	}
}

func TestTokenThatCannotBeRenewedFailsTheRead(t *testing.T) {
	f := newFakeGraph(t)
	manyUsers(f, 40)
	f.tokenUses = 2
	f.fault = func(r *http.Request, n int) (int, string, bool) {
		f.rejectTokens = true // the secret was revoked after the first token
		return 0, "", false
	}
	c := newTestConnector(&sleeper{})
	connectortesting.Configure(t, c, f.config(map[string]any{"page_size": 10}))
	_, _, err := connectortesting.Read(t, c, connector.ReadRequest{})
	if !errors.Is(err, ErrCredentials) {
		t.Fatalf("Read = %v, want ErrCredentials", err)
	}
	if !strings.Contains(err.Error(), "AADSTS7000215") || strings.Contains(err.Error(), "Trace ID") {
		t.Errorf("error %q should give Entra's reason without its trace lines", err)
	}
	if strings.Contains(err.Error(), fakeSecret) {
		t.Errorf("error %q holds the client secret", err)
	}
}

func TestCheck(t *testing.T) {
	f := newFakeGraph(t)
	f.add(people()...)
	c := newTestConnector(&sleeper{})
	connectortesting.Configure(t, c, f.config(nil))
	if err := c.Check(context.Background()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if last := f.paths[len(f.paths)-1]; !strings.Contains(last, "/v1.0/users?$select=id&$top=1") {
		t.Errorf("Check asked %q, want one page of one user", last)
	}

	wrong := newTestConnector(&sleeper{})
	connectortesting.Configure(t, wrong, f.config(map[string]any{"client_secret": "not-it"}))
	err := wrong.Check(context.Background())
	if !errors.Is(err, ErrCredentials) || strings.Contains(err.Error(), "not-it") {
		t.Errorf("Check with a wrong secret = %v, want ErrCredentials without the secret", err)
	}
	// peoplesync check prefixes "connector NAME: check:" itself; the connector adds
	// only its own name.
	if err != nil && (strings.Contains(err.Error(), "check:") || !strings.HasPrefix(err.Error(), "entra connector: ")) {
		t.Errorf("Check's error %q should start with \"entra connector: \" and not say \"check:\"", err)
	}

	f.fault = func(r *http.Request, n int) (int, string, bool) { return http.StatusForbidden, "", true }
	forbidden := newTestConnector(&sleeper{})
	connectortesting.Configure(t, forbidden, f.config(nil))
	if err := forbidden.Check(context.Background()); err == nil {
		t.Error("Check passed though Graph forbids reading users")
	}
}

func TestForbiddenFailsAtOnce(t *testing.T) {
	f := newFakeGraph(t)
	f.add(people()...)
	f.fault = func(r *http.Request, n int) (int, string, bool) { return http.StatusForbidden, "", true }
	s := &sleeper{}
	c := newTestConnector(s)
	connectortesting.Configure(t, c, f.config(nil))
	if _, _, err := connectortesting.Read(t, c, connector.ReadRequest{}); !errors.Is(err, ErrForbidden) {
		t.Errorf("Read = %v, want ErrForbidden", err)
	}
	if len(s.all()) != 0 {
		t.Errorf("a 403 was retried")
	}
}

func TestDeltaReads(t *testing.T) {
	f := newFakeGraph(t)
	f.add(people()...)
	c := newTestConnector(&sleeper{})
	connectortesting.Configure(t, c, f.config(nil))
	_, full, err := connectortesting.Read(t, c, connector.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}

	// Nothing changed: no records, a cursor all the same.
	got, res, err := connectortesting.Read(t, c, connector.ReadRequest{Mode: connector.Delta, Cursor: full.Cursor})
	if err != nil || len(got) != 0 || res.Cursor == "" {
		t.Fatalf("delta over no change: %d records, cursor %q, %v", len(got), res.Cursor, err)
	}

	f.change(adaID, func(u *fakeUser) { u.props["jobTitle"] = "Lead Analyst" }) // manager unchanged
	f.change(liID, func(u *fakeUser) { u.manager = adaID; u.props["@managerChanged"] = true })
	f.remove(zoeID, "changed")
	f.remove(graceID, "deleted")
	f.add(&fakeUser{props: map[string]any{"id": "0f5a4dc1-c8a0-4c9e-9b38-d0c3f1d0e001", "displayName": "Émile Zola", "accountEnabled": true}})
	f.paths = nil

	got, res2, err := connectortesting.Read(t, c, connector.ReadRequest{Mode: connector.Delta, Cursor: res.Cursor})
	if err != nil {
		t.Fatal(err)
	}
	if res2.Cursor == "" || res2.Cursor == res.Cursor || res2.Count != 5 {
		t.Errorf("delta result %+v; want 5 records and a new cursor", res2)
	}
	byID := map[string]connector.Record{}
	for _, r := range got {
		byID[r.ID] = r
	}
	if r := byID[adaID]; r.Kind != connector.Upsert || r.Attributes["jobTitle"][0] != "Lead Analyst" || r.Attributes["manager"][0] != graceID {
		t.Errorf("changed user: %+v; want the new title and the manager, fetched", r)
	}
	if r := byID[liID]; r.Kind != connector.Upsert || r.Attributes["manager"][0] != adaID {
		t.Errorf("user with a new manager: %+v; want manager %s from manager@delta", r, adaID)
	}
	for _, id := range []string{zoeID, graceID} {
		if r := byID[id]; r.Kind != connector.Delete || len(r.Attributes) != 0 {
			t.Errorf("removed user %s: %+v; want a Delete", id, r)
		}
	}
	if r := byID["0f5a4dc1-c8a0-4c9e-9b38-d0c3f1d0e001"]; r.Attributes["displayName"][0] != "Émile Zola" || len(r.Attributes["manager"]) != 0 {
		t.Errorf("new user: %+v", r)
	}
	managerCalls := 0
	for _, p := range f.paths {
		if strings.HasSuffix(strings.SplitN(p, "?", 2)[0], "/manager") {
			managerCalls++
		}
	}
	if managerCalls != 2 { // Ada's (no manager@delta) and Émile's; Li's came with the delta
		t.Errorf("%d manager requests, want 2: only changed users without manager@delta", managerCalls)
	}

	// The new cursor starts after these changes.
	got, _, err = connectortesting.Read(t, c, connector.ReadRequest{Mode: connector.Delta, Cursor: res2.Cursor})
	if err != nil || len(got) != 0 {
		t.Errorf("delta after the changes: %d records, %v", len(got), err)
	}
}

func TestDeltaCursorMustBeThisGraphs(t *testing.T) {
	f := newFakeGraph(t)
	c := newTestConnector(&sleeper{})
	connectortesting.Configure(t, c, f.config(nil))
	for _, cursor := range []string{"", "https://evil.example.com/v1.0/users/delta?$deltatoken=1", f.srv.URL + "/v1.0/groups/delta?$deltatoken=1", "modifyTimestamp:20260101000000Z"} {
		if _, _, err := connectortesting.Read(t, c, connector.ReadRequest{Mode: connector.Delta, Cursor: cursor}); !errors.Is(err, ErrCursor) {
			t.Errorf("cursor %q: %v, want ErrCursor", cursor, err)
		}
	}
}

func TestNextLinkToAnotherHostFails(t *testing.T) {
	f := newFakeGraph(t)
	manyUsers(f, 5)
	c := newTestConnector(&sleeper{})
	connectortesting.Configure(t, c, f.config(map[string]any{"page_size": 2}))
	f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1.0/users" {
			writeJSON(w, map[string]any{"value": []any{}, "@odata.nextLink": "https://elsewhere.example.com/v1.0/users?$skiptoken=X"})
			return
		}
		f.serve(w, r)
	})
	if _, _, err := connectortesting.Read(t, c, connector.ReadRequest{}); !errors.Is(err, ErrProtocol) {
		t.Errorf("Read = %v, want ErrProtocol for a next link to another host", err)
	}
}

func TestPhoto(t *testing.T) {
	f := newFakeGraph(t)
	users := people()
	users[1].photo = []byte{0xFF, 0xD8, 0xFF, 0xE0, 'J', 'F', 'I', 'F'}
	f.add(users...)
	c := newTestConnector(&sleeper{})
	connectortesting.Configure(t, c, f.config(map[string]any{"include_photo": true}))
	got, _, err := connectortesting.Read(t, c, connector.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		if has := len(r.Binary["photo"]) == 1; has != (r.ID == adaID) {
			t.Errorf("record %s: photo %v", r.ID, r.Binary["photo"])
		}
	}
}

func TestConfigDiagnostics(t *testing.T) {
	cases := map[string]struct {
		config string
		attr   string
	}{
		"http graph":       {`{"tenant_id":"contoso.com","client_id":"x","client_secret":"s","graph_url":"http://graph.example.com/v1.0"}`, "graph_url"},
		"http token":       {`{"client_id":"x","client_secret":"s","token_url":"http://login.example.com/t"}`, "token_url"},
		"no tenant":        {`{"client_id":"x","client_secret":"s"}`, "tenant_id"},
		"bad tenant":       {`{"tenant_id":"a b","client_id":"x","client_secret":"s"}`, "tenant_id"},
		"no secret":        {`{"tenant_id":"contoso.com","client_id":"x"}`, "client_secret"},
		"page size":        {`{"tenant_id":"contoso.com","client_id":"x","client_secret":"s","page_size":1000}`, "page_size"},
		"retries":          {`{"tenant_id":"contoso.com","client_id":"x","client_secret":"s","max_retries":1.5}`, "max_retries"},
		"rate":             {`{"tenant_id":"contoso.com","client_id":"x","client_secret":"s","requests_per_second":0}`, "requests_per_second"},
		"bad property":     {`{"tenant_id":"contoso.com","client_id":"x","client_secret":"s","attributes":["employee hire"]}`, "attributes"},
		"manager property": {`{"tenant_id":"contoso.com","client_id":"x","client_secret":"s","attributes":["manager"]}`, "attributes"},
		"unknown":          {`{"tenant_id":"contoso.com","client_id":"x","client_secret":"s","filter":"x"}`, "filter"},
		"secret type":      {`{"tenant_id":"contoso.com","client_id":"x","client_secret":42}`, "client_secret"},
	}
	for name, tc := range cases {
		_, diags := parseConfig(json.RawMessage(tc.config))
		found := false
		for _, d := range diags {
			found = found || (d.Severity == connector.Error && d.Attribute == tc.attr)
			if strings.Contains(d.Summary+d.Detail, `"s"`) {
				t.Errorf("%s: a diagnostic quotes the secret: %+v", name, d)
			}
		}
		if !found {
			t.Errorf("%s: no error on %s; got %+v", name, tc.attr, diags)
		}
	}
	cfg, diags := parseConfig(json.RawMessage(`{"tenant_id":"72f988bf-86f1-41af-91ab-2d7cd011db47","client_id":"x","client_secret":"s","attributes":["employeeHireDate","mail"]}`))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if cfg.tokenURL != "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token" ||
		cfg.scope != "https://graph.microsoft.com/.default" || cfg.properties[len(cfg.properties)-1] != "employeeHireDate" {
		t.Errorf("defaults: %s %s %v", cfg.tokenURL, cfg.scope, cfg.properties)
	}
}

func TestRepeatedIDFailsTheRead(t *testing.T) {
	f := newFakeGraph(t)
	f.add(people()...)
	f.add(&fakeUser{props: map[string]any{"id": "dup"}})
	f.mu.Lock()
	f.users["dup"].props = map[string]any{"id": adaID, "displayName": "Ada again"}
	f.mu.Unlock()
	c := newTestConnector(&sleeper{})
	connectortesting.Configure(t, c, f.config(map[string]any{"page_size": 2}))
	if _, _, err := connectortesting.Read(t, c, connector.ReadRequest{}); !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "twice") {
		t.Errorf("Read = %v, want ErrProtocol for an id listed twice", err)
	}
}

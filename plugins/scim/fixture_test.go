package scim

// The fixture is a SCIM service provider written from the RFCs, not from the connector:
//
//   - RFC 7644 §3.4.2 (query resources): GET /Users answers a ListResponse with the
//     schemas URN urn:ietf:params:scim:api:messages:2.0:ListResponse, totalResults,
//     startIndex, itemsPerPage and Resources.
//   - RFC 7644 §3.4.2.4 (pagination): startIndex is 1-based (below 1 means 1), count is
//     the most per page (negative means 0) and a service may return fewer; the fixture
//     caps count at its maxResults, like the service provider config of RFC 7643 §5.
//   - RFC 7644 §3.4.2.2 (filtering): the fixture knows `active eq true|false` and
//     `userName eq "…"`; any other filter is a 400 with scimType invalidFilter.
//   - RFC 7644 §3.12 (errors): error answers carry the Error URN, status as a string,
//     scimType and detail; 401 comes with WWW-Authenticate (RFC 7644 §2, RFC 6750 §3).
//   - RFC 6585 §4 and RFC 9110 §10.2.3: 429 Too Many Requests with Retry-After.
//   - RFC 7643 §4.1, §4.3 and §8.2 (the full User example): the users' shape; Content-Type
//     application/scim+json (RFC 7644 §3.1); /ServiceProviderConfig (RFC 7643 §5).
//
// The faults a test can inject are fields of provider: throttled pages, pages that fail
// with 500, pages shorter than asked, and a hook that changes the list between pages.

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	errorURN        = "urn:ietf:params:scim:api:messages:2.0:Error"
	testToken       = "s3cr3t-token-value"
	fixtureMaxCount = 1000
)

// provider is the fixture's state. Tests set its fields before the first request and
// through mu afterwards.
type provider struct {
	mu    sync.Mutex
	users []json.RawMessage // in list order
	// maxResults caps count; 0 means fixtureMaxCount.
	maxResults int
	// short, if > 0, makes every page at most that long, whatever count asked.
	short int
	// throttle is how many times a page (by startIndex) answers 429 before it answers.
	throttle map[int64]int
	// retryAfter is the Retry-After of a 429 ("" sends none).
	retryAfter string
	// unavailable is how many times a page answers 503 without Retry-After.
	unavailable map[int64]int
	// fail500 makes the page at this startIndex answer 500, always.
	fail500 int64
	// cutAt, if > 0, ends the body of the page at this startIndex in the middle.
	cutAt int64
	// afterPage runs once a page is taken (the list may change for the next one).
	afterPage func(p *provider, startIndex int64)
	// latency delays every answer of GET /Users, as a network between the connector and
	// a real service would (benchmarks only).
	latency time.Duration
	// revoked makes every request answer 401, as for a token revoked or expired.
	revoked bool
	// filterSupported is what /ServiceProviderConfig says.
	filterSupported bool

	requests     []string // the query of each GET /Users
	unauthorized int      // requests answered 401
}

// serve starts the fixture over TLS and returns it and a CA file that trusts it.
func (p *provider) serve(t testing.TB) (*httptest.Server, string) {
	t.Helper()
	return serveHandler(t, p)
}

// serveHandler starts h over TLS and returns it and a CA file that trusts it.
func serveHandler(t testing.TB, h http.Handler) (*httptest.Server, string) {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, cert, 0o600); err != nil {
		t.Fatal(err)
	}
	return srv, ca
}

func scimError(w http.ResponseWriter, status int, scimType, detail string) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	body := map[string]any{"schemas": []string{errorURN}, "status": strconv.Itoa(status), "detail": detail}
	if scimType != "" {
		body["scimType"] = scimType
	}
	_ = json.NewEncoder(w).Encode(body)
}

func (p *provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/scim/v2")
	p.mu.Lock()
	revoked := p.revoked
	p.mu.Unlock()
	if revoked || r.Header.Get("Authorization") != "Bearer "+testToken {
		p.mu.Lock()
		p.unauthorized++
		p.mu.Unlock()
		w.Header().Set("WWW-Authenticate", `Bearer realm="fixture"`)
		scimError(w, http.StatusUnauthorized, "", "Authorization failure. The authorization header is invalid or missing.")
		return
	}
	if r.Method != http.MethodGet {
		scimError(w, http.StatusMethodNotAllowed, "", "only GET here")
		return
	}
	switch path {
	case "/ServiceProviderConfig":
		p.mu.Lock()
		supported := p.filterSupported
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/scim+json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"},
			"patch":   map[string]bool{"supported": false},
			"bulk":    map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
			"filter":  map[string]any{"supported": supported, "maxResults": fixtureMaxCount},
			"sort":    map[string]bool{"supported": false},
			"etag":    map[string]bool{"supported": false},
			"authenticationSchemes": []map[string]any{{
				"type": "oauthbearertoken", "name": "OAuth Bearer Token", "description": "Bearer token",
			}},
		})
	case "/Users":
		p.list(w, r)
	default:
		scimError(w, http.StatusNotFound, "", "Resource "+path+" not found")
	}
}

var (
	activeFilter   = regexp.MustCompile(`^(?i)active eq (true|false)$`)
	userNameFilter = regexp.MustCompile(`^(?i)userName eq "([^"]*)"$`)
)

func (p *provider) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if p.latency > 0 {
		time.Sleep(p.latency) // set before the first request; never changed
	}
	p.mu.Lock()
	p.requests = append(p.requests, r.URL.RawQuery)
	start, err1 := intParam(q.Get("startIndex"), 1)
	count, err2 := intParam(q.Get("count"), fixtureMaxCount)
	if err1 != nil || err2 != nil {
		p.mu.Unlock()
		scimError(w, http.StatusBadRequest, "invalidValue", "startIndex and count must be integers")
		return
	}
	start, count = max(start, 1), max(count, 0)
	if n := p.throttle[start]; n > 0 {
		p.throttle[start] = n - 1
		if p.retryAfter != "" {
			w.Header().Set("Retry-After", p.retryAfter)
		}
		p.mu.Unlock()
		scimError(w, http.StatusTooManyRequests, "", "Too many requests")
		return
	}
	if n := p.unavailable[start]; n > 0 {
		p.unavailable[start] = n - 1
		p.mu.Unlock()
		scimError(w, http.StatusServiceUnavailable, "", "Service temporarily unavailable")
		return
	}
	if p.fail500 != 0 && start == p.fail500 {
		p.mu.Unlock()
		scimError(w, http.StatusInternalServerError, "", "Internal server error")
		return
	}
	matched := p.users
	if f := q.Get("filter"); f != "" {
		matched = nil
		m1, m2 := activeFilter.FindStringSubmatch(f), userNameFilter.FindStringSubmatch(f)
		if m1 == nil && m2 == nil {
			p.mu.Unlock()
			scimError(w, http.StatusBadRequest, "invalidFilter", "The specified filter syntax is invalid or the attribute is not supported: "+f)
			return
		}
		for _, u := range p.users {
			var v struct {
				UserName string
				Active   any // true, or the string "True" some services store
			}
			_ = json.Unmarshal(u, &v)
			active := v.Active == nil || v.Active == true || strings.EqualFold(fmt.Sprint(v.Active), "true")
			if m1 != nil && active == strings.EqualFold(m1[1], "true") ||
				m2 != nil && strings.EqualFold(v.UserName, m2[1]) {
				matched = append(matched, u)
			}
		}
	}
	limit := p.maxResults
	if limit == 0 {
		limit = fixtureMaxCount
	}
	count = min(count, int64(limit))
	if p.short > 0 {
		count = min(count, int64(p.short))
	}
	var resources []json.RawMessage
	if lo := start - 1; lo < int64(len(matched)) {
		resources = matched[lo:min(lo+int64(count), int64(len(matched)))]
	}
	body, err := json.Marshal(map[string]any{
		"schemas":      []string{"urn:ietf:params:scim:api:messages:2.0:ListResponse"},
		"totalResults": len(matched),
		"startIndex":   start,
		"itemsPerPage": len(resources),
		"Resources":    resources,
	})
	cut := p.cutAt != 0 && start == p.cutAt
	after := p.afterPage
	p.mu.Unlock()
	if err != nil {
		scimError(w, http.StatusInternalServerError, "", err.Error())
		return
	}
	if cut {
		body = body[:len(body)/2]
	}
	if after != nil {
		// The list changes once this page is taken, before the client can ask for
		// the next.
		p.mu.Lock()
		after(p, start)
		p.mu.Unlock()
	}
	w.Header().Set("Content-Type", "application/scim+json")
	_, _ = w.Write(body)
}

func intParam(s string, def int64) (int64, error) {
	if s == "" {
		return def, nil
	}
	return strconv.ParseInt(s, 10, 64)
}

// generatedUser is user number i of a generated directory, in the shape of RFC 7643
// §8.2's full user.
func generatedUser(i int) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],`+
		`"id":"%08x-4f1c-4a3b-9c5d-%012d","externalId":"E%06d","userName":"user%06d@example.com",`+
		`"name":{"formatted":"Person %d","familyName":"Person","givenName":"User%d"},"displayName":"User%d Person",`+
		`"emails":[{"value":"user%06d@example.com","type":"work","primary":true}],`+
		`"phoneNumbers":[{"value":"+1 555 %07d","type":"work"}],"title":"Engineer","active":true,`+
		`"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"%d","department":"Dept %d","manager":{"value":"%08x-4f1c-4a3b-9c5d-%012d","displayName":"Boss"}},`+
		`"meta":{"resourceType":"User","created":"2024-01-23T04:56:22Z","lastModified":"2024-05-13T04:42:34Z","location":"https://example.com/v2/Users/%d"}}`,
		i, i, i, i, i, i, i, i, i%10000000, i, i%50, i/10, i/10, i))
}

func generatedUsers(n int) []json.RawMessage {
	us := make([]json.RawMessage, n)
	for i := range us {
		us[i] = generatedUser(i)
	}
	return us
}

// fakeClock is a clock whose Sleep returns at once, moving the time on and keeping
// what it was asked to wait.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return nil
}

func (c *fakeClock) slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

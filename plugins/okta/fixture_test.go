package okta

// fakeOkta is a local Okta org that behaves as Okta documents its Users API and org
// authorization server, not as the connector happens to expect. It follows Okta's
// published Management API OpenAPI spec (github.com/okta/okta-management-openapi-spec,
// dist/current/management-minimal.yaml, release 2026.06.3) and the OAuth spec beside it
// (dist/current/oauth-minimal.yaml):
//
//   - listUsers, GET /api/v1/users: limit (default and most 200), after (the cursor
//     the next link carries), filter with status, lastUpdated (also gt, ge, lt, le), id,
//     profile.login, profile.email, profile.firstName and profile.lastName joined by and
//     or or; without a filter DEPROVISIONED users are left out, with one they are not;
//     an unsupported expression is 400 E0000031; the answer is a JSON array of User
//     objects (components/schemas/User, UserProfile; the examples ListUsersResponse
//     and ListUsersFilterResponse: base profile attributes as null when unset,
//     credentials, _links), paged by Link headers rel="self" and rel="next";
//   - the error object (components/schemas/Error: errorCode, errorSummary, errorLink,
//     errorId, errorCauses): E0000011 for an invalid token (401), E0000006 access
//     denied (403), E0000047 rate limit (429), E0000009 internal server error (500);
//   - Okta's rate limit headers (developer.okta.com/docs/reference/rl-best-practices):
//     X-Rate-Limit-Limit, X-Rate-Limit-Remaining and X-Rate-Limit-Reset (UTC epoch
//     seconds) on every answer, with a Date;
//   - API tokens as Authorization: SSWS TOKEN; the org authorization server's
//     POST /oauth2/v1/token with grant_type=client_credentials, scope, and a
//     private_key_jwt client_assertion (RFC 7523; iss and sub the client ID, aud the
//     token URL, exp, a jti used once, RS256) — a bad one is 401 invalid_client; a
//     token answer is {"token_type": "Bearer", "expires_in": 3600, "access_token",
//     "scope"}.

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	fakeToken    = "00aBcD-sEcReT-api-token-that-must-never-show"
	fakeClientID = "0oa1b2c3d4e5f6g7h8i9"
)

// fakeClock is the time of the fake and of the connector under test: the connector's
// sleeps advance it.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// fakeUser is one user of the fake org.
type fakeUser struct {
	id      string
	status  string
	profile map[string]any // absent base attributes come as null
	created time.Time
	updated time.Time
	raw     string // if set, the user's JSON as it is (for broken users)
	json    []byte // rendered when added or changed
}

// fakeOkta is the fake. Its hooks run under its lock.
type fakeOkta struct {
	t     testing.TB
	srv   *httptest.Server
	ca    string // PEM file of the server's certificate
	clock *fakeClock
	key   *rsa.PrivateKey // the service app's key
	keyID string

	mu       sync.Mutex
	ids      []string // sorted: Okta pages in id order
	users    map[string]*fakeUser
	tokens   map[string]int // access token → requests it may still serve (-1: unlimited)
	jtis     map[string]bool
	issued   int
	requests int // Users API requests, all of them
	served   map[int]int
	// tokenUses: how many requests an access token serves before Okta calls it
	// invalid (0: unlimited).
	tokenUses int
	// window is the rate limit: requests a minute of the fake clock (0: 600, never
	// reached by the tests that do not set it).
	window     int
	windowAt   int64 // the window's start, epoch minutes
	windowUsed int
	// fault, if set, may answer a Users API request instead of the fake (n counts them,
	// from 1): the status and headers, and whether it answered.
	fault     func(r *http.Request, n int) (status int, header map[string]string, answered bool)
	paths     []string // request paths with queries, in order
	keepPaths bool
}

func newFakeOkta(t testing.TB) *fakeOkta {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeOkta{
		t: t, clock: &fakeClock{now: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)}, key: key, keyID: "kid-1",
		users: map[string]*fakeUser{}, tokens: map[string]int{}, jtis: map[string]bool{}, served: map[int]int{}, keepPaths: true,
	}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	f.ca = filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw})
	if err := os.WriteFile(f.ca, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// keyPEM is the app's private key in PKCS #8 PEM, as Okta's Admin Console hands it out.
func (f *fakeOkta) keyPEM() string {
	der, err := x509.MarshalPKCS8PrivateKey(f.key)
	if err != nil {
		f.t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// config is a connector config for the fake with an API token, with extra attributes
// merged in (a nil value removes one).
func (f *fakeOkta) config(extra map[string]any) json.RawMessage {
	c := map[string]any{
		"org_url": f.srv.URL, "api_token": fakeToken, "ca_file": f.ca, "requests_per_second": 10000,
	}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	b, err := json.Marshal(c)
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

// oauthConfig is a config with client credentials instead of the API token.
func (f *fakeOkta) oauthConfig(extra map[string]any) json.RawMessage {
	c := map[string]any{"api_token": nil, "client_id": fakeClientID, "private_key": f.keyPEM(), "key_id": f.keyID}
	for k, v := range extra {
		c[k] = v
	}
	return f.config(c)
}

// baseProfile are the base profile attributes Okta lists, null when unset, as in the
// spec's ListUsersResponse example.
var baseProfile = []string{"firstName", "lastName", "mobilePhone", "secondEmail", "login", "email"}

func (f *fakeOkta) render(u *fakeUser) {
	if u.raw != "" {
		u.json = []byte(u.raw)
		return
	}
	profile := map[string]any{}
	for _, k := range baseProfile {
		profile[k] = nil
	}
	for k, v := range u.profile {
		profile[k] = v
	}
	ts := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return t.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	var activated any
	if u.status != "STAGED" {
		activated = ts(u.created)
	}
	m := map[string]any{
		"id": u.id, "status": u.status, "created": ts(u.created), "activated": activated,
		"statusChanged": ts(u.updated), "lastLogin": nil, "lastUpdated": ts(u.updated), "passwordChanged": ts(u.created),
		"type":    map[string]any{"id": "oty1162QAr8hJjTaq0g4"},
		"profile": profile,
		"credentials": map[string]any{"password": map[string]any{}, "provider": map[string]any{"type": "OKTA", "name": "OKTA"},
			"emails": []any{map[string]any{"value": profile["email"], "status": "VERIFIED", "type": "PRIMARY"}}},
		"_links": map[string]any{"self": map[string]any{"href": f.srv.URL + "/api/v1/users/" + u.id}},
	}
	if u.id == "" {
		delete(m, "id")
	}
	b, err := json.Marshal(m)
	if err != nil {
		f.t.Fatal(err)
	}
	u.json = b
}

// add adds users, each stamped with the fake's time (one millisecond apart).
func (f *fakeOkta) add(users ...*fakeUser) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, u := range users {
		if u.status == "" {
			u.status = "ACTIVE"
		}
		u.created = f.clock.Now().Add(time.Duration(i) * time.Millisecond)
		u.updated = u.created
		key := u.id
		if key == "" {
			key = fmt.Sprintf("~noid-%06d", len(f.ids))
		}
		f.render(u)
		i, found := slices.BinarySearch(f.ids, key)
		if found {
			f.t.Fatalf("fake: user %s added twice", key)
		}
		f.ids = slices.Insert(f.ids, i, key)
		f.users[key] = u
	}
}

// change changes a user now.
func (f *fakeOkta) change(id string, fn func(u *fakeUser)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.changeLocked(id, fn)
}

func (f *fakeOkta) changeLocked(id string, fn func(u *fakeUser)) {
	u := f.users[id]
	fn(u)
	u.updated = f.clock.Now()
	f.render(u)
}

// remove deletes a user from the org (after deprovisioning, as Okta requires).
func (f *fakeOkta) remove(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.users, id)
	i, _ := slices.BinarySearch(f.ids, id)
	f.ids = slices.Delete(f.ids, i, i+1)
}

func (f *fakeOkta) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.clock.Now()
	w.Header().Set("Date", now.UTC().Format(http.TimeFormat))
	if f.keepPaths {
		f.paths = append(f.paths, r.Method+" "+r.URL.RequestURI())
	}
	if r.URL.Path == "/oauth2/v1/token" {
		f.token(w, r)
		return
	}
	if r.URL.Path != usersPath || r.Method != http.MethodGet {
		oktaErr(w, http.StatusNotFound, "E0000022", "The endpoint does not support the provided HTTP method")
		return
	}
	f.requests++
	// The rate limit: a window of a minute.
	limit := f.window
	if limit == 0 {
		limit = 600
	}
	if m := now.Unix() / 60; m != f.windowAt {
		f.windowAt, f.windowUsed = m, 0
	}
	reset := strconv.FormatInt((f.windowAt+1)*60, 10)
	w.Header().Set("X-Rate-Limit-Limit", strconv.Itoa(limit))
	w.Header().Set("X-Rate-Limit-Reset", reset)
	if f.windowUsed >= limit {
		w.Header().Set("X-Rate-Limit-Remaining", "0")
		f.served[http.StatusTooManyRequests]++
		oktaErr(w, http.StatusTooManyRequests, "E0000047", "API call exceeded rate limit due to too many requests.")
		return
	}
	f.windowUsed++
	w.Header().Set("X-Rate-Limit-Remaining", strconv.Itoa(limit-f.windowUsed))

	auth := r.Header.Get("Authorization")
	switch {
	case strings.HasPrefix(auth, "SSWS "):
		if strings.TrimPrefix(auth, "SSWS ") != fakeToken {
			oktaErr(w, http.StatusUnauthorized, "E0000011", "Invalid token provided")
			return
		}
	case strings.HasPrefix(auth, "Bearer "):
		tok := strings.TrimPrefix(auth, "Bearer ")
		left, known := f.tokens[tok]
		if !known || left == 0 {
			w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="http://example.okta.com/oauth2/v1/authorize", realm="http://example.okta.com", scope="okta.users.read", error="invalid_token", error_description="The token has expired.", resource="/api/v1/users"`)
			oktaErr(w, http.StatusUnauthorized, "E0000011", "Invalid token provided")
			return
		}
		if left > 0 {
			f.tokens[tok] = left - 1
		}
	default:
		oktaErr(w, http.StatusUnauthorized, "E0000005", "Invalid session")
		return
	}
	if f.fault != nil {
		if status, hdr, answered := f.fault(r, f.requests); answered {
			for k, v := range hdr {
				w.Header().Set(k, v)
			}
			f.served[status]++
			e := faultErrors[status]
			code, summary := e[0], e[1]
			oktaErr(w, status, code, summary)
			return
		}
	}
	f.list(w, r)
}

// faultErrors are the error objects of the statuses a fault answers with.
var faultErrors = map[int][2]string{
	403: {"E0000006", "You do not have permission to perform the requested action"},
	429: {"E0000047", "API call exceeded rate limit due to too many requests."},
	500: {"E0000009", "Internal Server Error"},
	503: {"E0000010", "Service is in read only mode"},
}

// atom is one comparison of a filter expression.
type atom struct{ prop, op, value string }

// parseFilter reads the filter expressions listUsers documents: comparisons joined by
// "or" (of "and" groups); it returns the groups, or false for anything else.
func parseFilter(s string) ([][]atom, bool) {
	var groups [][]atom
	for _, alt := range strings.Split(s, " or ") {
		var group []atom
		for _, term := range strings.Split(alt, " and ") {
			term = strings.TrimSpace(term)
			parts := strings.SplitN(term, " ", 3)
			if len(parts) != 3 || len(parts[2]) < 2 || parts[2][0] != '"' || parts[2][len(parts[2])-1] != '"' {
				return nil, false
			}
			a := atom{parts[0], strings.ToLower(parts[1]), parts[2][1 : len(parts[2])-1]}
			switch {
			case a.prop == "lastUpdated" && slices.Contains([]string{"eq", "gt", "ge", "lt", "le"}, a.op):
				if _, err := time.Parse(time.RFC3339Nano, a.value); err != nil {
					return nil, false
				}
			case slices.Contains([]string{"status", "id", "profile.login", "profile.email", "profile.firstName", "profile.lastName"}, a.prop) && a.op == "eq":
			default:
				return nil, false
			}
			group = append(group, a)
		}
		groups = append(groups, group)
	}
	return groups, true
}

func (a atom) matches(u *fakeUser) bool {
	switch a.prop {
	case "lastUpdated":
		t, _ := time.Parse(time.RFC3339Nano, a.value)
		d := u.updated.Truncate(time.Millisecond).Compare(t)
		switch a.op {
		case "eq":
			return d == 0
		case "gt":
			return d > 0
		case "ge":
			return d >= 0
		case "lt":
			return d < 0
		}
		return d <= 0
	case "status":
		return u.status == a.value
	case "id":
		return u.id == a.value
	}
	v, _ := u.profile[strings.TrimPrefix(a.prop, "profile.")].(string)
	return v == a.value
}

func (f *fakeOkta) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Has("search") || q.Has("q") {
		f.t.Errorf("fake: the connector used %q, which the fake does not implement", r.URL.RawQuery)
		oktaErr(w, http.StatusBadRequest, "E0000031", "Invalid search criteria.")
		return
	}
	limit := 200
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			oktaErr(w, http.StatusBadRequest, "E0000001", "Api validation failed: limit")
			return
		}
		limit = min(n, 200)
	}
	var groups [][]atom
	if fl := q.Get("filter"); fl != "" {
		var ok bool
		if groups, ok = parseFilter(fl); !ok {
			oktaErr(w, http.StatusBadRequest, "E0000031", "Invalid search criteria.")
			return
		}
	}
	match := func(u *fakeUser) bool {
		if groups == nil {
			return u.status != "DEPROVISIONED"
		}
		for _, g := range groups {
			all := true
			for _, a := range g {
				all = all && a.matches(u)
			}
			if all {
				return true
			}
		}
		return false
	}
	start := 0
	if after := q.Get("after"); after != "" {
		start, _ = slices.BinarySearch(f.ids, after)
		if start < len(f.ids) && f.ids[start] == after {
			start++
		}
	}
	var page [][]byte
	last := ""
	i := start
	for ; i < len(f.ids) && len(page) < limit; i++ {
		if u := f.users[f.ids[i]]; match(u) {
			page = append(page, u.json)
			last = f.ids[i]
		}
	}
	for ; i < len(f.ids) && !match(f.users[f.ids[i]]); i++ {
	}
	self := *r.URL
	self.Scheme, self.Host = "https", r.Host
	w.Header().Add("Link", "<"+self.String()+`>; rel="self"`)
	if i < len(f.ids) {
		q.Set("after", last)
		next := self
		next.RawQuery = q.Encode()
		w.Header().Add("Link", "<"+next.String()+`>; rel="next"`)
	}
	w.Header().Set("Content-Type", "application/json")
	body := make([]byte, 0, 1024*len(page))
	body = append(body, '[')
	for j, u := range page {
		if j > 0 {
			body = append(body, ',')
		}
		body = append(body, u...)
	}
	body = append(body, ']')
	_, _ = w.Write(body)
}

// token is the org authorization server's token endpoint.
func (f *fakeOkta) token(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.ParseForm() != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		tokenErr(w, http.StatusBadRequest, "unsupported_grant_type", "The authorization grant type is not supported by the authorization server.")
		return
	}
	if r.PostForm.Has("client_secret") || r.Header.Get("Authorization") != "" {
		tokenErr(w, http.StatusBadRequest, "invalid_request", "Can't supply multiple client credentials. Use one of the following: credentials in the Authorization header, credentials in the post body, or a client_assertion in the post body.")
		return
	}
	if r.PostForm.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		tokenErr(w, http.StatusBadRequest, "invalid_request", "The client_assertion_type is invalid.")
		return
	}
	if problem := f.checkAssertion(r.PostForm.Get("client_assertion")); problem != "" {
		tokenErr(w, http.StatusUnauthorized, "invalid_client", problem)
		return
	}
	if s := r.PostForm.Get("scope"); s != "okta.users.read" {
		tokenErr(w, http.StatusBadRequest, "invalid_scope", "The following scopes are not allowed: "+s)
		return
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	tok := "eyJraWQiOiJrMSJ9." + hex.EncodeToString(b)
	f.tokens[tok] = -1
	if f.tokenUses > 0 {
		f.tokens[tok] = f.tokenUses
	}
	f.issued++
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3600, "access_token": tok, "scope": "okta.users.read"})
}

// checkAssertion verifies a private_key_jwt client assertion, or says what is wrong.
func (f *fakeOkta) checkAssertion(jwt string) string {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return "The client_assertion token is malformed."
	}
	dec := base64.RawURLEncoding
	hb, err1 := dec.DecodeString(parts[0])
	cb, err2 := dec.DecodeString(parts[1])
	sig, err3 := dec.DecodeString(parts[2])
	var header map[string]string
	var claims struct {
		Iss, Sub, Aud, Jti string
		Exp, Iat           int64
	}
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &header) != nil || json.Unmarshal(cb, &claims) != nil {
		return "The client_assertion token is malformed."
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if header["alg"] != "RS256" || rsa.VerifyPKCS1v15(&f.key.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		return "The client_assertion signature is invalid."
	}
	if kid, ok := header["kid"]; ok && kid != f.keyID {
		return "The client_assertion token has a kid which does not identify a valid JWK."
	}
	now := f.clock.Now().Unix()
	switch {
	case claims.Iss != fakeClientID || claims.Sub != fakeClientID:
		return "Invalid value for the 'client_id' parameter."
	case claims.Aud != f.srv.URL+"/oauth2/v1/token":
		return "The audience claim for client_assertion must be the endpoint invoked for the request."
	case claims.Exp <= now || claims.Exp > now+3600:
		return "The client_assertion token is expired."
	case claims.Jti == "" || f.jtis[claims.Jti]:
		return "The client_assertion token has already been used."
	}
	f.jtis[claims.Jti] = true
	return ""
}

func oktaErr(w http.ResponseWriter, status int, code, summary string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errorCode": code, "errorSummary": summary, "errorLink": code,
		"errorId": "oae" + strconv.Itoa(status) + "sampleId", "errorCauses": []any{}})
}

func tokenErr(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": code, "error_description": desc})
}

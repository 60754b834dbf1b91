package entra

// fakeGraph is a local Microsoft Graph and Entra ID token endpoint that behaves as
// Microsoft documents them, not as the connector happens to expect. It follows:
//
//   - api-reference/v1.0/api/user-list.md: GET /users with $select (unknown properties
//     are 400 Request_BadRequest), $top (1–999), $expand=manager($select=id) (the
//     manager as an object with @odata.type and id), @odata.nextLink with $skiptoken;
//     selected properties without a value come as null;
//   - api-reference/v1.0/api/user-delta.md and concepts/delta-query-users.md,
//     concepts/delta-query-overview.md: GET /users/delta, no $top or $expand (400),
//     $deltatoken=latest answering only an @odata.deltaLink, pages linked by
//     @odata.nextLink ending in an @odata.deltaLink, removed users as {"id",
//     "@removed": {"reason": "changed"|"deleted"}}, a changed manager as manager@delta;
//   - api-reference/v1.0/api/user-list-manager.md: GET /users/{id}/manager, 404
//     Request_ResourceNotFound without one; api-reference/v1.0/api/profilephoto-get.md:
//     GET /users/{id}/photo/$value, 404 ImageNotFound without one;
//   - resources/user.md for the property names and types; concepts/errors.md for the
//     error object ({"error": {"code", "message", "innerError"}});
//   - concepts/throttling.md: 429 with Retry-After in seconds;
//   - the Microsoft identity platform's client credentials flow
//     (identity-platform/v2-oauth2-client-creds-grant-flow.md): POST
//     /{tenant}/oauth2/v2.0/token with grant_type, client_id, client_secret and scope in
//     the form; {"token_type": "Bearer", "expires_in", "access_token"}; a wrong secret is
//     401 invalid_client with an AADSTS description; Graph answers an expired token with
//     401 InvalidAuthenticationToken;
//   - the Microsoft identity platform's certificate credentials
//     (identity-platform/certificate-credentials.md) and RFC 7523 §2.2/§3: instead of
//     client_secret, client_assertion_type urn:ietf:params:oauth:client-assertion-type:jwt-bearer
//     and a client_assertion JWT, which the fake verifies for real (checkAssertion):
//     header alg RS256 (or PS256, which the page now names) and typ JWT, x5t or x5t#S256
//     naming a certificate the app registration holds, the signature by that
//     certificate's public key, aud the token endpoint, iss = sub = the client ID, nbf
//     and exp around now, and a jti not seen before.

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
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
	fakeTenant   = "contoso.onmicrosoft.com"
	fakeClientID = "6731de76-14a6-49ae-97bc-6eba6914391e"
	fakeSecret   = "sEcReT~value.that-must-never-show"
)

// userProperties are the user properties of resources/user.md the fake knows.
var userProperties = func() map[string]bool {
	m := map[string]bool{}
	for _, p := range append(slices.Clone(defaultProperties),
		"aboutMe", "ageGroup", "birthday", "createdDateTime", "creationType", "employeeHireDate",
		"employeeLeaveDateTime", "employeeOrgData", "faxNumber", "hireDate", "identities", "imAddresses",
		"mailNickname", "onPremisesDistinguishedName", "onPremisesDomainName", "onPremisesExtensionAttributes",
		"onPremisesLastSyncDateTime", "onPremisesSecurityIdentifier", "onPremisesSyncEnabled",
		"onPremisesUserPrincipalName", "otherMails", "proxyAddresses", "showInAddressList") {
		m[p] = true
	}
	return m
}()

// fakeUser is one user of the fake directory.
type fakeUser struct {
	props   map[string]any // property values; absent = never set
	manager string         // the manager's id, "" for none
	photo   []byte
	version int // the change that last touched the user
	removed string
}

// fakeGraph is the fake. Its hooks run under its lock.
type fakeGraph struct {
	t   testing.TB
	srv *httptest.Server
	ca  string // PEM file of the server's certificate

	mu       sync.Mutex
	order    []string // user IDs in directory order
	users    map[string]*fakeUser
	version  int
	tokens   map[string]int // token → Graph requests it may still serve (-1: unlimited)
	issued   int
	requests int // Graph requests, all of them
	// tokenUses: how many Graph requests a token serves before Graph calls it expired
	// (0: unlimited).
	tokenUses int
	// rejectTokens: the token endpoint answers invalid_client from now on.
	rejectTokens bool
	// now, if set, is the test's clock: tokens expire by it, expires_in seconds after
	// they were issued (default 3599), and Graph answers an expired one with 401.
	now       func() time.Time
	expiresIn int
	expiry    map[string]time.Time // token → when it expires (only with now)
	// minLeft is the least lifetime a token had left when Graph took it (only with now).
	minLeft time.Duration
	// unauthorized counts the Graph requests answered 401.
	unauthorized int
	// cert, if set, is the certificate the app registration holds: the token endpoint
	// takes client assertions its key signed.
	cert       *x509.Certificate
	jtis       map[string]bool // the jti of every assertion taken
	assertions int             // client assertions taken
	// fault, if set, may answer a Graph request instead of the fake (n counts the Graph
	// requests, from 1): status, Retry-After, and whether it answered.
	fault func(r *http.Request, n int) (status int, retryAfter string, answered bool)
	// deltaPage is the size of a delta page (Graph decides it; small to make many).
	deltaPage int
	paths     []string // request paths with queries, in order
	keepPaths bool
}

func newFakeGraph(t testing.TB) *fakeGraph {
	f := &fakeGraph{t: t, users: map[string]*fakeUser{}, tokens: map[string]int{}, deltaPage: 3, keepPaths: true,
		expiresIn: 3599, expiry: map[string]time.Time{}, minLeft: time.Duration(1<<63 - 1), jtis: map[string]bool{}}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	f.ca = filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw})
	if err := os.WriteFile(f.ca, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// config is a connector config for the fake, with extra attributes merged in.
func (f *fakeGraph) config(extra map[string]any) json.RawMessage {
	c := map[string]any{
		"client_id": fakeClientID, "client_secret": fakeSecret,
		"token_url":           f.srv.URL + "/" + fakeTenant + "/oauth2/v2.0/token",
		"graph_url":           f.srv.URL + "/v1.0",
		"ca_file":             f.ca,
		"requests_per_second": 10000,
	}
	for k, v := range extra {
		c[k] = v
	}
	b, err := json.Marshal(c)
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

// add adds users (their props must hold "id" unless the test wants a user without).
func (f *fakeGraph) add(users ...*fakeUser) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, u := range users {
		f.version++
		u.version = f.version
		id, _ := u.props["id"].(string)
		if id == "" {
			id = "noid-" + strconv.Itoa(f.version)
		}
		f.order = append(f.order, id)
		f.users[id] = u
	}
}

// change changes a user as one directory change.
func (f *fakeGraph) change(id string, fn func(u *fakeUser)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.version++
	u := f.users[id]
	fn(u)
	u.version = f.version
}

func (f *fakeGraph) remove(id, reason string) {
	f.change(id, func(u *fakeUser) { u.removed = reason })
}

func (f *fakeGraph) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.keepPaths {
		f.paths = append(f.paths, r.Method+" "+r.URL.RequestURI())
	}
	if r.URL.Path == "/"+fakeTenant+"/oauth2/v2.0/token" {
		f.token(w, r)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1.0/")
	if !ok || r.Method != http.MethodGet {
		graphErr(w, http.StatusBadRequest, "BadRequest", "Invalid version.")
		return
	}
	f.requests++
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	left, known := f.tokens[tok]
	expired := false
	if exp, ok := f.expiry[tok]; ok && f.now != nil {
		life := exp.Sub(f.now())
		expired = life <= 0
		f.minLeft = min(f.minLeft, life)
	}
	switch {
	case !known:
		f.unauthorized++
		graphErr(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
		return
	case left == 0 || expired:
		f.unauthorized++
		graphErr(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
		return
	case left > 0:
		f.tokens[tok] = left - 1
	}
	if f.fault != nil {
		if status, after, answered := f.fault(r, f.requests); answered {
			if after != "" {
				w.Header().Set("Retry-After", after)
			}
			code := map[int]string{429: "TooManyRequests", 503: "serviceNotAvailable", 500: "generalException"}[status]
			graphErr(w, status, code, "Please retry after "+after+" seconds.")
			return
		}
	}
	parts := strings.Split(rest, "/")
	switch {
	case len(parts) == 1 && parts[0] == "users":
		f.list(w, r)
	case len(parts) == 2 && parts[0] == "users" && parts[1] == "delta":
		f.delta(w, r)
	case len(parts) == 3 && parts[0] == "users" && parts[2] == "manager":
		u := f.users[parts[1]]
		if u == nil || u.removed != "" {
			graphErr(w, http.StatusNotFound, "Request_ResourceNotFound", fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", parts[1]))
			return
		}
		if u.manager == "" {
			graphErr(w, http.StatusNotFound, "Request_ResourceNotFound", "Resource 'manager' does not exist or one of its queried reference-property objects are not present.")
			return
		}
		writeJSON(w, map[string]any{"@odata.context": f.srv.URL + "/v1.0/$metadata#directoryObjects/$entity",
			"@odata.type": "#microsoft.graph.user", "id": u.manager})
	case len(parts) == 4 && parts[0] == "users" && parts[2] == "photo" && parts[3] == "$value":
		u := f.users[parts[1]]
		if u == nil || len(u.photo) == 0 {
			graphErr(w, http.StatusNotFound, "ImageNotFound", "Exception of type 'Microsoft.Fast.Profile.Core.Exception.ImageNotFoundException' was thrown.")
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		_, _ = w.Write(u.photo)
	default:
		graphErr(w, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+rest+"'.")
	}
}

func (f *fakeGraph) token(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.ParseForm() != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		tokenErr(w, http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.")
		return
	}
	if r.PostForm.Has("client_assertion") || r.PostForm.Has("client_assertion_type") {
		if f.certificateAuth(w, r) {
			f.issue(w, r)
		}
		return
	}
	if f.rejectTokens || r.PostForm.Get("client_id") != fakeClientID || r.PostForm.Get("client_secret") != fakeSecret {
		tokenErr(w, http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.\r\nTrace ID: 0000\r\nCorrelation ID: 0000")
		return
	}
	f.issue(w, r)
}

// issue answers a token request whose client is authenticated.
func (f *fakeGraph) issue(w http.ResponseWriter, r *http.Request) {
	if s := r.PostForm.Get("scope"); s != f.srv.URL+"/.default" {
		tokenErr(w, http.StatusBadRequest, "invalid_scope", "AADSTS70011: The provided value for the input parameter 'scope' is not valid.")
		return
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	tok := "eyJ0eXAiOiJKV1Qi." + hex.EncodeToString(b)
	f.tokens[tok] = -1
	if f.tokenUses > 0 {
		f.tokens[tok] = f.tokenUses
	}
	if f.now != nil {
		f.expiry[tok] = f.now().Add(time.Duration(f.expiresIn) * time.Second)
	}
	f.issued++
	writeJSON(w, map[string]any{"token_type": "Bearer", "expires_in": f.expiresIn, "ext_expires_in": f.expiresIn, "access_token": tok})
}

// tokenURL is the fake's token endpoint, the audience of a client assertion.
func (f *fakeGraph) tokenURL() string { return f.srv.URL + "/" + fakeTenant + "/oauth2/v2.0/token" }

// certificateAuth authenticates a token request by its client assertion, or answers
// the error Entra ID would and returns false.
func (f *fakeGraph) certificateAuth(w http.ResponseWriter, r *http.Request) bool {
	form := r.PostForm
	switch {
	case form.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
		tokenErr(w, http.StatusBadRequest, "invalid_request", "AADSTS50027: Invalid client_assertion_type.")
		return false
	case form.Has("client_secret"):
		tokenErr(w, http.StatusBadRequest, "invalid_request", "AADSTS90014: Only one of client_secret and client_assertion may be sent.")
		return false
	case f.rejectTokens:
		tokenErr(w, http.StatusUnauthorized, "invalid_client", "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application.\r\nTrace ID: 0000")
		return false
	}
	if problem := f.checkAssertion(form.Get("client_assertion"), form.Get("client_id")); problem != "" {
		tokenErr(w, http.StatusUnauthorized, "invalid_client", problem+"\r\nTrace ID: 0000\r\nCorrelation ID: 0000")
		return false
	}
	f.assertions++
	return true
}

// checkAssertion verifies a client assertion JWT, or says, as Entra ID would, what is
// wrong with it.
func (f *fakeGraph) checkAssertion(jwt, clientID string) string {
	const malformed = "AADSTS50027: JWT token is invalid or is malformed."
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return malformed
	}
	enc := base64.RawURLEncoding
	rawHeader, err1 := enc.DecodeString(parts[0])
	rawClaims, err2 := enc.DecodeString(parts[1])
	sig, err3 := enc.DecodeString(parts[2])
	var header map[string]any
	var claims struct {
		Aud, Iss, Sub, Jti string
		Exp, Nbf, Iat      *float64
	}
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(rawHeader, &header) != nil || json.Unmarshal(rawClaims, &claims) != nil {
		return malformed
	}
	if header["typ"] != nil && header["typ"] != "JWT" {
		return malformed
	}
	if f.cert == nil {
		return "AADSTS700027: The application has no certificate credentials."
	}
	x5t, x5tS256 := fixtureThumbprints(f.cert)
	h1, ok1 := header["x5t"].(string)
	h256, ok256 := header["x5t#S256"].(string)
	if !ok1 && !ok256 || ok1 && h1 != x5t || ok256 && h256 != x5tS256 {
		return "AADSTS700027: Client assertion failed signature validation. [Reason - The key was not found.]"
	}
	pub, ok := f.cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return "AADSTS700027: Client assertion failed signature validation. [Reason - The key type is not supported.]"
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	var verr error
	switch header["alg"] {
	case "RS256":
		verr = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
	case "PS256":
		verr = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, nil)
	default:
		return "AADSTS5002738: Invalid JWT token. The signing algorithm is not supported."
	}
	if verr != nil {
		return "AADSTS700027: Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value.]"
	}
	if claims.Aud != f.tokenURL() {
		return fmt.Sprintf("AADSTS50013: Assertion audience claim does not match the required value. The audience in the assertion was '%s' and the expected audience is '%s'.", claims.Aud, f.tokenURL())
	}
	if claims.Iss != fakeClientID || claims.Sub != fakeClientID || clientID != "" && clientID != fakeClientID {
		return "AADSTS700021: Client assertion application identifier doesn't match 'client_id' parameter."
	}
	now := time.Now()
	if f.now != nil {
		now = f.now()
	}
	const skew = 5 * time.Minute
	if claims.Exp == nil || !time.Unix(int64(*claims.Exp), 0).After(now) ||
		claims.Nbf != nil && time.Unix(int64(*claims.Nbf), 0).After(now.Add(skew)) {
		return "AADSTS700024: Client assertion is not within its valid time range."
	}
	if claims.Jti == "" || f.jtis[claims.Jti] {
		return "AADSTS700025: Client assertion has already been used (its jti is not new)."
	}
	f.jtis[claims.Jti] = true
	return ""
}

// fixtureThumbprints computes a certificate's x5t and x5t#S256 as RFC 7515 §4.1.7–8
// define them, apart from the connector's code.
func fixtureThumbprints(cert *x509.Certificate) (x5t, x5tS256 string) {
	s1 := sha1.Sum(cert.Raw)
	s256 := sha256.Sum256(cert.Raw)
	return base64.RawURLEncoding.EncodeToString(s1[:]), base64.RawURLEncoding.EncodeToString(s256[:])
}

// selected parses $select, answering 400 for a property a user does not have.
func (f *fakeGraph) selected(w http.ResponseWriter, q url.Values, allow ...string) ([]string, bool) {
	sel := strings.Split(q.Get("$select"), ",")
	if q.Get("$select") == "" {
		sel = []string{"businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"}
	}
	for _, p := range sel {
		if !userProperties[p] && !slices.Contains(allow, p) {
			graphErr(w, http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf("Could not find a property named '%s' on type 'Microsoft.DirectoryServices.User'.", p))
			return nil, false
		}
	}
	return sel, true
}

// render is a user as a collection answer carries it: the selected properties, null
// when unset.
func render(u *fakeUser, sel []string) map[string]any {
	out := map[string]any{}
	for _, p := range sel {
		if p == "manager" {
			continue
		}
		v, ok := u.props[p]
		if !ok {
			v = nil
		}
		out[p] = v
	}
	if id, ok := u.props["id"]; ok {
		out["id"] = id
	} else {
		delete(out, "id")
	}
	return out
}

func (f *fakeGraph) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sel, ok := f.selected(w, q)
	if !ok {
		return
	}
	top := 100
	if t := q.Get("$top"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 1 || n > 999 {
			graphErr(w, http.StatusBadRequest, "Request_UnsupportedQuery", "Invalid page size specified: '"+t+"'. Must be between 1 and 999 inclusive.")
			return
		}
		top = n
	}
	expand := q.Get("$expand")
	if expand != "" && expand != "manager($select=id)" && expand != "manager" {
		graphErr(w, http.StatusBadRequest, "Request_BadRequest", "Unsupported expand.")
		return
	}
	start := 0
	if st := q.Get("$skiptoken"); st != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(st, "X"))
		if err != nil {
			graphErr(w, http.StatusBadRequest, "Directory_ExpiredPageToken", "The specified page token value has expired and can no longer be included in your request.")
			return
		}
		start = n
	}
	value := []any{}
	i := start
	for ; i < len(f.order) && len(value) < top; i++ {
		u := f.users[f.order[i]]
		if u.removed != "" {
			continue
		}
		m := render(u, sel)
		if expand != "" && u.manager != "" {
			m["manager"] = map[string]any{"@odata.type": "#microsoft.graph.user", "id": u.manager}
		}
		if raw, ok := u.props["@raw"]; ok {
			value = append(value, json.RawMessage(raw.(string)))
			continue
		}
		value = append(value, m)
	}
	page := map[string]any{"@odata.context": f.srv.URL + "/v1.0/$metadata#users(" + strings.Join(sel, ",") + ")", "value": value}
	for ; i < len(f.order) && f.users[f.order[i]].removed != ""; i++ {
	}
	if i < len(f.order) {
		q.Set("$skiptoken", "X"+strconv.Itoa(i))
		page["@odata.nextLink"] = f.srv.URL + "/v1.0/users?" + q.Encode()
	}
	writeJSON(w, page)
}

// delta serves users/delta. Its state tokens say which changes they follow:
// deltatoken=V (changes after version V), skiptoken=V.U.O (changes after V up to U,
// from offset O).
func (f *fakeGraph) delta(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Has("$top") || q.Has("$expand") || q.Has("$orderby") {
		graphErr(w, http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported query.")
		return
	}
	sel, ok := f.selected(w, q, "manager")
	if !ok {
		return
	}
	link := func(kind, token string) string {
		v := url.Values{"$select": {strings.Join(sel, ",")}, kind: {token}}
		return f.srv.URL + "/v1.0/users/delta?" + v.Encode()
	}
	page := map[string]any{"@odata.context": f.srv.URL + "/v1.0/$metadata#users", "value": []any{}}
	var since, upto, offset int
	switch dt, st := q.Get("$deltatoken"), q.Get("$skiptoken"); {
	case dt == "latest":
		page["@odata.deltaLink"] = link("$deltatoken", strconv.Itoa(f.version))
		writeJSON(w, page)
		return
	case dt != "":
		n, err := strconv.Atoi(dt)
		if err != nil {
			graphErr(w, http.StatusBadRequest, "Request_BadRequest", "Invalid delta token.")
			return
		}
		since, upto = n, f.version
	case st != "":
		if _, err := fmt.Sscanf(st, "%d.%d.%d", &since, &upto, &offset); err != nil {
			graphErr(w, http.StatusBadRequest, "Directory_ExpiredPageToken", "The specified page token value has expired and can no longer be included in your request.")
			return
		}
	default:
		since, upto = 0, f.version // the initial round: everyone there is
	}
	var changed []*fakeUser
	for _, id := range f.order {
		if u := f.users[id]; u.version > since && u.version <= upto {
			changed = append(changed, u)
		}
	}
	value := []any{}
	end := min(offset+f.deltaPage, len(changed))
	for _, u := range changed[offset:end] {
		if u.removed != "" {
			value = append(value, map[string]any{"id": u.props["id"], "@removed": map[string]any{"reason": u.removed}})
			continue
		}
		m := render(u, sel)
		if slices.Contains(sel, "manager") && u.props["@managerChanged"] == true {
			md := []any{}
			if u.manager != "" {
				md = append(md, map[string]any{"@odata.type": "#microsoft.graph.user", "id": u.manager})
			}
			m["manager@delta"] = md
		}
		value = append(value, m)
	}
	page["value"] = value
	if end < len(changed) {
		page["@odata.nextLink"] = link("$skiptoken", fmt.Sprintf("%d.%d.%d", since, upto, end))
	} else {
		page["@odata.deltaLink"] = link("$deltatoken", strconv.Itoa(upto))
	}
	writeJSON(w, page)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

func graphErr(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code": code, "message": message,
		"innerError": map[string]any{"date": "2026-12-03T14:00:00", "request-id": "a0b1c2d3", "client-request-id": "a0b1c2d3"},
	}})
}

func tokenErr(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": code, "error_description": desc,
		"error_codes": []int{7000215}, "timestamp": "2026-12-03 14:00:00Z", "trace_id": "0000", "correlation_id": "0000"})
}

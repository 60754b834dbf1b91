package google

// fakeGoogle is a local Admin SDK Directory API and Google OAuth 2.0 token endpoint
// that behaves as Google documents them, not as the connector happens to expect. It
// follows:
//
//   - the Directory API's discovery document (admin/directory/v1/admin-api.json, as
//     published with googleapis/google-api-go-client): GET admin/directory/v1/users
//     with customer or domain (one of them required), maxResults (1–500, default 100),
//     pageToken/nextPageToken, projection (basic, custom with customFieldMask, full;
//     customSchemas only beyond basic), viewType (admin_view, domain_public), the
//     standard fields parameter (partial response); the User schema and its entries
//     (UserName, UserOrganization, UserRelation, UserExternalId, UserPhone,
//     UserLocation, UserLanguage, UserCustomProperties) for names and shapes; GET
//     users/{userKey}/photos/thumbnail answering a UserPhoto whose photoData is
//     web-safe base64;
//   - the Directory API's "Limits and quotas" page: 403 with reason
//     userRateLimitExceeded or quotaExceeded, 503 backendError, to be retried with
//     exponential back-off; Google APIs' error object ({"error": {"code", "message",
//     "errors": [{"domain", "reason", "message"}], "status"}}), 401 authError for a
//     token that is expired or unknown, 403 forbidden ("Not Authorized to access this
//     resource/api") for a subject without the privilege;
//   - "Using OAuth 2.0 for Server to Server Applications" (the service account flow with
//     domain-wide delegation): POST token_uri with grant_type
//     urn:ietf:params:oauth:grant-type:jwt-bearer and an RS256-signed assertion whose
//     header names the key (kid) and whose claims are iss (client_email), scope
//     (space-separated), aud (token_uri), sub (the user impersonated), iat and exp (at
//     most an hour apart). The fake checks the signature against the public half of the
//     test key; invalid_grant "Invalid JWT Signature." otherwise, invalid_grant "Invalid
//     email or User ID" for an unknown subject, unauthorized_client for a scope not
//     delegated; a token answer is {"access_token", "expires_in", "token_type":
//     "Bearer"}.

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
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
	fakeAdmin    = "admin@example.com"
	fakeAccount  = "peoplesync@example-project.iam.gserviceaccount.com"
	fakeKeyID    = "3b2e5c1f0d9a8e7f6a5b4c3d2e1f0a9b8c7d6e5f"
	fakeCustomer = "C03az79cb"
)

// testKeys are the service account's key and another one (a key that was rotated
// away), generated once per test binary.
var testKeys = sync.OnceValue(func() [2]*rsa.PrivateKey {
	var keys [2]*rsa.PrivateKey
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		keys[i] = k
	}
	return keys
})

// keyJSON is a service account JSON key as the Cloud console downloads it, with key's
// private half and tokenURI.
func keyJSON(key *rsa.PrivateKey, tokenURI string) string {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		panic(err)
	}
	b, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "example-project", "private_key_id": fakeKeyID,
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": fakeAccount, "client_id": "109876543210987654321",
		"auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": tokenURI,
		"auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
		"universe_domain":             "googleapis.com",
	})
	return string(b)
}

// fakeUser is one user of the fake directory: the User resource as the API returns it
// with projection=full, and the photo's bytes.
type fakeUser struct {
	res   map[string]any
	photo []byte
	// raw, if set, is sent instead of res (bytes JSON could not encode).
	raw string
}

// fakeGoogle is the fake. Its hooks run under its lock.
type fakeGoogle struct {
	t   testing.TB
	srv *httptest.Server
	ca  string // PEM file of the server's certificate

	mu    sync.Mutex
	users []*fakeUser
	// rendered caches each user's JSON by the query that shaped it (the benchmark
	// reads 100k users many times).
	rendered map[string][]byte
	tokens   map[string]int // token → API requests it may still serve (-1: unlimited)
	issued   int
	requests int // API requests, all of them
	// tokenUses: how many API requests a token serves before the API calls it expired
	// (0: unlimited). tokenLifetime is the expires_in of each token.
	tokenUses     int
	tokenLifetime int
	// delegated are the scopes of the domain-wide delegation; admins the subjects
	// the service account may act as.
	delegated []string
	admins    []string
	// revoked: the service account's key was deleted: every assertion is refused.
	revoked bool
	// fault, if set, may answer an API request instead of the fake (n counts the API
	// requests, from 1): status, Retry-After, reason, and whether it answered.
	fault     func(r *http.Request, n int) (status int, retryAfter, reason string, answered bool)
	paths     []string // request paths with queries, in order
	keepPaths bool
}

func newFakeGoogle(t testing.TB) *fakeGoogle {
	f := &fakeGoogle{t: t, tokens: map[string]int{}, rendered: map[string][]byte{}, keepPaths: true,
		tokenLifetime: 3599, delegated: []string{scope}, admins: []string{fakeAdmin}}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	f.ca = filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw})
	if err := os.WriteFile(f.ca, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// key is the service account's JSON key for this fake's token endpoint.
func (f *fakeGoogle) key() string { return keyJSON(testKeys()[0], f.srv.URL+"/token") }

// config is a connector config for the fake, with extra attributes merged in.
func (f *fakeGoogle) config(extra map[string]any) json.RawMessage {
	c := map[string]any{
		"credentials": f.key(), "subject": fakeAdmin,
		"api_url": f.srv.URL, "ca_file": f.ca, "requests_per_second": 10000,
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

func (f *fakeGoogle) add(users ...*fakeUser) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, u := range users {
		if u.res != nil {
			u.res["kind"] = "admin#directory#user"
			if id, ok := u.res["id"].(string); ok {
				u.res["etag"] = `"` + id + `/etag"`
			}
			u.res["lastLoginTime"] = time.Now().UTC().Format(time.RFC3339Nano)
		}
		f.users = append(f.users, u)
	}
	clear(f.rendered)
}

func (f *fakeGoogle) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.keepPaths {
		f.paths = append(f.paths, r.Method+" "+r.URL.RequestURI())
	}
	if r.URL.Path == "/token" {
		f.token(w, r)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/admin/directory/v1/")
	if !ok || r.Method != http.MethodGet {
		apiErr(w, http.StatusNotFound, "notFound", "Not Found")
		return
	}
	f.requests++
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if left, known := f.tokens[tok]; !known || left == 0 {
		apiErr(w, http.StatusUnauthorized, "authError", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
		return
	} else if left > 0 {
		f.tokens[tok] = left - 1
	}
	if f.fault != nil {
		if status, after, reason, answered := f.fault(r, f.requests); answered {
			if after != "" {
				w.Header().Set("Retry-After", after)
			}
			apiErr(w, status, reason, map[string]string{
				"userRateLimitExceeded": "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user'.",
				"rateLimitExceeded":     "Rate Limit Exceeded", "quotaExceeded": "Quota exceeded",
				"backendError": "Backend Error", "forbidden": "Not Authorized to access this resource/api",
			}[reason])
			return
		}
	}
	parts := strings.Split(rest, "/")
	switch {
	case len(parts) == 1 && parts[0] == "users":
		f.list(w, r)
	case len(parts) == 4 && parts[0] == "users" && parts[2] == "photos" && parts[3] == "thumbnail":
		f.photo(w, parts[1])
	default:
		apiErr(w, http.StatusNotFound, "notFound", "Not Found")
	}
}

// token serves the OAuth 2.0 token endpoint for the JWT bearer grant.
func (f *fakeGoogle) token(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		tokenErr(w, http.StatusBadRequest, "invalid_request", "Invalid request.")
		return
	}
	if g := r.PostForm.Get("grant_type"); g != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		tokenErr(w, http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type: "+g)
		return
	}
	claims, problem := verifyAssertion(r.PostForm.Get("assertion"), &testKeys()[0].PublicKey)
	if problem == "" && f.revoked {
		problem = "Invalid JWT Signature."
	}
	if problem != "" {
		tokenErr(w, http.StatusBadRequest, "invalid_grant", problem)
		return
	}
	now := time.Now().Unix()
	switch {
	case claims.Iss != fakeAccount:
		tokenErr(w, http.StatusBadRequest, "invalid_grant", "Invalid grant: account not found")
		return
	case claims.Aud != f.srv.URL+"/token":
		tokenErr(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT: audience is not the token endpoint.")
		return
	case claims.Exp-claims.Iat > 3600 || claims.Exp <= now || claims.Iat > now+300:
		tokenErr(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.")
		return
	case !slices.Contains(f.admins, claims.Sub):
		tokenErr(w, http.StatusBadRequest, "invalid_grant", "Invalid email or User ID")
		return
	}
	for _, s := range strings.Fields(claims.Scope) {
		if !slices.Contains(f.delegated, s) {
			tokenErr(w, http.StatusUnauthorized, "unauthorized_client", "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.")
			return
		}
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := "ya29." + hex.EncodeToString(b)
	f.tokens[tok] = -1
	if f.tokenUses > 0 {
		f.tokens[tok] = f.tokenUses
	}
	f.issued++
	writeJSON(w, map[string]any{"access_token": tok, "expires_in": f.tokenLifetime, "token_type": "Bearer"})
}

// claimSet is the JWT claim set of a service account's assertion.
type claimSet struct {
	Iss   string `json:"iss"`
	Scope string `json:"scope"`
	Aud   string `json:"aud"`
	Sub   string `json:"sub"`
	Iat   int64  `json:"iat"`
	Exp   int64  `json:"exp"`
}

// verifyAssertion checks a JWT's RS256 signature with pub (RFC 7515 §5.2, RFC 7518
// §3.3) and returns its claims, or Google's description of what is wrong.
func verifyAssertion(assertion string, pub *rsa.PublicKey) (claimSet, string) {
	var c claimSet
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return c, "Invalid JWT: not a compact JWS."
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return c, "Invalid JWT: not base64url."
	}
	var h struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
		Kid string `json:"kid"`
	}
	if json.Unmarshal(hb, &h) != nil || h.Alg != "RS256" {
		return c, "Invalid JWT: the algorithm must be RS256."
	}
	if h.Kid != fakeKeyID {
		return c, "Invalid JWT Signature." // no such key of the account
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) != nil {
		return c, "Invalid JWT Signature."
	}
	if json.Unmarshal(cb, &c) != nil {
		return c, "Invalid JWT: the claim set is not JSON."
	}
	return c, ""
}

// fieldSelection parses the fields parameter as far as the connector uses it:
// top-level names and users(NAME,…). nil selects everything.
func fieldSelection(s string) (top map[string]bool, users map[string]bool, ok bool) {
	if s == "" {
		return nil, nil, true
	}
	top = map[string]bool{}
	for s != "" {
		var item string
		depth, i := 0, 0
		for ; i < len(s); i++ {
			switch s[i] {
			case '(':
				depth++
			case ')':
				depth--
			}
			if s[i] == ',' && depth == 0 {
				break
			}
		}
		item, s = s[:i], strings.TrimPrefix(s[i:], ",")
		if name, sub, found := strings.Cut(item, "("); found {
			if name != "users" || !strings.HasSuffix(sub, ")") {
				return nil, nil, false
			}
			users = map[string]bool{}
			for _, u := range strings.Split(strings.TrimSuffix(sub, ")"), ",") {
				if u == "" || strings.ContainsAny(u, "()/") {
					return nil, nil, false
				}
				users[u] = true
			}
			top["users"] = true
			continue
		}
		if item == "" {
			return nil, nil, false
		}
		top[item] = true
	}
	return top, users, true
}

func (f *fakeGoogle) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	customer, domain := q.Get("customer"), q.Get("domain")
	switch {
	case customer == "" && domain == "":
		apiErr(w, http.StatusBadRequest, "badRequest", "Bad Request")
		return
	case customer != "" && customer != "my_customer" && customer != fakeCustomer:
		apiErr(w, http.StatusBadRequest, "badRequest", "Bad Request")
		return
	case customer == "" && domain != "example.com" && domain != "eu.example.com":
		apiErr(w, http.StatusBadRequest, "badRequest", "Domain not found.")
		return
	}
	max := 100
	if m := q.Get("maxResults"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 1 || n > 500 {
			apiErr(w, http.StatusBadRequest, "invalid", "Invalid Input: maxResults")
			return
		}
		max = n
	}
	projection := cmpOr(q.Get("projection"), "basic")
	mask := q.Get("customFieldMask")
	switch {
	case projection != "basic" && projection != "custom" && projection != "full":
		apiErr(w, http.StatusBadRequest, "invalidParameter", "Invalid value for projection")
		return
	case projection == "custom" && mask == "":
		apiErr(w, http.StatusBadRequest, "invalid", "Invalid Input: customFieldMask is required for projection custom")
		return
	}
	if v := q.Get("viewType"); v != "" && v != "admin_view" && v != "domain_public" {
		apiErr(w, http.StatusBadRequest, "invalidParameter", "Invalid value for viewType")
		return
	}
	top, sel, ok := fieldSelection(q.Get("fields"))
	if !ok {
		apiErr(w, http.StatusBadRequest, "invalidParameter", "Invalid field selection "+q.Get("fields"))
		return
	}
	start := 0
	if pt := q.Get("pageToken"); pt != "" {
		b, err := base64.RawURLEncoding.DecodeString(pt)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "offset:"))
		if err != nil || err2 != nil || n < 0 || n > len(f.users) {
			apiErr(w, http.StatusBadRequest, "invalid", "Invalid Input: pageToken")
			return
		}
		start = n
	}
	shape := projection + "|" + mask + "|" + q.Get("fields")
	var out []byte
	out = append(out, '{')
	if top == nil || top["kind"] {
		out = append(out, `"kind":"admin#directory#users","etag":"\"fake/list\"",`...)
	}
	i, n := start, 0
	first := true
	for ; i < len(f.users) && n < max; i++ {
		u := f.users[i]
		if domain != "" && customer == "" {
			email, _ := u.res["primaryEmail"].(string)
			if !strings.HasSuffix(strings.ToLower(email), "@"+domain) {
				continue
			}
		}
		if top == nil || top["users"] {
			if first {
				out = append(out, `"users":[`...)
				first = false
			} else {
				out = append(out, ',')
			}
			out = append(out, f.render(u, i, shape, sel, projection, mask)...)
		}
		n++
	}
	if !first {
		out = append(out, "],"...)
	}
	if i < len(f.users) && (top == nil || top["nextPageToken"]) {
		tok := base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(i)))
		out = append(out, `"nextPageToken":"`+tok+`",`...)
	}
	out = append(bytes.TrimSuffix(out, []byte(",")), '}')
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_, _ = w.Write(out)
}

// render is a user as a list answer of this shape carries it.
func (f *fakeGoogle) render(u *fakeUser, i int, shape string, sel map[string]bool, projection, mask string) []byte {
	if u.raw != "" {
		return []byte(u.raw)
	}
	k := shape + "|" + strconv.Itoa(i)
	if b, ok := f.rendered[k]; ok {
		return b
	}
	m := map[string]any{}
	for name, v := range u.res {
		if sel != nil && !sel[name] {
			continue
		}
		if name == "customSchemas" {
			cs, _ := v.(map[string]any)
			kept := map[string]any{}
			for s, fields := range cs {
				if projection == "full" || (projection == "custom" && slices.Contains(strings.Split(mask, ","), s)) {
					kept[s] = fields
				}
			}
			if len(kept) == 0 {
				continue
			}
			v = kept
		}
		m[name] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		f.t.Fatal(err)
	}
	f.rendered[k] = b
	return b
}

func (f *fakeGoogle) photo(w http.ResponseWriter, key string) {
	for _, u := range f.users {
		if u.res["id"] != key && u.res["primaryEmail"] != key {
			continue
		}
		if len(u.photo) == 0 {
			break
		}
		// Web-safe base64 as the reference describes photoData: - and _, with the
		// padding written as *.
		data := strings.ReplaceAll(base64.URLEncoding.EncodeToString(u.photo), "=", "*")
		writeJSON(w, map[string]any{"kind": "admin#directory#user#photo", "id": key, "etag": `"photo"`,
			"primaryEmail": u.res["primaryEmail"], "mimeType": "image/jpeg", "width": 96, "height": 96, "photoData": data})
		return
	}
	apiErr(w, http.StatusNotFound, "notFound", "Resource Not Found: userKey")
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_ = json.NewEncoder(w).Encode(v)
}

// apiErr writes Google's error object.
func apiErr(w http.ResponseWriter, status int, reason, message string) {
	statusName := map[int]string{400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
		404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}[status]
	domain := "global"
	if strings.Contains(reason, "RateLimit") || strings.Contains(reason, "quota") {
		domain = "usageLimits"
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code": status, "message": message, "status": statusName,
		"errors": []any{map[string]any{"message": message, "domain": domain, "reason": reason}},
	}})
}

func tokenErr(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": code, "error_description": desc})
}

// pageURLs are the list requests among paths, parsed.
func pageURLs(t testing.TB, paths []string) []url.Values {
	var out []url.Values
	for _, p := range paths {
		if u, ok := strings.CutPrefix(p, "GET /admin/directory/v1/users?"); ok {
			q, err := url.ParseQuery(u)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, q)
		}
	}
	return out
}

package entra

// Certificate credentials, against the fake of graph_test.go, whose token endpoint
// verifies client assertions as the Microsoft identity platform's "certificate
// credentials" page (identity-platform/certificate-credentials.md) and RFC 7523 describe
// them.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peoplesync/peoplesync/plugins/internal/connectortesting"
	"github.com/peoplesync/peoplesync/sdk/connector"
)

// testCredential is a self-signed certificate and its key, as an app registration
// would hold the certificate.
type testCredential struct {
	cert            *x509.Certificate
	key             *rsa.PrivateKey
	certPEM, keyPEM string
}

// credentials are made once per test binary: a 2048-bit key takes a while under -race.
var credentials = sync.OnceValue(func() [2]*testCredential {
	return [2]*testCredential{newTestCredential("peoplesync entra test"), newTestCredential("someone else")}
})

func newTestCredential(cn string) *testCredential {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		panic(err)
	}
	return &testCredential{
		cert: cert, key: key,
		certPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		keyPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})),
	}
}

// certConfig is the fake's config with the certificate credential in place of the
// secret.
func certConfig(f *fakeGraph, cred *testCredential, extra map[string]any) json.RawMessage {
	c := map[string]any{"client_secret": nil, "client_certificate": cred.certPEM, "client_private_key": cred.keyPEM}
	for k, v := range extra {
		c[k] = v
	}
	return f.config(c)
}

// assertKeyNotShown fails the test if err shows any part of a private key.
func assertKeyNotShown(t *testing.T, err error, cred *testCredential) {
	t.Helper()
	if err == nil {
		return
	}
	body := strings.Join(strings.Split(cred.keyPEM, "\n")[1:3], "")
	if strings.Contains(err.Error(), "PRIVATE KEY") || strings.Contains(err.Error(), body[:40]) {
		t.Errorf("error %q shows the private key", err)
	}
}

func TestCertificateCredentials(t *testing.T) {
	app := credentials()[0]
	f := newFakeGraph(t)
	f.add(people()...)
	f.cert = app.cert
	var forms []url.Values
	f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/"+fakeTenant+"/oauth2/v2.0/token" {
			_ = r.ParseForm()
			f.mu.Lock()
			forms = append(forms, r.PostForm)
			f.mu.Unlock()
		}
		f.serve(w, r)
	})
	c := newTestConnector(&sleeper{})
	connectortesting.Configure(t, c, certConfig(f, app, map[string]any{"page_size": 2}))
	if err := c.Check(context.Background()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	got, _, err := connectortesting.Read(t, c, connector.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want()) {
		t.Errorf("read %d records, want %d", len(got), len(want()))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	// One token for the check, one for the read: each with its own assertion (the fake
	// refuses a jti it has seen).
	if f.assertions != 2 || len(forms) != 2 {
		t.Fatalf("%d assertions taken in %d token requests, want 2", f.assertions, len(forms))
	}
	for _, form := range forms {
		if form.Has("client_secret") || form.Get("client_id") != fakeClientID {
			t.Errorf("token request %v: want client_id and no client_secret", form)
		}
	}
}

func TestCertificateKeyFileWithBoth(t *testing.T) {
	app := credentials()[0]
	both := app.certPEM + app.keyPEM // one PEM file with the certificate and its key
	cfg, diags := parseConfig(certConfig(newFakeGraph(t), app, map[string]any{"client_certificate": both, "client_private_key": both}))
	if diags.HasErrors() || cfg.cert == nil {
		t.Fatalf("one PEM with the certificate and the key: %+v", diags)
	}
}

// The fake's token endpoint refuses what Entra ID refuses: the key that signed is not
// the certificate's, the certificate is not the app's, the assertion has expired, or
// it was made for another audience.
func TestCertificateAssertionRefused(t *testing.T) {
	app, other := credentials()[0], credentials()[1]
	cases := map[string]struct {
		prepare func(f *fakeGraph, cfg *config, clk *fakeClock)
		reason  string
	}{
		"wrong key": {func(f *fakeGraph, cfg *config, _ *fakeClock) {
			cfg.cert.key = other.key // the app's thumbprints, someone else's signature
		}, "invalid signature"},
		"unregistered certificate": {func(f *fakeGraph, cfg *config, _ *fakeClock) {
			f.cert = other.cert
		}, "key was not found"},
		"expired": {func(f *fakeGraph, cfg *config, clk *fakeClock) {
			now := clk.now()
			f.now = func() time.Time { return now.Add(assertionLifetime) } // Entra's clock, at the assertion's exp
		}, "valid time range"},
		"wrong audience": {func(f *fakeGraph, cfg *config, _ *fakeClock) {
			cfg.tokenURL = "https://login.microsoftonline.com/" + fakeTenant + "/oauth2/v2.0/token"
		}, "audience"},
		"wrong issuer": {func(f *fakeGraph, cfg *config, _ *fakeClock) {
			cfg.clientID = "00000000-0000-0000-0000-000000000000"
		}, "application identifier"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFakeGraph(t)
			f.add(people()...)
			f.cert = app.cert
			cfg, diags := parseConfig(certConfig(f, app, nil))
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			cred := *cfg.cert
			cfg.cert = &cred
			clk := newFakeClock()
			f.now = clk.now // Entra's clock agrees with the connector's, but where a case says
			tokenURL := cfg.tokenURL
			tc.prepare(f, cfg, clk)
			// The assertion is made for cfg; the request always goes to the fake.
			assertion, err := clientAssertion(cfg, clk.now())
			if err != nil {
				t.Fatal(err)
			}
			status, desc := postAssertion(t, f, tokenURL, assertion)
			if status != http.StatusUnauthorized || !strings.Contains(desc, tc.reason) {
				t.Errorf("token endpoint answered %d %q, want 401 saying %q", status, desc, tc.reason)
			}

			// Through the connector (where the config allows it), the read fails with
			// ErrCredentials and never shows the key.
			if name == "unregistered certificate" || name == "expired" {
				c := New().(*Connector)
				c.clock = clk.clock()
				connectortesting.Configure(t, c, certConfig(f, app, nil))
				_, _, err := connectortesting.Read(t, c, connector.ReadRequest{})
				if !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), "client_certificate") {
					t.Errorf("Read = %v, want ErrCredentials naming client_certificate", err)
				}
				assertKeyNotShown(t, err, app)
			}
		})
	}
}

// postAssertion sends a token request with a client assertion, as the connector does.
func postAssertion(t *testing.T, f *fakeGraph, tokenURL, assertion string) (int, string) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {fakeClientID}, "scope": {f.srv.URL + "/.default"},
		"client_assertion_type": {assertionType}, "client_assertion": {assertion}}
	resp, err := f.srv.Client().PostForm(tokenURL, form)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var body struct {
		Description string `json:"error_description"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Description
}

// The assertion is shaped as Microsoft documents it.
func TestClientAssertionShape(t *testing.T) {
	app := credentials()[0]
	f := newFakeGraph(t)
	f.cert = app.cert
	cfg, diags := parseConfig(certConfig(f, app, nil))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	now := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	jwt, err := clientAssertion(cfg, now)
	if err != nil {
		t.Fatal(err)
	}
	header, claims := decodeJWT(t, jwt)
	x5t, x5tS256 := fixtureThumbprints(app.cert)
	if header["alg"] != "RS256" || header["typ"] != "JWT" || header["x5t"] != x5t || header["x5t#S256"] != x5tS256 {
		t.Errorf("header %v", header)
	}
	if claims["aud"] != f.tokenURL() || claims["iss"] != fakeClientID || claims["sub"] != fakeClientID ||
		claims["nbf"] != float64(now.Unix()) || claims["exp"] != float64(now.Add(10*time.Minute).Unix()) {
		t.Errorf("claims %v", claims)
	}
	if jti, _ := claims["jti"].(string); len(jti) != 36 || strings.Count(jti, "-") != 4 {
		t.Errorf("jti %q is not a GUID", jti)
	}
	again, _ := clientAssertion(cfg, now)
	if _, c2 := decodeJWT(t, again); c2["jti"] == claims["jti"] {
		t.Error("two assertions share a jti")
	}
	f.now = func() time.Time { return now.Add(time.Minute) }
	if problem := f.checkAssertion(jwt, fakeClientID); problem != "" {
		t.Errorf("the fake refuses the assertion: %s", problem)
	}
}

func decodeJWT(t *testing.T, jwt string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("%d parts", len(parts))
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(b, dst) != nil {
			t.Fatalf("part %d does not decode", i)
		}
	}
	return header, claims
}

func TestCertificateConfigDiagnostics(t *testing.T) {
	app, other := credentials()[0], credentials()[1]
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sec1, _ := x509.MarshalECPrivateKey(ec)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(ec)
	ecPEM := string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}))
	ecPKCS8 := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))
	f := newFakeGraph(t)
	cases := map[string]struct {
		extra map[string]any
		attr  string
	}{
		"secret and certificate": {map[string]any{"client_secret": fakeSecret}, "client_secret"},
		"no credentials":         {map[string]any{"client_certificate": nil, "client_private_key": nil}, "client_secret"},
		"certificate, no key":    {map[string]any{"client_private_key": nil}, "client_private_key"},
		"key, no certificate":    {map[string]any{"client_certificate": ""}, "client_certificate"},
		"not a certificate":      {map[string]any{"client_certificate": "MIIC..."}, "client_certificate"},
		"key as certificate":     {map[string]any{"client_certificate": app.keyPEM}, "client_certificate"},
		"not a key":              {map[string]any{"client_private_key": app.certPEM}, "client_private_key"},
		"EC key":                 {map[string]any{"client_private_key": ecPEM}, "client_private_key"},
		"EC key in PKCS #8":      {map[string]any{"client_private_key": ecPKCS8}, "client_private_key"},
		"another's key":          {map[string]any{"client_private_key": other.keyPEM}, "client_private_key"},
		"key type":               {map[string]any{"client_private_key": 42}, "client_private_key"},
	}
	for name, tc := range cases {
		_, diags := parseConfig(certConfig(f, app, tc.extra))
		found := false
		for _, d := range diags {
			found = found || (d.Severity == connector.Error && d.Attribute == tc.attr)
			for _, secret := range []string{fakeSecret, app.keyPEM[28:80], other.keyPEM[28:80], ecPEM[31:80], ecPKCS8[28:80]} {
				if strings.Contains(d.Summary+d.Detail, secret) {
					t.Errorf("%s: a diagnostic quotes a secret: %+v", name, d)
				}
			}
		}
		if !found {
			t.Errorf("%s: no error on %s; got %+v", name, tc.attr, diags)
		}
	}
}

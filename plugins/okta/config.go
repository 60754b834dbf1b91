package okta

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/peoplesync/peoplesync/sdk/connector"
)

// Defaults of the config attributes.
const (
	defaultPageSize   = 200 // the most GET /api/v1/users returns in one page
	maxPageSize       = 200
	defaultRate       = 5 // requests a second: half of a common 600/min users limit, which other clients share
	maxRequestsPerSec = 10000
	defaultMaxRetries = 6
	maxRetriesLimit   = 20
	defaultScope      = "okta.users.read"
	defaultTimeout    = 2 * time.Minute
)

var schema = connector.Schema{Attributes: []connector.AttributeSchema{
	{Name: "org_url", Type: connector.String, Required: true,
		Description: "The Okta org's URL, e.g. https://example.okta.com (https only)."},
	{Name: "api_token", Type: connector.String, Sensitive: true,
		Description: `An API token (sent as Authorization: SSWS …), e.g. env("OKTA_API_TOKEN"). Set either api_token or client_id with private_key.`},
	{Name: "client_id", Type: connector.String,
		Description: "The client ID of an API service app granted okta.users.read, for OAuth 2.0 client credentials."},
	{Name: "private_key", Type: connector.String, Sensitive: true,
		Description: `The service app's RSA private key in PEM (PKCS #1 or #8), e.g. file("/run/secrets/okta.pem"); it signs the client assertion (private_key_jwt).`},
	{Name: "key_id", Type: connector.String,
		Description: "The key's kid as registered with the app; optional when the app has one key."},
	{Name: "token_url", Type: connector.String,
		Description: "The token endpoint; default ORG_URL/oauth2/v1/token (the org authorization server)."},
	{Name: "scopes", Type: connector.StringList,
		Description: `Scopes asked for with client credentials; default ["okta.users.read"].`},
	{Name: "ca_file", Type: connector.String,
		Description: "PEM file of extra CAs to trust (a TLS-inspecting proxy); TLS is always verified."},
	{Name: "page_size", Type: connector.Number,
		Description: "Users per page (the limit parameter), 1 to 200; default 200."},
	{Name: "requests_per_second", Type: connector.Number,
		Description: "The most requests a second the connector sends; default 5. It also waits when X-Rate-Limit-Remaining reaches 0."},
	{Name: "max_retries", Type: connector.Number,
		Description: "How often a throttled (429) or failed (5xx, network) request is retried before the read fails; default 6."},
}}

// config is a validated configuration; it is never printed (it holds the secrets).
type config struct {
	org        *url.URL // scheme and host only
	apiToken   string
	clientID   string
	key        *rsa.PrivateKey
	keyID      string
	tokenURL   string
	scopes     []string
	roots      *x509.CertPool // nil: the system's roots
	pageSize   int
	rate       float64
	maxRetries int
}

// parseConfig decodes and validates a config block, reporting every problem as a
// diagnostic on its attribute. No diagnostic quotes api_token or private_key.
func parseConfig(raw json.RawMessage) (*config, connector.Diagnostics) {
	var diags connector.Diagnostics
	errorf := func(attr, summary, detail string, args ...any) {
		diags = append(diags, connector.Diagnostic{
			Severity: connector.Error, Attribute: attr, Summary: summary, Detail: fmt.Sprintf(detail, args...),
		})
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		errorf("", "Invalid Okta connector configuration", "The configuration must be an object.")
		return nil, diags
	}
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !slices.ContainsFunc(schema.Attributes, func(a connector.AttributeSchema) bool { return a.Name == name }) {
			errorf(name, "Unsupported attribute", "The Okta connector has no attribute %q.", name)
		}
	}
	present := func(name string) bool {
		v, ok := fields[name]
		return ok && !bytes.Equal(bytes.TrimSpace(v), []byte("null"))
	}
	decode := func(name, want string, dst any) bool {
		if !present(name) {
			return false
		}
		if err := json.Unmarshal(fields[name], dst); err != nil {
			errorf(name, "Incorrect attribute value type", "%s must be %s.", name, want)
			return false
		}
		return true
	}
	number := func(name string, lo, hi, def float64, whole bool) float64 {
		var n float64
		if !decode(name, "a number", &n) {
			return def
		}
		if n < lo || n > hi || (whole && n != float64(int64(n))) {
			kind := "a number"
			if whole {
				kind = "a whole number"
			}
			errorf(name, "Value out of range", "%s is %v; it must be %s from %v to %v.", name, n, kind, lo, hi)
			return def
		}
		return n
	}

	cfg := &config{}
	var orgURL, privateKey, tokenURL, caFile string
	decode("org_url", "a string", &orgURL)
	decode("api_token", "a string", &cfg.apiToken)
	decode("client_id", "a string", &cfg.clientID)
	decode("private_key", "a string", &privateKey)
	decode("key_id", "a string", &cfg.keyID)
	decode("token_url", "a string", &tokenURL)
	decode("ca_file", "a string", &caFile)
	if !decode("scopes", "a list of strings", &cfg.scopes) || len(cfg.scopes) == 0 {
		cfg.scopes = []string{defaultScope}
	}
	cfg.pageSize = int(number("page_size", 1, maxPageSize, defaultPageSize, true))
	cfg.rate = number("requests_per_second", 0.01, maxRequestsPerSec, defaultRate, false)
	cfg.maxRetries = int(number("max_retries", 0, maxRetriesLimit, defaultMaxRetries, true))

	switch u, problem := httpsURL(orgURL); {
	case orgURL == "":
		errorf("org_url", "Missing org URL", "org_url is the Okta org's URL, e.g. https://example.okta.com.")
	case problem != "":
		errorf("org_url", "Invalid org URL", "org_url %q %s.", orgURL, problem)
	case strings.Trim(u.Path, "/") != "":
		errorf("org_url", "Invalid org URL", "org_url %q has a path; give the org's URL only (the connector adds /api/v1/users).", orgURL)
	default:
		cfg.org = &url.URL{Scheme: u.Scheme, Host: u.Host}
	}

	oauth := cfg.clientID != "" || privateKey != ""
	switch {
	case cfg.apiToken != "" && oauth:
		errorf("api_token", "Two kinds of credentials", "Set either api_token or client_id with private_key, not both.")
	case present("api_token") && cfg.apiToken == "":
		errorf("api_token", "Empty API token", "api_token is empty; an unset env() variable or an empty file gives an empty token.")
	case !oauth && cfg.apiToken == "":
		errorf("api_token", "Missing credentials", `Set api_token (e.g. api_token = env("OKTA_API_TOKEN")), or client_id and private_key of an API service app.`)
	case oauth && strings.TrimSpace(cfg.clientID) == "":
		errorf("client_id", "Missing client ID", "private_key is set; client_id names the API service app it belongs to.")
	case oauth && privateKey == "":
		errorf("private_key", "Missing private key", `client_id is set; private_key is the app's RSA key in PEM, e.g. private_key = file("/run/secrets/okta.pem").`)
	case oauth:
		key, problem := parseKey(privateKey)
		if problem != "" {
			errorf("private_key", "Invalid private key", "private_key %s.", problem)
		}
		cfg.key = key
	}
	if oauth {
		switch {
		case tokenURL != "":
			if _, problem := httpsURL(tokenURL); problem != "" {
				errorf("token_url", "Invalid token URL", "token_url %q %s.", tokenURL, problem)
			}
			cfg.tokenURL = tokenURL
		case cfg.org != nil:
			cfg.tokenURL = cfg.org.String() + "/oauth2/v1/token"
		}
	} else {
		for _, name := range []string{"token_url", "scopes", "key_id"} {
			if present(name) {
				errorf(name, "OAuth settings without OAuth", "%s applies to client credentials (client_id and private_key), not to api_token.", name)
			}
		}
	}

	if caFile != "" {
		pemBytes, err := os.ReadFile(caFile)
		if err != nil {
			errorf("ca_file", "Cannot read the CA file", "%v", err)
		} else {
			roots, err := x509.SystemCertPool()
			if err != nil {
				roots = x509.NewCertPool()
			}
			if !roots.AppendCertsFromPEM(pemBytes) {
				errorf("ca_file", "No certificates in the CA file", "%s holds no PEM certificate.", caFile)
			}
			cfg.roots = roots
		}
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return cfg, diags
}

// httpsURL parses an https URL with a host, or says what is wrong with it: a token or a
// client assertion never travels over plain HTTP.
func httpsURL(s string) (*url.URL, string) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return nil, "is not a URL"
	case u.Scheme != "https":
		return nil, "must be an https:// URL (the connector sends credentials to it)"
	case u.Host == "":
		return nil, "has no host"
	case u.User != nil:
		return nil, "holds a user name or password"
	case u.RawQuery != "" || u.Fragment != "":
		return nil, "must have no query or fragment"
	}
	return u, ""
}

// parseKey reads an RSA private key from PEM (PKCS #1 "RSA PRIVATE KEY" or PKCS #8
// "PRIVATE KEY"), or says what is wrong without quoting it.
func parseKey(s string) (*rsa.PrivateKey, string) {
	block, _ := pem.Decode([]byte(strings.TrimSpace(s)))
	if block == nil {
		return nil, "is not PEM (it should start with -----BEGIN PRIVATE KEY-----)"
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, "is not a readable PKCS #1 RSA key"
		}
		return key, ""
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, "is not a readable PKCS #8 key"
		}
		key, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, "is not an RSA key (the connector signs RS256 client assertions)"
		}
		return key, ""
	}
	return nil, fmt.Sprintf("is a PEM %q block, not a private key", block.Type)
}

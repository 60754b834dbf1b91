package okta

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/peoplesync/peoplesync/plugins/internal/configblock"
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
	b, ok := configblock.Parse(raw, "Okta", schema)
	if !ok {
		return nil, b.Diagnostics()
	}
	cfg := &config{}
	var orgURL, privateKey, tokenURL, caFile string
	b.Decode("org_url", "a string", &orgURL)
	b.Decode("api_token", "a string", &cfg.apiToken)
	b.Decode("client_id", "a string", &cfg.clientID)
	b.Decode("private_key", "a string", &privateKey)
	b.Decode("key_id", "a string", &cfg.keyID)
	b.Decode("token_url", "a string", &tokenURL)
	b.Decode("ca_file", "a string", &caFile)
	if !b.Decode("scopes", "a list of strings", &cfg.scopes) || len(cfg.scopes) == 0 {
		cfg.scopes = []string{defaultScope}
	}
	cfg.pageSize = int(b.Number("page_size", 1, maxPageSize, defaultPageSize, true))
	cfg.rate = b.Number("requests_per_second", 0.01, maxRequestsPerSec, defaultRate, false)
	cfg.maxRetries = int(b.Number("max_retries", 0, maxRetriesLimit, defaultMaxRetries, true))

	switch u, problem := httpsURL(orgURL); {
	case orgURL == "":
		b.Errorf("org_url", "Missing org URL", "org_url is the Okta org's URL, e.g. https://example.okta.com.")
	case problem != "":
		b.Errorf("org_url", "Invalid org URL", "org_url %q %s.", orgURL, problem)
	case strings.Trim(u.Path, "/") != "":
		b.Errorf("org_url", "Invalid org URL", "org_url %q has a path; give the org's URL only (the connector adds /api/v1/users).", orgURL)
	default:
		cfg.org = &url.URL{Scheme: u.Scheme, Host: u.Host}
	}

	oauth := cfg.clientID != "" || privateKey != ""
	switch {
	case cfg.apiToken != "" && oauth:
		b.Errorf("api_token", "Two kinds of credentials", "Set either api_token or client_id with private_key, not both.")
	case b.Present("api_token") && cfg.apiToken == "":
		b.Errorf("api_token", "Empty API token", "api_token is empty; an unset env() variable or an empty file gives an empty token.")
	case !oauth && cfg.apiToken == "":
		b.Errorf("api_token", "Missing credentials", `Set api_token (e.g. api_token = env("OKTA_API_TOKEN")), or client_id and private_key of an API service app.`)
	case oauth && strings.TrimSpace(cfg.clientID) == "":
		b.Errorf("client_id", "Missing client ID", "private_key is set; client_id names the API service app it belongs to.")
	case oauth && privateKey == "":
		b.Errorf("private_key", "Missing private key", `client_id is set; private_key is the app's RSA key in PEM, e.g. private_key = file("/run/secrets/okta.pem").`)
	case oauth:
		key, problem := parseKey(privateKey)
		if problem != "" {
			b.Errorf("private_key", "Invalid private key", "private_key %s.", problem)
		}
		cfg.key = key
	}
	if oauth {
		switch {
		case tokenURL != "":
			if _, problem := httpsURL(tokenURL); problem != "" {
				b.Errorf("token_url", "Invalid token URL", "token_url %q %s.", tokenURL, problem)
			}
			cfg.tokenURL = tokenURL
		case cfg.org != nil:
			cfg.tokenURL = cfg.org.String() + "/oauth2/v1/token"
		}
	} else {
		for _, name := range []string{"token_url", "scopes", "key_id"} {
			if b.Present(name) {
				b.Errorf(name, "OAuth settings without OAuth", "%s applies to client credentials (client_id and private_key), not to api_token.", name)
			}
		}
	}

	if caFile != "" {
		cfg.roots = b.CAFile("ca_file", caFile, true)
	}
	if b.HasErrors() {
		return nil, b.Diagnostics()
	}
	return cfg, b.Diagnostics()
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

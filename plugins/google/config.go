package google

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/url"
	"slices"
	"strings"
	"time"

	googleoauth "golang.org/x/oauth2/google"
	"golang.org/x/oauth2/jwt"

	"github.com/peoplesync/peoplesync/plugins/internal/configblock"
	"github.com/peoplesync/peoplesync/sdk/connector"
)

// Defaults and bounds of the config attributes.
const (
	defaultAPIURL      = "https://admin.googleapis.com"
	defaultCustomer    = "my_customer" // the alias of the admin's own account
	defaultPageSize    = 500           // the most users.list returns in one page
	maxPageSize        = 500
	defaultRate        = 20 // requests a second; the default quota is 2,400 a minute (40/s)
	maxRequestsPerSec  = 10000
	defaultMaxRetries  = 6
	maxRetriesLimit    = 20
	defaultHTTPTimeout = 2 * time.Minute
	// scope is the only one the connector asks for: reading users (and their photos).
	scope = "https://www.googleapis.com/auth/admin.directory.user.readonly"
	// allSchemas in custom_schemas asks for every custom schema (projection=full).
	allSchemas = "*"
)

var schema = connector.Schema{Attributes: []connector.AttributeSchema{
	{Name: "credentials", Type: connector.String, Required: true, Sensitive: true,
		Description: `The service account's JSON key, e.g. file("/run/secrets/google-sa.json") or env("GOOGLE_SA_KEY"). The service account needs domain-wide delegation of the admin.directory.user.readonly scope. Never logged or printed.`},
	{Name: "subject", Type: connector.String, Required: true,
		Description: "The email address of the admin the service account acts as (domain-wide delegation); the admin must be allowed to read users."},
	{Name: "customer", Type: connector.String,
		Description: `The customer ID whose users are read; default "my_customer", the admin's own account. Set customer or domain, not both.`},
	{Name: "domain", Type: connector.String,
		Description: "Read only the users of this domain of the account, instead of all of the customer's."},
	{Name: "custom_schemas", Type: connector.StringList,
		Description: `Custom schemas to read (projection=custom), e.g. ["Employment"]; ["*"] reads every one (projection=full). Default: none.`},
	{Name: "include_photo", Type: connector.Bool,
		Description: "Also read each person's photo (96×96 pixels; one more request per person who has one, each read; default false)."},
	{Name: "page_size", Type: connector.Number,
		Description: "Users per page (maxResults), 1 to 500; default 500."},
	{Name: "requests_per_second", Type: connector.Number,
		Description: "The most requests a second the connector sends to Google; default 20 (the default quota allows 40)."},
	{Name: "max_retries", Type: connector.Number,
		Description: "How often a throttled (429, 403 rate limit) or failed (5xx, network) request is retried before the read fails; default 6."},
	{Name: "api_url", Type: connector.String,
		Description: "The Admin SDK endpoint; default https://admin.googleapis.com (a local test server; https only)."},
	{Name: "ca_file", Type: connector.String,
		Description: "PEM file of extra CAs to trust for the API and token endpoints (a TLS-inspecting proxy); TLS is always verified."},
}}

// config is a validated configuration; it is never printed (it holds the key).
type config struct {
	jwt        *jwt.Config // the service account, its key and token endpoint, and subject
	customer   string      // "" when domain is set
	domain     string
	projection string   // basic, custom or full
	customMask []string // customFieldMask, for projection custom
	apiURL     *url.URL // without a trailing slash
	roots      *x509.CertPool
	photo      bool
	pageSize   int
	rate       float64
	maxRetries int
	clientID   string // the service account's client_id: what domain-wide delegation names
}

// parseConfig decodes and validates a config block, reporting every problem as a
// diagnostic on its attribute. No diagnostic quotes the key or any part of it.
func parseConfig(raw json.RawMessage) (*config, connector.Diagnostics) {
	b, ok := configblock.Parse(raw, "Google Workspace", schema)
	if !ok {
		return nil, b.Diagnostics()
	}
	cfg := &config{}
	var key, subject, apiURL, caFile string
	var schemas []string
	b.Decode("credentials", "a string (the JSON key)", &key)
	b.Decode("subject", "a string", &subject)
	b.Decode("customer", "a string", &cfg.customer)
	b.Decode("domain", "a string", &cfg.domain)
	b.Decode("custom_schemas", "a list of schema names", &schemas)
	b.Decode("include_photo", "a bool", &cfg.photo)
	b.Decode("api_url", "a string", &apiURL)
	b.Decode("ca_file", "a string", &caFile)
	cfg.pageSize = int(b.Number("page_size", 1, maxPageSize, defaultPageSize, true))
	cfg.rate = b.Number("requests_per_second", 0.01, maxRequestsPerSec, defaultRate, false)
	cfg.maxRetries = int(b.Number("max_retries", 0, maxRetriesLimit, defaultMaxRetries, true))

	if !b.Set("credentials") || key == "" {
		b.Errorf("credentials", "Missing credentials", `credentials is the service account's JSON key; set it from a file or the environment, e.g. credentials = file("/run/secrets/google-sa.json").`)
	} else if jc, clientID, problem := serviceAccount(key); problem != "" {
		b.Errorf("credentials", "Invalid service account key", "credentials %s.", problem)
	} else {
		cfg.jwt, cfg.clientID = jc, clientID
	}
	subject = strings.TrimSpace(subject)
	switch {
	case subject == "":
		b.Errorf("subject", "Missing subject", "subject is the email address of the admin the service account acts as (domain-wide delegation).")
	case !isEmail(subject):
		b.Errorf("subject", "Invalid subject", "subject %q is not an email address; it must be an admin's.", subject)
	case cfg.jwt != nil:
		cfg.jwt.Subject = subject
	}

	cfg.customer, cfg.domain = strings.TrimSpace(cfg.customer), strings.TrimSpace(cfg.domain)
	switch {
	case cfg.customer != "" && cfg.domain != "":
		b.Errorf("domain", "Both customer and domain", "Set customer (all of an account's users) or domain (the users of one of its domains), not both.")
	case cfg.domain != "" && !isDomain(cfg.domain):
		b.Errorf("domain", "Invalid domain", "domain %q is not a domain name.", cfg.domain)
	case cfg.customer != "" && !isToken(cfg.customer):
		b.Errorf("customer", "Invalid customer", "customer %q is neither a customer ID (such as C01234567) nor my_customer.", cfg.customer)
	case cfg.customer == "" && cfg.domain == "":
		cfg.customer = defaultCustomer
	}

	cfg.projection = "basic"
	switch {
	case len(schemas) == 1 && schemas[0] == allSchemas:
		cfg.projection = "full"
	case len(schemas) > 0:
		cfg.projection = "custom"
		for _, s := range schemas {
			if s == allSchemas || !isToken(s) {
				b.Errorf("custom_schemas", "Invalid schema name", `custom_schemas lists %q, which is not a schema name (letters, digits and _; or ["*"] alone for every schema).`, s)
				continue
			}
			if !slices.Contains(cfg.customMask, s) {
				cfg.customMask = append(cfg.customMask, s)
			}
		}
	}

	if apiURL == "" {
		apiURL = defaultAPIURL
	}
	if u, problem := httpsURL(apiURL); problem != "" {
		b.Errorf("api_url", "Invalid API URL", "api_url %q %s.", apiURL, problem)
	} else {
		u.Path = strings.TrimSuffix(u.Path, "/")
		cfg.apiURL = u
	}

	if caFile != "" {
		cfg.roots = b.CAFile("ca_file", caFile, true)
	}
	if b.HasErrors() {
		return nil, b.Diagnostics()
	}
	return cfg, b.Diagnostics()
}

// serviceAccount reads a service account's JSON key into a JWT config for the
// connector's scope and the account's client ID, or says what is wrong with it,
// quoting none of it.
func serviceAccount(key string) (*jwt.Config, string, string) {
	var f struct {
		Type       string `json:"type"`
		Email      string `json:"client_email"`
		ClientID   string `json:"client_id"`
		PrivateKey string `json:"private_key"`
		TokenURI   string `json:"token_uri"`
	}
	if json.Unmarshal([]byte(key), &f) != nil {
		return nil, "", "is not a JSON key (download one for the service account in the Google Cloud console, under Keys)"
	}
	if f.Type != "service_account" {
		return nil, "", `is not a service account key (its "type" must be "service_account")`
	}
	if f.Email == "" {
		return nil, "", "has no client_email"
	}
	block, _ := pem.Decode([]byte(f.PrivateKey))
	if block == nil {
		return nil, "", "has no PEM private_key"
	}
	if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
		if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err != nil {
			return nil, "", "has a private_key that is not an RSA key"
		}
	}
	if f.TokenURI != "" {
		if _, problem := httpsURL(f.TokenURI); problem != "" {
			return nil, "", "has a token_uri that " + problem
		}
	}
	jc, err := googleoauth.JWTConfigFromJSON([]byte(key), scope)
	if err != nil {
		return nil, "", "cannot be read as a service account key"
	}
	return jc, f.ClientID, ""
}

// httpsURL parses an https URL with a host, or says what is wrong with it: a token or a
// signed assertion never travels over plain HTTP.
func httpsURL(s string) (*url.URL, string) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return nil, "is not a URL"
	case u.Scheme != "https":
		return nil, "must be an https:// URL (the connector sends tokens to it)"
	case u.Host == "":
		return nil, "has no host"
	case u.RawQuery != "" || u.Fragment != "":
		return nil, "must have no query or fragment"
	}
	return u, ""
}

// isToken reports whether s is a plain identifier: a customer ID or a schema name.
func isToken(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// isDomain reports whether s looks like a domain name.
func isDomain(s string) bool {
	if s == "" || len(s) > 253 || !strings.Contains(s, ".") {
		return false
	}
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// isEmail reports whether s looks like an email address (local@domain).
func isEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	return at > 0 && isDomain(s[at+1:]) && !strings.ContainsAny(s, " \t\r\n")
}

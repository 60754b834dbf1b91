package entra

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/peoplesync/peoplesync/plugins/internal/configblock"
	"github.com/peoplesync/peoplesync/sdk/connector"
)

// Defaults of the config attributes.
const (
	defaultGraphURL    = "https://graph.microsoft.com/v1.0"
	defaultLoginURL    = "https://login.microsoftonline.com"
	defaultPageSize    = 999 // the most GET /users returns in one page
	defaultRate        = 20  // requests a second; Graph's directory limits allow several times this
	defaultMaxRetries  = 6
	maxPageSize        = 999
	maxRequestsPerSec  = 10000
	maxRetriesLimit    = 20
	defaultHTTPTimeout = 2 * time.Minute
)

// defaultProperties are the user properties a read selects: what a profile needs. The
// manager and the photo are not properties; they come as the manager and photo
// attributes (see read.go).
var defaultProperties = []string{
	"id", "onPremisesImmutableId", "userPrincipalName", "mail", "givenName", "surname",
	"displayName", "employeeId", "employeeType", "jobTitle", "department", "companyName",
	"officeLocation", "businessPhones", "mobilePhone", "accountEnabled", "city", "country",
	"state", "streetAddress", "postalCode", "usageLocation", "preferredLanguage", "userType",
	"onPremisesSamAccountName",
}

var schema = connector.Schema{Attributes: []connector.AttributeSchema{
	{Name: "tenant_id", Type: connector.String,
		Description: "The directory (tenant) ID or a verified domain; required unless token_url is set."},
	{Name: "client_id", Type: connector.String, Required: true,
		Description: "The application (client) ID of the app registration, which needs the User.Read.All application permission."},
	{Name: "client_secret", Type: connector.String, Sensitive: true,
		Description: `The app's client secret, e.g. env("ENTRA_CLIENT_SECRET"). Never logged or printed. Set either client_secret or client_certificate with client_private_key.`},
	{Name: "client_certificate", Type: connector.String,
		Description: `The PEM certificate the app registration holds as its credential, e.g. file("/run/secrets/entra.crt") (a chain or the key in the same text is fine; the first certificate is the app's).`},
	{Name: "client_private_key", Type: connector.String, Sensitive: true,
		Description: `The certificate's RSA private key in PEM (PKCS #1 or #8), e.g. file("/run/secrets/entra.key"); it signs the client assertion that stands in for a secret. Never logged or printed.`},
	{Name: "token_url", Type: connector.String,
		Description: "The OAuth 2.0 token endpoint; default https://login.microsoftonline.com/TENANT_ID/oauth2/v2.0/token."},
	{Name: "graph_url", Type: connector.String,
		Description: "The Microsoft Graph endpoint with its version; default https://graph.microsoft.com/v1.0 (a national cloud has its own)."},
	{Name: "scope", Type: connector.String,
		Description: "The scope asked for; default GRAPH_ORIGIN/.default (https://graph.microsoft.com/.default)."},
	{Name: "ca_file", Type: connector.String,
		Description: "PEM file of extra CAs to trust for both endpoints (a TLS-inspecting proxy); TLS is always verified, and both URLs must be https."},
	{Name: "attributes", Type: connector.StringList,
		Description: "User properties to read besides the default ones (e.g. employeeHireDate, onPremisesExtensionAttributes)."},
	{Name: "include_photo", Type: connector.Bool,
		Description: "Also read each person's photo (one more request per person and read; default false)."},
	{Name: "page_size", Type: connector.Number,
		Description: "Users per page of a full read, 1 to 999; default 999."},
	{Name: "requests_per_second", Type: connector.Number,
		Description: "The most requests a second the connector sends to Graph; default 20."},
	{Name: "max_retries", Type: connector.Number,
		Description: "How often a throttled (429) or failed (5xx, network) request is retried before the read fails; default 6."},
}}

// config is a validated configuration. It holds a secret or a private key: it is never
// printed.
type config struct {
	clientID     string
	clientSecret string          // "" with a certificate
	cert         *certCredential // nil with a secret
	tokenURL     string
	graphURL     *url.URL // without a trailing slash
	scope        string
	roots        *x509.CertPool // nil: the system's roots
	properties   []string       // $select of every user request
	photo        bool
	pageSize     int
	rate         float64
	maxRetries   int
}

// parseConfig decodes and validates a config block, reporting every problem as a
// diagnostic on its attribute. No diagnostic quotes client_secret or
// client_private_key.
func parseConfig(raw json.RawMessage) (*config, connector.Diagnostics) {
	b, ok := configblock.Parse(raw, "Entra ID", schema)
	if !ok {
		return nil, b.Diagnostics()
	}
	cfg := &config{}
	var tenant, tokenURL, graphURL, caFile, certPEM, keyPEM string
	b.Decode("tenant_id", "a string", &tenant)
	b.Decode("client_id", "a string", &cfg.clientID)
	b.Decode("client_secret", "a string", &cfg.clientSecret)
	b.Decode("client_certificate", "a string (PEM)", &certPEM)
	b.Decode("client_private_key", "a string (PEM)", &keyPEM)
	b.Decode("token_url", "a string", &tokenURL)
	b.Decode("graph_url", "a string", &graphURL)
	b.Decode("scope", "a string", &cfg.scope)
	b.Decode("ca_file", "a string", &caFile)
	b.Decode("include_photo", "a bool", &cfg.photo)
	cfg.pageSize = int(b.Number("page_size", 1, maxPageSize, defaultPageSize, true))
	cfg.rate = b.Number("requests_per_second", 0.01, maxRequestsPerSec, defaultRate, false)
	cfg.maxRetries = int(b.Number("max_retries", 0, maxRetriesLimit, defaultMaxRetries, true))

	cfg.properties = slices.Clone(defaultProperties)
	var extra []string
	if b.Decode("attributes", "a list of user property names", &extra) {
		for _, p := range extra {
			switch {
			case !isPropertyName(p):
				b.Errorf("attributes", "Invalid property name", "attributes lists %q, which is not a Graph property name (letters and digits only).", p)
			case strings.EqualFold(p, "manager") || strings.EqualFold(p, "photo"):
				b.Errorf("attributes", "Not a property", "%s is read without being listed (the photo with include_photo = true).", p)
			case !slices.ContainsFunc(cfg.properties, func(q string) bool { return strings.EqualFold(p, q) }):
				cfg.properties = append(cfg.properties, p)
			}
		}
	}

	if strings.TrimSpace(cfg.clientID) == "" {
		b.Errorf("client_id", "Missing client ID", "client_id is the application (client) ID of the app registration that may read users.")
	}
	certSet, keySet := strings.TrimSpace(certPEM) != "", strings.TrimSpace(keyPEM) != ""
	switch {
	case cfg.clientSecret != "" && (certSet || keySet):
		b.Errorf("client_secret", "Two kinds of credentials", "Set either client_secret or client_certificate with client_private_key, not both.")
	case cfg.clientSecret != "":
	case !certSet && !keySet:
		b.Errorf("client_secret", "Missing credentials", `client_secret authenticates the app; set it from the environment, e.g. client_secret = env("ENTRA_CLIENT_SECRET"). Or set client_certificate and client_private_key of a certificate the app registration holds.`)
	case !keySet:
		b.Errorf("client_private_key", "Missing private key", `client_certificate is set; client_private_key is its RSA key in PEM, e.g. client_private_key = file("/run/secrets/entra.key").`)
	case !certSet:
		b.Errorf("client_certificate", "Missing certificate", `client_private_key is set; client_certificate is the PEM certificate the app registration holds, e.g. client_certificate = file("/run/secrets/entra.crt").`)
	default:
		cfg.cert = certificateCredential(certPEM, keyPEM, b.Errorf)
	}

	if graphURL == "" {
		graphURL = defaultGraphURL
	}
	if u, problem := httpsURL(graphURL); problem != "" {
		b.Errorf("graph_url", "Invalid Graph URL", "graph_url %q %s.", graphURL, problem)
	} else {
		u.Path = strings.TrimSuffix(u.Path, "/")
		cfg.graphURL = u
		if cfg.scope == "" {
			cfg.scope = u.Scheme + "://" + u.Host + "/.default"
		}
	}
	switch {
	case tokenURL != "":
		if _, problem := httpsURL(tokenURL); problem != "" {
			b.Errorf("token_url", "Invalid token URL", "token_url %q %s.", tokenURL, problem)
		}
		cfg.tokenURL = tokenURL
	case strings.TrimSpace(tenant) == "":
		b.Errorf("tenant_id", "Missing tenant ID", "tenant_id names the directory (its ID or a verified domain); or set token_url.")
	case !isTenant(tenant):
		b.Errorf("tenant_id", "Invalid tenant ID", "tenant_id %q is neither a directory ID nor a domain name.", tenant)
	default:
		cfg.tokenURL = defaultLoginURL + "/" + url.PathEscape(tenant) + "/oauth2/v2.0/token"
	}

	if caFile != "" {
		cfg.roots = b.CAFile("ca_file", caFile, true)
	}
	if b.HasErrors() {
		return nil, b.Diagnostics()
	}
	return cfg, b.Diagnostics()
}

// certificateCredential checks a certificate and its key, reporting a problem on the
// attribute at fault; nil if there is one.
func certificateCredential(certPEM, keyPEM string, errorf func(attr, summary, detail string, args ...any)) *certCredential {
	cert, certProblem := parseCertificate(certPEM)
	if certProblem != "" {
		errorf("client_certificate", "Invalid certificate", "client_certificate %s.", certProblem)
	}
	key, keyProblem := parsePrivateKey(keyPEM)
	if keyProblem != "" {
		errorf("client_private_key", "Invalid private key", "client_private_key %s.", keyProblem)
	}
	if cert == nil || key == nil {
		return nil
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		errorf("client_certificate", "Not an RSA certificate", "client_certificate holds a %s key; the connector signs its client assertions RS256, with an RSA key.", cert.PublicKeyAlgorithm)
		return nil
	}
	if !pub.Equal(key.Public()) {
		errorf("client_private_key", "Key and certificate differ", "client_private_key is not the key of client_certificate (subject %q, SHA-1 thumbprint %X).", cert.Subject.String(), sha1Thumbprint(cert))
		return nil
	}
	x5t, x5tS256 := thumbprints(cert)
	return &certCredential{key: key, x5t: x5t, x5tS256: x5tS256}
}

// httpsURL parses an https URL with a host, or says what is wrong with it. A bearer token
// or a client secret never travels over plain HTTP.
func httpsURL(s string) (*url.URL, string) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return nil, "is not a URL"
	case u.Scheme != "https":
		return nil, "must be an https:// URL (the connector sends secrets and tokens to it)"
	case u.Host == "":
		return nil, "has no host"
	case u.RawQuery != "" || u.Fragment != "":
		return nil, "must have no query or fragment"
	}
	return u, ""
}

// isPropertyName reports whether s can be a Graph property name (what $select takes).
func isPropertyName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// isTenant reports whether s looks like a tenant ID (a GUID) or a domain name.
func isTenant(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

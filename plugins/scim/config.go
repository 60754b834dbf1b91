package scim

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/peoplesync/peoplesync/sdk/connector"
)

const (
	defaultPageSize   = 100
	maxPageSize       = 10000
	defaultMaxRetries = 5
	maxMaxRetries     = 20
	defaultTimeout    = 60 * time.Second
)

var schema = connector.Schema{Attributes: []connector.AttributeSchema{
	{Name: "url", Type: connector.String, Required: true,
		Description: "The SCIM service's base URL, the one /Users and /ServiceProviderConfig hang off, e.g. https://scim.example.com/scim/v2."},
	{Name: "token", Type: connector.String, Sensitive: true,
		Description: `A bearer token (Authorization: Bearer), e.g. env("SCIM_TOKEN"). Set either token or username and password.`},
	{Name: "username", Type: connector.String,
		Description: "The user name for HTTP basic authentication."},
	{Name: "password", Type: connector.String, Sensitive: true,
		Description: `The password for HTTP basic authentication, e.g. file("/run/secrets/scim").`},
	{Name: "allow_insecure_http", Type: connector.Bool,
		Description: "Allow credentials over a plain http:// URL, in clear text on the network."},
	{Name: "ca_file", Type: connector.String,
		Description: "PEM file of the CAs that sign the service's certificate; default: the system's roots. TLS is always verified."},
	{Name: "filter", Type: connector.String,
		Description: `An RFC 7644 filter passed to GET /Users as it is, e.g. "active eq true"; default: every user.`},
	{Name: "page_size", Type: connector.Number,
		Description: "Users asked for per page (the count parameter); default 100. Providers may return fewer."},
	{Name: "requests_per_second", Type: connector.Number,
		Description: "The most requests a second the connector sends; default: no limit beyond the provider's 429 answers."},
	{Name: "max_retries", Type: connector.Number,
		Description: "How often one request is retried after a 429, a 5xx or a network error before the read fails; default 5."},
	{Name: "request_timeout", Type: connector.String,
		Description: `How long one request (one page) may take, as a Go duration; default "60s".`},
}}

// config is a validated configuration; it is never printed (it holds the secrets).
type config struct {
	base       *url.URL // with the path ending in "/"
	token      string
	username   string
	password   string
	roots      *x509.CertPool // nil: system roots
	filter     string
	pageSize   int
	rps        float64 // 0: no limit
	maxRetries int
	timeout    time.Duration
}

// parseConfig decodes and validates a config block, reporting every problem as a
// diagnostic on its attribute. Diagnostics never quote token or password.
func parseConfig(raw json.RawMessage) (*config, connector.Diagnostics) {
	var diags connector.Diagnostics
	errorf := func(attr, summary, detail string, args ...any) {
		diags = append(diags, connector.Diagnostic{
			Severity: connector.Error, Attribute: attr, Summary: summary, Detail: fmt.Sprintf(detail, args...),
		})
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		errorf("", "Invalid SCIM connector configuration", "The configuration must be an object.")
		return nil, diags
	}
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !slices.ContainsFunc(schema.Attributes, func(a connector.AttributeSchema) bool { return a.Name == name }) {
			errorf(name, "Unsupported attribute", "The SCIM connector has no attribute %q.", name)
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

	cfg := &config{pageSize: defaultPageSize, maxRetries: defaultMaxRetries, timeout: defaultTimeout}
	var rawURL, caFile, timeout string
	var insecure bool
	decode("url", "a string", &rawURL)
	decode("token", "a string", &cfg.token)
	decode("username", "a string", &cfg.username)
	decode("password", "a string", &cfg.password)
	decode("allow_insecure_http", "a bool", &insecure)
	decode("ca_file", "a string", &caFile)
	decode("filter", "a string", &cfg.filter)
	whole := func(name string, lo, hi int, dst *int) {
		var n float64
		if !decode(name, "a number", &n) {
			return
		}
		if n < float64(lo) || n > float64(hi) || n != float64(int64(n)) {
			errorf(name, "Invalid "+strings.ReplaceAll(name, "_", " "), "%s is %v; it must be a whole number from %d to %d.", name, n, lo, hi)
			return
		}
		*dst = int(n)
	}
	whole("page_size", 1, maxPageSize, &cfg.pageSize)
	whole("max_retries", 0, maxMaxRetries, &cfg.maxRetries)
	if decode("requests_per_second", "a number", &cfg.rps) && (cfg.rps <= 0 || cfg.rps > 10000) {
		errorf("requests_per_second", "Invalid request rate", "requests_per_second is %v; it must be above 0 and at most 10000 (leave it unset for no limit).", cfg.rps)
	}
	if decode("request_timeout", "a string", &timeout) {
		d, err := time.ParseDuration(timeout)
		switch {
		case err != nil:
			errorf("request_timeout", "Invalid duration", "request_timeout %s is not a duration such as \"60s\" or \"2m\".", quoteValue(timeout))
		case d < time.Second || d > time.Hour:
			errorf("request_timeout", "Invalid duration", "request_timeout is %s; it must be from 1s to 1h.", d)
		default:
			cfg.timeout = d
		}
	}

	u, err := url.Parse(rawURL)
	switch {
	case rawURL == "":
		errorf("url", "Missing SCIM URL", "url is the service's base URL, e.g. https://scim.example.com/scim/v2.")
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		errorf("url", "Invalid SCIM URL", "url %s is not an https:// or http:// URL with a host.", quoteValue(rawURL))
	case u.User != nil:
		// Not quoted: the URL holds a secret.
		errorf("url", "Credentials in the URL", "url holds a user name or password; set username and password (or token) instead, so that they stay secret.")
	case u.RawQuery != "" || u.Fragment != "":
		errorf("url", "Query in the SCIM URL", "url %s has a query or fragment; give the base URL only (use filter to choose users).", quoteValue(rawURL))
	default:
		if !strings.HasSuffix(u.Path, "/") {
			u.Path += "/"
			u.RawPath = ""
		}
		cfg.base = u
	}

	switch {
	case cfg.token != "" && (cfg.username != "" || cfg.password != ""):
		errorf("token", "Two kinds of credentials", "Set either token (bearer authentication) or username and password (basic authentication), not both.")
	case cfg.username != "" && cfg.password == "":
		errorf("password", "Missing password", "username is set but password is empty.")
	case cfg.password != "" && cfg.username == "":
		errorf("username", "Missing user name", "password is set but username is empty.")
	case present("token") && cfg.token == "":
		errorf("token", "Empty token", "token is empty; an unset env() variable or an empty file gives an empty token.")
	}
	if cfg.base != nil && cfg.base.Scheme == "http" && !insecure && (cfg.token != "" || cfg.password != "") {
		errorf("url", "Credentials in clear text",
			"url is a plain http:// URL, so the token or password would cross the network unencrypted. Use https://, or, if you accept that, allow_insecure_http = true.")
	}
	if caFile != "" {
		pemBytes, err := os.ReadFile(caFile)
		if err != nil {
			errorf("ca_file", "Cannot read the CA file", "%v", err)
		} else {
			cfg.roots = x509.NewCertPool()
			if !cfg.roots.AppendCertsFromPEM(pemBytes) {
				errorf("ca_file", "No certificates in the CA file", "%s holds no PEM certificate.", caFile)
			}
		}
	}
	if strings.TrimSpace(cfg.filter) == "" && cfg.filter != "" {
		errorf("filter", "Blank filter", "filter is blank; leave it unset to read every user.")
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return cfg, diags
}

// quoteValue quotes a config value for a diagnostic, cut at 80 characters so that a
// megabyte in the wrong attribute is not echoed whole.
func quoteValue(s string) string {
	const max = 80
	if utf8.RuneCountInString(s) <= max {
		return strconv.Quote(s)
	}
	n := 0
	for i := range s {
		if n == max {
			return strconv.Quote(s[:i]) + "…"
		}
		n++
	}
	return strconv.Quote(s)
}

package scim

import (
	"crypto/x509"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/peoplesync/peoplesync/plugins/internal/configblock"
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
	b, ok := configblock.Parse(raw, "SCIM", schema)
	if !ok {
		return nil, b.Diagnostics()
	}
	cfg := &config{pageSize: defaultPageSize, maxRetries: defaultMaxRetries, timeout: defaultTimeout}
	var rawURL, caFile, timeout string
	var insecure bool
	b.Decode("url", "a string", &rawURL)
	b.Decode("token", "a string", &cfg.token)
	b.Decode("username", "a string", &cfg.username)
	b.Decode("password", "a string", &cfg.password)
	b.Decode("allow_insecure_http", "a bool", &insecure)
	b.Decode("ca_file", "a string", &caFile)
	b.Decode("filter", "a string", &cfg.filter)
	whole := func(name string, lo, hi int, dst *int) {
		var n float64
		if !b.Decode(name, "a number", &n) {
			return
		}
		if n < float64(lo) || n > float64(hi) || n != float64(int64(n)) {
			b.Errorf(name, "Invalid "+strings.ReplaceAll(name, "_", " "), "%s is %v; it must be a whole number from %d to %d.", name, n, lo, hi)
			return
		}
		*dst = int(n)
	}
	whole("page_size", 1, maxPageSize, &cfg.pageSize)
	whole("max_retries", 0, maxMaxRetries, &cfg.maxRetries)
	if b.Decode("requests_per_second", "a number", &cfg.rps) && (cfg.rps <= 0 || cfg.rps > 10000) {
		b.Errorf("requests_per_second", "Invalid request rate", "requests_per_second is %v; it must be above 0 and at most 10000 (leave it unset for no limit).", cfg.rps)
	}
	if b.Decode("request_timeout", "a string", &timeout) {
		d, err := time.ParseDuration(timeout)
		switch {
		case err != nil:
			b.Errorf("request_timeout", "Invalid duration", "request_timeout %s is not a duration such as \"60s\" or \"2m\".", quoteValue(timeout))
		case d < time.Second || d > time.Hour:
			b.Errorf("request_timeout", "Invalid duration", "request_timeout is %s; it must be from 1s to 1h.", d)
		default:
			cfg.timeout = d
		}
	}

	u, err := url.Parse(rawURL)
	switch {
	case rawURL == "":
		b.Errorf("url", "Missing SCIM URL", "url is the service's base URL, e.g. https://scim.example.com/scim/v2.")
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		b.Errorf("url", "Invalid SCIM URL", "url %s is not an https:// or http:// URL with a host.", quoteValue(rawURL))
	case u.User != nil:
		// Not quoted: the URL holds a secret.
		b.Errorf("url", "Credentials in the URL", "url holds a user name or password; set username and password (or token) instead, so that they stay secret.")
	case u.RawQuery != "" || u.Fragment != "":
		b.Errorf("url", "Query in the SCIM URL", "url %s has a query or fragment; give the base URL only (use filter to choose users).", quoteValue(rawURL))
	default:
		if !strings.HasSuffix(u.Path, "/") {
			u.Path += "/"
			u.RawPath = ""
		}
		cfg.base = u
	}

	switch {
	case cfg.token != "" && (cfg.username != "" || cfg.password != ""):
		b.Errorf("token", "Two kinds of credentials", "Set either token (bearer authentication) or username and password (basic authentication), not both.")
	case cfg.username != "" && cfg.password == "":
		b.Errorf("password", "Missing password", "username is set but password is empty.")
	case cfg.password != "" && cfg.username == "":
		b.Errorf("username", "Missing user name", "password is set but username is empty.")
	case b.Present("token") && cfg.token == "":
		b.Errorf("token", "Empty token", "token is empty; an unset env() variable or an empty file gives an empty token.")
	}
	if cfg.base != nil && cfg.base.Scheme == "http" && !insecure && (cfg.token != "" || cfg.password != "") {
		b.Errorf("url", "Credentials in clear text",
			"url is a plain http:// URL, so the token or password would cross the network unencrypted. Use https://, or, if you accept that, allow_insecure_http = true.")
	}
	if caFile != "" {
		cfg.roots = b.CAFile("ca_file", caFile, false)
	}
	if strings.TrimSpace(cfg.filter) == "" && cfg.filter != "" {
		b.Errorf("filter", "Blank filter", "filter is blank; leave it unset to read every user.")
	}
	if b.HasErrors() {
		return nil, b.Diagnostics()
	}
	return cfg, b.Diagnostics()
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

package ldap

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
	"unicode/utf8"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/peoplesync/peoplesync/sdk/connector"
)

// Directory flavors.
const (
	flavorAuto     = "auto"
	flavorOpenLDAP = "openldap"
	flavorAD       = "active_directory"
)

var flavors = []string{flavorAuto, flavorOpenLDAP, flavorAD}

// Default filters per flavor, when filter is unset.
const (
	defaultFilterOpenLDAP = "(objectClass=inetOrgPerson)"
	defaultFilterAD       = "(&(objectCategory=person)(objectClass=user))"
)

const (
	defaultPageSize = 500
	maxPageSize     = 100000
)

var schema = connector.Schema{Attributes: []connector.AttributeSchema{
	{Name: "url", Type: connector.String, Required: true,
		Description: "ldaps://host[:port] or ldap://host[:port] (with start_tls = true to encrypt)."},
	{Name: "allow_insecure_bind", Type: connector.Bool,
		Description: "Allow a bind password over a plain ldap:// connection without start_tls, in clear text on the network."},
	{Name: "start_tls", Type: connector.Bool,
		Description: "Upgrade an ldap:// connection with StartTLS before binding."},
	{Name: "ca_file", Type: connector.String,
		Description: "PEM file of the CAs that sign the server's certificate; default: the system's roots. TLS is always verified."},
	{Name: "bind_dn", Type: connector.String,
		Description: `Who to bind as: a DN; or, on Active Directory (flavor "active_directory", or "auto", which then takes the server for AD), a user principal name (svc-sync@corp.example.com) or a down-level logon name (CORP\svc-sync; in HCL "CORP\\svc-sync"). Empty binds anonymously.`},
	{Name: "bind_password", Type: connector.String, Sensitive: true,
		Description: "The bind_dn account's password, e.g. env(\"LDAP_PASSWORD\")."},
	{Name: "base_dn", Type: connector.String, Required: true,
		Description: "Where people live, e.g. ou=people,dc=example,dc=com."},
	{Name: "scope", Type: connector.String,
		Description: `"sub" (default) or "one".`},
	{Name: "filter", Type: connector.String,
		Description: "Which entries are people; default (objectClass=inetOrgPerson), or (&(objectCategory=person)(objectClass=user)) for Active Directory."},
	{Name: "attributes", Type: connector.StringList,
		Description: `Attributes to read; default ["*"] (all user attributes).`},
	{Name: "page_size", Type: connector.Number,
		Description: "Entries per page of the paged search; default 500."},
	{Name: "flavor", Type: connector.String,
		Description: `"auto" (default: detected from the root DSE), "openldap" or "active_directory".`},
}}

// config is a validated configuration.
type config struct {
	url        string
	ldaps      bool
	startTLS   bool
	caFile     string
	roots      *x509.CertPool // nil: system roots
	bindDN     string         // the bind name, in the form bindForm says
	bindForm   bindForm       // formDN unless the flavor is Active Directory
	password   string
	baseDN     string
	scope      int
	filter     string // "" means the flavor's default
	attributes []string
	pageSize   uint32
	flavor     string
}

// parseConfig decodes and validates a config block, reporting every problem as a
// diagnostic on its attribute. Diagnostics never quote bind_password.
func parseConfig(raw json.RawMessage) (*config, connector.Diagnostics) {
	var diags connector.Diagnostics
	errorf := func(attr, summary, detail string, args ...any) {
		diags = append(diags, connector.Diagnostic{
			Severity: connector.Error, Attribute: attr, Summary: summary, Detail: fmt.Sprintf(detail, args...),
		})
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		errorf("", "Invalid LDAP connector configuration", "The configuration must be an object.")
		return nil, diags
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
	for name := range fields {
		if !slices.ContainsFunc(schema.Attributes, func(a connector.AttributeSchema) bool { return a.Name == name }) {
			errorf(name, "Unsupported attribute", "The LDAP connector has no attribute %q.", name)
		}
	}

	cfg := &config{scope: goldap.ScopeWholeSubtree, pageSize: defaultPageSize, flavor: flavorAuto, attributes: []string{"*"}}
	var scope, flavor string
	decode("url", "a string", &cfg.url)
	decode("start_tls", "a bool", &cfg.startTLS)
	var allowInsecure bool
	decode("allow_insecure_bind", "a bool", &allowInsecure)
	decode("ca_file", "a string", &cfg.caFile)
	decode("bind_dn", "a string", &cfg.bindDN)
	decode("bind_password", "a string", &cfg.password)
	decode("base_dn", "a string", &cfg.baseDN)
	decode("scope", "a string", &scope)
	decode("filter", "a string", &cfg.filter)
	decode("flavor", "a string", &flavor)
	var attrs []string
	if decode("attributes", "a list of attribute names", &attrs) {
		if len(attrs) == 0 {
			errorf("attributes", "No attributes", `attributes lists no attribute; use ["*"] for all user attributes.`)
		}
		for _, a := range attrs {
			if strings.TrimSpace(a) == "" {
				errorf("attributes", "Empty attribute name", "attributes lists an empty name.")
			}
		}
		cfg.attributes = attrs
	}
	var pageSize float64
	if decode("page_size", "a number", &pageSize) {
		if pageSize < 1 || pageSize > maxPageSize || pageSize != float64(int64(pageSize)) {
			errorf("page_size", "Invalid page size", "page_size is %v; it must be a whole number from 1 to %d.", pageSize, maxPageSize)
		} else {
			cfg.pageSize = uint32(pageSize)
		}
	}

	switch u, err := url.Parse(cfg.url); {
	case cfg.url == "":
		errorf("url", "Missing LDAP URL", "url names the server, e.g. ldaps://ldap.example.com.")
	case err != nil || u.Host == "":
		errorf("url", "Invalid LDAP URL", "url %s is not an ldap:// or ldaps:// URL with a host.", quoteValue(cfg.url))
	case strings.EqualFold(u.Scheme, "ldaps"):
		cfg.ldaps = true
		if cfg.startTLS {
			errorf("start_tls", "StartTLS on an ldaps:// URL", "An ldaps:// connection is already encrypted; remove start_tls or use an ldap:// URL.")
		}
	case strings.EqualFold(u.Scheme, "ldap"):
	default:
		errorf("url", "Unsupported URL scheme", "url %s must start with ldap:// or ldaps://.", quoteValue(cfg.url))
	}

	if cfg.caFile != "" {
		pemBytes, err := os.ReadFile(cfg.caFile)
		if err != nil {
			errorf("ca_file", "Cannot read the CA file", "%v", err)
		} else {
			cfg.roots = x509.NewCertPool()
			if !cfg.roots.AppendCertsFromPEM(pemBytes) {
				errorf("ca_file", "No certificates in the CA file", "%s holds no PEM certificate.", cfg.caFile)
			}
		}
	}
	if flavor != "" {
		cfg.flavor = strings.ToLower(flavor)
		if !slices.Contains(flavors, cfg.flavor) {
			errorf("flavor", "Unknown directory flavor", "flavor is %q; it must be one of %s.", flavor, strings.Join(flavors, ", "))
		}
	}
	if cfg.bindDN != "" {
		form, err := parseBindName(cfg.bindDN)
		switch {
		case err != nil:
			errorf("bind_dn", "Invalid bind name",
				`bind_dn %s is not a DN (cn=sync,ou=services,dc=example,dc=com), nor, for Active Directory, a user principal name (svc-sync@corp.example.com) or a down-level logon name (CORP\svc-sync): %v.`,
				quoteValue(cfg.bindDN), err)
		case form != formDN && cfg.flavor == flavorOpenLDAP:
			errorf("bind_dn", "Bind name needs Active Directory",
				`bind_dn %s is %s, which only Active Directory accepts in a bind, and flavor is %q. Give the account's DN, or set flavor = %q (or %q).`,
				quoteValue(cfg.bindDN), form, cfg.flavor, flavorAD, flavorAuto)
		case form != formDN && cfg.flavor == flavorAuto:
			// Only Active Directory binds with such a name, so the server is one: say so
			// now rather than detect it after the bind, which would fail on anything else
			// (and does, with bindError's explanation).
			cfg.flavor = flavorAD
		}
		cfg.bindForm = form
		if cfg.password == "" {
			errorf("bind_password", "Missing bind password", "bind_dn is set but bind_password is empty; an empty password would be an unauthenticated bind.")
		}
	}
	// A password over plain ldap:// travels in clear text; say so unless the file says
	// it knows. No exception for loopback: a config tried on localhost is then deployed
	// with another host, and the clear-text bind would go with it silently.
	if !cfg.ldaps && !cfg.startTLS && cfg.password != "" && !allowInsecure && strings.HasPrefix(strings.ToLower(cfg.url), "ldap://") {
		errorf("url", "Password in clear text",
			"url is a plain ldap:// URL without start_tls, so bind_password would cross the network unencrypted. Use ldaps://, set start_tls = true, or, if you accept that, allow_insecure_bind = true.")
	}
	if cfg.baseDN == "" {
		errorf("base_dn", "Missing base DN", "base_dn is where the people live, e.g. ou=people,dc=example,dc=com.")
	} else if _, err := goldap.ParseDN(cfg.baseDN); err != nil {
		errorf("base_dn", "Invalid base DN", "base_dn %s is not a DN: %v", quoteValue(cfg.baseDN), err)
	}
	switch strings.ToLower(scope) {
	case "", "sub":
	case "one":
		cfg.scope = goldap.ScopeSingleLevel
	default:
		errorf("scope", "Invalid scope", `scope is %q; it must be "sub" or "one".`, scope)
	}
	if cfg.filter != "" {
		if _, err := goldap.CompileFilter(cfg.filter); err != nil {
			errorf("filter", "Invalid LDAP filter", "filter %s: %v", quoteValue(cfg.filter), err)
		}
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return cfg, diags
}

// quoteValue quotes a config value for a diagnostic, cut at 80 characters so that a
// megabyte in the wrong attribute is not echoed whole. The host redacts values that came
// from env() or file(), whole or cut like this, from what this connector reports.
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

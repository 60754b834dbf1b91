// Command acme is the mapping module of ACME Corp, whose people live in one Active
// Directory with house rules of its own:
//
//   - Display names are "Given Family", from the preferred given name when there is one
//     (extensionAttribute1), never AD's "Family, Given" cn; names typed in capitals
//     ("DOE") are written as names ("Doe").
//   - Departments are numeric codes (departmentNumber); the department_codes table in the
//     settings turns them into names. The code itself stays in attributes.department_code.
//   - Service accounts (sAMAccountName svc-*, sa-* or ending in $, or employeeType
//     "service") are skipped.
//   - Phone numbers are normalised to E.164; a number that cannot be is dropped and kept
//     in attributes.phone_unparsed for someone to fix in AD.
//
// Settings:
//
//	country_code     = "1"                         country of national numbers (required)
//	department_codes = { "4711" = "Platform" }      code → department name
//	unknown_department = "keep" | "fail"           an unknown code: keep the code as the
//	                                               name (default) or fail the record
//	service_prefixes = ["svc-", "sa-"]             sAMAccountName prefixes of service
//	                                               accounts (this is the default)
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o mappings/acme/acme.wasm ./mappings/acme
package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/peoplesync/peoplesync/sdk/mapping"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

func main() {}

func init() {
	mapping.Handle(Map)
	mapping.HandleConfigure(check)
}

// Map maps one ACME AD user to a profile, and check validates the settings once, when
// the host configures the module (see parseConfig).
var Map, check = mapping.WithSettings(parseConfig, mapUser)

// mapUser maps one ACME AD user to a profile.
func mapUser(r *mapping.Record, cfg *config) (*profile.Profile, error) {
	sam := mapping.Trim(r.First("sAMAccountName"))
	if sam == "" {
		return nil, errors.New("no sAMAccountName")
	}
	if reason := cfg.serviceAccount(sam, r.First("employeeType")); reason != "" {
		return nil, mapping.Skip(reason)
	}

	p := &profile.Profile{Active: true}
	p.Set(profile.UserName, mapping.Lower(sam))
	given := nameCase(firstNonBlank(r.First("extensionAttribute1"), r.First("givenName")))
	family := nameCase(mapping.Trim(r.First("sn")))
	if given == "" && family == "" {
		given, family = splitCN(mapping.RDN(r.DN))
	}
	if given == "" && family == "" {
		return nil, errors.New("no name: neither givenName, sn nor a cn")
	}
	p.Set(profile.GivenName, given)
	p.Set(profile.FamilyName, family)
	p.Set(profile.DisplayName, strings.TrimSpace(given+" "+family))
	p.Set(profile.Email, mapping.Lower(mapping.Trim(r.First("mail"))))
	p.Set(profile.Title, mapping.Trim(r.First("title")))
	p.Set(profile.EmployeeNumber, mapping.Trim(r.First("employeeID")))
	p.Set(profile.Organization, "ACME Corp")
	p.Set(profile.Location, mapping.Trim(r.First("physicalDeliveryOfficeName")))
	p.Manager = mapping.Trim(r.First("manager"))

	if code := mapping.Trim(r.First("departmentNumber")); code != "" {
		name, ok := cfg.departments[code]
		if !ok {
			if cfg.failUnknown {
				return nil, fmt.Errorf("unknown department code %q (add it to department_codes)", code)
			}
			name = code
		}
		p.Set(profile.Department, name)
		addAttr(p, "department_code", code)
	}
	for _, ph := range []struct{ field, attr string }{
		{profile.PhoneWork, "telephoneNumber"}, {profile.PhoneMobile, "mobile"},
	} {
		raw := mapping.Trim(r.First(ph.attr))
		if raw == "" {
			continue
		}
		if n, ok := mapping.E164(raw, cfg.countryCode); ok {
			p.Set(ph.field, n)
		} else {
			addAttr(p, "phone_unparsed", raw)
		}
	}
	if uac := mapping.Trim(r.First("userAccountControl")); uac != "" {
		v, err := strconv.ParseUint(uac, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("userAccountControl %q is not a number", uac)
		}
		p.Active = v&0x2 == 0 // ACCOUNTDISABLE
	}
	return p, nil
}

// serviceAccount says why an account is a service account, or "".
func (c *config) serviceAccount(sam, employeeType string) string {
	lower := mapping.Lower(sam)
	if strings.HasSuffix(lower, "$") {
		return "machine account " + sam
	}
	for _, prefix := range c.servicePrefixes {
		if strings.HasPrefix(lower, prefix) {
			return "service account " + sam
		}
	}
	if strings.EqualFold(mapping.Trim(employeeType), "service") {
		return "service account " + sam + " (employeeType service)"
	}
	return ""
}

// splitCN reads AD's "Family, Given" or a plain "Given Family" cn.
func splitCN(cn string) (given, family string) {
	if f, g, ok := strings.Cut(cn, ","); ok {
		return nameCase(mapping.Trim(g)), nameCase(mapping.Trim(f))
	}
	cn = mapping.Trim(cn)
	if i := strings.LastIndexByte(cn, ' '); i > 0 {
		return nameCase(cn[:i]), nameCase(cn[i+1:])
	}
	return "", nameCase(cn)
}

// nameCase writes a name typed all in capitals as a name ("MCDONALD-SMITH" becomes
// "Mcdonald-Smith"); any name with a lower-case letter is left as it is ("McDonald").
func nameCase(s string) string {
	s = mapping.Trim(s)
	for _, c := range s {
		if unicode.IsLower(c) {
			return s
		}
	}
	var b strings.Builder
	b.Grow(len(s))
	start := true
	for i := 0; i < len(s); {
		c, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if start {
			b.WriteRune(c)
		} else {
			b.WriteRune(unicode.ToLower(c))
		}
		start = c == ' ' || c == '-' || c == '\''
	}
	return b.String()
}

func firstNonBlank(values ...string) string {
	for _, v := range values {
		if v = mapping.Trim(v); v != "" {
			return v
		}
	}
	return ""
}

func addAttr(p *profile.Profile, key, value string) {
	if p.Attributes == nil {
		p.Attributes = make(map[string]string, 2)
	}
	p.Attributes[key] = value
}

// config is the decoded settings.
type config struct {
	countryCode     string
	departments     map[string]string
	failUnknown     bool
	servicePrefixes []string
}

// parseConfig decodes and checks the settings.
func parseConfig(s *mapping.Settings) (*config, error) {
	c := &config{
		countryCode:     strings.TrimPrefix(mapping.Trim(s.String("country_code", "")), "+"),
		departments:     s.Map("department_codes"),
		servicePrefixes: []string{"svc-", "sa-"},
	}
	var errs []error
	if _, ok := mapping.E164("2025550123", c.countryCode); !ok {
		errs = append(errs, fmt.Errorf("country_code %q is not a country calling code (such as \"1\")", c.countryCode))
	}
	switch u := s.String("unknown_department", "keep"); u {
	case "keep":
	case "fail":
		c.failUnknown = true
	default:
		errs = append(errs, fmt.Errorf("unknown_department %q: want \"keep\" or \"fail\"", u))
	}
	if s.Has("service_prefixes") {
		c.servicePrefixes = nil
		for _, p := range s.Strings("service_prefixes") {
			c.servicePrefixes = append(c.servicePrefixes, mapping.Lower(p))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

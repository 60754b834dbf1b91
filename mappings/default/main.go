// Command default is peoplesync's default mapping module. It maps the attribute names of
// LDAP (inetOrgPerson), Active Directory and common HR exports to the People Service
// profile, and skips computers and records without any name.
//
// Settings (all optional):
//
//	default_country_code = "49"     country of national phone numbers (E.164 normalisation)
//	email_domain         = "example.com"
//	synthesize_email     = true     with email_domain: user_name@email_domain for people
//	                                without a mail attribute (otherwise email stays empty)
//	seeded               = ["locale", "phone_mobile"]   fields the sync only seeds
//	extra_attributes     = { "carLicense" = "car" }      source attribute → attributes key
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o mappings/default/default.wasm ./mappings/default
package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/peoplesync/peoplesync/sdk/mapping"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

func main() {}

// init registers the mapping: a reactor module's main never runs.
func init() {
	mapping.Handle(Map)
	mapping.HandleConfigure(func(s *mapping.Settings) error {
		_, err := configFor(s)
		return err
	})
}

// Source attribute names for each profile field, in order of preference. Names are
// case-insensitive.
var (
	userNameAttrs     = []string{"uid", "sAMAccountName", "userPrincipalName", "user_name", "username", "login"}
	emailAttrs        = []string{"mail", "email", "email_address", "work_email"}
	givenNameAttrs    = []string{"givenName", "given_name", "first_name"}
	familyNameAttrs   = []string{"sn", "surname", "family_name", "last_name"}
	displayNameAttrs  = []string{"displayName", "display_name", "cn", "full_name"}
	titleAttrs        = []string{"title", "job_title"}
	departmentAttrs   = []string{"department", "ou", "department_name"}
	organizationAttrs = []string{"o", "company", "organization"}
	employeeNumAttrs  = []string{"employeeNumber", "employeeID", "employee_number", "employee_id"}
	phoneWorkAttrs    = []string{"telephoneNumber", "phone_work", "work_phone", "phone"}
	phoneMobileAttrs  = []string{"mobile", "phone_mobile", "mobile_phone"}
	localeAttrs       = []string{"preferredLanguage", "locale", "language"}
	timezoneAttrs     = []string{"timezone", "time_zone"}
	locationAttrs     = []string{"l", "physicalDeliveryOfficeName", "location", "office"}
	managerAttrs      = []string{"manager", "manager_id"}
	photoAttrs        = []string{"jpegPhoto", "thumbnailPhoto", "photo"}
)

// extraAttributes are other useful source attributes, kept in the profile's attributes
// under the key given.
var extraAttributes = []struct{ source, key string }{
	{"employeeType", "employee_type"},
	{"employee_type", "employee_type"},
	{"departmentNumber", "department_number"},
	{"costCenter", "cost_center"},
	{"cost_center", "cost_center"},
	{"division", "division"},
	{"businessCategory", "business_category"},
}

// inactiveStatus are HR status values that mean the person has left or is disabled.
var inactiveStatus = map[string]bool{
	"inactive": true, "terminated": true, "disabled": true, "left": true, "leaver": true,
	"suspended": true,
}

// personClasses are the object classes of entries that are people. A record whose
// objectClass lists none of them (a group, a device, an organizational unit) is not one.
var personClasses = map[string]bool{
	"person": true, "organizationalperson": true, "inetorgperson": true, "user": true,
	"posixaccount": true, "shadowaccount": true, "account": true, "residentialperson": true,
}

// notAPerson says why a record with these object classes is not a person, or "" if it
// may be one. HR exports carry no objectClass at all: they are people.
func notAPerson(classes []string) string {
	if len(classes) == 0 {
		return ""
	}
	person := false
	for _, class := range classes {
		lc := strings.ToLower(class)
		if lc == "computer" {
			return "computer account"
		}
		person = person || personClasses[lc]
	}
	if !person {
		return "not a person (objectClass " + strings.Join(classes, ", ") + ")"
	}
	return ""
}

// Map maps one directory record to a profile.
func Map(r *mapping.Record, s *mapping.Settings) (*profile.Profile, error) {
	cfg, err := configFor(s)
	if err != nil {
		return nil, err
	}
	if reason := notAPerson(r.All("objectClass")); reason != "" {
		return nil, mapping.Skip(reason)
	}
	sam := r.First("sAMAccountName")
	if strings.HasSuffix(sam, "$") {
		return nil, mapping.Skip("machine account " + sam)
	}

	p := &profile.Profile{Active: true, Seeded: cfg.seeded[:len(cfg.seeded):len(cfg.seeded)]}
	c := &p.Core
	set := func(field int, attrs []string) { c[field] = first(r, attrs) }

	set(idx.userName, userNameAttrs)
	set(idx.givenName, givenNameAttrs)
	set(idx.familyName, familyNameAttrs)
	set(idx.displayName, displayNameAttrs)
	if c[idx.displayName] == "" {
		c[idx.displayName] = strings.TrimSpace(c[idx.givenName] + " " + c[idx.familyName])
	}
	if c[idx.userName] == "" && c[idx.givenName] == "" && c[idx.familyName] == "" && c[idx.displayName] == "" {
		return nil, mapping.Skip("no name")
	}

	c[idx.email] = mapping.Lower(first(r, emailAttrs))
	if c[idx.email] == "" {
		if upn := mapping.Trim(r.First("userPrincipalName")); strings.Contains(upn, "@") {
			c[idx.email] = mapping.Lower(upn)
		}
	}
	if c[idx.email] == "" && cfg.synthesize && c[idx.userName] != "" {
		local := c[idx.userName]
		if at := strings.IndexByte(local, '@'); at >= 0 {
			local = local[:at]
		}
		c[idx.email] = mapping.Lower(local) + "@" + cfg.emailDomain
	}

	set(idx.title, titleAttrs)
	set(idx.department, departmentAttrs)
	set(idx.organization, organizationAttrs)
	set(idx.employeeNumber, employeeNumAttrs)
	c[idx.phoneWork] = phone(first(r, phoneWorkAttrs), cfg.countryCode)
	c[idx.phoneMobile] = phone(first(r, phoneMobileAttrs), cfg.countryCode)
	set(idx.locale, localeAttrs)
	set(idx.timezone, timezoneAttrs)
	set(idx.location, locationAttrs)
	p.Manager = first(r, managerAttrs)
	p.Active = active(r)
	p.Photo = photo(r)

	for _, e := range extraAttributes {
		addAttribute(p, e.key, r.First(e.source))
	}
	for source, key := range cfg.extra {
		addAttribute(p, key, r.First(source))
	}
	return p, nil
}

// idx holds the index in Profile.Core of each field the mapping sets.
var idx = struct {
	userName, email, givenName, familyName, displayName, title, department, organization,
	employeeNumber, phoneWork, phoneMobile, locale, timezone, location int
}{
	profile.FieldIndex(profile.UserName), profile.FieldIndex(profile.Email),
	profile.FieldIndex(profile.GivenName), profile.FieldIndex(profile.FamilyName),
	profile.FieldIndex(profile.DisplayName), profile.FieldIndex(profile.Title),
	profile.FieldIndex(profile.Department), profile.FieldIndex(profile.Organization),
	profile.FieldIndex(profile.EmployeeNumber), profile.FieldIndex(profile.PhoneWork),
	profile.FieldIndex(profile.PhoneMobile), profile.FieldIndex(profile.Locale),
	profile.FieldIndex(profile.Timezone), profile.FieldIndex(profile.Location),
}

// first returns the first non-blank value among attrs, trimmed.
func first(r *mapping.Record, attrs []string) string {
	for _, a := range attrs {
		for _, v := range r.All(a) {
			if v = mapping.Trim(v); v != "" {
				return v
			}
		}
	}
	return ""
}

func addAttribute(p *profile.Profile, key, value string) {
	value = mapping.Trim(value)
	if value == "" {
		return
	}
	if p.Attributes == nil {
		p.Attributes = make(map[string]string, 4)
	}
	p.Attributes[key] = value
}

// phone normalises a number to E.164, keeping the raw value when that fails.
func phone(raw, countryCode string) string {
	if raw == "" {
		return ""
	}
	if n, ok := mapping.E164(raw, countryCode); ok {
		return n
	}
	return raw
}

// active reads the source's ways of saying a person is disabled: AD's
// userAccountControl ACCOUNTDISABLE bit, 389-ds/OpenLDAP's nsAccountLock, and HR exports'
// status or active columns.
func active(r *mapping.Record) bool {
	if uac := mapping.Trim(r.First("userAccountControl")); uac != "" {
		if v, err := strconv.ParseUint(uac, 10, 32); err == nil && v&0x2 != 0 {
			return false
		}
	}
	if lock := mapping.Trim(r.First("nsAccountLock")); strings.EqualFold(lock, "true") {
		return false
	}
	if status := mapping.Trim(r.First("status")); status != "" && inactiveStatus[mapping.Lower(status)] {
		return false
	}
	if a := mapping.Trim(r.First("active")); a != "" {
		if v, err := strconv.ParseBool(a); err == nil && !v {
			return false
		}
	}
	return true
}

// photo returns the first picture in a format the People Service serves.
func photo(r *mapping.Record) *profile.Photo {
	for _, a := range photoAttrs {
		for _, data := range r.AllBytes(a) {
			if ct := sniffImage(data); ct != "" {
				return &profile.Photo{ContentType: ct, Data: data}
			}
		}
	}
	return nil
}

// sniffImage returns the content type of a JPEG, PNG or GIF image by its magic bytes, or
// "" for anything else.
func sniffImage(b []byte) string {
	switch {
	case len(b) >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF:
		return "image/jpeg"
	case len(b) >= 8 && string(b[:8]) == "\x89PNG\r\n\x1a\n":
		return "image/png"
	case len(b) >= 6 && (string(b[:6]) == "GIF87a" || string(b[:6]) == "GIF89a"):
		return "image/gif"
	}
	return ""
}

// config is the decoded settings.
type config struct {
	settings    *mapping.Settings
	emailDomain string
	synthesize  bool
	countryCode string
	seeded      []string
	extra       map[string]string
}

// current caches the config of the settings last seen: the host configures an instance
// once, so this decodes the settings once per instance.
var current atomic.Pointer[config]

func configFor(s *mapping.Settings) (*config, error) {
	if c := current.Load(); c != nil && c.settings == s {
		return c, nil
	}
	c, err := parseConfig(s)
	if err != nil {
		return nil, err
	}
	current.Store(c)
	return c, nil
}

func parseConfig(s *mapping.Settings) (*config, error) {
	c := &config{
		settings:    s,
		emailDomain: strings.TrimPrefix(mapping.Lower(mapping.Trim(s.String("email_domain", ""))), "@"),
		synthesize:  s.Bool("synthesize_email", false),
		countryCode: strings.TrimPrefix(mapping.Trim(s.String("default_country_code", "")), "+"),
		extra:       s.Map("extra_attributes"),
	}
	var errs []error
	if c.synthesize && c.emailDomain == "" {
		errs = append(errs, errors.New("synthesize_email needs email_domain"))
	}
	if c.emailDomain != "" && (strings.ContainsAny(c.emailDomain, "@ ") || !strings.Contains(c.emailDomain, ".")) {
		errs = append(errs, fmt.Errorf("email_domain %q is not a domain", c.emailDomain))
	}
	if cc := c.countryCode; cc != "" {
		if _, ok := mapping.E164("1234567", cc); !ok {
			errs = append(errs, fmt.Errorf("default_country_code %q is not a country calling code (such as \"49\" or \"1\")", cc))
		}
	}
	for _, f := range s.Strings("seeded") {
		if profile.FieldIndex(f) < 0 && !strings.HasPrefix(f, "attributes.") {
			errs = append(errs, fmt.Errorf("seeded: %q is neither a profile field nor attributes.NAME", f))
			continue
		}
		c.seeded = append(c.seeded, f)
	}
	return c, errors.Join(errs...)
}

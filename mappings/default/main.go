// Command default is peoplesync's default mapping module. It maps the attribute names of
// LDAP (inetOrgPerson), Active Directory, Microsoft Entra ID (Graph's user properties,
// as the entra connector reads them), common HR exports and SCIM 2.0 (as the scim
// connector flattens it: "name.givenName", "emails" primary first, "phoneNumbers.work",
// "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department") to the
// People Service profile, completes Google Workspace users from the google connector's
// names (see google.go), and skips computers, Entra guests and records without any
// name. The README's section "The default mapping" lists the attributes it reads for each field (a test keeps the two in step)
// and how manager references are matched.
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
// Okta users, as the okta connector reads them ("profile.login", "status"), map by
// their own lists: see okta.go.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o mappings/default/default.wasm ./mappings/default
package main

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/peoplesync/peoplesync/sdk/mapping"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

func main() {}

// init registers the mapping: a reactor module's main never runs.
func init() {
	mapping.Handle(Map)
	mapping.HandleConfigure(check)
}

// Map maps one directory record to a profile, and check checks the settings once, when
// the host configures the module (see parseConfig).
var Map, check = mapping.WithSettings(parseConfig, mapRecord)

// Source attribute names for each profile field, in order of preference. Names are
// case-insensitive.
var (
	userNameAttrs     = []string{"uid", "sAMAccountName", "userPrincipalName", "user_name", "username", "login"}
	emailAttrs        = []string{"mail", "email", "email_address", "work_email", "emails"}
	givenNameAttrs    = []string{"givenName", "given_name", "first_name", "name.givenName"}
	familyNameAttrs   = []string{"sn", "surname", "family_name", "last_name", "name.familyName"}
	displayNameAttrs  = []string{"displayName", "display_name", "cn", "full_name", "name.formatted"}
	titleAttrs        = []string{"title", "jobTitle", "job_title"}
	departmentAttrs   = []string{"department", "ou", "department_name", scimEnterprise + "department"}
	organizationAttrs = []string{"o", "company", "companyName", "organization", scimEnterprise + "organization"}
	employeeNumAttrs  = []string{"employeeNumber", "employeeID", "employee_number", "employee_id", scimEnterprise + "employeeNumber"}
	phoneWorkAttrs    = []string{"telephoneNumber", "businessPhones", "phone_work", "work_phone", "phone", "phoneNumbers.work"}
	phoneMobileAttrs  = []string{"mobile", "mobilePhone", "phone_mobile", "mobile_phone", "phoneNumbers.mobile"}
	localeAttrs       = []string{"preferredLanguage", "locale", "language"}
	timezoneAttrs     = []string{"timezone", "time_zone"}
	locationAttrs     = []string{"l", "physicalDeliveryOfficeName", "officeLocation", "location", "office", "addresses.work.locality", "addresses.locality"}
	managerAttrs      = []string{"manager", "manager_id", scimEnterprise + "manager.value"}
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
	{"externalId", "external_id"},
	{"userType", "employee_type"}, // SCIM's; Entra ID's "Member" is not a type (see mapRecord)
	{scimEnterprise + "costCenter", "cost_center"},
	{scimEnterprise + "division", "division"},
	// SCIM photos are URLs: the full photo's, else the primary (or first) one's.
	{"photos", "photo_url"},
	{"photos.photo", "photo_url"},
	{"city", "city"},       // Entra ID
	{"country", "country"}, // Entra ID
}

// scimEnterprise qualifies the SCIM enterprise extension's attributes (RFC 7644 §3.10).
const scimEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"

// inactiveStatus are HR status values that mean the person has left or is disabled.
var inactiveStatus = map[string]bool{
	"inactive": true, "terminated": true, "disabled": true, "left": true, "leaver": true,
	"suspended": true,
}

// personClass reports whether a lower-cased object class is one of entries that are
// people. A record whose objectClass lists none of them (a group, a device, an
// organizational unit) is not one. (A switch, not a map: no hashing per record.)
func personClass(lc string) bool {
	switch lc {
	case "person", "organizationalperson", "inetorgperson", "user",
		"posixaccount", "shadowaccount", "account", "residentialperson":
		return true
	}
	return false
}

// notAPerson says why a record with these object classes is not a person, or "" if it
// may be one. HR exports carry no objectClass at all: they are people.
func notAPerson(classes []string) string {
	if len(classes) == 0 {
		return ""
	}
	person := false
	var buf [32]byte
	for _, class := range classes {
		if len(class) > len(buf) {
			continue // longer than any class we know
		}
		// Lower-case into buf: string(lc) passed to a function that inlines does not
		// allocate.
		lc := buf[:len(class)]
		for i := 0; i < len(class); i++ {
			c := class[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			lc[i] = c
		}
		if string(lc) == "computer" {
			return "computer account"
		}
		person = person || personClass(string(lc))
	}
	if !person {
		return "not a person (objectClass " + strings.Join(classes, ", ") + ")"
	}
	return ""
}

// mapRecord maps one directory record to a profile.
func mapRecord(r *mapping.Record, cfg *config) (*profile.Profile, error) {
	if oktaUser(r) {
		return mapOkta(r, cfg) // okta.go: Okta's names by their own lists
	}
	if reason := notAPerson(r.All("objectClass")); reason != "" {
		return nil, mapping.Skip(reason)
	}
	// Entra ID's guests (B2B collaboration users) are other companies' people.
	if ut := r.First("userType"); ut != "" && strings.EqualFold(mapping.Trim(ut), "guest") {
		return nil, mapping.Skip("guest account")
	}
	sam := r.First("sAMAccountName")
	if strings.HasSuffix(sam, "$") {
		return nil, mapping.Skip("machine account " + sam)
	}

	// The profile and its photo in one allocation.
	pp := &struct {
		profile profile.Profile
		photo   profile.Photo
	}{}
	p := &pp.profile
	p.Active, p.Seeded = true, cfg.seeded[:len(cfg.seeded):len(cfg.seeded)]
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

	// The values the mapping computes (rather than copies from the record) are built in one
	// buffer and become one string: one allocation per record instead of one per value.
	var stack [128]byte
	b := stack[:0]
	var email, work, mobile span
	if v := first(r, emailAttrs); v != "" {
		email.start, b = len(b), appendLower(b, v)
	} else if upn := mapping.Trim(r.First("userPrincipalName")); strings.Contains(upn, "@") {
		email.start, b = len(b), appendLower(b, upn)
	} else if cfg.synthesize && c[idx.userName] != "" {
		local := c[idx.userName]
		if at := strings.IndexByte(local, '@'); at >= 0 {
			local = local[:at]
		}
		email.start, b = len(b), appendLower(b, local)
		b = append(append(b, '@'), cfg.emailDomain...)
	}
	email.end = len(b)
	rawWork, rawMobile := first(r, phoneWorkAttrs), first(r, phoneMobileAttrs)
	if rawWork == "" {
		rawWork = untypedSCIMPhone(r)
	}
	work.start, b = len(b), appendPhone(b, rawWork, cfg.countryCode)
	work.end = len(b)
	mobile.start, b = len(b), appendPhone(b, rawMobile, cfg.countryCode)
	mobile.end = len(b)
	built := string(b)
	c[idx.email] = built[email.start:email.end]
	c[idx.phoneWork] = orRaw(built[work.start:work.end], rawWork)
	c[idx.phoneMobile] = orRaw(built[mobile.start:mobile.end], rawMobile)

	set(idx.title, titleAttrs)
	set(idx.department, departmentAttrs)
	set(idx.organization, organizationAttrs)
	set(idx.employeeNumber, employeeNumAttrs)
	set(idx.locale, localeAttrs)
	set(idx.timezone, timezoneAttrs)
	set(idx.location, locationAttrs)
	p.Manager = first(r, managerAttrs)
	p.Active = active(r)
	if ct, data := photo(r); ct != "" {
		pp.photo = profile.Photo{ContentType: ct, Data: data}
		p.Photo = &pp.photo
	}

	for _, e := range extraAttributes {
		if v := r.First(e.source); v != "" { // most records lack most: spare the call
			if e.source == "userType" && strings.EqualFold(mapping.Trim(v), "member") {
				continue // Entra ID's userType: Member or Guest, and guests are skipped
			}
			addAttribute(p, e.key, v)
		}
	}
	googleUser(r, p, cfg)
	for source, key := range cfg.extra {
		if v := r.First(source); v != "" {
			addAttribute(p, key, v)
		}
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
			if trimmed(v) {
				return v
			}
			if v = mapping.Trim(v); v != "" {
				return v
			}
		}
	}
	return ""
}

// trimmed reports, without a call (calls are costly in a WASM guest), that v is not empty
// and has nothing to trim: it starts and ends with ASCII characters above the space
// (0x21…0x7f), none of which is white space.
func trimmed(v string) bool {
	return len(v) > 0 && v[0]-0x21 < 0x5f && v[len(v)-1]-0x21 < 0x5f
}

func addAttribute(p *profile.Profile, key, value string) {
	if value == "" {
		return
	}
	if !trimmed(value) {
		if value = mapping.Trim(value); value == "" {
			return
		}
	}
	if p.Attributes == nil {
		p.Attributes = make(map[string]string, 4)
	}
	p.Attributes[key] = value
}

// untypedSCIMPhone returns the first of a SCIM record's phoneNumbers (primary first)
// that is not typed mobile, for a work phone when none is typed work: SCIM's type is
// optional, and many services leave it out.
func untypedSCIMPhone(r *mapping.Record) string {
	all := r.All("phoneNumbers")
	if len(all) == 0 {
		return ""
	}
	mobile := r.All("phoneNumbers.mobile")
	for _, v := range all {
		if slices.Contains(mobile, v) {
			continue
		}
		if v = mapping.Trim(v); v != "" {
			return v
		}
	}
	return ""
}

// span is the place of one value in the buffer Map builds values in.
type span struct{ start, end int }

// appendLower appends s lower-cased, as mapping.Lower does.
func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return append(b, mapping.Lower(s)...)
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// appendPhone appends a number normalised to E.164, or nothing when that fails (see
// orRaw).
func appendPhone(b []byte, raw, countryCode string) []byte {
	if raw == "" {
		return b
	}
	b, _ = mapping.AppendE164(b, raw, countryCode)
	return b
}

// orRaw returns a normalised phone number, or the raw one that did not normalise.
func orRaw(normalised, raw string) string {
	if normalised == "" {
		return raw
	}
	return normalised
}

// active reads the source's ways of saying a person is disabled: AD's
// userAccountControl ACCOUNTDISABLE bit, 389-ds/OpenLDAP's nsAccountLock, Entra ID's
// accountEnabled, and HR exports' status or active columns.
func active(r *mapping.Record) bool {
	// Most records have none of these attributes: only a value found costs a trim.
	if uac := r.First("userAccountControl"); uac != "" {
		if v, err := strconv.ParseUint(mapping.Trim(uac), 10, 32); err == nil && v&0x2 != 0 {
			return false
		}
	}
	if lock := r.First("nsAccountLock"); lock != "" && strings.EqualFold(mapping.Trim(lock), "true") {
		return false
	}
	if enabled := r.First("accountEnabled"); enabled != "" && strings.EqualFold(mapping.Trim(enabled), "false") {
		return false
	}
	if status := r.First("status"); status != "" {
		if status = mapping.Trim(status); status != "" && inactiveStatus[mapping.Lower(status)] {
			return false
		}
	}
	if a := r.First("active"); a != "" {
		if v, err := strconv.ParseBool(mapping.Trim(a)); err == nil && !v {
			return false
		}
	}
	return true
}

// photo returns the first picture in a format the People Service serves, and its content
// type, or "" and nil.
func photo(r *mapping.Record) (contentType string, data []byte) {
	for _, a := range photoAttrs {
		for _, data := range r.AllBytes(a) {
			if ct := sniffImage(data); ct != "" {
				return ct, data
			}
		}
	}
	return "", nil
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
	emailDomain string
	synthesize  bool
	countryCode string
	seeded      []string
	extra       map[string]string
}

// parseConfig decodes and checks the settings.
func parseConfig(s *mapping.Settings) (*config, error) {
	c := &config{
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

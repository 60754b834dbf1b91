// Command globex is the mapping module of Globex, which runs two directories with two
// sets of conventions and names people in several scripts:
//
//   - "ldap", Globex Europe's OpenLDAP: inetOrgPerson attributes, with names in other
//     scripts as language-tagged values (cn;lang-el, cn;lang-ja) and a nickname
//     attribute people fill in themselves.
//   - "hr", Globex Japan's HR export: employee_id, name_latin in the Japanese order with
//     the family name in capitals ("YAMADA Taro"), name_native ("山田 太郎"), name_kana
//     (its reading), preferred_name and status.
//
// Given and family names are always Latin, so that every profile sorts and searches in
// one script; the name in its own script goes to attributes.name_native (and its reading
// to attributes.name_phonetic), and display_script = "native" shows it as the display
// name. attributes.nickname is only seeded: the directory suggests one, the person
// decides.
//
// Settings:
//
//	directory      = "ldap" | "hr"       which convention the records follow (required)
//	country_code   = "49"                country of national phone numbers (required)
//	display_script = "latin" | "native"  script of the display name (default latin)
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o mappings/globex/globex.wasm ./mappings/globex
package main

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/peoplesync/peoplesync/sdk/mapping"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

func main() {}

func init() {
	mapping.Handle(Map)
	mapping.HandleConfigure(check)
}

// Map maps one record of either directory to a profile, and check validates the
// settings once, when the host configures the module (see parseConfig).
var Map, check = mapping.WithSettings(parseConfig, mapRecord)

// names is a person's name as a directory gives it.
type names struct {
	given, family string // Latin
	native        string // in the person's own script, if the directory has it
	phonetic      string // the reading of native
	nickname      string
}

// mapRecord maps one record of either directory to a profile.
func mapRecord(r *mapping.Record, cfg *config) (*profile.Profile, error) {
	p := &profile.Profile{Active: true, Seeded: []string{"attributes.nickname"}}
	var n names
	var phone string
	var err error
	switch cfg.directory {
	case "ldap":
		p.Set(profile.UserName, mapping.Lower(mapping.Trim(r.First("uid"))))
		p.Set(profile.Email, mapping.Lower(mapping.Trim(r.First("mail"))))
		p.Set(profile.Title, mapping.Trim(r.First("title")))
		p.Set(profile.Department, mapping.Trim(r.First("ou")))
		p.Set(profile.Location, mapping.Trim(r.First("l")))
		p.Manager = mapping.Trim(r.First("manager"))
		phone = r.First("telephoneNumber")
		n = ldapNames(r)
		if strings.EqualFold(mapping.Trim(r.First("nsAccountLock")), "true") {
			p.Active = false
		}
	case "hr":
		id := mapping.Trim(r.First("employee_id"))
		if id == "" {
			return nil, errors.New("no employee_id")
		}
		p.Set(profile.EmployeeNumber, id)
		p.Set(profile.Email, mapping.Lower(mapping.Trim(r.First("email"))))
		p.Set(profile.UserName, strings.Split(p.Get(profile.Email), "@")[0])
		p.Set(profile.Title, mapping.Trim(r.First("job_title")))
		p.Set(profile.Department, mapping.Trim(r.First("department")))
		p.Set(profile.Locale, "ja-JP")
		p.Set(profile.Timezone, "Asia/Tokyo")
		if m := mapping.Trim(r.First("manager_id")); m != "" {
			p.Manager = m
		}
		phone = r.First("phone")
		n, err = hrNames(r)
		if err != nil {
			return nil, err
		}
		if status := mapping.Lower(mapping.Trim(r.First("status"))); status == "left" || status == "retired" {
			p.Active = false
		}
	}
	if p.Get(profile.UserName) == "" {
		return nil, mapping.Skip("no user name")
	}
	p.Set(profile.Organization, "Globex")
	p.Set(profile.GivenName, n.given)
	p.Set(profile.FamilyName, n.family)
	display := strings.TrimSpace(n.given + " " + n.family)
	if cfg.native && n.native != "" {
		display = n.native
	}
	p.Set(profile.DisplayName, display)
	if phone = mapping.Trim(phone); phone != "" {
		if e, ok := mapping.E164(phone, cfg.countryCode); ok {
			p.Set(profile.PhoneWork, e)
		}
	}
	attrs := map[string]string{}
	for k, v := range map[string]string{"name_native": n.native, "name_phonetic": n.phonetic, "nickname": n.nickname} {
		if v != "" {
			attrs[k] = v
		}
	}
	if len(attrs) > 0 {
		p.Attributes = attrs
	}
	return p, nil
}

// ldapNames reads Globex Europe's names: Latin givenName and sn, the name in another
// script from the first language-tagged cn (by tag, for a stable choice).
func ldapNames(r *mapping.Record) names {
	n := names{
		given:    mapping.Trim(r.First("givenName")),
		family:   mapping.Trim(r.First("sn")),
		nickname: mapping.Trim(r.First("nickname")),
	}
	var tagged []string
	for _, name := range r.Names() {
		if strings.HasPrefix(name, "cn;lang-") {
			tagged = append(tagged, name)
		}
	}
	sort.Strings(tagged)
	for _, name := range tagged {
		if v := mapping.Trim(r.First(name)); v != "" && !isLatin(v) {
			n.native = v
			break
		}
	}
	if n.nickname == "" {
		n.nickname = n.given
	}
	return n
}

// hrNames reads Globex Japan's names: "YAMADA Taro" is family name first, in capitals.
func hrNames(r *mapping.Record) (names, error) {
	latin := strings.Fields(r.First("name_latin"))
	n := names{
		native:   strings.Join(strings.Fields(r.First("name_native")), " "),
		phonetic: strings.Join(strings.Fields(r.First("name_kana")), " "),
		nickname: mapping.Trim(r.First("preferred_name")),
	}
	switch len(latin) {
	case 0:
		return names{}, errors.New("no name_latin")
	case 1:
		n.family = titleCase(latin[0])
	default:
		n.family = titleCase(latin[0])
		n.given = strings.Join(latin[1:], " ")
	}
	if n.nickname == "" {
		n.nickname = n.given
	}
	return n, nil
}

// titleCase writes "YAMADA" as "Yamada".
func titleCase(s string) string {
	rs := []rune(strings.ToLower(s))
	if len(rs) > 0 {
		rs[0] = unicode.ToUpper(rs[0])
	}
	return string(rs)
}

// isLatin reports whether every letter of s is in the Latin script.
func isLatin(s string) bool {
	for _, c := range s {
		if unicode.IsLetter(c) && !unicode.Is(unicode.Latin, c) {
			return false
		}
	}
	return true
}

// config is the decoded settings.
type config struct {
	directory   string
	countryCode string
	native      bool
}

// parseConfig decodes and checks the settings.
func parseConfig(s *mapping.Settings) (*config, error) {
	c := &config{
		directory:   s.String("directory", ""),
		countryCode: strings.TrimPrefix(mapping.Trim(s.String("country_code", "")), "+"),
	}
	var errs []error
	if c.directory != "ldap" && c.directory != "hr" {
		errs = append(errs, fmt.Errorf("directory %q: want \"ldap\" or \"hr\"", c.directory))
	}
	if _, ok := mapping.E164("301234567", c.countryCode); !ok {
		errs = append(errs, fmt.Errorf("country_code %q is not a country calling code (such as \"49\")", c.countryCode))
	}
	switch script := s.String("display_script", "latin"); script {
	case "latin":
	case "native":
		c.native = true
	default:
		errs = append(errs, fmt.Errorf("display_script %q: want \"latin\" or \"native\"", script))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

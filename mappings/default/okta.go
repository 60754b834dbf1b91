package main

import (
	"strings"

	"github.com/peoplesync/peoplesync/sdk/mapping"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

// Okta users as the okta connector reads them (see plugins/okta): the profile's
// attributes as "profile.NAME", the user's "status", and the manager's Okta id (the
// profile's managerId) as "manager". They map by their own lists, so that a source's
// generic names (an LDAP "manager" DN, an HR "status") never mean something else here.
var (
	oktaUserNameAttrs     = []string{"profile.login"}
	oktaEmailAttrs        = []string{"profile.email"}
	oktaGivenNameAttrs    = []string{"profile.firstName"}
	oktaFamilyNameAttrs   = []string{"profile.lastName"}
	oktaDisplayNameAttrs  = []string{"profile.displayName"}
	oktaTitleAttrs        = []string{"profile.title"}
	oktaDepartmentAttrs   = []string{"profile.department"}
	oktaOrganizationAttrs = []string{"profile.organization"}
	oktaEmployeeNumAttrs  = []string{"profile.employeeNumber"}
	oktaPhoneWorkAttrs    = []string{"profile.primaryPhone"}
	oktaPhoneMobileAttrs  = []string{"profile.mobilePhone"}
	oktaLocaleAttrs       = []string{"profile.preferredLanguage", "profile.locale"}
	oktaTimezoneAttrs     = []string{"profile.timezone"}
	oktaLocationAttrs     = []string{"profile.city"} // Okta's profile is SCIM's: city is addresses' locality
	oktaManagerAttrs      = []string{"manager"}
)

// oktaExtraAttributes are the Okta profile attributes kept in the profile's attributes.
var oktaExtraAttributes = []struct{ source, key string }{
	{"profile.costCenter", "cost_center"},
	{"profile.division", "division"},
	{"profile.userType", "employee_type"},
	{"profile.countryCode", "country_code"},
}

// oktaInactiveStatus are the Okta statuses of people who are not (or no longer)
// current: suspended and deprovisioned (deactivated) users. STAGED and PROVISIONED
// users are joining; RECOVERY, PASSWORD_EXPIRED and LOCKED_OUT are credential states
// of active people.
var oktaInactiveStatus = []string{"SUSPENDED", "DEPROVISIONED"}

// oktaUser reports whether r is an Okta user: every one has a profile.login.
func oktaUser(r *mapping.Record) bool {
	return r.First("profile.login") != ""
}

// mapOkta maps an Okta user to a profile.
func mapOkta(r *mapping.Record, cfg *config) (*profile.Profile, error) {
	p := &profile.Profile{Seeded: cfg.seeded[:len(cfg.seeded):len(cfg.seeded)]}
	c := &p.Core
	set := func(field int, attrs []string) { c[field] = first(r, attrs) }
	set(idx.userName, oktaUserNameAttrs)
	set(idx.givenName, oktaGivenNameAttrs)
	set(idx.familyName, oktaFamilyNameAttrs)
	set(idx.displayName, oktaDisplayNameAttrs)
	if c[idx.displayName] == "" {
		c[idx.displayName] = strings.TrimSpace(c[idx.givenName] + " " + c[idx.familyName])
	}
	if c[idx.userName] == "" && c[idx.displayName] == "" {
		return nil, mapping.Skip("no name")
	}
	switch email := first(r, oktaEmailAttrs); {
	case email != "":
		c[idx.email] = mapping.Lower(email)
	case strings.Contains(c[idx.userName], "@"): // Okta's logins are mail addresses by default
		c[idx.email] = mapping.Lower(c[idx.userName])
	case cfg.synthesize:
		c[idx.email] = mapping.Lower(c[idx.userName]) + "@" + cfg.emailDomain
	}
	phone := func(field int, attrs []string) {
		raw := first(r, attrs)
		if e164, ok := mapping.E164(raw, cfg.countryCode); ok {
			raw = e164
		}
		c[field] = raw
	}
	phone(idx.phoneWork, oktaPhoneWorkAttrs)
	phone(idx.phoneMobile, oktaPhoneMobileAttrs)
	set(idx.title, oktaTitleAttrs)
	set(idx.department, oktaDepartmentAttrs)
	set(idx.organization, oktaOrganizationAttrs)
	set(idx.employeeNumber, oktaEmployeeNumAttrs)
	set(idx.locale, oktaLocaleAttrs)
	set(idx.timezone, oktaTimezoneAttrs)
	set(idx.location, oktaLocationAttrs)
	p.Manager = first(r, oktaManagerAttrs)
	p.Active = true
	if status := mapping.Trim(r.First("status")); status != "" {
		for _, s := range oktaInactiveStatus {
			p.Active = p.Active && !strings.EqualFold(status, s)
		}
	}
	for _, e := range oktaExtraAttributes {
		addAttribute(p, e.key, r.First(e.source))
	}
	for source, key := range cfg.extra {
		addAttribute(p, key, r.First(source))
	}
	return p, nil
}

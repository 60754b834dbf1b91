package main

import (
	"strings"

	"github.com/peoplesync/peoplesync/sdk/mapping"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

// Google Workspace users as the google connector flattens the Directory API's User
// (see plugins/google): the names of each profile field, in order of preference.
// name.givenName and name.familyName are SCIM's names too, so the common lists have
// them already.
var (
	googleUserNameAttrs     = []string{"primaryEmail"}
	googleDisplayNameAttrs  = []string{"name.fullName"}
	googleTitleAttrs        = []string{"organizations.title"}
	googleDepartmentAttrs   = []string{"organizations.department"}
	googleOrganizationAttrs = []string{"organizations.name"}
	googleEmployeeNumAttrs  = []string{"externalIds.organization"} // the console's "Employee ID"
	googlePhoneWorkAttrs    = []string{"phones.work"}
	googlePhoneMobileAttrs  = []string{"phones.mobile"}
	googleLocaleAttrs       = []string{"languages"}
	googleLocationAttrs     = []string{"organizations.location", "locations.area", "locations.buildingId"}
	googleManagerAttrs      = []string{"relations.manager"} // the manager's email: their record's DN
)

// googleExtraAttributes are other Google fields kept in the profile's attributes.
var googleExtraAttributes = []struct{ source, key string }{
	{"organizations.costCenter", "cost_center"},
	{"organizations.description", "employee_type"}, // the console's "Employee type"
	{"orgUnitPath", "org_unit"},
	{"locations.buildingId", "building"},
	{"locations.floorName", "floor"},
	{"locations.deskCode", "desk"},
	{"thumbnailPhotoUrl", "photo_url"},
}

// googleUser completes the profile of a Google Workspace user (a record with a
// primaryEmail) from the Google names of its fields: a field the common names filled
// keeps its value, except the display name, where Google's fullName is better than
// given and family name joined. A suspended or archived user is inactive. Records of
// other sources pass untouched, at the cost of one look-up.
func googleUser(r *mapping.Record, p *profile.Profile, cfg *config) {
	primary := r.First("primaryEmail")
	if primary == "" {
		return
	}
	c := &p.Core
	fill := func(field int, attrs []string) {
		if c[field] == "" {
			c[field] = first(r, attrs)
		}
	}
	fill(idx.userName, googleUserNameAttrs)
	if c[idx.email] == "" {
		c[idx.email] = mapping.Lower(mapping.Trim(primary))
	}
	if full := first(r, googleDisplayNameAttrs); full != "" && first(r, displayNameAttrs) == "" {
		c[idx.displayName] = full
	}
	fill(idx.title, googleTitleAttrs)
	fill(idx.department, googleDepartmentAttrs)
	fill(idx.organization, googleOrganizationAttrs)
	fill(idx.employeeNumber, googleEmployeeNumAttrs)
	fill(idx.locale, googleLocaleAttrs)
	fill(idx.location, googleLocationAttrs)
	for _, ph := range []struct {
		field int
		attrs []string
	}{{idx.phoneWork, googlePhoneWorkAttrs}, {idx.phoneMobile, googlePhoneMobileAttrs}} {
		if c[ph.field] != "" {
			continue
		}
		raw := first(r, ph.attrs)
		if e164, ok := mapping.E164(raw, cfg.countryCode); ok {
			c[ph.field] = e164
		} else {
			c[ph.field] = raw
		}
	}
	if p.Manager == "" {
		p.Manager = first(r, googleManagerAttrs)
	}
	for _, flag := range []string{"suspended", "archived"} {
		if v := r.First(flag); v != "" && strings.EqualFold(mapping.Trim(v), "true") {
			p.Active = false
		}
	}
	for _, e := range googleExtraAttributes {
		if v := r.First(e.source); v != "" {
			if _, set := p.Attributes[e.key]; !set {
				addAttribute(p, e.key, v)
			}
		}
	}
}

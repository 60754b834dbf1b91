//go:build !wasip1

package main

import (
	"os"
	"strings"
	"testing"

	"github.com/peoplesync/peoplesync/engine/mapper/mappertest"
	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/mapping/mappingtest"
)

// oktaCases are users as the okta connector reads them from Okta's Users API (see
// plugins/okta): top-level properties by name, the profile as profile.NAME, the
// manager's Okta id as manager. An active employee with every base attribute, a
// suspended one with non-ASCII names and no email, a deprovisioned one, and a staged
// one with only a login.
func oktaCases() []mappingtest.Case {
	return []mappingtest.Case{
		{Name: "okta", Settings: `{"default_country_code": "1"}`, Record: connector.Record{
			ID: "00u2ada00000000000d7",
			Attributes: map[string][]string{
				"id": {"00u2ada00000000000d7"}, "status": {"ACTIVE"}, "lastUpdated": {"2026-12-04T09:00:00.000Z"},
				"type.id":       {"oty1162QAr8hJjTaq0g4"},
				"profile.login": {"ada@example.com"}, "profile.email": {"Ada.Lovelace@Example.com"},
				"profile.firstName": {"Ada"}, "profile.lastName": {"Lovelace"}, "profile.displayName": {"Ada Lovelace"},
				"profile.title": {"Analyst"}, "profile.department": {"Engines"}, "profile.organization": {"Example Inc."},
				"profile.employeeNumber": {"1815"}, "profile.primaryPhone": {"(212) 555-0100"}, "profile.mobilePhone": {"212 555 0101"},
				"profile.preferredLanguage": {"en-US"}, "profile.locale": {"en_US"}, "profile.timezone": {"America/New_York"},
				"profile.city": {"New York"}, "profile.countryCode": {"US"}, "profile.costCenter": {"CC-1"},
				"profile.division": {"Research"}, "profile.userType": {"Employee"},
				"profile.managerId": {"00u1grace0000000a1d7"}, "profile.manager": {"Grace Hopper"}, "manager": {"00u1grace0000000a1d7"},
			},
		}},
		{Name: "okta_suspended_non_ascii", Record: connector.Record{
			ID: "00u3zoe00000000000d7",
			Attributes: map[string][]string{
				"id": {"00u3zoe00000000000d7"}, "status": {"SUSPENDED"},
				"profile.login": {"zoë.ødegård"}, "profile.firstName": {"Zoë"}, "profile.lastName": {"Ødegård"},
				"profile.locale": {"nb_NO"}, "profile.city": {"Tromsø"},
			},
		}},
		{Name: "okta_deprovisioned", Record: connector.Record{
			ID: "00u4li000000000000d7",
			Attributes: map[string][]string{
				"id": {"00u4li000000000000d7"}, "status": {"DEPROVISIONED"},
				"profile.login": {"li.lei@example.cn"}, "profile.email": {"li.lei@example.cn"},
				"profile.firstName": {"雷"}, "profile.lastName": {"李"}, "profile.department": {"研究开发"},
				"manager": {"00u1grace0000000a1d7"},
			},
		}},
		{Name: "okta_staged_login_only", Settings: `{"extra_attributes": {"profile.nickName": "nickname"}}`, Record: connector.Record{
			ID: "00u5emile000000000d7",
			Attributes: map[string][]string{
				"id": {"00u5emile000000000d7"}, "status": {"STAGED"}, "profile.login": {"Emile.Zola@Example.fr"},
				"profile.nickName": {"Mimile"},
			},
		}},
	}
}

func TestOktaGolden(t *testing.T) {
	for _, c := range oktaCases() {
		t.Run(c.Name, func(t *testing.T) {
			mappingtest.Check(t, "testdata", c.Name, mappingtest.Native(Map, check, c), *update)
		})
	}
}

// TestOktaThroughHost maps the Okta cases through the WASM sandbox.
func TestOktaThroughHost(t *testing.T) {
	mappertest.CheckGoldens(t, ".", "testdata", oktaCases())
}

// The README's default mapping section names every Okta attribute and inactive status.
func TestREADMENamesEveryOktaAttribute(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	start := strings.Index(doc, "## The default mapping")
	if start < 0 {
		t.Fatal("README has no section \"The default mapping\"")
	}
	section := doc[start:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	names := oktaInactiveStatus
	for _, l := range [][]string{oktaUserNameAttrs, oktaEmailAttrs, oktaGivenNameAttrs, oktaFamilyNameAttrs,
		oktaDisplayNameAttrs, oktaTitleAttrs, oktaDepartmentAttrs, oktaOrganizationAttrs, oktaEmployeeNumAttrs,
		oktaPhoneWorkAttrs, oktaPhoneMobileAttrs, oktaLocaleAttrs, oktaTimezoneAttrs, oktaLocationAttrs, oktaManagerAttrs} {
		names = append(names, l...)
	}
	for _, e := range oktaExtraAttributes {
		names = append(names, e.source, e.key)
	}
	for _, name := range names {
		if !strings.Contains(section, "`"+name+"`") {
			t.Errorf("README's default mapping section does not name `%s`", name)
		}
	}
}

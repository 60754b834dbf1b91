//go:build !wasip1

package main

import (
	"flag"
	"strings"
	"testing"

	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/mapping"
	"github.com/peoplesync/peoplesync/sdk/mapping/mappingtest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const settings = `{"country_code": "1", "department_codes": {"4711": "Platform Engineering", "2001": "Sales"}}`

func user(sam string, attrs map[string][]string) connector.Record {
	a := map[string][]string{"sAMAccountName": {sam}, "userAccountControl": {"512"}}
	for k, v := range attrs {
		a[k] = v
	}
	return connector.Record{ID: "guid-" + sam, DN: "CN=" + sam + ",OU=Users,DC=acme,DC=com", Attributes: a}
}

func cases() []mappingtest.Case {
	return []mappingtest.Case{
		{Name: "employee", Settings: settings, Record: user("JDoe", map[string][]string{
			"givenName": {"Jane"}, "sn": {"Doe"}, "displayName": {"Doe, Jane"}, "mail": {"Jane.Doe@ACME.com"},
			"title": {"Staff Engineer"}, "departmentNumber": {"4711"}, "employeeID": {"A-1001"},
			"telephoneNumber": {"(202) 555-0143 x12"}, "mobile": {"+1 202-555-0199"},
			"physicalDeliveryOfficeName": {"Springfield"}, "manager": {"CN=boss,OU=Users,DC=acme,DC=com"},
		})},
		{Name: "preferred_name_and_capitals", Settings: settings, Record: user("rmcdonald", map[string][]string{
			"givenName": {"ROBERT"}, "extensionAttribute1": {"BOB"}, "sn": {"MCDONALD-SMITH"},
			"departmentNumber": {"2001"}, "telephoneNumber": {"202.555.0100"},
		})},
		{Name: "mixed_case_kept", Settings: settings, Record: user("amcintyre", map[string][]string{
			"givenName": {"Ann"}, "sn": {"McIntyre"}, "departmentNumber": {"9999"},
		})},
		{Name: "name_from_cn", Settings: settings, Record: connector.Record{
			ID: "guid-x", DN: `CN=O'Brien\, Pat,OU=Users,DC=acme,DC=com`,
			Attributes: map[string][]string{"sAMAccountName": {"pobrien"}},
		}},
		{Name: "disabled", Settings: settings, Record: user("old", map[string][]string{
			"givenName": {"Olga"}, "sn": {"Old"}, "userAccountControl": {"514"},
		})},
		{Name: "unparseable_phone", Settings: settings, Record: user("nphone", map[string][]string{
			"givenName": {"Nia"}, "sn": {"Phone"}, "telephoneNumber": {"ask reception"},
		})},
		{Name: "service_prefix", Settings: settings, Record: user("svc-backup", nil)},
		{Name: "service_type", Settings: settings, Record: user("reporting", map[string][]string{"employeeType": {"Service"}})},
		{Name: "machine", Settings: settings, Record: user("WS-0042$", nil)},
		{Name: "custom_prefixes", Settings: `{"country_code": "1", "service_prefixes": ["bot-"]}`, Record: user("svc-now-a-person", map[string][]string{"sn": {"Person"}})},
		{Name: "unknown_department_fails", Settings: `{"country_code": "1", "unknown_department": "fail"}`, Record: user("x", map[string][]string{"sn": {"X"}, "departmentNumber": {"77"}})},
		{Name: "no_sam", Settings: settings, Record: connector.Record{ID: "guid-n", Attributes: map[string][]string{"sn": {"Nobody"}}}},
		{Name: "bad_uac", Settings: settings, Record: user("bad", map[string][]string{"sn": {"Bad"}, "userAccountControl": {"lots"}})},
	}
}

func TestGolden(t *testing.T) {
	for _, c := range cases() {
		t.Run(c.Name, func(t *testing.T) {
			mappingtest.Check(t, "testdata", c.Name, mappingtest.Native(Map, check, c), *update)
		})
	}
}

func TestSettingsErrors(t *testing.T) {
	for settings, want := range map[string]string{
		`{}`:                       `country_code "" is not a country calling code`,
		`{"country_code": "0049"}`: `country_code "0049" is not a country calling code`,
		`{"country_code": "+44"}`:  "",
		`{"country_code": 1, "unknown_department": "drop"}`: `unknown_department "drop": want "keep" or "fail"`,
	} {
		s, err := mapping.ParseSettings([]byte(settings))
		if err != nil {
			t.Fatal(err)
		}
		err = check(s)
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", settings, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: %v, want %q", settings, err, want)
		}
	}
}

func TestNameCase(t *testing.T) {
	for in, want := range map[string]string{
		"DOE": "Doe", "MCDONALD-SMITH": "Mcdonald-Smith", "O'BRIEN": "O'Brien", "McIntyre": "McIntyre",
		"ÅSA ÖBERG": "Åsa Öberg", "": "", "  JO ": "Jo",
	} {
		if got := nameCase(in); got != want {
			t.Errorf("nameCase(%q) = %q, want %q", in, got, want)
		}
	}
}

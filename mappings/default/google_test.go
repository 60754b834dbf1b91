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

// googleCases are users as the google connector reads them from the Directory API
// (see plugins/google's package doc and its tests' people): one with what the Admin
// console fills in, a suspended one with non-ASCII names and little else, and an
// archived one with a national phone number.
func googleCases() []mappingtest.Case {
	return []mappingtest.Case{
		{Name: "google", Settings: `{"default_country_code": "44"}`, Record: connector.Record{
			ID: "103581220101000000001", DN: "ada@example.com",
			Attributes: map[string][]string{
				"id": {"103581220101000000001"}, "primaryEmail": {"Ada@Example.com"},
				"name.givenName": {"Ada"}, "name.familyName": {"Lovelace"}, "name.fullName": {"Ada Lovelace"},
				"suspended": {"false"}, "archived": {"false"}, "orgUnitPath": {"/Engineering/Engines"},
				"organizations.name": {"Example Ltd"}, "organizations.title": {"Analyst"},
				"organizations.department": {"Engines"}, "organizations.description": {"Employee"},
				"organizations.costCenter": {"CC-1815"}, "organizations.location": {"London"},
				"relations.manager": {"grace@example.com"}, "relations.mentor": {"charles@example.com"},
				"externalIds.organization": {"E-1815"},
				"phones":                   {"+44 20 7946 0958", "07700 900123"}, "phones.work": {"+44 20 7946 0958"},
				"phones.mobile": {"07700 900123"}, "locations.area": {"London"}, "locations.buildingId": {"LON-1"},
				"locations.floorName": {"2"}, "locations.floorSection": {"B"}, "locations.deskCode": {"2B-11"},
				"languages": {"en-GB", "fr"}, "thumbnailPhotoUrl": {"https://lh3.googleusercontent.com/a-/ada"},
			},
			Binary: map[string][][]byte{"photo": {jpeg}},
		}},
		{Name: "google_suspended_non_ascii", Record: connector.Record{
			ID: "103581220101000000003", DN: "zoe@eu.example.com",
			Attributes: map[string][]string{
				"id": {"103581220101000000003"}, "primaryEmail": {"zoe@eu.example.com"},
				"name.givenName": {"Zoë"}, "name.familyName": {"Ødegård"}, "name.fullName": {"Zoë Ødegård"},
				"suspended": {"true"}, "archived": {"false"}, "orgUnitPath": {"/Nord/Tromsø"},
				"relations.manager": {"ada@example.com"},
			},
		}},
		{Name: "google_archived", Settings: `{"default_country_code": "86"}`, Record: connector.Record{
			ID: "103581220101000000004", DN: "li@example.com",
			Attributes: map[string][]string{
				"id": {"103581220101000000004"}, "primaryEmail": {"li@example.com"},
				"name.givenName": {"雷"}, "name.familyName": {"李"}, "name.fullName": {"李 雷"},
				"suspended": {"false"}, "archived": {"true"}, "organizations.department": {"研究开发"},
				"relations.manager": {"GRACE@EXAMPLE.COM"}, "phones": {"010 5555 0100"}, "phones.work": {"010 5555 0100"},
				"locations.buildingId": {"BJ-2"},
			},
		}},
	}
}

func TestGoogleGolden(t *testing.T) {
	for _, c := range googleCases() {
		t.Run(c.Name, func(t *testing.T) {
			mappingtest.Check(t, "testdata", c.Name, mappingtest.Native(Map, check, c), *update)
		})
	}
}

// TestGoogleThroughHost maps the Google cases through the WASM sandbox: the results
// must be the golden files that TestGoogleGolden checks natively.
func TestGoogleThroughHost(t *testing.T) {
	mappertest.CheckGoldens(t, ".", "testdata", googleCases())
}

// The README's section on the default mapping names every Google attribute the
// mapping reads.
func TestREADMENamesGoogleAttributes(t *testing.T) {
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
	lists := [][]string{googleUserNameAttrs, googleDisplayNameAttrs, googleTitleAttrs, googleDepartmentAttrs,
		googleOrganizationAttrs, googleEmployeeNumAttrs, googlePhoneWorkAttrs, googlePhoneMobileAttrs,
		googleLocaleAttrs, googleLocationAttrs, googleManagerAttrs, {"suspended", "archived"}}
	for _, e := range googleExtraAttributes {
		lists = append(lists, []string{e.source, e.key})
	}
	for _, l := range lists {
		for _, name := range l {
			if !strings.Contains(section, "`"+name+"`") {
				t.Errorf("README's default mapping section does not name `%s`", name)
			}
		}
	}
}

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

const (
	ldap = `{"directory": "ldap", "country_code": "49"}`
	hr   = `{"directory": "hr", "country_code": "81"}`
)

func rec(id string, attrs map[string][]string) connector.Record {
	return connector.Record{ID: id, DN: "uid=" + id + ",ou=people,dc=globex,dc=eu", Attributes: attrs}
}

func cases() []mappingtest.Case {
	greek := rec("nikos", map[string][]string{
		"uid": {"nikos"}, "givenName": {"Nikos"}, "sn": {"Papadopoulos"}, "cn": {"Nikos Papadopoulos"},
		"cn;lang-el": {"Νίκος Παπαδόπουλος"}, "mail": {"Nikos@Globex.eu"}, "ou": {"Research"},
		"l": {"Athens"}, "telephoneNumber": {"+30 21 0123 4567"}, "title": {"Chemist"},
	})
	hrRecord := connector.Record{ID: "J-100", Attributes: map[string][]string{
		"employee_id": {"J-100"}, "name_latin": {"YAMADA Taro"}, "name_native": {"山田　太郎"},
		"name_kana": {"やまだ たろう"}, "email": {"t.yamada@globex.co.jp"}, "job_title": {"Engineer"},
		"department": {"開発部"}, "phone": {"03-1234-5678"}, "manager_id": {"J-001"}, "status": {"active"},
	}}
	return []mappingtest.Case{
		{Name: "ldap_greek", Settings: ldap, Record: greek},
		{Name: "ldap_greek_native_display", Settings: `{"directory": "ldap", "country_code": "49", "display_script": "native"}`, Record: greek},
		{Name: "ldap_nickname_locked", Settings: ldap, Record: rec("anna", map[string][]string{
			"uid": {"Anna"}, "givenName": {"Anna-Lena"}, "sn": {"Müller"}, "nickname": {"Lena"},
			"cn;lang-de": {"Anna-Lena Müller"}, "telephoneNumber": {"030 1234567"}, "nsAccountLock": {"TRUE"},
		})},
		{Name: "ldap_no_uid", Settings: ldap, Record: rec("x", map[string][]string{"cn": {"Shared Mailbox"}})},
		{Name: "hr_japanese", Settings: hr, Record: hrRecord},
		{Name: "hr_japanese_native_display", Settings: `{"directory": "hr", "country_code": "81", "display_script": "native"}`, Record: hrRecord},
		{Name: "hr_preferred_name_retired", Settings: hr, Record: connector.Record{ID: "J-7", Attributes: map[string][]string{
			"employee_id": {"J-7"}, "name_latin": {"SUZUKI Hanako"}, "name_native": {"鈴木 花子"},
			"preferred_name": {"Hana"}, "email": {"h.suzuki@globex.co.jp"}, "status": {"Retired"},
		}}},
		{Name: "hr_no_name", Settings: hr, Record: connector.Record{ID: "J-8", Attributes: map[string][]string{
			"employee_id": {"J-8"}, "email": {"x@globex.co.jp"},
		}}},
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
		`{}`: `directory "": want "ldap" or "hr"`,
		`{"directory": "hr", "country_code": "81", "display_script": "kanji"}`: `display_script "kanji"`,
		`{"directory": "ldap"}`:                     `country_code "" is not a country calling code`,
		`{"directory": "ldap", "country_code": 49}`: "",
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

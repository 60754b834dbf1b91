//go:build !wasip1

package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/mapping"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var (
	jpeg = []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F', 'I', 'F'}
	png  = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	gif  = []byte("GIF89a\x01\x00\x01\x00")
)

func ldapRecord() connector.Record {
	return connector.Record{
		ID: "5f1c9c52-8f1e-103f-8a6b-4b3a1c2d9e01",
		DN: "uid=jdoe,ou=People,dc=example,dc=com",
		Attributes: map[string][]string{
			"objectClass":       {"top", "person", "organizationalPerson", "inetOrgPerson"},
			"uid":               {"jdoe"},
			"cn":                {"Jane Doe"},
			"givenName":         {"Jane"},
			"sn":                {"Doe"},
			"mail":              {"Jane.Doe@Example.com"},
			"title":             {"Staff Engineer"},
			"ou":                {"Platform"},
			"o":                 {"Example GmbH"},
			"employeeNumber":    {"10042"},
			"telephoneNumber":   {"030 1234567"},
			"mobile":            {"0170/1234567"},
			"preferredLanguage": {"de-DE"},
			"l":                 {"Berlin"},
			"manager":           {"uid=boss,ou=People,dc=example,dc=com"},
			"employeeType":      {"permanent"},
			"departmentNumber":  {"4711"},
		},
		Binary: map[string][][]byte{"jpegPhoto": {jpeg}},
	}
}

type goldenCase struct {
	name     string
	settings string
	rec      connector.Record
}

func goldenCases() []goldenCase {
	return []goldenCase{
		{"ldap", `{"default_country_code": "49"}`, ldapRecord()},
		{"ad_disabled", `{"default_country_code": "+1"}`, connector.Record{
			ID: "b7a5d1f2", DN: `CN=Smith\, Bob,OU=Sales,DC=corp,DC=example,DC=com`,
			Attributes: map[string][]string{
				"objectClass":                {"top", "person", "organizationalPerson", "user"},
				"sAMAccountName":             {"bsmith"},
				"userPrincipalName":          {"bsmith@corp.example.com"},
				"displayName":                {"Bob Smith"},
				"givenName":                  {"Bob"},
				"sn":                         {"Smith"},
				"department":                 {"Sales"},
				"company":                    {"Example Inc."},
				"employeeID":                 {"E-7"},
				"telephoneNumber":            {"(555) 123-4567 ext. 12"},
				"mobile":                     {"1-555-987-6543"},
				"physicalDeliveryOfficeName": {"NYC 5th floor"},
				"userAccountControl":         {"514"},
				"manager":                    {`CN=Boss\, Alice,OU=Sales,DC=corp,DC=example,DC=com`},
				"division":                   {"Americas"},
			},
			Binary: map[string][][]byte{"thumbnailPhoto": {png}},
		}},
		{"ad_enabled_upper_case_names", "", connector.Record{
			ID: "c1",
			Attributes: map[string][]string{
				"SAMACCOUNTNAME": {"alee"}, "GIVENNAME": {"Ann"}, "SN": {"Lee"},
				"USERACCOUNTCONTROL": {"512"}, "MAIL": {"  ALee@Example.COM "},
			},
		}},
		{"hr_export", `{"default_country_code": "44", "seeded": ["locale", "phone_mobile", "attributes.cost_center"]}`, connector.Record{
			ID: "HR-1001",
			Attributes: map[string][]string{
				"employee_id": {"1001"}, "first_name": {"Priya"}, "last_name": {"Patel"},
				"email": {"priya.patel@example.co.uk"}, "job_title": {"Accountant"},
				"department": {"Finance"}, "manager_id": {"HR-0007"}, "phone": {"020 7946 0958"},
				"mobile_phone": {"07700 900123"}, "location": {"London"}, "status": {"Active"},
				"cost_center": {"CC-12"}, "employee_type": {"contractor"}, "locale": {"en-GB"},
				"timezone": {"Europe/London"},
			},
			Binary: map[string][][]byte{"photo": {[]byte("not an image"), gif}},
		}},
		{"hr_terminated", "", connector.Record{
			ID:         "HR-1002",
			Attributes: map[string][]string{"first_name": {"Tom"}, "last_name": {"Old"}, "status": {"Terminated"}},
		}},
		{"synthesized_email", `{"email_domain": "Example.com", "synthesize_email": true}`, connector.Record{
			ID:         "s1",
			Attributes: map[string][]string{"uid": {"MMuster"}, "cn": {"Max Muster"}, "nsAccountLock": {"TRUE"}},
		}},
		{"no_synthesized_email", `{"email_domain": "example.com"}`, connector.Record{
			ID:         "s2",
			Attributes: map[string][]string{"uid": {"mmuster"}, "cn": {"Max Muster"}},
		}},
		{"unnormalisable_phone_and_extra_attributes", `{"extra_attributes": {"carLicense": "car", "roomNumber": "room"}}`, connector.Record{
			ID: "p1",
			Attributes: map[string][]string{
				"uid": {"x"}, "telephoneNumber": {"call reception"}, "mobile": {"0170 1234567"},
				"carLicense": {"B-XY 123"}, "roomNumber": {"  "},
			},
		}},
		{"computer", "", connector.Record{
			ID:         "pc1",
			Attributes: map[string][]string{"objectClass": {"top", "computer"}, "cn": {"WS-0042"}},
		}},
		{"machine_account", "", connector.Record{
			ID:         "pc2",
			Attributes: map[string][]string{"sAMAccountName": {"WS-0043$"}, "cn": {"WS-0043"}},
		}},
		{"no_name", "", connector.Record{
			ID:         "n1",
			Attributes: map[string][]string{"mail": {"shared@example.com"}, "title": {" "}},
		}},
	}
}

func TestMapGolden(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			s, err := mapping.ParseSettings([]byte(tc.settings))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := parseConfig(s); err != nil {
				t.Fatalf("settings: %v", err)
			}
			p, err := Map(mapping.NewRecord(tc.rec), s)
			got := golden{Profile: p}
			if reason, ok := mapping.IsSkip(err); ok {
				got.Skip = reason
			} else if err != nil {
				got.Error = err.Error()
			}
			checkGolden(t, tc.name, got)
		})
	}
}

// golden is what a golden file holds: the profile, or the skip reason, or the error.
type golden struct {
	Profile *profile.Profile
	Skip    string
	Error   string
}

// goldenProfile is a profile with its core fields by name, for readable golden files.
type goldenProfile struct {
	Core       map[string]string `json:"core"`
	Manager    string            `json:"manager,omitempty"`
	Active     bool              `json:"active"`
	Attributes map[string]string `json:"attributes,omitempty"`
	Photo      *profile.Photo    `json:"photo,omitempty"`
	Seeded     []string          `json:"seeded,omitempty"`
}

func checkGolden(t *testing.T, name string, g golden) {
	t.Helper()
	type out struct {
		Profile *goldenProfile `json:"profile,omitempty"`
		Skip    string         `json:"skip,omitempty"`
		Error   string         `json:"error,omitempty"`
	}
	o := out{Skip: g.Skip, Error: g.Error}
	if p := g.Profile; p != nil {
		o.Profile = &goldenProfile{Core: map[string]string{}, Manager: p.Manager, Active: p.Active,
			Attributes: p.Attributes, Photo: p.Photo, Seeded: p.Seeded}
		for _, f := range profile.CoreFields {
			if v := p.Get(f); v != "" {
				o.Profile.Core[f] = v
			}
		}
	}
	got, err := json.MarshalIndent(o, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s--- want\n%s", name, got, want)
	}
}

func TestSettingsErrors(t *testing.T) {
	cases := map[string]string{
		`{"synthesize_email": "true"}`:         "synthesize_email needs email_domain",
		`{"email_domain": "localhost"}`:        `email_domain "localhost" is not a domain`,
		`{"default_country_code": "0049"}`:     `default_country_code "0049" is not a country calling code (such as "49" or "1")`,
		`{"seeded": ["locale", "nickname"]}`:   `seeded: "nickname" is neither a profile field nor attributes.NAME`,
		`{"seeded": "attributes.cost_center"}`: "",
		`{"default_country_code": 49}`:         "",
		`{"email_domain": "@example.com"}`:     "",
	}
	for settings, want := range cases {
		s, err := mapping.ParseSettings([]byte(settings))
		if err != nil {
			t.Fatal(err)
		}
		_, err = parseConfig(s)
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", settings, err)
		case want != "" && (err == nil || err.Error() != want):
			t.Errorf("%s: %v, want %q", settings, err, want)
		}
	}
}

func TestSniffImage(t *testing.T) {
	cases := []struct {
		data []byte
		want string
	}{
		{jpeg, "image/jpeg"}, {png, "image/png"}, {gif, "image/gif"}, {[]byte("GIF87a"), "image/gif"},
		{nil, ""}, {[]byte{0xFF, 0xD8}, ""}, {[]byte("<svg/>"), ""},
	}
	for _, tc := range cases {
		if got := sniffImage(tc.data); got != tc.want {
			t.Errorf("sniffImage(%q) = %q, want %q", tc.data, got, tc.want)
		}
	}
}

//go:build !wasip1

package main

import (
	"flag"
	"testing"

	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/mapping"
	"github.com/peoplesync/peoplesync/sdk/mapping/mappingtest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var (
	jpeg = []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F', 'I', 'F'}
	png  = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	gif  = []byte("GIF89a\x01\x00\x01\x00")
)

// ldapRecord is the shared LDAP fixture with the national mobile number the golden
// file was written with.
func ldapRecord() connector.Record {
	r := mappingtest.LDAPPerson()
	r.Attributes["mobile"] = []string{"0170/1234567"}
	return r
}

func cases() []mappingtest.Case {
	return []mappingtest.Case{
		{Name: "ldap", Settings: `{"default_country_code": "49"}`, Record: ldapRecord()},
		{Name: "ad_disabled", Settings: `{"default_country_code": "+1"}`, Record: connector.Record{
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
		{Name: "ad_enabled_upper_case_names", Record: connector.Record{
			ID: "c1",
			Attributes: map[string][]string{
				"SAMACCOUNTNAME": {"alee"}, "GIVENNAME": {"Ann"}, "SN": {"Lee"},
				"USERACCOUNTCONTROL": {"512"}, "MAIL": {"  ALee@Example.COM "},
			},
		}},
		{Name: "hr_export", Settings: `{"default_country_code": "44", "seeded": ["locale", "phone_mobile", "attributes.cost_center"]}`, Record: connector.Record{
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
		{Name: "hr_terminated", Record: connector.Record{
			ID:         "HR-1002",
			Attributes: map[string][]string{"first_name": {"Tom"}, "last_name": {"Old"}, "status": {"Terminated"}},
		}},
		{Name: "synthesized_email", Settings: `{"email_domain": "Example.com", "synthesize_email": true}`, Record: connector.Record{
			ID:         "s1",
			Attributes: map[string][]string{"uid": {"MMuster"}, "cn": {"Max Muster"}, "nsAccountLock": {"TRUE"}},
		}},
		{Name: "no_synthesized_email", Settings: `{"email_domain": "example.com"}`, Record: connector.Record{
			ID:         "s2",
			Attributes: map[string][]string{"uid": {"mmuster"}, "cn": {"Max Muster"}},
		}},
		{Name: "unnormalisable_phone_and_extra_attributes", Settings: `{"extra_attributes": {"carLicense": "car", "roomNumber": "room"}}`, Record: connector.Record{
			ID: "p1",
			Attributes: map[string][]string{
				"uid": {"x"}, "telephoneNumber": {"call reception"}, "mobile": {"0170 1234567"},
				"carLicense": {"B-XY 123"}, "roomNumber": {"  "},
			},
		}},
		// SCIM users as the scim connector flattens them (see plugins/scim's package doc):
		// RFC 7643 §8.2's full user with the enterprise extension, a user whose
		// attributes carry no types, and one with non-ASCII names.
		{Name: "scim_enterprise_user", Settings: `{"default_country_code": "1"}`, Record: connector.Record{
			ID: "2819c223-7f76-453a-919d-413861904646",
			Attributes: map[string][]string{
				"externalId": {"701984"}, "userName": {"bjensen@example.com"},
				"name.formatted": {"Ms. Barbara J Jensen, III"}, "name.familyName": {"Jensen"},
				"name.givenName": {"Barbara"}, "displayName": {"Babs Jensen"}, "nickName": {"Babs"},
				"title": {"Tour Guide"}, "userType": {"Employee"}, "preferredLanguage": {"en-US"},
				"timezone": {"America/Los_Angeles"}, "active": {"true"},
				"emails":       {"Babs@Jensen.org", "bjensen@example.com"},
				"emails.home":  {"Babs@Jensen.org"},
				"emails.work":  {"bjensen@example.com"},
				"phoneNumbers": {"555-555-4444", "555-555-5555"}, "phoneNumbers.work": {"555-555-5555"},
				"phoneNumbers.mobile": {"555-555-4444"},
				"photos":              {"https://photos.example.com/profilephoto/72930000000Ccne/T", "https://photos.example.com/profilephoto/72930000000Ccne/F"},
				"photos.photo":        {"https://photos.example.com/profilephoto/72930000000Ccne/F"},
				"addresses.locality":  {"Hollywood"}, "addresses.work.locality": {"Los Angeles"},
				"addresses.country": {"USA"},
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":      {"701984"},
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter":          {"4130"},
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:organization":        {"Universal Studios"},
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division":            {"Theme Park"},
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department":          {"Tour Operations"},
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value":       {"26118915-6090-4610-87e4-49d8ca9f808d"},
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName": {"John Smith"},
				"meta.lastModified": {"2011-05-13T04:42:34Z"},
			},
		}},
		{Name: "scim_untyped_inactive", Settings: `{"default_country_code": "49"}`, Record: connector.Record{
			ID: "b3c2e1d0-0001",
			Attributes: map[string][]string{
				"userName": {"mkim"}, "active": {"false"}, "emails": {"mkim@example.com"},
				"phoneNumbers": {"0170 1234567", "030 1234567"}, "phoneNumbers.mobile": {"0170 1234567"},
				"addresses.locality": {"Berlin"},
			},
		}},
		{Name: "scim_non_ascii", Record: connector.Record{
			ID: "c4d3-zoe",
			Attributes: map[string][]string{
				"userName": {"zoë.çelik@example.de"}, "name.givenName": {"Zoë"},
				"name.familyName": {"Çelik-Müller"}, "name.formatted": {"Zoë Çelik-Müller"},
				"active": {"true"}, "emails": {"Zoë@Example.DE"}, "phoneNumbers": {"+49 30 1234567"},
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department":    {"Forschung & Entwicklung"},
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value": {"2819c223-7f76-453a-919d-413861904646"},
			},
		}},
		// Users as the entra connector reads them from Microsoft Graph (see
		// plugins/entra): Graph's property names, the manager as the manager's id.
		{Name: "entra", Settings: `{"default_country_code": "44"}`, Record: connector.Record{
			ID: "87d349ed-44d7-43e1-9a83-5f2406dee5bd",
			Attributes: map[string][]string{
				"id": {"87d349ed-44d7-43e1-9a83-5f2406dee5bd"}, "onPremisesImmutableId": {"7Zx6h0TXRECag1/0BSt3vQ=="},
				"userPrincipalName": {"ada@contoso.com"}, "mail": {"Ada.Lovelace@contoso.com"},
				"givenName": {"Ada"}, "surname": {"Lovelace"}, "displayName": {"Ada Lovelace"},
				"employeeId": {"E-1815"}, "employeeType": {"Employee"}, "jobTitle": {"Analyst"},
				"department": {"Engines"}, "companyName": {"Contoso Ltd"}, "officeLocation": {"18/2111"},
				"businessPhones": {"020 7946 0958", "020 7946 0959"}, "mobilePhone": {"07700 900123"},
				"accountEnabled": {"true"}, "city": {"London"}, "country": {"United Kingdom"},
				"preferredLanguage": {"en-GB"}, "userType": {"Member"},
				"manager": {"e8a02cc7-df4d-4778-956d-784cc9506e5a"},
			},
			Binary: map[string][][]byte{"photo": {jpeg}},
		}},
		{Name: "entra_disabled_no_mail", Record: connector.Record{
			ID: "5bde3e51-d13b-4db1-9948-fe4b109d11a7",
			Attributes: map[string][]string{
				"id": {"5bde3e51-d13b-4db1-9948-fe4b109d11a7"}, "userPrincipalName": {"Zoe.Odegard@Contoso.com"},
				"givenName": {"Zoë"}, "surname": {"Ødegård"}, "displayName": {"Zoë Ødegård"},
				"accountEnabled": {"false"}, "city": {"Tromsø"},
			},
		}},
		{Name: "entra_guest", Record: connector.Record{
			ID: "0f5a4dc1-c8a0-4c9e-9b38-d0c3f1d0e001",
			Attributes: map[string][]string{
				"userPrincipalName": {"bob_fabrikam.com#EXT#@contoso.onmicrosoft.com"}, "displayName": {"Bob (Fabrikam)"},
				"mail": {"bob@fabrikam.com"}, "userType": {"Guest"}, "accountEnabled": {"true"},
			},
		}},
		{Name: "computer", Record: connector.Record{
			ID:         "pc1",
			Attributes: map[string][]string{"objectClass": {"top", "computer"}, "cn": {"WS-0042"}},
		}},
		{Name: "machine_account", Record: connector.Record{
			ID:         "pc2",
			Attributes: map[string][]string{"sAMAccountName": {"WS-0043$"}, "cn": {"WS-0043"}},
		}},
		{Name: "no_name", Record: connector.Record{
			ID:         "n1",
			Attributes: map[string][]string{"mail": {"shared@example.com"}, "title": {" "}},
		}},
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
		err = check(s)
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

package ldap

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseBindName(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		form    bindForm
		wantErr string // "" for a name that parses
	}{
		{"cn=sync,ou=services,dc=example,dc=com", formDN, ""},
		{"CN=svc,CN=Users,DC=corp,DC=example,DC=com", formDN, ""},
		{"cn=a@b,dc=x", formDN, ""}, // a DN first, even with an @ in a value
		{`cn=a\,b,dc=x`, formDN, ""},
		{"svc-sync@corp.example.com", formUPN, ""},
		{"svc.sync@CORP", formUPN, ""},
		{"first.last@sub.corp-1.example.com", formUPN, ""},
		{`CORP\svc-sync`, formDownLevel, ""},
		{`corp.example.com\svc-sync`, formDownLevel, ""},
		{"svc-sync", 0, "incomplete type, value pair"},
		{"@corp.example.com", 0, "both parts"},
		{"svc@", 0, "both parts"},
		{"svc@corp example.com", 0, "DNS domain"},
		{"svc@corp..example.com", 0, "DNS domain"},
		{"svc@-corp.com", 0, "DNS domain"},
		{`\svc`, 0, "both parts"},
		{`CORP\`, 0, "both parts"},
		{`A-VERY-LONG-NETBIOS\svc`, 0, "NetBIOS domain name"},
		{`CO RP\svc`, 0, "NetBIOS domain name"},
		{`CORP\svc\x`, 0, "sAMAccountName"},
		{`CORP\svc:1`, 0, "sAMAccountName"},
		{" svc@corp.example.com", 0, "spaces"},
		{"CORP\tom", 0, "write the backslash of DOMAIN\\user twice"}, // HCL's "CORP\tom"
	}
	for _, tc := range cases {
		form, err := parseBindName(tc.name)
		switch {
		case tc.wantErr == "" && (err != nil || form != tc.form):
			t.Errorf("parseBindName(%q) = %v, %v; want %v", tc.name, form, err, tc.form)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("parseBindName(%q) = %v, %v; want an error saying %q", tc.name, form, err, tc.wantErr)
		}
	}
}

// TestBindNameFlavor: a UPN or down-level name is accepted for Active Directory, makes
// "auto" mean Active Directory, and is refused for OpenLDAP with a message that names
// the fix.
func TestBindNameFlavor(t *testing.T) {
	t.Parallel()
	cases := []struct {
		bindDN, flavor string
		wantFlavor     string // "" when the config is refused
		wantDetail     string
	}{
		{"svc@corp.example.com", "active_directory", flavorAD, ""},
		{"svc@corp.example.com", "", flavorAD, ""},
		{"svc@corp.example.com", "auto", flavorAD, ""},
		{`CORP\svc`, "AUTO", flavorAD, ""},
		{"cn=svc,dc=corp", "", flavorAuto, ""},
		{"cn=svc,dc=corp", "active_directory", flavorAD, ""},
		{"svc@corp.example.com", "openldap", "", `is a user principal name (user@domain), which only Active Directory accepts in a bind, and flavor is "openldap". Give the account's DN, or set flavor = "active_directory"`},
		{`CORP\svc`, "openldap", "", `is a down-level logon name (DOMAIN\user), which only Active Directory`},
		{"svc", "active_directory", "", `is not a DN (cn=sync,ou=services,dc=example,dc=com), nor, for Active Directory, a user principal name`},
	}
	for _, tc := range cases {
		fields := map[string]any{"url": "ldaps://dc.corp.example.com", "base_dn": "dc=corp", "bind_dn": tc.bindDN, "bind_password": "pw"}
		if tc.flavor != "" {
			fields["flavor"] = tc.flavor
		}
		raw, _ := json.Marshal(fields)
		cfg, diags := parseConfig(raw)
		if tc.wantFlavor != "" {
			if cfg == nil {
				t.Errorf("%q with flavor %q refused: %+v", tc.bindDN, tc.flavor, diags)
			} else if cfg.flavor != tc.wantFlavor {
				t.Errorf("%q with flavor %q: flavor %q, want %q", tc.bindDN, tc.flavor, cfg.flavor, tc.wantFlavor)
			}
			continue
		}
		if cfg != nil || len(diags) != 1 || diags[0].Attribute != "bind_dn" || !strings.Contains(diags[0].Detail, tc.wantDetail) {
			t.Errorf("%q with flavor %q: %+v, want one error on bind_dn saying %q", tc.bindDN, tc.flavor, diags, tc.wantDetail)
		}
	}
}

package ldap

import (
	"fmt"
	"strings"
	"unicode"

	goldap "github.com/go-ldap/ldap/v3"
)

// bindForm is the form of a bind_dn value. OpenLDAP (like every RFC 4513 server) takes
// only a DN as the name of a simple bind; an Active Directory domain controller also
// takes a user principal name and a down-level logon name, among others ([MS-ADTS]
// 5.1.1.1.1, "Simple Authentication"). Those two are what AD admins have at hand; the
// other forms (a bare sAMAccountName, a canonical name, a GUID) stay refused, so that a
// typo in a DN is not taken for one of them.
type bindForm int

const (
	formDN        bindForm = iota // cn=sync,ou=services,dc=example,dc=com
	formUPN                       // svc-sync@corp.example.com
	formDownLevel                 // CORP\svc-sync
)

// String names the form as the diagnostics do.
func (f bindForm) String() string {
	switch f {
	case formUPN:
		return "a user principal name (user@domain)"
	case formDownLevel:
		return `a down-level logon name (DOMAIN\user)`
	default:
		return "a DN"
	}
}

// netbiosForbidden are the characters a NetBIOS domain name may not hold, and
// samForbidden those a sAMAccountName may not hold.
const (
	netbiosForbidden = `\/:*?"<>| `
	samForbidden     = `"/\[]:;|=,+*?<>`
)

// parseBindName tells which form name is in. A value that parses as a DN is a DN, so
// "cn=a@b,dc=x" stays one; otherwise it must be a UPN or a down-level logon name.
func parseBindName(name string) (bindForm, error) {
	if strings.ContainsFunc(name, unicode.IsControl) {
		// "CORP\tom" written with one backslash in HCL is CORP, a tab, and "om".
		return 0, fmt.Errorf(`it holds a control character (a tab or a newline); in HCL, write the backslash of DOMAIN\user twice`)
	}
	dnErr := func() error {
		_, err := goldap.ParseDN(name)
		return err
	}()
	if dnErr == nil {
		return formDN, nil
	}
	if strings.TrimSpace(name) != name {
		return 0, fmt.Errorf("it has leading or trailing spaces")
	}
	if domain, user, ok := strings.Cut(name, `\`); ok {
		switch {
		case domain == "" || user == "":
			return 0, fmt.Errorf(`a down-level logon name needs both parts, DOMAIN\user`)
		case !(strings.Contains(domain, ".") && isDNSName(domain)) && (len(domain) > 15 || strings.ContainsAny(domain, netbiosForbidden)):
			return 0, fmt.Errorf(`the domain of a down-level logon name (DOMAIN\user) is the NetBIOS domain name (at most 15 characters, no spaces, none of %s) or the DNS domain name, not %q`, strings.TrimSpace(netbiosForbidden), domain)
		case strings.ContainsAny(user, samForbidden):
			return 0, fmt.Errorf("the user of a down-level logon name is a sAMAccountName, which holds none of %s", samForbidden)
		}
		return formDownLevel, nil
	}
	if i := strings.LastIndexByte(name, '@'); i >= 0 {
		user, suffix := name[:i], name[i+1:]
		if user == "" || suffix == "" {
			return 0, fmt.Errorf("a user principal name needs both parts, user@domain")
		}
		if !isDNSName(suffix) {
			return 0, fmt.Errorf("the part after @ of a user principal name is a DNS domain such as corp.example.com, not %q", suffix)
		}
		return formUPN, nil
	}
	return 0, dnErr
}

// isDNSName reports whether s is a DNS name: dot-separated labels of letters, digits and
// hyphens, none empty or starting or ending with a hyphen.
func isDNSName(s string) bool {
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

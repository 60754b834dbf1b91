package ldap_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/peoplesync/peoplesync/plugins/ldap"
	"github.com/peoplesync/peoplesync/plugins/ldap/sambatest"
	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/connectortest"
)

// sambaPeople are the people of the Samba domain's test OU.
var sambaPeople = []sambatest.User{
	{Name: "alice", GivenName: "Alice", Surname: "Boss", Mail: "alice@corp.example.com", Department: "Board"},
	{Name: "bob", GivenName: "Bob", Surname: "Builder", Mail: "bob@corp.example.com", Department: "Works"},
	{Name: "carol", GivenName: "Carol", Surname: "Singer"},
}

// sambaAttributes are the attributes the tests read.
var sambaAttributes = []string{"sAMAccountName", "givenName", "sn", "mail", "department"}

// TestSambaActiveDirectory binds to a real Active Directory domain controller (Samba) as
// AD admins write the account: user@REALM, DOMAIN\user, and its DN.
func TestSambaActiveDirectory(t *testing.T) {
	t.Parallel()
	srv, err := sambatest.Start(t.Context(), sambatest.Options{})
	if err != nil {
		t.Fatalf("start Samba: %v", err)
	}
	t.Cleanup(srv.Stop)
	ou, err := srv.AddOU(t.Context(), "Staff")
	if err != nil {
		t.Fatal(err)
	}
	var wantRecords []connector.Record
	for _, u := range sambaPeople {
		u.Parent = ou
		dn, err := srv.AddUser(t.Context(), u)
		if err != nil {
			t.Fatal(err)
		}
		wantRecords = append(wantRecords, sambaWant(t, srv, dn, u))
	}
	config := func(over map[string]any) json.RawMessage {
		cfg := map[string]any{
			"url": srv.URL(), "bind_dn": srv.ServiceUPN(), "bind_password": srv.Password(),
			"base_dn": ou, "attributes": sambaAttributes, "page_size": 2,
			// Samba listens on plain ldap:// on its own loopback address only.
			"allow_insecure_bind": true,
		}
		for k, v := range over {
			cfg[k] = v
		}
		raw, _ := json.Marshal(cfg)
		return raw
	}

	for _, tc := range []struct{ name, bindDN, flavor string }{
		{"UPN, flavor auto", srv.ServiceUPN(), "auto"},
		{"UPN, flavor active_directory", srv.ServiceUPN(), "active_directory"},
		{"down-level, flavor auto", srv.ServiceDownLevel(), "auto"},
		{"down-level, flavor active_directory", srv.ServiceDownLevel(), "active_directory"},
		{"DN, flavor auto (detected)", srv.ServiceDN(), "auto"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := configured(t, config(map[string]any{"bind_dn": tc.bindDN, "flavor": tc.flavor}))
			if err := c.Check(t.Context()); err != nil {
				t.Fatalf("Check: %v", err)
			}
			got, res, err := readAll(t, c, connector.ReadRequest{})
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if d := diffRecords(wantRecords, got); d != "" {
				t.Errorf("read as %q:\n%s", tc.bindDN, d)
			}
			if !strings.HasPrefix(res.Cursor, "uSNChanged:") {
				t.Errorf("cursor %q, want an AD uSNChanged cursor", res.Cursor)
			}
		})
	}

	t.Run("wrong password", func(t *testing.T) {
		for _, name := range []string{srv.ServiceUPN(), srv.ServiceDownLevel()} {
			c := configured(t, config(map[string]any{"bind_dn": name, "bind_password": "Not-The-Password-9"}))
			err := c.Check(t.Context())
			// The name is quoted as in HCL, where a backslash is written twice.
			if !errors.Is(err, ldap.ErrCredentials) || !strings.Contains(err.Error(), strconv.Quote(name)) || strings.Contains(err.Error(), "Not-The-Password-9") {
				t.Errorf("Check as %q with a wrong password = %v, want ErrCredentials naming the account", name, err)
			}
			if !strings.Contains(err.Error(), "wrong password, or no such account") {
				t.Errorf("Check as %q with a wrong password = %v, want it to read AD's reason", name, err)
			}
			if _, _, err := readAll(t, c, connector.ReadRequest{}); !errors.Is(err, ldap.ErrCredentials) {
				t.Errorf("Read as %q with a wrong password = %v, want ErrCredentials", name, err)
			}
		}
	})

	t.Run("conformance", func(t *testing.T) {
		connectortest.Run(t, connectortest.Harness{
			New:          func(*testing.T) connector.Connector { return ldap.New() },
			Config:       config(map[string]any{"bind_dn": srv.ServiceDownLevel()}),
			Want:         wantRecords,
			BadConfig:    config(map[string]any{"bind_dn": "svc", "flavor": "active_directory"}),
			BadAttribute: "bind_dn",
		})
	})

	// Last: the service account is disabled, and the error says so.
	t.Run("disabled account", func(t *testing.T) {
		if err := srv.DisableService(t.Context()); err != nil {
			t.Fatal(err)
		}
		err := configured(t, config(nil)).Check(t.Context())
		if !errors.Is(err, ldap.ErrCredentials) || !strings.Contains(err.Error(), "the account is disabled") {
			t.Errorf("Check as a disabled account = %v, want ErrCredentials saying it is disabled", err)
		}
	})
}

// sambaWant is the record of u at dn, with the objectGUID the server gave it, read here
// with go-ldap as the administrator.
func sambaWant(t *testing.T, srv *sambatest.Server, dn string, u sambatest.User) connector.Record {
	t.Helper()
	conn, err := goldap.DialURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Bind(srv.AdminUPN(), srv.AdminPassword()); err != nil {
		t.Fatal(err)
	}
	res, err := conn.Search(goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"objectGUID"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("read the objectGUID of %s: %v", dn, err)
	}
	g := res.Entries[0].GetRawAttributeValue("objectGUID")
	if len(g) != 16 {
		t.Fatalf("%s: objectGUID of %d bytes", dn, len(g))
	}
	// AD's string form: the first three groups little-endian, the rest as stored.
	id := fmt.Sprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%x-%x", g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8:10], g[10:])
	a := map[string][]string{"sAMAccountName": {u.Name}}
	for name, v := range map[string]string{"givenName": u.GivenName, "sn": u.Surname, "mail": u.Mail, "department": u.Department} {
		if v != "" {
			a[name] = []string{v}
		}
	}
	// The ID attribute travels with the record, as the server stores it.
	return connector.Record{ID: id, DN: dn, Attributes: a, Binary: map[string][][]byte{"objectGUID": {g}}}
}

// diffRecords says how got differs from want, by ID, in any order.
func diffRecords(want, got []connector.Record) string {
	var b strings.Builder
	byID := map[string]connector.Record{}
	for _, r := range got {
		byID[r.ID] = r
	}
	if len(got) != len(want) {
		fmt.Fprintf(&b, "%d records, want %d\n", len(got), len(want))
	}
	for _, w := range want {
		g, ok := byID[w.ID]
		if !ok {
			fmt.Fprintf(&b, "missing %s (%s)\n", w.ID, w.DN)
			continue
		}
		if g.DN != w.DN || fmt.Sprint(g.Attributes) != fmt.Sprint(w.Attributes) || fmt.Sprint(g.Binary) != fmt.Sprint(w.Binary) {
			fmt.Fprintf(&b, "%s: got DN %q %v binary %x, want DN %q %v binary %x\n", w.ID, g.DN, g.Attributes, g.Binary, w.DN, w.Attributes, w.Binary)
		}
	}
	return b.String()
}

package ldap_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/peoplesync/peoplesync/examples/peoplegen"
	"github.com/peoplesync/peoplesync/plugins/ldap"
	"github.com/peoplesync/peoplesync/plugins/ldap/slapdtest"
	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/connectortest"
)

const peopleDN = "ou=people,dc=example,dc=com"

// loadedTimestamp is the modifyTimestamp of every loaded entry, well in the past, so that
// a change made by a test always sorts after it.
const loadedTimestamp = "20200101000000Z"

// directory is a running slapd loaded with n generated people under peopleDN.
type directory struct {
	srv    *slapdtest.Server
	opts   peoplegen.Options
	people []peoplegen.Person
}

func newDirectory(t testing.TB, n int) *directory {
	t.Helper()
	return newDirectoryWith(t, n, slapdtest.Options{})
}

// newDirectoryWith is newDirectory on a server started with opts.
func newDirectoryWith(t testing.TB, n int, opts slapdtest.Options) *directory {
	t.Helper()
	srv, err := slapdtest.Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("start slapd: %v", err)
	}
	t.Cleanup(srv.Stop)
	d := &directory{srv: srv, opts: peoplegen.Defaults(n)}
	d.people = peoplegen.Generate(d.opts)
	if err := srv.Add(context.Background(), peopleLDIF(t, d.opts, d.people)); err != nil {
		t.Fatalf("load people: %v", err)
	}
	return d
}

// peopleLDIF is the people OU and the people, each with loadedTimestamp.
func peopleLDIF(t testing.TB, o peoplegen.Options, people []peoplegen.Person) *bytes.Buffer {
	t.Helper()
	var gen bytes.Buffer
	if err := peoplegen.WriteLDIF(&gen, o, people); err != nil {
		t.Fatal(err)
	}
	// The body follows the OU entry, so it must not carry the LDIF version line.
	body := strings.TrimLeft(strings.TrimPrefix(gen.String(), "version: 1\n"), "\n")
	body = strings.ReplaceAll(body, "\nentryUUID: ", "\nmodifyTimestamp: "+loadedTimestamp+"\nentryUUID: ")
	var b bytes.Buffer
	fmt.Fprintf(&b, "dn: %s\nobjectClass: organizationalUnit\nou: people\n\n%s", o.BaseDN, body)
	return &b
}

// config is a connector config for d; over replaces or adds fields.
func (d *directory) config(over map[string]any) json.RawMessage {
	cfg := map[string]any{
		"url":           d.srv.URL(),
		"start_tls":     true,
		"ca_file":       d.srv.CAFile(),
		"bind_dn":       d.srv.BindDN(),
		"bind_password": d.srv.Password(),
		"base_dn":       peopleDN,
		"page_size":     100,
	}
	for k, v := range over {
		if v == nil {
			delete(cfg, k)
			continue
		}
		cfg[k] = v
	}
	raw, _ := json.Marshal(cfg)
	return raw
}

func configured(t *testing.T, raw json.RawMessage) connector.Connector {
	t.Helper()
	c := ldap.New()
	diags, err := c.Configure(t.Context(), raw)
	if err != nil || diags.HasErrors() {
		t.Fatalf("Configure: %v %+v", err, diags)
	}
	return c
}

func readAll(t *testing.T, c connector.Connector, req connector.ReadRequest) ([]connector.Record, connector.ReadResult, error) {
	t.Helper()
	var got []connector.Record
	res, err := c.Read(t.Context(), req, func(r connector.Record) error {
		got = append(got, r)
		return nil
	})
	return got, res, err
}

// want is the record slapd returns for p with attributes = ["*"].
func want(o peoplegen.Options, people []peoplegen.Person, p peoplegen.Person) connector.Record {
	a := map[string][]string{
		"objectClass": {"top", "person", "organizationalPerson", "inetOrgPerson"},
		"uid":         {p.UID}, "cn": {p.GivenName + " " + p.FamilyName}, "givenName": {p.GivenName},
		"sn": {p.FamilyName}, "displayName": {p.GivenName + " " + p.FamilyName}, "title": {p.Title},
		"ou": {p.Department}, "o": {"Example Corp"}, "employeeNumber": {p.EmployeeNumber},
		"telephoneNumber": {p.Phone}, "l": {p.City}, "preferredLanguage": {p.Language},
		"employeeType": {"employee"}, "entryUUID": {p.UUID},
	}
	if p.Mail != "" {
		a["mail"] = []string{p.Mail}
	}
	if p.Mobile != "" {
		a["mobile"] = []string{p.Mobile}
	}
	if p.ManagerIndex >= 0 {
		a["manager"] = []string{people[p.ManagerIndex].DN(o.BaseDN)}
	}
	if p.Disabled {
		a["employeeType"] = []string{"inactive"}
	}
	r := connector.Record{ID: p.UUID, DN: p.DN(o.BaseDN), Attributes: a}
	if p.Photo != nil {
		r.Binary = map[string][][]byte{"jpegPhoto": {p.Photo}}
	}
	return r
}

func TestConformance(t *testing.T) {
	d := newDirectory(t, 30)
	var wantRecords []connector.Record
	for _, p := range d.people {
		wantRecords = append(wantRecords, want(d.opts, d.people, p))
	}
	// In a second directory the service account may not read the entryUUID of two
	// people: their entries come as Invalid records without an ID, the others as usual.
	hiding := newDirectoryWith(t, 12, slapdtest.Options{Access: []string{
		`access to dn.regex="^uid=[^,]+,ou=people,dc=example,dc=com$" filter=(|(employeeNumber=E000003)(employeeNumber=E000007)) attrs=entryUUID by * none`,
	}})
	bad := &connectortest.BadSource{Config: hiding.config(map[string]any{"page_size": 5})}
	for _, p := range hiding.people {
		if p.EmployeeNumber == "E000003" || p.EmployeeNumber == "E000007" {
			bad.Invalid = append(bad.Invalid, connector.Record{Problem: fmt.Sprintf("entry %q has no entryUUID", p.DN(peopleDN))})
			continue
		}
		bad.Valid = append(bad.Valid, want(hiding.opts, hiding.people, p))
	}
	if len(bad.Invalid) != 2 {
		t.Fatalf("the generated people have no employee numbers E000003 and E000007: %d hidden", len(bad.Invalid))
	}
	connectortest.Run(t, connectortest.Harness{
		New:          func(*testing.T) connector.Connector { return ldap.New() },
		Config:       d.config(map[string]any{"page_size": 7}),
		Want:         wantRecords,
		BadConfig:    d.config(map[string]any{"scope": "everything"}),
		BadAttribute: "scope",
		BadRecords:   bad,
	})
}

// TestPagedReadBeyondSizeLimit reads more entries than the server's size limit (500).
func TestPagedReadBeyondSizeLimit(t *testing.T) {
	t.Parallel()
	d := newDirectory(t, 1234)
	for _, pageSize := range []int{100, 500} {
		t.Run(fmt.Sprint(pageSize), func(t *testing.T) {
			got, res, err := readAll(t, configured(t, d.config(map[string]any{"page_size": pageSize})), connector.ReadRequest{})
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if len(got) != 1234 || res.Count != 1234 {
				t.Fatalf("read %d records (count %d), want 1234", len(got), res.Count)
			}
			ids := map[string]bool{}
			for _, r := range got {
				ids[r.ID] = true
			}
			for _, p := range d.people {
				if !ids[p.UUID] {
					t.Fatalf("missing %s", p.UID)
				}
			}
			if want := "modifyTimestamp:" + loadedTimestamp; res.Cursor != want {
				t.Errorf("cursor %q, want %q", res.Cursor, want)
			}
		})
	}
	// A page larger than the server allows must fail the read, never shorten it.
	t.Run("over the limit", func(t *testing.T) {
		got, _, err := readAll(t, configured(t, d.config(map[string]any{"page_size": 1000})), connector.ReadRequest{})
		if err == nil && len(got) != 1234 {
			t.Fatalf("read %d records without an error, want 1234 or an error", len(got))
		}
		if err != nil && !errors.Is(err, ldap.ErrIncomplete) {
			t.Fatalf("Read: %v, want ErrIncomplete", err)
		}
	})
}

func TestTLS(t *testing.T) {
	t.Parallel()
	d := newDirectory(t, 3)
	other, err := slapdtest.Start(t.Context(), slapdtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.Stop)
	cases := []struct {
		name    string
		over    map[string]any
		wantErr error
	}{
		{"ldaps", map[string]any{"url": d.srv.LDAPSURL(), "start_tls": nil}, nil},
		{"starttls", map[string]any{}, nil},
		{"ldaps wrong CA", map[string]any{"url": d.srv.LDAPSURL(), "start_tls": nil, "ca_file": other.CAFile()}, ldap.ErrTLS},
		{"starttls wrong CA", map[string]any{"ca_file": other.CAFile()}, ldap.ErrTLS},
		{"ldaps system roots", map[string]any{"url": d.srv.LDAPSURL(), "start_tls": nil, "ca_file": nil}, ldap.ErrTLS},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := configured(t, d.config(tc.over))
			err := c.Check(t.Context())
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Check = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == ldap.ErrTLS && !strings.Contains(err.Error(), "ca_file") {
				t.Errorf("TLS error does not point at ca_file: %v", err)
			}
			got, _, err := readAll(t, c, connector.ReadRequest{})
			if !errors.Is(err, tc.wantErr) || (err == nil && len(got) != 3) {
				t.Fatalf("Read = %d records, %v; want 3 or %v", len(got), err, tc.wantErr)
			}
		})
	}
}

func TestCheckErrors(t *testing.T) {
	t.Parallel()
	d := newDirectory(t, 3)
	cases := []struct {
		name    string
		over    map[string]any
		wantErr error
		wantMsg string
	}{
		{"wrong password", map[string]any{"bind_password": "not-the-password-1234"}, ldap.ErrCredentials, "invalid credentials"},
		{"unknown user", map[string]any{"bind_dn": "cn=nobody,dc=example,dc=com"}, ldap.ErrCredentials, "cn=nobody"},
		{"unreachable", map[string]any{"url": "ldap://127.0.0.1:1", "start_tls": nil, "allow_insecure_bind": true}, ldap.ErrUnreachable, "127.0.0.1:1"},
		{"missing base", map[string]any{"base_dn": "ou=nowhere,dc=example,dc=com"}, nil, "does not exist"},
		// flavor auto takes a user principal name for Active Directory; OpenLDAP
		// refuses it as a bind DN, and the error says why.
		{"UPN on OpenLDAP", map[string]any{"bind_dn": "sync@example.com"}, nil, "the server takes only a DN as bind_dn, so it is not Active Directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := configured(t, d.config(tc.over))
			err := c.Check(t.Context())
			if err == nil {
				t.Fatal("Check succeeded")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("Check = %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("Check = %v, want it to say %q", err, tc.wantMsg)
			}
			for _, secret := range []string{d.srv.Password(), "not-the-password-1234"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error quotes the password: %v", err)
				}
			}
			if _, _, err := readAll(t, c, connector.ReadRequest{}); err == nil {
				t.Error("Read succeeded where Check failed")
			}
		})
	}
}

func TestConfigureDiagnostics(t *testing.T) {
	t.Parallel()
	base := map[string]any{"url": "ldap://x", "base_dn": "dc=x", "bind_dn": "cn=a,dc=x", "bind_password": "hunter2-secret", "allow_insecure_bind": true}
	cases := []struct {
		over map[string]any
		attr string
	}{
		{map[string]any{"filter": "(uid=x"}, "filter"},
		{map[string]any{"url": "http://x"}, "url"},
		{map[string]any{"url": "ldaps://x", "start_tls": true}, "start_tls"},
		{map[string]any{"base_dn": "not a dn"}, "base_dn"},
		{map[string]any{"page_size": 0}, "page_size"},
		{map[string]any{"flavor": "novell"}, "flavor"},
		{map[string]any{"ca_file": "/nonexistent/ca.pem"}, "ca_file"},
		{map[string]any{"bind_password": ""}, "bind_password"},
		{map[string]any{"base_dn": nil}, "base_dn"},
		{map[string]any{"allow_insecure_bind": nil}, "url"},
		{map[string]any{"allow_insecure_bind": false}, "url"},
	}
	for _, tc := range cases {
		cfg := map[string]any{}
		for k, v := range base {
			cfg[k] = v
		}
		for k, v := range tc.over {
			if v == nil {
				delete(cfg, k)
			} else {
				cfg[k] = v
			}
		}
		raw, _ := json.Marshal(cfg)
		diags, err := ldap.New().Configure(t.Context(), raw)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, dg := range diags {
			found = found || (dg.Severity == connector.Error && dg.Attribute == tc.attr)
			if strings.Contains(dg.Summary+dg.Detail, "hunter2-secret") {
				t.Errorf("a diagnostic quotes the password: %+v", dg)
			}
		}
		if !found {
			t.Errorf("%v: no error diagnostic on %q: %+v", tc.over, tc.attr, diags)
		}
	}
}

// modify runs ldapmodify as the admin with the given LDIF.
func modify(t testing.TB, srv *slapdtest.Server, ldif string) {
	t.Helper()
	cmd := exec.Command("ldapmodify", "-x", "-H", srv.URL(), "-D", srv.AdminDN(), "-w", srv.AdminPassword())
	cmd.Stdin = strings.NewReader(ldif)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ldapmodify: %v\n%s", err, out)
	}
}

func TestDeltaAfterModify(t *testing.T) {
	t.Parallel()
	d := newDirectory(t, 700)
	c := configured(t, d.config(nil))
	full, res, err := readAll(t, c, connector.ReadRequest{})
	if err != nil || len(full) != 700 {
		t.Fatalf("full read: %d records, %v", len(full), err)
	}
	p := d.people[42]
	modify(t, d.srv, fmt.Sprintf("dn: %s\nchangetype: modify\nreplace: title\ntitle: Chief Delta Officer\n", p.DN(d.opts.BaseDN)))
	delta, res3, err := readAll(t, c, connector.ReadRequest{Mode: connector.Delta, Cursor: res.Cursor})
	if err != nil {
		t.Fatalf("delta read: %v", err)
	}
	if len(delta) != 1 || delta[0].ID != p.UUID || delta[0].Kind != connector.Upsert {
		t.Fatalf("delta read %d records, want only %s", len(delta), p.UID)
	}
	if got := delta[0].Attributes["title"]; len(got) != 1 || got[0] != "Chief Delta Officer" {
		t.Errorf("title %q", got)
	}
	if res3.Cursor <= res.Cursor {
		t.Errorf("cursor did not advance: %q after %q", res3.Cursor, res.Cursor)
	}
	// Nothing changed since: an empty delta that keeps the cursor.
	again, res4, err := readAll(t, c, connector.ReadRequest{Mode: connector.Delta, Cursor: res3.Cursor})
	if err != nil || len(again) != 0 || res4.Cursor != res3.Cursor {
		t.Errorf("second delta: %d records, cursor %q, %v; want none and cursor %q", len(again), res4.Cursor, err, res3.Cursor)
	}
	if _, _, err := readAll(t, c, connector.ReadRequest{Mode: connector.Delta, Cursor: "garbage"}); !errors.Is(err, ldap.ErrCursor) {
		t.Errorf("delta with a bad cursor: %v, want ErrCursor", err)
	}
}

func TestServerKilledMidSearch(t *testing.T) {
	t.Parallel()
	d := newDirectory(t, 1500)
	c := configured(t, d.config(map[string]any{"page_size": 50}))
	n := 0
	_, err := c.Read(t.Context(), connector.ReadRequest{}, func(connector.Record) error {
		if n++; n == 120 {
			d.srv.Kill()
		}
		return nil
	})
	if !errors.Is(err, ldap.ErrIncomplete) {
		t.Fatalf("Read after the server died = %v (%d records), want ErrIncomplete", err, n)
	}
	if n >= 1500 {
		t.Fatalf("read all %d records although the server died", n)
	}
}

package ldap_test

import (
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jimlambrt/gldap"

	"github.com/peoplesync/peoplesync/plugins/ldap"
	"github.com/peoplesync/peoplesync/sdk/connector"
)

// adPeopleDN is where the fake domain controller keeps its users.
const adPeopleDN = "OU=Staff,DC=corp,DC=example,DC=com"

// adUser is one user of the fake domain controller.
type adUser struct {
	cn     string
	guid   []byte // objectGUID as AD stores it
	wantID string // its canonical string form
	uac    string
	usn    int
	mgr    string
	photo  []byte
}

func (u adUser) dn() string { return "CN=" + u.cn + "," + adPeopleDN }

var adUsers = []adUser{
	{cn: "Alice Boss", uac: "512", usn: 1000,
		guid:   []byte{0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff},
		wantID: "00112233-4455-6677-8899-aabbccddeeff"},
	{cn: "Bob Gone", uac: "514", usn: 4200, mgr: "CN=Alice Boss," + adPeopleDN, photo: []byte{0x89, 'P', 'N', 'G', 0xff, 0x00},
		guid:   []byte{0x78, 0x56, 0x34, 0x12, 0xbc, 0x9a, 0xf0, 0xde, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08},
		wantID: "12345678-9abc-def0-0102-030405060708"},
}

// adMembers are Alice's proxyAddresses, served with range retrieval three at a time.
var adMembers = func() []string {
	var v []string
	for i := range 8 {
		v = append(v, fmt.Sprintf("smtp:alias%d@corp.example.com", i))
	}
	return v
}()

// fakeAD is an in-process LDAP server that answers as an Active Directory domain
// controller would for what the connector asks: the root DSE, paged user searches,
// uSNChanged deltas and range retrieval.
type fakeAD struct {
	url string

	mu         sync.Mutex
	searches   []string // filters of the user searches, in order
	rangeAsks  []string // attribute names of range requests, in order
	highestUSN string
}

func startFakeAD(t *testing.T) *fakeAD {
	t.Helper()
	f := &fakeAD{highestUSN: "5000"}
	srv, err := gldap.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	mux, err := gldap.NewMux()
	if err != nil {
		t.Fatal(err)
	}
	_ = mux.Bind(func(w *gldap.ResponseWriter, r *gldap.Request) {
		resp := r.NewBindResponse(gldap.WithResponseCode(gldap.ResultInvalidCredentials))
		defer func() { _ = w.Write(resp) }()
		m, err := r.GetSimpleBindMessage()
		if err == nil && m.UserName == "CN=sync,CN=Users,DC=corp,DC=example,DC=com" && string(m.Password) == "ad-secret" {
			resp.SetResultCode(gldap.ResultSuccess)
		}
	})
	_ = mux.Search(f.search)
	if err := srv.Router(mux); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	go func() { _ = srv.Run(addr) }()
	t.Cleanup(func() { _ = srv.Stop() })
	deadline := time.Now().Add(5 * time.Second)
	for !srv.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("fake AD did not start")
		}
		time.Sleep(5 * time.Millisecond) // polling for readiness, with a deadline
	}
	f.url = "ldap://" + addr
	return f
}

func (f *fakeAD) search(w *gldap.ResponseWriter, r *gldap.Request) {
	done := r.NewSearchDoneResponse(gldap.WithResponseCode(gldap.ResultSuccess))
	defer func() { _ = w.Write(done) }()
	m, err := r.GetSearchMessage()
	if err != nil {
		done.SetResultCode(gldap.ResultProtocolError)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case m.BaseDN == "":
		_ = w.Write(r.NewSearchResponseEntry("", gldap.WithAttributes(map[string][]string{
			"supportedCapabilities": {"1.2.840.113556.1.4.800", "1.2.840.113556.1.4.1670"},
			"highestCommittedUSN":   {f.highestUSN},
			"domainFunctionality":   {"7"},
		})))
	case m.Scope == gldap.BaseObject && len(m.Attributes) == 1 && strings.Contains(m.Attributes[0], ";range="):
		f.rangeAsks = append(f.rangeAsks, m.Attributes[0])
		from := 0
		_, _ = fmt.Sscanf(m.Attributes[0][strings.Index(m.Attributes[0], "=")+1:], "%d-", &from)
		name := fmt.Sprintf("proxyAddresses;range=%d-%d", from, from+2)
		end := min(from+3, len(adMembers))
		if end == len(adMembers) {
			name = fmt.Sprintf("proxyAddresses;range=%d-*", from)
		}
		_ = w.Write(r.NewSearchResponseEntry(m.BaseDN, gldap.WithAttributes(map[string][]string{name: adMembers[from:end]})))
	case strings.EqualFold(m.BaseDN, adPeopleDN):
		f.searches = append(f.searches, m.Filter)
		since := 0
		if i := strings.Index(m.Filter, "uSNChanged>="); i >= 0 {
			_, _ = fmt.Sscanf(m.Filter[i+len("uSNChanged>="):], "%d", &since)
		}
		for i, u := range adUsers {
			if u.usn < since {
				continue
			}
			attrs := map[string][]string{
				"cn": {u.cn}, "objectGUID": {string(u.guid)}, "userAccountControl": {u.uac},
				"uSNChanged": {fmt.Sprint(u.usn)}, "sAMAccountName": {strings.ToLower(strings.Fields(u.cn)[0])},
				"givenName": {strings.Fields(u.cn)[0]}, "sn": {strings.Fields(u.cn)[1]},
				"mail": {strings.ToLower(strings.Fields(u.cn)[0]) + "@corp.example.com"},
			}
			if u.mgr != "" {
				attrs["manager"] = []string{u.mgr}
			}
			if u.photo != nil {
				attrs["thumbnailPhoto"] = []string{string(u.photo)}
			}
			if i == 0 {
				attrs["proxyAddresses;range=0-2"] = adMembers[:3]
			}
			_ = w.Write(r.NewSearchResponseEntry(u.dn(), gldap.WithAttributes(attrs)))
		}
		done.SetControls(&gldap.ControlPaging{})
	default:
		done.SetResultCode(gldap.ResultNoSuchObject)
	}
}

// state returns copies of what the server recorded.
func (f *fakeAD) state() (searches, rangeAsks []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.searches), slices.Clone(f.rangeAsks)
}

func (f *fakeAD) setHighestUSN(v string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.highestUSN = v
}

func adConfig(f *fakeAD, over map[string]any) json.RawMessage {
	cfg := map[string]any{
		"url": f.url, "bind_dn": "CN=sync,CN=Users,DC=corp,DC=example,DC=com", "bind_password": "ad-secret",
		"base_dn": adPeopleDN,
		// The fake AD listens on plain ldap:// on loopback only.
		"allow_insecure_bind": true,
	}
	for k, v := range over {
		cfg[k] = v
	}
	raw, _ := json.Marshal(cfg)
	return raw
}

func TestActiveDirectory(t *testing.T) {
	t.Parallel()
	f := startFakeAD(t)
	c := configured(t, adConfig(f, nil))
	if err := c.Check(t.Context()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	got, res, err := readAll(t, c, connector.ReadRequest{})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if len(got) != 2 {
		t.Fatalf("read %d records, want 2", len(got))
	}
	searches, rangeAsks := f.state()
	// auto detected AD from the root DSE: the AD default filter, objectGUID IDs.
	if want := "(&(objectCategory=person)(objectClass=user))"; searches[0] != want {
		t.Errorf("filter %q, want the AD default %q", searches[0], want)
	}
	for i, u := range adUsers {
		r := got[i]
		if r.ID != u.wantID || r.DN != u.dn() {
			t.Errorf("record %d: ID %q DN %q, want %q %q", i, r.ID, r.DN, u.wantID, u.dn())
		}
		if string(r.Binary["objectGUID"][0]) != string(u.guid) {
			t.Errorf("%s: objectGUID bytes not kept", u.cn)
		}
		if uac := r.Attributes["userAccountControl"]; len(uac) != 1 || uac[0] != u.uac {
			t.Errorf("%s: userAccountControl %q", u.cn, uac)
		}
		if _, ok := r.Attributes["uSNChanged"]; ok {
			t.Errorf("%s: uSNChanged (asked for bookkeeping) leaked into the record", u.cn)
		}
	}
	if p := got[1].Binary["thumbnailPhoto"]; len(p) != 1 || string(p[0]) != string(adUsers[1].photo) {
		t.Errorf("thumbnailPhoto %v", p)
	}
	if pa := got[0].Attributes["proxyAddresses"]; strings.Join(pa, ",") != strings.Join(adMembers, ",") {
		t.Errorf("range retrieval: proxyAddresses %q, want %q", pa, adMembers)
	}
	if want := []string{"proxyAddresses;range=3-*", "proxyAddresses;range=6-*"}; strings.Join(rangeAsks, " ") != strings.Join(want, " ") {
		t.Errorf("range requests %q, want %q", rangeAsks, want)
	}
	if res.Cursor != "uSNChanged:5000" {
		t.Errorf("cursor %q, want the highestCommittedUSN at the start", res.Cursor)
	}

	// A delta from USN 4000 asks for uSNChanged >= 4001 and gets Bob only.
	f.setHighestUSN("6000")
	delta, res, err := readAll(t, c, connector.ReadRequest{Mode: connector.Delta, Cursor: "uSNChanged:4000"})
	if err != nil {
		t.Fatalf("delta: %v", err)
	}
	if len(delta) != 1 || delta[0].ID != adUsers[1].wantID || res.Cursor != "uSNChanged:6000" {
		t.Fatalf("delta: %d records, cursor %q", len(delta), res.Cursor)
	}
	searches, _ = f.state()
	if last := searches[len(searches)-1]; !strings.Contains(last, "(uSNChanged>=4001)") {
		t.Errorf("delta filter %q", last)
	}
	if _, _, err := readAll(t, c, connector.ReadRequest{Mode: connector.Delta, Cursor: "modifyTimestamp:20200101000000Z"}); err == nil {
		t.Error("an OpenLDAP cursor was accepted by an AD read")
	}
}

func TestActiveDirectoryWrongPassword(t *testing.T) {
	t.Parallel()
	f := startFakeAD(t)
	c := configured(t, adConfig(f, map[string]any{"bind_password": "wrong-ad-password"}))
	_, _, err := readAll(t, c, connector.ReadRequest{})
	if err == nil || !strings.Contains(err.Error(), "invalid credentials") || strings.Contains(err.Error(), "wrong-ad-password") {
		t.Fatalf("Read with a wrong password = %v", err)
	}
	_ = ldap.ErrCredentials
}

func TestFlavorForced(t *testing.T) {
	t.Parallel()
	f := startFakeAD(t)
	// Forced to openldap against an AD, the connector asks for entryUUID, which AD has
	// not got: the read fails rather than emitting people without IDs.
	c := configured(t, adConfig(f, map[string]any{"flavor": "openldap"}))
	if _, _, err := readAll(t, c, connector.ReadRequest{}); err == nil || !strings.Contains(err.Error(), "entryUUID") {
		t.Fatalf("Read = %v, want an error naming entryUUID", err)
	}
}

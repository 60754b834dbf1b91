package sambatest

import (
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
)

func TestStartAddStop(t *testing.T) {
	s, err := Start(t.Context(), Options{})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer s.Stop()
	dn, err := s.AddUser(t.Context(), User{Name: "alice", GivenName: "Alice", Surname: "Boss"})
	if err != nil {
		t.Fatalf("AddUser: %v", err)
	}
	for _, name := range []string{s.ServiceDN(), s.ServiceUPN(), s.ServiceDownLevel()} {
		conn, err := goldap.DialURL(s.URL())
		if err != nil {
			t.Fatal(err)
		}
		if err := conn.Bind(name, s.Password()); err != nil {
			t.Errorf("bind as %q: %v", name, err)
		} else if res, err := conn.Search(goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases,
			0, 0, false, "(objectClass=user)", []string{"givenName"}, nil)); err != nil || len(res.Entries) != 1 {
			t.Errorf("as %q, read %s: %v", name, dn, err)
		}
		conn.Close()
	}
	s.Stop()
	if err := s.ping(); err == nil {
		t.Error("still answering after Stop")
	}
	s.Stop()
}

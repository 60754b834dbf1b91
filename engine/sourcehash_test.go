package engine

import (
	"testing"

	"github.com/peoplesync/peoplesync/sdk/connector"
)

func TestSourceHash(t *testing.T) {
	base := func() connector.Record {
		return connector.Record{
			ID: "1", DN: "uid=a,dc=x",
			Attributes: map[string][]string{"cn": {"A"}, "mail": {"a@x", "b@x"}, "sn": {"B"}},
			Binary:     map[string][][]byte{"jpegPhoto": {{1, 2, 3}}},
		}
	}
	hash := func(salt string, r connector.Record) [32]byte {
		h, _, _ := sourceHash([]byte(salt), &r, nil, nil)
		return h
	}
	want := hash("m1", base())
	// Map order does not matter: the same record built again hashes the same.
	for range 20 {
		if hash("m1", base()) != want {
			t.Fatal("the same record hashed differently")
		}
	}
	changes := map[string]func(*connector.Record){
		"id":           func(r *connector.Record) { r.ID = "2" },
		"dn":           func(r *connector.Record) { r.DN = "uid=b,dc=x" },
		"value":        func(r *connector.Record) { r.Attributes["cn"] = []string{"C"} },
		"value order":  func(r *connector.Record) { r.Attributes["mail"] = []string{"b@x", "a@x"} },
		"split value":  func(r *connector.Record) { r.Attributes["mail"] = []string{"a@xb@x"} },
		"new attr":     func(r *connector.Record) { r.Attributes["title"] = nil },
		"binary":       func(r *connector.Record) { r.Binary["jpegPhoto"] = [][]byte{{1, 2, 4}} },
		"text→binary":  func(r *connector.Record) { delete(r.Attributes, "cn"); r.Binary["cn"] = [][]byte{[]byte("A")} },
		"renamed attr": func(r *connector.Record) { r.Attributes["sn2"] = r.Attributes["sn"]; delete(r.Attributes, "sn") },
	}
	for name, change := range changes {
		r := base()
		change(&r)
		if hash("m1", r) == want {
			t.Errorf("%s: hash unchanged", name)
		}
	}
	if hash("m2", base()) == want {
		t.Error("another mapping identity gave the same hash")
	}
}

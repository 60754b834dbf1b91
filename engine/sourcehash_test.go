package engine

import (
	"encoding/hex"
	"testing"

	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/protocol"
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
		var h sourceHasher
		return h.sum([]byte(salt), rawOf(t, r), 0)
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

// A hasher that goes from batch to batch hashes every record as a fresh one does,
// whether the next record's names are the same, fewer, more or others.
func TestSourceHasherReusesNames(t *testing.T) {
	recs := []connector.Record{
		{ID: "1", Attributes: map[string][]string{"cn": {"A"}, "sn": {"B"}, "mail": {"m"}}},
		{ID: "2", Attributes: map[string][]string{"mail": {"m"}, "cn": {"A"}, "sn": {"B"}}},
		{ID: "3", Attributes: map[string][]string{"cn": {"A"}, "sn": {"B"}}},
		{ID: "4", Attributes: map[string][]string{"cn": {"A"}, "sn": {"B"}, "title": {"T"}}},
		{ID: "5", Attributes: map[string][]string{"cn": {"A"}, "uid": {"B"}, "title": {"T"}}},
		{ID: "6", Attributes: map[string][]string{"cn": {"A"}, "uid": {"B"}, "title": {"T"}}, Binary: map[string][][]byte{"photo": {{1}}}},
		{ID: "7"},
	}
	var shared sourceHasher
	for _, r := range recs {
		var fresh sourceHasher
		b := rawOf(t, r)
		if got, want := shared.sum([]byte("m"), b, 0), fresh.sum([]byte("m"), b, 0); got != want {
			t.Errorf("record %s: reused names hashed %x, a fresh hasher %x", r.ID, got[:4], want[:4])
		}
	}
}

// The source hash stays what earlier versions stored, or every sync would map every
// record again after an upgrade (the value is the one the first implementation gave).
func TestSourceHashIsStable(t *testing.T) {
	r := connector.Record{ID: "5f1c9c52", DN: "uid=jdoe,ou=People,dc=example,dc=com",
		Attributes: map[string][]string{"cn": {"Jane Doe"}, "mail": {"jane@example.com", "j@example.com"}, "sn": {"Doe"}, "empty": {}},
		Binary:     map[string][][]byte{"jpegPhoto": {{0xff, 0xd8, 0xff}}}}
	var h sourceHasher
	got := h.sum([]byte("mapping-identity"), rawOf(t, r), 0)
	if want := "8df6c419263d26c7682a756a32ad84a1084ce47df38f99cc755986b5cc59c7e1"; hex.EncodeToString(got[:]) != want {
		t.Fatalf("source hash %x, want %s", got, want)
	}
}

// rawOf is r in a batch of its own, as a plugin would send it.
func rawOf(t *testing.T, r connector.Record) *protocol.RawBatch {
	t.Helper()
	b, err := protocol.NewRawBatch([]connector.Record{r})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

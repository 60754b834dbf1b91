package ldap

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/peoplesync/peoplesync/sdk/connector"
)

// testAttr is an attribute to encode.
type testAttr struct {
	name   string
	values []string
}

// encodeEntry encodes the content of a SearchResultEntry.
func encodeEntry(dn string, attrs []testAttr) []byte {
	w := &wireConn{}
	w.appendString(tagOctetString, dn)
	w.appendTLV(tagSequence, func() {
		for _, a := range attrs {
			w.appendTLV(tagSequence, func() {
				w.appendString(tagOctetString, a.name)
				w.appendTLV(tagSet, func() {
					for _, v := range a.values {
						w.appendString(tagOctetString, v)
					}
				})
			})
		}
	})
	return w.out
}

// encodeMessage encodes a whole LDAPMessage with the given ID, operation and controls.
func encodeMessage(id int64, op byte, body, controls []byte) []byte {
	w := &wireConn{}
	w.appendTLV(tagSequence, func() {
		w.appendInt(tagInteger, id)
		w.appendBytes(op, body)
		if controls != nil {
			w.appendBytes(tagControls, controls)
		}
	})
	return w.out
}

func TestDecodeEntry(t *testing.T) {
	long := strings.Repeat("x", 300)   // a two-byte length
	huge := strings.Repeat("y", 70000) // a three-byte length
	attrs := []testAttr{
		{"cn", []string{"Zoë Ünal"}},
		{"mail", []string{"a@example.com", "b@example.com", long}},
		{"description", []string{huge}},
		{"empty", nil},
	}
	var e wireEntry
	body := encodeEntry("uid=zoe,ou=people,dc=example,dc=com", attrs)
	if err := decodeEntry(body, &e); err != nil {
		t.Fatalf("decodeEntry: %v", err)
	}
	if string(e.dn) != "uid=zoe,ou=people,dc=example,dc=com" {
		t.Errorf("dn = %q", e.dn)
	}
	if len(e.attrs) != len(attrs) {
		t.Fatalf("%d attributes, want %d", len(e.attrs), len(attrs))
	}
	for i, a := range e.attrs {
		var got []string
		for _, v := range a.values {
			got = append(got, string(v))
		}
		if string(a.name) != attrs[i].name || !slices.Equal(got, attrs[i].values) {
			t.Errorf("attribute %d = %s %d values, want %s %d values", i, a.name, len(got), attrs[i].name, len(attrs[i].values))
		}
	}
	// Every strict prefix is malformed: a cut message never passes for a shorter entry.
	for n := range len(body) {
		if err := decodeEntry(body[:n], &e); !errors.Is(err, errMalformed) {
			t.Fatalf("decodeEntry of the first %d of %d bytes = %v, want errMalformed", n, len(body), err)
		}
	}
}

func TestWireRead(t *testing.T) {
	entry := encodeEntry("cn=a", []testAttr{{"cn", []string{"a"}}})
	done := func(code int64, diag string) []byte {
		w := &wireConn{}
		w.appendInt(tagEnumerated, code)
		w.appendString(tagOctetString, "")
		w.appendString(tagOctetString, diag)
		return w.out
	}
	paging := func(cookie string) []byte {
		w := &wireConn{}
		w.appendTLV(tagSequence, func() {
			w.appendString(tagOctetString, oidPaging)
			w.appendTLV(tagOctetString, func() {
				w.appendTLV(tagSequence, func() {
					w.appendInt(tagInteger, 0)
					w.appendString(tagOctetString, cookie)
				})
			})
		})
		return w.out
	}
	tests := []struct {
		name       string
		stream     []byte
		wantOp     byte
		wantCookie string
		wantCode   uint16 // goldap result code of the error; 0: no error
	}{
		{"entry", encodeMessage(7, tagSearchEntry, entry, nil), tagSearchEntry, "", 0},
		{"done with cookie", encodeMessage(7, tagSearchDone, done(0, ""), paging("next")), tagSearchDone, "next", 0},
		{"size limit", encodeMessage(7, tagSearchDone, done(4, "too many"), nil), tagSearchDone, "", goldap.LDAPResultSizeLimitExceeded},
		{"other message ID", encodeMessage(8, tagSearchEntry, entry, nil), 0, "", goldap.ErrorNetwork},
		{"notice of disconnection", encodeMessage(0, tagExtendedResp, done(52, "shutting down"), nil), 0, "", goldap.ErrorNetwork},
		{"truncated", encodeMessage(7, tagSearchEntry, entry, nil)[:10], 0, "", goldap.ErrorNetwork},
		{"empty stream", nil, 0, "", goldap.ErrorNetwork},
		{"not a sequence", []byte{0x04, 0x01, 0x00}, 0, "", goldap.ErrorNetwork},
		{"length beyond the limit", []byte{0x30, 0x84, 0x7f, 0xff, 0xff, 0xff}, 0, "", goldap.ErrorNetwork},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := &wireConn{br: bufio.NewReader(bytes.NewReader(tc.stream)), nextID: 7}
			op, body, controls, err := w.read()
			if err == nil && op == tagSearchDone {
				err = resultError(body)
			}
			if tc.wantCode != 0 {
				if !goldap.IsErrorWithCode(err, tc.wantCode) {
					t.Fatalf("read = %v, want result code %d", err, tc.wantCode)
				}
				return
			}
			if err != nil || op != tc.wantOp {
				t.Fatalf("read = %#x, %v; want %#x", op, err, tc.wantOp)
			}
			cookie, ok := pagingCookie(controls)
			if ok != (op == tagSearchDone) || string(cookie) != tc.wantCookie {
				t.Errorf("pagingCookie = %q, %v; want %q", cookie, ok, tc.wantCookie)
			}
		})
	}
}

// TestRecordOwnsItsValues checks that a record keeps its values when the buffer its entry
// was decoded from is overwritten by the next message.
func TestRecordOwnsItsValues(t *testing.T) {
	body := encodeEntry("uid=a,dc=example,dc=com", []testAttr{
		{"entryUUID", []string{"0B7C6A3E-1111-2222-3333-444455556666"}},
		{"cn", []string{"Ana"}},
		{"mail", []string{"a@example.com", "ana@example.com"}},
		{"jpegPhoto", []string{"\xff\xd8\xff\xe0photo"}},
		{"modifyTimestamp", []string{"20260101000000Z"}},
		{"CN", []string{"Ana B"}},
	})
	var rec connector.Record
	w := connector.NewRecordWriter(func(r connector.Record) error {
		rec = r
		return nil
	})
	r := &reader{cfg: &config{}, fa: attrsOf(flavorOpenLDAP), idLower: "entryuuid", strip: map[string]bool{"modifytimestamp": true}, w: w}
	if err := decodeEntry(body, &r.entry); err != nil {
		t.Fatalf("decodeEntry: %v", err)
	}
	if err := r.write(context.Background(), &r.entry); err != nil {
		t.Fatalf("write: %v", err)
	}
	for i := range body {
		body[i] = 'z'
	}
	want := connector.Record{
		ID: "0b7c6a3e-1111-2222-3333-444455556666", DN: "uid=a,dc=example,dc=com",
		Attributes: map[string][]string{
			"entryUUID": {"0B7C6A3E-1111-2222-3333-444455556666"},
			"cn":        {"Ana"}, "CN": {"Ana B"},
			"mail": {"a@example.com", "ana@example.com"},
		},
		Binary: map[string][][]byte{"jpegPhoto": {[]byte("\xff\xd8\xff\xe0photo")}},
	}
	if rec.ID != want.ID || rec.DN != want.DN || len(rec.Attributes) != len(want.Attributes) || len(rec.Binary) != 1 ||
		!bytes.Equal(rec.Binary["jpegPhoto"][0], want.Binary["jpegPhoto"][0]) {
		t.Fatalf("record = %+v, want %+v", rec, want)
	}
	for k, v := range want.Attributes {
		if !slices.Equal(rec.Attributes[k], v) {
			t.Errorf("%s = %q, want %q", k, rec.Attributes[k], v)
		}
	}
	if r.maxTimestamp != "20260101000000Z" {
		t.Errorf("maxTimestamp = %q", r.maxTimestamp)
	}
	// Appending to one attribute's values must not overwrite the next attribute's.
	rec.Attributes["cn"] = append(rec.Attributes["cn"], "extra")
	if !slices.Equal(rec.Attributes["mail"], want.Attributes["mail"]) {
		t.Errorf("after an append to cn, mail = %q", rec.Attributes["mail"])
	}
}

// An entry that carries one attribute twice (a server's quirk, or a range-retrieved one
// with its base name) becomes one attribute with the values of both.
func TestRepeatedAttributeMerges(t *testing.T) {
	body := encodeEntry("uid=a,dc=example,dc=com", []testAttr{
		{"entryUUID", []string{"0b7c6a3e-1111-2222-3333-444455556666"}},
		{"mail", []string{"a@example.com"}},
		{"cn", []string{"Ana"}},
		{"mail", []string{"ana@example.com"}},
	})
	var rec connector.Record
	w := connector.NewRecordWriter(func(r connector.Record) error {
		rec = r
		return nil
	})
	r := &reader{cfg: &config{}, fa: attrsOf(flavorOpenLDAP), idLower: "entryuuid", strip: map[string]bool{}, w: w}
	if err := decodeEntry(body, &r.entry); err != nil {
		t.Fatalf("decodeEntry: %v", err)
	}
	if err := r.write(context.Background(), &r.entry); err != nil {
		t.Fatalf("write: %v", err)
	}
	if got, want := rec.Attributes["mail"], []string{"a@example.com", "ana@example.com"}; !slices.Equal(got, want) {
		t.Errorf("mail = %q, want %q", got, want)
	}
	if got := rec.Attributes["cn"]; !slices.Equal(got, []string{"Ana"}) {
		t.Errorf("cn = %q", got)
	}
}

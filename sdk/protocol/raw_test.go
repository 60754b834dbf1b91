package protocol

import (
	"reflect"
	"testing"

	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/internal/recordwire"
)

// TestRecordTypesAgree fails when connector.Record gains a field that the encoding's
// Record (and so toWire and fromWire) does not carry, or the other way round: a field
// missing on one side would silently not cross the plugin boundary.
func TestRecordTypesAgree(t *testing.T) {
	a, b := reflect.TypeFor[connector.Record](), reflect.TypeFor[recordwire.Record]()
	if a.NumField() != b.NumField() {
		t.Fatalf("connector.Record has %d fields, recordwire.Record %d", a.NumField(), b.NumField())
	}
	for i := range a.NumField() {
		fa := a.Field(i)
		fb, ok := b.FieldByName(fa.Name)
		if !ok || fa.Type.Kind() != fb.Type.Kind() || fa.Type.String() != fb.Type.String() && fa.Name != "Kind" {
			t.Errorf("connector.Record.%s (%s) has no twin in recordwire.Record", fa.Name, fa.Type)
		}
	}
	r := connector.Record{ID: "1", DN: "uid=a", Kind: connector.Invalid, Problem: "p",
		Attributes: map[string][]string{"cn": {"A"}}, Binary: map[string][][]byte{"jpegPhoto": {{1}}}}
	w := toWire(&r)
	if back := fromWire(&w); !reflect.DeepEqual(back, r) {
		t.Errorf("fromWire(toWire(r)) = %#v, want %#v", back, r)
	}
}

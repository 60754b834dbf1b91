package engine

import (
	"reflect"
	"testing"

	"github.com/peoplesync/peoplesync/sdk/profile"
)

// A create lists the fields the new profile has; it says "active" only for a person
// the source marks inactive, and an update says it whenever it changes.
func TestDiffProfilesActive(t *testing.T) {
	var ann profile.Profile
	ann.Set(profile.UserName, "ann")
	ann.Active = true
	if got, want := DiffProfiles(nil, &ann), []FieldDiff{{Field: "user_name", Old: "", New: "ann"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("create of an active person: %+v, want %+v", got, want)
	}
	left := ann
	left.Active = false
	if got, want := DiffProfiles(nil, &left), []FieldDiff{{Field: "user_name", Old: "", New: "ann"}, {Field: "active", Old: "", New: "false"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("create of an inactive person: %+v, want %+v", got, want)
	}
	if got, want := DiffProfiles(&ann, &left), []FieldDiff{{Field: "active", Old: "true", New: "false"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("update that disables: %+v, want %+v", got, want)
	}
}

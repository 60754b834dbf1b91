package store

import (
	"slices"
	"testing"

	"github.com/peoplesync/peoplesync/sdk/profile"
)

func TestRank(t *testing.T) {
	s := Sources{
		Order: []string{"hr", "ad"},
		Fields: map[string][]string{
			"email":      {"ad"},
			"attributes": {"ad", "hr"},
			"photo":      {"okta", "ad"},
		},
	}
	cases := []struct {
		field string
		in    []string
		want  []string
	}{
		{"title", []string{"ad", "zz", "hr", "aa"}, []string{"hr", "ad", "aa", "zz"}},
		{"email", []string{"hr", "ad"}, []string{"ad", "hr"}},
		{"attributes.cost_center", []string{"hr", "ad"}, []string{"ad", "hr"}},
		{"photo", []string{"hr", "ad", "okta"}, []string{"okta", "ad", "hr"}},
		{"manager", []string{"ad", "hr"}, []string{"hr", "ad"}},
	}
	for _, c := range cases {
		if got := s.Rank(c.field, slices.Clone(c.in)); !slices.Equal(got, c.want) {
			t.Errorf("Rank(%s, %v) = %v, want %v", c.field, c.in, got, c.want)
		}
	}
	if got := (Sources{}).Rank("email", []string{"b", "a"}); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("zero Sources rank by name, got %v", got)
	}
}

func TestFieldValueAndRoles(t *testing.T) {
	var p profile.Profile
	p.Set(profile.Email, "ann@example.com")
	p.Attributes = map[string]string{"badge": "Xy"}
	for field, want := range map[string]string{"email": "ann@example.com", "attributes.badge": "Xy", "attributes.none": "", "nonsense": ""} {
		if got := FieldValue(&p, field); got != want {
			t.Errorf("FieldValue(%q) = %q, want %q", field, got, want)
		}
	}
	if !KeyFoldsCase("email") || !KeyFoldsCase("user_name") || KeyFoldsCase("employee_number") {
		t.Error("KeyFoldsCase: email and user_name fold, employee_number does not")
	}
	if r := (Sources{}).RolesOf("x"); r.Creates != true || r.Ends != true || r.Join != nil {
		t.Errorf("RolesOf an unknown sync = %+v", r)
	}
}

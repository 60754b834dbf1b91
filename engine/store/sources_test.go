package store

import (
	"slices"
	"testing"
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

func TestNormalizeKey(t *testing.T) {
	for _, c := range [][3]string{
		{"email", "  Ann@Example.COM ", "ann@example.com"},
		{"user_name", "ANN", "ann"},
		{"employee_number", " E042 ", "E042"},
		{"attributes.badge", "Xy", "Xy"},
	} {
		if got := NormalizeKey(c[0], c[1]); got != c[2] {
			t.Errorf("NormalizeKey(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
	if r := (Sources{}).RolesOf("x"); r.Creates != true || r.Ends != true || r.Join != nil {
		t.Errorf("RolesOf an unknown sync = %+v", r)
	}
}

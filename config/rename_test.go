package config

// The fixtures are HCL native syntax as hashicorp/hcl's hclsyntax specification
// (hclsyntax/spec.md) defines it; previous_names is our own schema.

import (
	"slices"
	"strings"
	"testing"
)

func TestPreviousNames(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, withPeople(`previous_names = ["staff", "people_v1"]`), "testdata/valid/renamed.hcl")
	if got := cfg.Sync("b").PreviousNames; !slices.Equal(got, []string{"staff", "people_v1"}) {
		t.Errorf("PreviousNames = %q", got)
	}
	if cfg.Sync("a").PreviousNames != nil {
		t.Errorf("a has previous names %q", cfg.Sync("a").PreviousNames)
	}
	if s := cfg.PreviousNameOf("people_v1"); s == nil || s.Name != "b" {
		t.Errorf("PreviousNameOf(people_v1) = %v", s)
	}
	if s := cfg.PreviousNameOf("a"); s != nil {
		t.Errorf("PreviousNameOf(a) = %v, want nil", s.Name)
	}
}

func TestPreviousNamesMistakes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, people, extra, want string
	}{
		{name: "a declared sync", people: `previous_names = ["a"]`,
			want: `testdata/valid/renamed.hcl:13:21: error: Previous name of a declared sync: Sync "b" lists "a" in previous_names, but "a" is a sync of this configuration (testdata/valid/renamed.hcl:4:1)`},
		{name: "its own name", people: `previous_names = ["old", "b"]`,
			want: `testdata/valid/renamed.hcl:13:28: error: Previous name is the sync's own`},
		{name: "not a name", people: `previous_names = ["old staff"]`,
			want: `renamed.hcl:13:21: error: Invalid previous name: "old staff" is not a valid sync name`},
		{name: "twice in one list", people: `previous_names = ["old", "old"]`,
			want: `renamed.hcl:13:28: error: Previous name claimed twice: "old" is already listed as a previous name at testdata/valid/renamed.hcl:13:21`},
		{name: "claimed by two syncs", people: `previous_names = ["old"]`,
			extra: `sync "c" {
  connector      = connector.hr
  mapping        = mapping.m
  schedule       = "@hourly"
  previous_names = ["old"]
}`,
			want: `renamed.hcl:19:21: error: Previous name claimed twice`},
		{name: "a list of strings", people: `previous_names = "old"`,
			want: `renamed.hcl:13:20: error: Incorrect attribute value type`},
		{name: "precedence names the old name", people: `previous_names = ["old"]`,
			extra: `precedence { default = ["old", "a"] }`,
			want:  `error: Reference to undeclared sync: default names "old", but no sync of that name is declared. Sync "b" was renamed from it (previous_names); name it by its new name.`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := withPeople(tc.people) + tc.extra + "\n"
			_, diags := newTestParser().Parse([]byte(src), "testdata/valid/renamed.hcl")
			var got []string
			for _, d := range diags {
				got = append(got, FormatDiagnostic(d))
			}
			if len(got) != 1 || !strings.Contains(got[0], tc.want) {
				t.Errorf("want one diagnostic containing %q, got:\n%s", tc.want, strings.Join(got, "\n"))
			}
		})
	}
}

package config

// The fixtures are HCL native syntax as hashicorp/hcl's hclsyntax specification
// (hclsyntax/spec.md) defines it; the people and precedence blocks are our own schema
// (issue 11).

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/peoplesync/peoplesync/engine/store"
)

func TestPeopleAndPrecedenceShape(t *testing.T) {
	t.Parallel()
	cfg := mustLoad(t, "testdata/valid/sources.hcl")
	if p := cfg.Sync("hr").People; p != nil {
		t.Errorf("hr has no people block, got %+v", p)
	}
	p := cfg.Sync("ad").People
	if p == nil || p.Create || p.End || !slices.Equal(p.Join, []string{"employee_number", "email"}) {
		t.Fatalf("ad people = %+v", p)
	}
	if p.DeclRange.Start.Line != 29 || p.RangeOf("create").Start.Line != 30 || p.RangeOf("end").Start.Line != 31 ||
		cfg.Sync("ad").RangeOf("people") != p.DeclRange {
		t.Errorf("people ranges: decl %v create %v end %v", p.DeclRange, p.RangeOf("create"), p.RangeOf("end"))
	}
	for i, col := range []int{15, 34} {
		if r := p.JoinRange(i); r.Start.Line != 32 || r.Start.Column != col {
			t.Errorf("JoinRange(%d) = %v, want 32:%d", i, r, col)
		}
	}
	if r := p.JoinRange(2); r != p.RangeOf("join") {
		t.Errorf("JoinRange past the end = %v, want the join attribute %v", r, p.RangeOf("join"))
	}

	pr := cfg.Precedence
	if pr == nil || !slices.Equal(pr.Default, []string{"hr", "ad"}) {
		t.Fatalf("Precedence = %+v", pr)
	}
	wantFields := map[string][]string{"email": {"ad", "hr"}, "photo": {"ad"}, "attributes.cost_center": {"hr"}}
	if !reflect.DeepEqual(pr.Fields, wantFields) {
		t.Errorf("Fields = %v, want %v", pr.Fields, wantFields)
	}
	if pr.DeclRange.Start.Line != 36 || pr.RangeOf("default").Start.Line != 37 || pr.RangeOf("fields").Start.Line != 38 {
		t.Errorf("precedence ranges: decl %v default %v fields %v", pr.DeclRange, pr.RangeOf("default"), pr.RangeOf("fields"))
	}
	for field, line := range map[string]int{"email": 39, "photo": 40, "attributes.cost_center": 41, "manager": 38} {
		if r := pr.FieldRange(field); r.Start.Line != line || r.Start.Column != 5 && field != "manager" {
			t.Errorf("FieldRange(%s) = %v, want line %d", field, r, line)
		}
	}
}

func TestSources(t *testing.T) {
	t.Parallel()
	got := mustLoad(t, "testdata/valid/sources.hcl").Sources()
	want := store.Sources{
		Roles: map[string]store.Roles{
			"hr": store.DefaultRoles,
			"ad": {Creates: false, Ends: false, Join: []string{"employee_number", "email"}},
		},
		Order:  []string{"hr", "ad"},
		Fields: map[string][]string{"email": {"ad", "hr"}, "photo": {"ad"}, "attributes.cost_center": {"hr"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Sources() = %+v\nwant %+v", got, want)
	}
	// What Sources returns is the caller's: changing it changes no config.
	cfg := mustLoad(t, "testdata/valid/sources.hcl")
	s := cfg.Sources()
	s.Order[0], s.Fields["email"][0], s.Roles["ad"].Join[0] = "x", "x", "x"
	if again := cfg.Sources(); !reflect.DeepEqual(again, want) {
		t.Errorf("Sources() after changing an earlier result = %+v", again)
	}

	// Today's configs: every sync has the default roles, the default order is the file's
	// and no field has a precedence of its own.
	for _, path := range []string{"testdata/valid/many.hcl", "testdata/valid/sync.hcl", "testdata/valid/minimal.hcl"} {
		cfg := mustLoad(t, path)
		src := cfg.Sources()
		var names []string
		for _, s := range cfg.Syncs {
			names = append(names, s.Name)
			if s.People != nil || src.Roles[s.Name].Creates != true || src.Roles[s.Name].Ends != true || src.Roles[s.Name].Join != nil {
				t.Errorf("%s: sync %s: People %+v, roles %+v", path, s.Name, s.People, src.Roles[s.Name])
			}
		}
		if cfg.Precedence != nil || !slices.Equal(src.Order, names) || src.Fields != nil || len(src.Roles) != len(names) {
			t.Errorf("%s: Precedence %+v, Sources() = %+v", path, cfg.Precedence, src)
		}
	}

	// A precedence block without a default keeps the file's order.
	cfg = mustParse(t, withPeople("")+`
precedence {
  fields = { title = ["b"] }
}
`, "testdata/valid/fields.hcl")
	if src := cfg.Sources(); !slices.Equal(src.Order, []string{"a", "b"}) || !reflect.DeepEqual(src.Fields, map[string][]string{"title": {"b"}}) {
		t.Errorf("Sources() = %+v", src)
	}
	// A sync built by hand has the default roles.
	if r := (&Sync{Name: "x"}).Roles(); !reflect.DeepEqual(r, store.DefaultRoles) {
		t.Errorf("hand-built Roles() = %+v", r)
	}
}

func TestPeopleDefaults(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, withPeople("")+`
sync "c" {
  connector = connector.hr
  mapping   = mapping.m
  schedule  = "@hourly"
  people {
    join = ["attributes.badge"]
  }
}
precedence {
  default = ["a", "b", "c"]
}
`, "testdata/valid/defaults.hcl")
	p := cfg.Sync("c").People
	if p == nil || !p.Create || !p.End || !slices.Equal(p.Join, []string{"attributes.badge"}) {
		t.Fatalf("people = %+v", p)
	}
	if r := p.RangeOf("create"); r != p.DeclRange {
		t.Errorf("RangeOf(create) = %v, want the block header %v", r, p.DeclRange)
	}
}

// withPeople returns two syncs, a and b, b with people (a people block, or nothing), for
// the cases to add to.
func withPeople(people string) string {
	return strings.Replace(twoSyncs, "PEOPLE", people, 1)
}

const twoSyncs = `store { url = "x" }
connector "hr" { plugin = "file" }
mapping "m" { module = "modules/default.module" }
sync "a" {
  connector = connector.hr
  mapping   = mapping.m
  schedule  = "@hourly"
}
sync "b" {
  connector = connector.hr
  mapping   = mapping.m
  schedule  = "@hourly"
  PEOPLE
}
`

// TestSeveralSyncsMayEndPeople: syncs that may end people they share must say which of
// them wins; syncs that share nobody, today's configs, need not.
func TestSeveralSyncsMayEndPeople(t *testing.T) {
	t.Parallel()
	const conflict = "Several syncs may end people"
	cases := []struct {
		name, people, extra, want string
	}{
		{name: "independent syncs", want: ""},
		{name: "a people block without join", people: `people { create = true }`, want: ""},
		{name: "b joins, both end", people: `people { join = ["email"] }`,
			want: `testdata/valid/ends.hcl:13:3: error: ` + conflict + `: Syncs "a" and "b" may each end people`},
		{name: "b joins and does not end", people: `people {
    join = ["email"]
    end  = false
  }`, want: ""},
		{name: "the default lists both", people: `people { join = ["email"] }`,
			extra: `precedence { default = ["b", "a"] }`, want: ""},
		{name: "active lists both", people: `people { join = ["email"] }`,
			extra: `precedence {
  default = ["a"]
  fields  = { active = ["a", "b"] }
}`, want: ""},
		{name: "the default lists one", people: `people {
    join = ["email"]
    end  = true
  }`,
			extra: `precedence { default = ["a"] }`,
			want:  `testdata/valid/ends.hcl:15:12: error: ` + conflict + `: Syncs "a" and "b" may each end people (end = true is the default), and they share people: sync "b" joins the people of others. Nothing says which of them decides whether a person is active. The precedence default at testdata/valid/ends.hcl:18:24 leaves out "b".`},
		{name: "active's own list is not enough for a title", people: `people { join = ["email"] }`,
			extra: `precedence { fields = { title = ["a", "b"] } }`,
			want:  conflict},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := withPeople(tc.people) + tc.extra + "\n"
			_, diags := newTestParser().Parse([]byte(src), "testdata/valid/ends.hcl")
			var got []string
			for _, d := range diags {
				got = append(got, FormatDiagnostic(d))
			}
			switch {
			case tc.want == "" && len(got) > 0:
				t.Errorf("want no diagnostics, got:\n%s", strings.Join(got, "\n"))
			case tc.want != "" && (len(got) != 1 || !strings.Contains(got[0], tc.want)):
				t.Errorf("want one diagnostic containing %q, got:\n%s", tc.want, strings.Join(got, "\n"))
			}
		})
	}
}

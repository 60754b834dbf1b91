//go:build !wasip1

package mapping_test

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/mapping"
	"github.com/peoplesync/peoplesync/sdk/mapping/wire"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

// run maps recs through a Harness, wire encoding included, as a module instance would.
func run(t *testing.T, fn mapping.Func, settings string, recs ...wire.Record) []wire.Result {
	t.Helper()
	h := mapping.NewHarness(fn, nil)
	if err := h.Configure([]byte(settings)); err != nil {
		t.Fatal(err)
	}
	res, err := wire.DecodeResults(h.MapBatch(wire.AppendRecords(nil, recs)))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestOutcomes(t *testing.T) {
	fn := func(r *mapping.Record, s *mapping.Settings) (*profile.Profile, error) {
		switch r.ID {
		case "skip":
			return nil, mapping.Skip("service account")
		case "wrapped-skip":
			return nil, fmt.Errorf("outer: %w", mapping.Skip("wrapped"))
		case "empty-skip":
			return nil, mapping.Skip("")
		case "fail":
			return nil, errors.New("no good")
		case "panic":
			var m map[string]int
			m["x"] = 1 // a runtime panic: assignment to a nil map
		case "nil":
			return nil, nil
		}
		p := &profile.Profile{Active: true}
		p.Set(profile.UserName, r.First("uid"))
		return p, nil
	}
	ids := []string{"ok", "skip", "wrapped-skip", "empty-skip", "fail", "panic", "nil", "after"}
	recs := make([]wire.Record, len(ids))
	for i, id := range ids {
		recs[i] = wire.Record{ID: id, Attributes: map[string][]string{"uid": {"u-" + id}}}
	}
	res := run(t, fn, "", recs...)
	check := func(i int, outcome wire.Outcome, contains string) {
		t.Helper()
		r := res[i]
		if r.Outcome != outcome || !strings.Contains(r.Message, contains) {
			t.Errorf("%s: %+v, want outcome %d with message containing %q", ids[i], r, outcome, contains)
		}
	}
	check(1, wire.Skipped, "service account")
	check(2, wire.Skipped, "wrapped")
	check(3, wire.Skipped, "skipped by the mapping")
	check(4, wire.Failed, "no good")
	check(5, wire.Failed, "mapping panicked: assignment to entry in nil map")
	check(5, wire.Failed, "runner_test.go") // where it panicked
	check(6, wire.Failed, "neither a profile nor an error")
	for _, i := range []int{0, 7} {
		if res[i].Outcome != wire.Mapped || res[i].Profile.Get(profile.UserName) != "u-"+ids[i] {
			t.Errorf("%s: %+v", ids[i], res[i])
		}
	}
}

func TestRecordAttributes(t *testing.T) {
	var seen []string
	fn := func(r *mapping.Record, s *mapping.Settings) (*profile.Profile, error) {
		seen = append(seen, fmt.Sprintf("%s|%s|%s|%q|%q|%x|%v|%v|%d",
			r.ID, r.First("GIVENNAME"), r.First("givenname"), r.All("Mail"), r.First("missing"),
			r.Bytes("jpegphoto"), r.Has("JPEGPHOTO"), r.Kind == mapping.Delete, len(r.Names())))
		return &profile.Profile{}, nil
	}
	run(t, fn, "",
		wire.Record{ID: "a", Attributes: map[string][]string{"givenName": {"Jane"}, "mail": {"j@x", "jane@x"}},
			Binary: map[string][][]byte{"jpegPhoto": {{0xFF, 0xD8}}}},
		// The next record must not see the previous one's values.
		wire.Record{ID: "b", Kind: 1, Attributes: map[string][]string{"GivenName": {"Bob"}}},
		// Two spellings of one name are one attribute.
		wire.Record{ID: "c", Attributes: map[string][]string{"mail": {"1"}, "MAIL": {"2"}}},
	)
	want := []string{
		`a|Jane|Jane|["j@x" "jane@x"]|""|ffd8|true|false|2`,
		`b|Bob|Bob|[]|""||false|true|1`,
		`c|||["1" "2"]|""||false|false|1`,
	}
	if len(seen) == 3 && seen[2] != want[2] {
		// Map order decides which spelling comes first.
		want[2] = `c|||["2" "1"]|""||false|false|1`
	}
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}

func TestNewRecordMatchesGuest(t *testing.T) {
	r := mapping.NewRecord(connector.Record{
		ID: "x", DN: "uid=x", Kind: connector.Delete,
		Attributes: map[string][]string{"givenName": {"Jane"}},
		Binary:     map[string][][]byte{"jpegPhoto": {{1}}},
	})
	if r.First("GIVENNAME") != "Jane" || r.Bytes("JpegPhoto")[0] != 1 || r.Kind != mapping.Delete || r.DN != "uid=x" {
		t.Errorf("NewRecord: %+v", r)
	}
}

func TestConfigure(t *testing.T) {
	h := mapping.NewHarness(func(r *mapping.Record, s *mapping.Settings) (*profile.Profile, error) {
		p := &profile.Profile{}
		p.Set(profile.Organization, s.String("org", "none"))
		return p, nil
	}, func(s *mapping.Settings) error {
		if s.String("org", "") == "bad" {
			return errors.New("org is bad")
		}
		return nil
	})
	if err := h.Configure([]byte(`{"org": "bad"}`)); err == nil || err.Error() != "org is bad" {
		t.Errorf("Configure(bad) = %v", err)
	}
	if err := h.Configure([]byte(`not json`)); err == nil {
		t.Error("Configure(not json) succeeded")
	}
	if err := h.Configure([]byte(`{"org": "ACME"}`)); err != nil {
		t.Fatal(err)
	}
	res, err := wire.DecodeResults(h.MapBatch(wire.AppendRecords(nil, []wire.Record{{ID: "1"}})))
	if err != nil || res[0].Profile.Get(profile.Organization) != "ACME" {
		t.Errorf("after Configure: %+v, %v", res, err)
	}
}

func TestBatchFailures(t *testing.T) {
	h := mapping.NewHarness(nil, nil)
	_, err := wire.DecodeResults(h.MapBatch(wire.AppendRecords(nil, []wire.Record{{ID: "1"}})))
	var be *wire.BatchError
	if !errors.As(err, &be) || !strings.Contains(be.Reason, "mapping.Handle") {
		t.Errorf("no handler: %v", err)
	}
	h = mapping.NewHarness(func(*mapping.Record, *mapping.Settings) (*profile.Profile, error) { return nil, nil }, nil)
	if _, err := wire.DecodeResults(h.MapBatch([]byte{5, 1})); !errors.As(err, &be) {
		t.Errorf("corrupt input: %v", err)
	}
}

func TestSettings(t *testing.T) {
	s, err := mapping.ParseSettings([]byte(`{
		"str": "x", "num": 49, "yes": true, "yes_str": "true", "nul": null,
		"list": ["a", 1, {"no": 1}], "one": "b", "map": {"k": "v", "n": 2, "o": []}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ got, want any }{
		{s.String("str", "d"), "x"}, {s.String("num", "d"), "49"}, {s.String("missing", "d"), "d"},
		{s.String("nul", "d"), "d"}, {s.String("list", "d"), "d"},
		{s.Bool("yes", false), true}, {s.Bool("yes_str", false), true}, {s.Bool("str", true), true},
		{s.Bool("missing", false), false},
		{s.Strings("list"), []string{"a", "1"}}, {s.Strings("one"), []string{"b"}}, {s.Strings("missing"), []string(nil)},
		{s.Map("map"), map[string]string{"k": "v", "n": "2"}}, {s.Map("str"), map[string]string(nil)},
		{s.Has("nul"), false}, {s.Has("str"), true},
	}
	for i, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("check %d: got %#v, want %#v", i, c.got, c.want)
		}
	}
	var into struct {
		Str string `json:"str"`
		Num int    `json:"num"`
	}
	if err := s.Decode(&into); err != nil || into.Str != "x" || into.Num != 49 {
		t.Errorf("Decode: %+v, %v", into, err)
	}
	for _, empty := range []string{"", "  ", "null"} {
		if s, err := mapping.ParseSettings([]byte(empty)); err != nil || len(s.Keys()) != 0 {
			t.Errorf("ParseSettings(%q) = %v, %v", empty, s, err)
		}
	}
	if _, err := mapping.ParseSettings([]byte(`[1]`)); err == nil {
		t.Error("ParseSettings([1]) succeeded")
	}
}

func TestZeroValues(t *testing.T) {
	var r mapping.Record
	var s *mapping.Settings
	if r.First("x") != "" || r.Bytes("x") != nil || r.Has("x") || r.Names() != nil {
		t.Error("the zero Record has attributes")
	}
	if s.String("x", "d") != "d" || s.Bool("x", true) != true || s.Map("x") != nil || s.Has("x") {
		t.Error("nil Settings have settings")
	}
}

// Lookups by names built at run time (new strings each time, collected and their memory
// reused) find the right attribute.
func TestDynamicNames(t *testing.T) {
	fn := func(r *mapping.Record, s *mapping.Settings) (*profile.Profile, error) {
		for i := range 2000 {
			name := fmt.Sprintf("attr%d", i%3)
			if got, want := r.First(name), fmt.Sprintf("v%d", i%3); got != want {
				return nil, fmt.Errorf("First(%q) = %q, want %q", name, got, want)
			}
			if i%500 == 0 {
				runtime.GC()
			}
		}
		return &profile.Profile{}, nil
	}
	res := run(t, fn, "", wire.Record{ID: "x", Attributes: map[string][]string{
		"attr0": {"v0"}, "ATTR1": {"v1"}, "Attr2": {"v2"},
	}})
	if res[0].Outcome != wire.Mapped {
		t.Error(res[0].Message)
	}
}

// WithSettings parses each configuration's settings once: the check reports a parse
// error, records map with the parsed config, and a new configuration is parsed anew.
func TestWithSettings(t *testing.T) {
	parses := 0
	type config struct{ org string }
	parse := func(s *mapping.Settings) (*config, error) {
		parses++
		org := s.String("org", "none")
		if org == "bad" {
			return nil, errors.New("org is bad")
		}
		return &config{org: org}, nil
	}
	fn, check := mapping.WithSettings(parse, func(r *mapping.Record, c *config) (*profile.Profile, error) {
		p := &profile.Profile{}
		p.Set(profile.Organization, c.org+"/"+r.ID)
		return p, nil
	})
	h := mapping.NewHarness(fn, check)
	if err := h.Configure([]byte(`{"org": "bad"}`)); err == nil || err.Error() != "org is bad" {
		t.Errorf("Configure(bad) = %v, want the parse error", err)
	}
	for _, org := range []string{"ACME", "Globex"} {
		if err := h.Configure([]byte(`{"org": "` + org + `"}`)); err != nil {
			t.Fatal(err)
		}
		before := parses
		res, err := wire.DecodeResults(h.MapBatch(wire.AppendRecords(nil, []wire.Record{{ID: "1"}, {ID: "2"}})))
		if err != nil || len(res) != 2 || res[1].Profile.Get(profile.Organization) != org+"/2" {
			t.Fatalf("%s: %+v, %v", org, res, err)
		}
		if parses != before {
			t.Errorf("%s: mapping two records parsed the settings %d more times, want 0", org, parses-before)
		}
	}
	if parses != 3 {
		t.Errorf("three configurations parsed %d times, want 3", parses)
	}
}

// The keys WithSettings's parse looks up are the module's settings: any other key fails
// the configuration, with the nearest known key, instead of being ignored.
func TestWithSettingsRefusesUnknownKeys(t *testing.T) {
	parse := func(s *mapping.Settings) (string, error) {
		if s.Bool("synthesize_email", false) {
			return s.String("email_domain", ""), nil
		}
		return s.String("default_country_code", ""), nil
	}
	fn, check := mapping.WithSettings(parse, func(*mapping.Record, string) (*profile.Profile, error) {
		return &profile.Profile{}, nil
	})
	h := mapping.NewHarness(fn, check)
	for _, tt := range []struct {
		settings string
		want     []string // in the error, or none for success
	}{
		{`{"default_country_code": "49"}`, nil},
		{`{}`, nil},
		{`{"default_country_cod": "49"}`, []string{`unknown setting "default_country_cod"`, `did you mean "default_country_code"?`,
			"this module reads default_country_code, synthesize_email"}},
		{`{"colour": "blue", "default_country_code": "49"}`, []string{`unknown setting "colour"`}},
		// A key read only on one branch is known only when that branch runs: the
		// module never looked at email_domain, so a sync that sets it is told.
		{`{"email_domain": "example.com"}`, []string{`unknown setting "email_domain"`}},
		{`{"synthesize_email": true, "email_domain": "example.com"}`, nil},
	} {
		err := h.Configure([]byte(tt.settings))
		if tt.want == nil {
			if err != nil {
				t.Errorf("%s: %v", tt.settings, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: configured, want an unknown-setting error", tt.settings)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tt.settings, err, w)
			}
		}
		if strings.Contains(tt.settings, "colour") && strings.Contains(err.Error(), "did you mean") {
			t.Errorf("%s: %q suggests a key for a word nothing like one", tt.settings, err)
		}
	}
}

// Within WithSettings, Decode refuses settings its struct has no field for.
func TestWithSettingsDecodeRefusesUnknownFields(t *testing.T) {
	parse := func(s *mapping.Settings) (struct {
		Org string `json:"org"`
	}, error) {
		var c struct {
			Org string `json:"org"`
		}
		return c, s.Decode(&c)
	}
	_, check := mapping.WithSettings(parse, func(*mapping.Record, struct {
		Org string `json:"org"`
	}) (*profile.Profile, error) {
		return &profile.Profile{}, nil
	})
	h := mapping.NewHarness(nil, check)
	if err := h.Configure([]byte(`{"org": "ACME"}`)); err != nil {
		t.Errorf("known field: %v", err)
	}
	if err := h.Configure([]byte(`{"orgg": "ACME"}`)); err == nil || !strings.Contains(err.Error(), `unknown field "orgg"`) {
		t.Errorf("unknown field: %v", err)
	}
}

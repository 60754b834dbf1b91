//go:build !wasip1

// Package mappingtest checks a mapping function against golden files, for the tests of a
// mapping module's own package:
//
//	var update = flag.Bool("update", false, "rewrite the golden files")
//
//	func TestGolden(t *testing.T) {
//		for _, c := range cases {
//			t.Run(c.Name, func(t *testing.T) {
//				mappingtest.Check(t, "testdata", c.Name, mappingtest.Native(Map, check, c), *update)
//			})
//		}
//	}
//
// A golden file holds the profile (core fields by name), the skip reason or the error, as
// indented JSON, so that a change to the mapping shows up as a readable diff in review.
// The same golden files serve the module's test through the sandbox (engine/mapper),
// which must produce exactly what the native function does.
package mappingtest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/mapping"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

// Case is one golden case: a record mapped with settings (a JSON object, or "").
type Case struct {
	Name     string
	Settings string
	Record   connector.Record
}

// Outcome is what a mapping made of one record: a profile, a skip reason or an error
// message.
type Outcome struct {
	Profile *profile.Profile
	Skip    string
	Error   string
}

// Native maps c's record with fn in process, after checking c's settings with check (if
// not nil) as the host's configure call would. A settings error becomes the outcome's
// error.
func Native(fn mapping.Func, check mapping.ConfigureFunc, c Case) Outcome {
	s, err := mapping.ParseSettings([]byte(c.Settings))
	if err == nil && check != nil {
		err = check(s)
	}
	if err != nil {
		return Outcome{Error: "settings: " + err.Error()}
	}
	p, err := fn(mapping.NewRecord(c.Record), s)
	if reason, ok := mapping.IsSkip(err); ok {
		return Outcome{Skip: reason}
	}
	if err != nil {
		return Outcome{Error: err.Error()}
	}
	return Outcome{Profile: p}
}

// goldenProfile is a profile with its core fields by name.
type goldenProfile struct {
	Core       map[string]string `json:"core"`
	Manager    string            `json:"manager,omitempty"`
	Active     bool              `json:"active"`
	Attributes map[string]string `json:"attributes,omitempty"`
	Photo      *profile.Photo    `json:"photo,omitempty"`
	Seeded     []string          `json:"seeded,omitempty"`
}

// Marshal returns the golden file form of o.
func Marshal(o Outcome) ([]byte, error) {
	type doc struct {
		Profile *goldenProfile `json:"profile,omitempty"`
		Skip    string         `json:"skip,omitempty"`
		Error   string         `json:"error,omitempty"`
	}
	d := doc{Skip: o.Skip, Error: o.Error}
	if p := o.Profile; p != nil {
		d.Profile = &goldenProfile{Core: map[string]string{}, Manager: p.Manager, Active: p.Active,
			Attributes: p.Attributes, Photo: p.Photo, Seeded: p.Seeded}
		for i, f := range profile.CoreFields {
			if v := p.Core[i]; v != "" {
				d.Profile.Core[f] = v
			}
		}
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Check compares o with the golden file dir/name.golden.json, or rewrites that file if
// update is set.
func Check(t testing.TB, dir, name string, o Outcome, update bool) {
	t.Helper()
	got, err := Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".golden.json")
	if update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from its golden file %s:\n--- got\n%s--- want\n%s", name, path, got, want)
	}
}

// LDAPPerson returns a realistic inetOrgPerson record, with a JPEG photo: the record the
// mapper's sandbox benchmark and the default module's native benchmarks both map, so
// that their numbers compare like with like. Each call returns a fresh copy.
func LDAPPerson() connector.Record {
	return connector.Record{
		ID: "5f1c9c52-8f1e-103f-8a6b-4b3a1c2d9e01",
		DN: "uid=jdoe,ou=People,dc=example,dc=com",
		Attributes: map[string][]string{
			"objectClass":       {"top", "person", "organizationalPerson", "inetOrgPerson"},
			"uid":               {"jdoe"},
			"cn":                {"Jane Doe"},
			"givenName":         {"Jane"},
			"sn":                {"Doe"},
			"mail":              {"Jane.Doe@Example.com"},
			"title":             {"Staff Engineer"},
			"ou":                {"Platform"},
			"o":                 {"Example GmbH"},
			"employeeNumber":    {"10042"},
			"telephoneNumber":   {"030 1234567"},
			"mobile":            {"+49 (0)170 1234567 x"},
			"preferredLanguage": {"de-DE"},
			"l":                 {"Berlin"},
			"manager":           {"uid=boss,ou=People,dc=example,dc=com"},
			"employeeType":      {"permanent"},
			"departmentNumber":  {"4711"},
		},
		Binary: map[string][][]byte{"jpegPhoto": {{0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F', 'I', 'F'}}},
	}
}

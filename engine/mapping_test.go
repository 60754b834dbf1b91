package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/peoplesync/peoplesync/config"
	"github.com/peoplesync/peoplesync/engine"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

// mappingConfig is syncConfig with the file connector and the mapping's settings given
// as an HCL object expression, so that a test can change them between runs.
func (e *env) mappingConfig(modulePath, settings string) *config.Config {
	e.t.Helper()
	src := fmt.Sprintf(`
store {
  url = "postgres://unused"
}
connector "hr" {
  plugin = "file"
  config {
    path   = %q
    format = "ldif"
  }
}
mapping "m" {
  module   = %q
  settings = %s
}
sync "people" {
  connector = connector.hr
  mapping   = mapping.m
  schedule  = "@hourly"
}
`, e.ldif, modulePath, settings)
	path := filepath.Join(e.dir, "sync.hcl")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		e.t.Fatal(err)
	}
	cfg, diags := config.Load(path)
	if diags.HasErrors() {
		e.t.Fatalf("config: %s", diags.Error())
	}
	return cfg
}

// TestSeededFieldsArePeoples proves invariant 4 for fields a mapping only seeds: the sync
// writes a seeded field while it is empty, then leaves a person's own value alone even
// when the source changes, while fields the source owns follow the source.
func TestSeededFieldsArePeoples(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 40)
	cfg := e.mappingConfig(module(t, "default"), `{
    email_domain         = "example.com"
    default_country_code = "49"
    seeded               = ["title", "attributes.login"]
    extra_attributes     = { uid = "login" }
  }`)
	ctx := context.Background()
	res := e.mustRun(cfg, engine.Options{})
	checkCounts(t, "first run", res, counts{processed: 40, created: 40})

	// Seeded fields are written while empty.
	target := e.people[3]
	sp := e.profiles([]string{target.UUID})[target.UUID]
	if got := sp.Profile.Get(profile.Title); got != target.Title || got == "" {
		t.Fatalf("seeded title %q after the first run, want the source's %q", got, target.Title)
	}
	if got := sp.Profile.Attributes["login"]; got != target.UID {
		t.Fatalf("seeded attributes.login %q, want %q", got, target.UID)
	}

	// The person changes both seeded fields and sets custom fields.
	if err := e.store.SetField(ctx, sp.ProfileID, profile.Title, "Chief Tinkerer"); err != nil {
		t.Fatal(err)
	}
	if err := e.store.SetField(ctx, sp.ProfileID, "attributes.login", "tinker"); err != nil {
		t.Fatal(err)
	}
	custom := map[string]any{"pronouns": "she/her"}
	if err := e.store.SetCustomFields(ctx, sp.ProfileID, custom); err != nil {
		t.Fatal(err)
	}
	// The source changes the seeded title and the owned department.
	e.people[3].Title = "Directory Title"
	e.people[3].Department = "Moved Department"
	e.writeDirectory()
	res = e.mustRun(cfg, engine.Options{})
	checkCounts(t, "changed run", res, counts{processed: 40, updated: 1, unchanged: 39})
	got := e.profiles([]string{target.UUID})[target.UUID]
	if v := got.Profile.Get(profile.Title); v != "Chief Tinkerer" {
		t.Errorf("title %q, want the person's own %q", v, "Chief Tinkerer")
	}
	if v := got.Profile.Attributes["login"]; v != "tinker" {
		t.Errorf("attributes.login %q, want the person's own %q", v, "tinker")
	}
	if v := got.Profile.Get(profile.Department); v != "Moved Department" {
		t.Errorf("department %q, want the source's %q: the source owns it", v, "Moved Department")
	}
	if fmt.Sprint(got.CustomFields) != fmt.Sprint(custom) {
		t.Errorf("custom fields %v, want %v", got.CustomFields, custom)
	}
	res = e.mustRun(cfg, engine.Options{})
	checkCounts(t, "unchanged run", res, counts{processed: 40, unchanged: 40})

	// A person who empties a seeded field gets it seeded again by the next change.
	if err := e.store.SetField(ctx, sp.ProfileID, profile.Title, ""); err != nil {
		t.Fatal(err)
	}
	e.people[3].Title = "Reseeded Title"
	e.writeDirectory()
	e.mustRun(cfg, engine.Options{})
	got = e.profiles([]string{target.UUID})[target.UUID]
	if v := got.Profile.Get(profile.Title); v != "Reseeded Title" {
		t.Errorf("emptied seeded title %q, want it seeded again with %q", v, "Reseeded Title")
	}
	if v := got.Profile.Attributes["login"]; v != "tinker" {
		t.Errorf("attributes.login %q, want the person's own %q", v, "tinker")
	}
}

// TestMappingChangeRemaps: with the directory unchanged, new settings or a new module
// update every profile they change on the next run, and the run after that writes
// nothing.
func TestMappingChangeRemaps(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 60)
	base := `{ email_domain = "example.com", default_country_code = "49" }`
	res := e.mustRun(e.mappingConfig(module(t, "default"), base), engine.Options{})
	checkCounts(t, "first run", res, counts{processed: 60, created: 60})
	res = e.mustRun(e.mappingConfig(module(t, "default"), base), engine.Options{})
	checkCounts(t, "unchanged run", res, counts{processed: 60, unchanged: 60})

	// New settings: every profile gains an attribute.
	changed := `{ email_domain = "example.com", default_country_code = "49", extra_attributes = { uid = "login" } }`
	cfg := e.mappingConfig(module(t, "default"), changed)
	res = e.mustRun(cfg, engine.Options{})
	checkCounts(t, "settings changed", res, counts{processed: 60, updated: 60})
	for _, p := range e.people {
		if got := e.profiles([]string{p.UUID})[p.UUID].Profile.Attributes["login"]; got != p.UID {
			t.Fatalf("%s: attributes.login %q after the settings change, want %q", p.UUID, got, p.UID)
		}
	}
	res = e.mustRun(cfg, engine.Options{})
	checkCounts(t, "after the settings change", res, counts{processed: 60, unchanged: 60})

	// Another module re-maps too, even one that maps every record to the same profile:
	// here the default module with one more custom section, so other bytes.
	other := withCustomSection(t, module(t, "default"))
	res = e.mustRun(e.mappingConfig(other, changed), engine.Options{})
	checkCounts(t, "module changed", res, counts{processed: 60, updated: 60})
	res = e.mustRun(e.mappingConfig(other, changed), engine.Options{})
	checkCounts(t, "after the module change", res, counts{processed: 60, unchanged: 60})
}

// withCustomSection copies the module at path with a custom section appended (which no
// runtime executes) and returns the copy's path.
func withCustomSection(t *testing.T, path string) string {
	t.Helper()
	code, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const name, payload = "peoplesync-test", "another build"
	// id 0, size, then the name and the payload; every length here is below 128, so
	// each LEB128 is one byte.
	section := []byte{0, byte(1 + len(name) + len(payload)), byte(len(name))}
	section = append(append(section, name...), payload...)
	out := filepath.Join(t.TempDir(), "other.wasm")
	if err := os.WriteFile(out, append(code, section...), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

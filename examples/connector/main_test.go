package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/peoplesync/peoplesync/engine/connhost"
	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/connectortest"
)

const people = `[
  {"id": "E1", "name": "Ada Lovelace", "mail": ["ada@example.com", "ada.l@example.com"], "employee_number": 1815},
  {"id": "E2", "name": "Zoë Ødegård", "manager": "E1", "active": true},
  {"id": "E3", "name": "李 雷", "phone": null}
]`

var want = []connector.Record{
	{ID: "E1", Attributes: map[string][]string{"name": {"Ada Lovelace"}, "mail": {"ada@example.com", "ada.l@example.com"}, "employee_number": {"1815"}}},
	{ID: "E2", Attributes: map[string][]string{"name": {"Zoë Ødegård"}, "manager": {"E1"}, "active": {"true"}}},
	{ID: "E3", Attributes: map[string][]string{"name": {"李 雷"}}},
}

func write(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func config(path string) json.RawMessage {
	js, _ := json.Marshal(map[string]string{"path": path})
	return js
}

// The example passes the suite every connector passes, in process and over gRPC.
func TestConforms(t *testing.T) {
	bad := write(t, "bad.json", `[{"id": "E1", "name": "Ada"}, {"name": "nobody's"}, {"id": "E3"}]`)
	connectortest.Run(t, connectortest.Harness{
		New:          func(*testing.T) connector.Connector { return &peopleJSON{} },
		Config:       config(write(t, "people.json", people)),
		Want:         want,
		BadConfig:    config(filepath.Join(t.TempDir(), "missing.json")),
		BadAttribute: "path",
		BadRecords: &connectortest.BadSource{
			Config:  config(bad),
			Valid:   []connector.Record{{ID: "E1", Attributes: map[string][]string{"name": {"Ada"}}}, {ID: "E3"}},
			Invalid: []connector.Record{{Problem: "bad.json: person 2: no id"}},
		},
	})
}

// A file cut off in the middle fails the read instead of ending it early, so that the
// people after the cut are not taken for people who left.
func TestCutOffFileFailsTheRead(t *testing.T) {
	c := &peopleJSON{}
	path := write(t, "cut.json", people[:len(people)/2])
	if d, err := c.Configure(t.Context(), config(path)); err != nil || d.HasErrors() {
		t.Fatalf("Configure: %v %v", err, d)
	}
	if _, err := c.Read(t.Context(), connector.ReadRequest{}, func(connector.Record) error { return nil }); err == nil {
		t.Fatal("a cut-off file read without an error")
	}
}

// Built as its own binary, the example runs as an external plugin under the engine's
// host, as a connector block with plugin = "./people-json" would start it.
func TestRunsAsAnExternalPlugin(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "people-json")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	p, err := connhost.Start(t.Context(), connhost.Spec{Name: "people", Path: bin}, connhost.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	if d, err := p.Configure(t.Context(), config(write(t, "people.json", people))); err != nil || d.HasErrors() {
		t.Fatalf("Configure: %v %v", err, d)
	}
	var got []connector.Record
	if _, err := p.Read(t.Context(), connector.ReadRequest{}, func(r connector.Record) error {
		got = append(got, r)
		return nil
	}); err != nil {
		t.Fatalf("Read: %v", err)
	}
	if diff := connectortest.Diff(want, got); diff != "" {
		t.Errorf("the plugin read other records:\n%s", diff)
	}
}

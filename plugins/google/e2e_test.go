package google_test

// The end-to-end test reads from the fake of fixture_test.go, which follows the
// Directory API's discovery document and Google's server-to-server OAuth 2.0 guide.

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peoplesync/peoplesync/engine"
	"github.com/peoplesync/peoplesync/engine/setup"
	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/plugins/google"
	"github.com/peoplesync/peoplesync/plugins/internal/e2etest"
	"github.com/peoplesync/peoplesync/sdk/connector"
)

// TestMain doubles as the connector subprocess, as peoplesync re-executes itself.
func TestMain(m *testing.M) { e2etest.Main(m) }

// TestEngineEndToEnd checks the connector as `peoplesync check` does, then syncs the
// fixture's users into a fresh store through the connector's subprocess and the
// default mapping: managers, referenced by email, resolve to the managers' profiles
// (whatever the case of the reference); suspended users are inactive; a 500 mid-read
// fails the run and deletes nobody; a settled read deletes who left.
func TestEngineEndToEnd(t *testing.T) {
	const n = 120
	fix, apiURL, ca, key := google.NewFixture(t, n)
	module := e2etest.DefaultMapping(t)
	keyFile := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(keyFile, []byte(key), 0o600); err != nil {
		t.Fatal(err)
	}
	src := fmt.Sprintf(`
store {
  url = "postgres://unused"
}
connector "workspace" {
  plugin = "google"
  config {
    credentials = file(%q)
    subject     = %q
    api_url     = %q
    ca_file     = %q
    page_size   = 50
    max_retries = 0
  }
}
mapping "m" {
  module = %q
}
sync "people" {
  connector = connector.workspace
  mapping   = mapping.m
  schedule  = "@hourly"
}
`, keyFile, google.Admin, apiURL, ca, module)
	var logs strings.Builder
	env := e2etest.New(t, src, slog.New(slog.NewTextHandler(&logs, nil)))

	// What `peoplesync check --connector workspace` does.
	proc, diags := setup.Connector(t.Context(), env.Config, "workspace", env.Options)
	if diags.HasErrors() {
		t.Fatalf("setup: %s", diags.Error())
	}
	if err := proc.Check(t.Context()); err != nil {
		t.Fatalf("check: %v", err)
	}
	res, err := proc.Read(t.Context(), connector.ReadRequest{Mode: connector.Full}, func(connector.Record) error { return nil })
	proc.Kill()
	if err != nil || res.Count != n {
		t.Fatalf("check's read: %+v, %v", res, err)
	}

	run := func() (engine.Result, error) {
		t.Helper()
		return env.Run(t, "people", engine.Options{})
	}
	ids := fix.IDs()
	live := func() map[string]store.StoredProfile {
		t.Helper()
		got := env.Profiles(t, "people", ids)
		for id, p := range got {
			if p.DeletedAt != nil {
				delete(got, id)
			}
		}
		return got
	}

	first, err := run()
	if err != nil || first.Created != n || first.Status != store.StatusSucceeded {
		t.Fatalf("first sync: %+v, %v", first, err)
	}
	profiles := live()
	p := profiles[ids[17]]
	if p.Profile.Get("email") != "p17@example.com" || p.Profile.Get("title") != "Engineer" ||
		p.Profile.Get("employee_number") != "100017" || !p.Profile.Active {
		t.Errorf("user 17's profile: %+v", p.Profile)
	}
	for _, i := range []int{17, 5} { // 5's manager is written P4@EXAMPLE.COM
		if m := profiles[ids[i]].ManagerID; m == "" || m != profiles[ids[i-1]].ProfileID {
			t.Errorf("user %d's manager %q, want user %d's profile %q", i, m, i-1, profiles[ids[i-1]].ProfileID)
		}
	}
	if profiles[ids[20]].Profile.Active {
		t.Error("user 20 is suspended, but their profile is active")
	}

	// A 500 on the second page: the run fails and deletes nobody.
	fix.Remove(3)
	fix.Fail500(2)
	res2, err := run()
	if err == nil || res2.Deleted != 0 || res2.Status == store.StatusSucceeded {
		t.Fatalf("sync with a 500 mid-read: %+v, %v; want a failed run that deletes nothing", res2, err)
	}
	if !strings.Contains(err.Error()+res2.Message, "500") {
		t.Errorf("the failure does not say why: %v / %s", err, res2.Message)
	}
	if got := len(live()); got != n {
		t.Errorf("%d live profiles after the failed run, want %d", got, n)
	}
	fix.Fail500(0)

	// A settled read deletes the one who left.
	res2, err = run()
	if err != nil || res2.Deleted != 1 || res2.Status != store.StatusSucceeded {
		t.Fatalf("settled sync: %+v, %v; want the one who left deleted", res2, err)
	}
	body := key[strings.Index(key, "MII"):][:40] // a piece of the key's PEM body
	if strings.Contains(logs.String(), "PRIVATE KEY") || strings.Contains(logs.String(), body) {
		t.Error("the key appears in the logs")
	}
}

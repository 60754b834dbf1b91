package scim_test

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/peoplesync/peoplesync/engine"
	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/plugins/internal/e2etest"
	"github.com/peoplesync/peoplesync/plugins/scim"
)

// TestMain doubles as the connector subprocess, as peoplesync re-executes itself.
func TestMain(m *testing.M) { e2etest.Main(m) }

// TestEngineEndToEnd syncs the fixture's users into a fresh store through the bundled
// connector's subprocess and the default mapping, and holds the run to invariant 1: a
// read that fails (a 500 mid-read) or that may have missed someone (the list shifted)
// deletes nobody; a settled read deletes who left.
func TestEngineEndToEnd(t *testing.T) {
	const n = 250
	fix, url, ca := scim.NewFixture(t, n)
	module := e2etest.DefaultMapping(t)
	t.Setenv("SCIM_E2E_TOKEN", scim.Token)
	src := fmt.Sprintf(`
store {
  url = "postgres://unused"
}
connector "idp" {
  plugin = "scim"
  config {
    url         = %q
    ca_file     = %q
    token       = env("SCIM_E2E_TOKEN")
    page_size   = 40
    max_retries = 0
  }
}
mapping "m" {
  module = %q
}
sync "people" {
  connector = connector.idp
  mapping   = mapping.m
  schedule  = "@hourly"
}
`, url, ca, module)
	var logs strings.Builder
	env := e2etest.New(t, src, slog.New(slog.NewTextHandler(&logs, nil)))
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
	if p.Profile.Get("department") != "Dept 17" || p.Profile.Get("email") != "user000017@example.com" || !p.Profile.Active {
		t.Errorf("user 17's profile: %+v", p.Profile)
	}
	// Their manager.value is user 1's SCIM id, which is user 1's external ID.
	if p.ManagerID == "" || p.ManagerID != profiles[ids[1]].ProfileID {
		t.Errorf("user 17's manager %q, want user 1's profile %q", p.ManagerID, profiles[ids[1]].ProfileID)
	}

	// A 500 on the fourth page: the run fails and deletes nobody.
	fix.Remove(3)
	fix.Fail500(121)
	res, err := run()
	if err == nil || res.Deleted != 0 || res.Status == store.StatusSucceeded {
		t.Fatalf("sync with a 500 mid-read: %+v, %v; want a failed run that deletes nothing", res, err)
	}
	if !strings.Contains(err.Error()+res.Message, "500") {
		t.Errorf("the failure does not say why: %v / %s", err, res.Message)
	}
	if got := len(live()); got != n {
		t.Errorf("%d live profiles after the failed run, want %d", got, n)
	}
	fix.Fail500(0)

	// The list shifts under the read: the run applies what it read, deletes nobody, and
	// says why.
	fix.RemoveAfterFirstPage(0)
	res, err = run()
	if res.Deleted != 0 || res.Errors != 1 {
		t.Fatalf("sync over a shifting list: %+v, %v; want one record error and no deletions", res, err)
	}
	if got := len(live()); got != n {
		t.Errorf("%d live profiles after the shifted read, want %d", got, n)
	}

	// A settled read deletes the two who left.
	res, err = run()
	if err != nil || res.Deleted != 2 || res.Status != store.StatusSucceeded {
		t.Fatalf("settled sync: %+v, %v; want the two who left deleted", res, err)
	}
	if strings.Contains(logs.String(), scim.Token) {
		t.Error("the token appears in the logs")
	}
}

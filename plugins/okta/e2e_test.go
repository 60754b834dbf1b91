package okta_test

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/peoplesync/peoplesync/engine"
	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/plugins/internal/e2etest"
	"github.com/peoplesync/peoplesync/plugins/okta"
	"github.com/peoplesync/peoplesync/sdk/connector"
)

// TestMain doubles as the connector subprocess, as peoplesync re-executes itself.
func TestMain(m *testing.M) { e2etest.Main(m) }

// TestEngineEndToEnd syncs the fake org's users into a fresh store through the bundled
// connector's subprocess and the default mapping: managers resolve by Okta id,
// suspended users are inactive, a delta read brings a deprovisioned user as inactive
// (not deleted), a 500 mid-read deletes nobody, and a settled full read deletes a user
// removed from Okta.
func TestEngineEndToEnd(t *testing.T) {
	const n = 250
	fix, orgURL, ca := okta.NewFixture(t, n)
	module := e2etest.DefaultMapping(t)
	t.Setenv("OKTA_E2E_TOKEN", okta.Token)
	src := fmt.Sprintf(`
store {
  url = "postgres://unused"
}
connector "okta" {
  plugin = "okta"
  config {
    org_url             = %q
    ca_file             = %q
    api_token           = env("OKTA_E2E_TOKEN")
    page_size           = 40
    max_retries         = 0
    requests_per_second = 1000
  }
}
mapping "m" {
  module = %q
}
sync "people" {
  connector = connector.okta
  mapping   = mapping.m
  schedule  = "@hourly"
}
`, orgURL, ca, module)
	var logs strings.Builder
	env := e2etest.New(t, src, slog.New(slog.NewTextHandler(&logs, nil)))
	run := func(mode connector.ReadMode) (engine.Result, error) {
		t.Helper()
		fix.Advance(time.Minute) // the next read starts well after the last change
		return env.Run(t, "people", engine.Options{Mode: mode})
	}
	ids := fix.IDs()
	profiles := func() map[string]store.StoredProfile {
		t.Helper()
		return env.Profiles(t, "people", ids)
	}

	first, err := run(connector.Full)
	if err != nil || first.Created != n || first.Status != store.StatusSucceeded {
		t.Fatalf("first sync: %+v, %v", first, err)
	}
	ps := profiles()
	p := ps[ids[17]]
	if p.Profile.Get("department") != "R&D" || p.Profile.Get("email") != "p17@example.com" ||
		p.Profile.Get("location") != "Berlin" || !p.Profile.Active {
		t.Errorf("user 17's profile: %+v", p.Profile)
	}
	// Their profile.managerId is user 16's Okta id, which is user 16's external ID.
	if p.ManagerID == "" || p.ManagerID != ps[ids[16]].ProfileID {
		t.Errorf("user 17's manager %q, want user 16's profile %q", p.ManagerID, ps[ids[16]].ProfileID)
	}
	if ps[ids[10]].Profile.Active {
		t.Error("user 10 is SUSPENDED in Okta but active in the store")
	}

	// Deprovisioned and retitled: a delta read updates both, deletes nobody.
	fix.SetStatus(22, "DEPROVISIONED")
	fix.SetTitle(21, "Staff Engineer")
	res, err := run(connector.Delta)
	if err != nil || res.Processed != 2 || res.Updated != 2 || res.Deleted != 0 {
		t.Fatalf("delta sync: %+v, %v; want the two changed users updated", res, err)
	}
	ps = profiles()
	if p := ps[ids[22]]; p.DeletedAt != nil || p.Profile.Active {
		t.Errorf("deprovisioned user 22: deleted %v, active %v; want a live, inactive profile", p.DeletedAt, p.Profile.Active)
	}
	if p21 := ps[ids[21]]; p21.Profile.Get("title") != "Staff Engineer" {
		t.Errorf("user 21's title %q", p21.Profile.Get("title"))
	}

	// Deleted from Okta, then a 500 on the third page: the run fails and deletes nobody.
	fix.Remove(22)
	fix.Fail500(2)
	res, err = run(connector.Full)
	if err == nil || res.Deleted != 0 || res.Status == store.StatusSucceeded {
		t.Fatalf("sync with a 500 mid-read: %+v, %v; want a failed run that deletes nothing", res, err)
	}
	if !strings.Contains(err.Error()+res.Message, "500") {
		t.Errorf("the failure does not say why: %v / %s", err, res.Message)
	}
	if p := profiles()[ids[22]]; p.DeletedAt != nil {
		t.Error("a failed read deleted user 22")
	}
	fix.Fail500(-1)

	// A settled full read deletes the user Okta no longer has.
	res, err = run(connector.Full)
	if err != nil || res.Deleted != 1 || res.Status != store.StatusSucceeded {
		t.Fatalf("settled sync: %+v, %v; want user 22 deleted", res, err)
	}
	if p := profiles()[ids[22]]; p.DeletedAt == nil {
		t.Error("user 22, deleted from Okta, is still live")
	}
	if strings.Contains(logs.String(), okta.Token) {
		t.Error("the token appears in the logs")
	}
}

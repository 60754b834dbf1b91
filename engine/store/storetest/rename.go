package storetest

import (
	"errors"
	"strings"
	"testing"

	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

// testRenameAdopts: a sync renamed from hr_v1 to hr (previous_names) adopts everything
// the store kept under the old name, so that no person is created again: live and
// dropped links, runs, the cursor, the pictures and the provenance of a profile that
// another source shares. A run under the old name is refused from then on.
func testRenameAdopts(t *testing.T, h *harness) {
	old := h.begin("hr_v1")
	first := hrPerson(1)
	first.Photo = &profile.Photo{ContentType: "image/png", Data: []byte("hr picture")}
	h.apply(old, change("e1", "", first), change("e2", "", hrPerson(2)), change("e3", "", hrPerson(3)))
	if _, err := old.SoftDelete(h.ctx, []string{"e3"}); err != nil {
		t.Fatal(err)
	}
	if err := old.Finish(h.ctx, store.Summary{Status: store.StatusSucceeded, Cursor: "cursor-of-hr_v1"}); err != nil {
		t.Fatal(err)
	}
	before := h.lookup("hr_v1", "e1", "e2")
	// AD joins person 1: the profile is shared, its provenance names hr_v1.
	ad := h.begin("ad")
	if res := h.apply(ad, change("a1", "", adPerson(1))); res.Joined != 1 {
		t.Fatalf("AD's join: %+v", res)
	}
	h.finish(ad)
	if got := sourceOf(t, h, before["e1"].ProfileID, profile.DisplayName); got != "hr_v1" {
		t.Fatalf("before the rename, display_name comes from %q, want hr_v1", got)
	}

	r := h.begin("hr")
	adopted, err := r.Adopt(h.ctx, []string{"hr_v1"})
	if err != nil {
		t.Fatalf("Adopt: %v", err)
	}
	if len(adopted) != 1 || adopted[0] != (store.Adopted{Name: "hr_v1", Links: 3, Runs: 1}) {
		t.Fatalf("Adopt = %+v, want hr_v1's 3 links and 1 run", adopted)
	}
	after := h.lookup("hr", "e1", "e2")
	if after["e1"].ProfileID != before["e1"].ProfileID || after["e2"].ProfileID != before["e2"].ProfileID {
		t.Fatalf("links after adoption %+v, want the same profiles as %+v", after, before)
	}
	if left := h.lookup("hr_v1", "e1", "e2", "e3"); len(left) != 0 {
		t.Errorf("hr_v1 still has links: %+v", left)
	}
	gone := map[string]bool{}
	if err := h.s.LinkSources(h.ctx, "hr", func(ext, _ []byte, deleted bool) error {
		gone[string(ext)] = deleted
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(gone) != 3 || !gone["e3"] || gone["e1"] {
		t.Errorf("hr's links after adoption (external ID → dropped) = %v, want e1, e2 live and e3 dropped", gone)
	}
	if c, err := h.s.Cursor(h.ctx, "hr"); err != nil || c != "cursor-of-hr_v1" {
		t.Errorf("Cursor(hr) = %q, %v; want hr_v1's", c, err)
	}
	runs, err := h.s.Runs(h.ctx, "hr", 10)
	if err != nil || len(runs) != 2 {
		t.Errorf("Runs(hr) = %d runs, %v; want hr_v1's run and this one", len(runs), err)
	}
	if got := sourceOf(t, h, before["e1"].ProfileID, profile.DisplayName); got != "hr" {
		t.Errorf("after the rename, display_name comes from %q, want hr", got)
	}
	if src, photo, _, err := h.hooks.Image(h.ctx, before["e1"].ProfileID); err != nil || src != "sync" || string(photo.Data) != "hr picture" {
		t.Errorf("picture after adoption: %s %q, %v; want hr's", src, photo.Data, err)
	}
	if got := sourceOf(t, h, before["e1"].ProfileID, profile.Email); got != "ad" {
		t.Errorf("after the rename, email comes from %q, want ad (untouched)", got)
	}
	names, err := h.s.LinkedSyncs(h.ctx)
	if err != nil || strings.Join(names, ",") != "ad,hr" {
		t.Errorf("LinkedSyncs = %q, %v; want ad, hr", names, err)
	}

	// The renamed sync goes on with the same people: an update is an update.
	changed := hrPerson(2)
	changed.Set(profile.Title, "renamed title")
	if res := h.apply(r, change("e2", after["e2"].ProfileID, changed)); res.Updated != 1 || res.Created != 0 {
		t.Errorf("an update after adoption: %+v", res)
	}
	// Adopting again is a no-op.
	if again, err := r.Adopt(h.ctx, []string{"hr_v1"}); err != nil || len(again) != 0 {
		t.Errorf("a second Adopt = %+v, %v; want nothing", again, err)
	}
	// A name nothing was kept under is nothing to adopt.
	if none, err := r.Adopt(h.ctx, []string{"never_ran"}); err != nil || len(none) != 0 {
		t.Errorf("Adopt(never_ran) = %+v, %v; want nothing", none, err)
	}
	h.finish(r)

	// A replica still on the old configuration may not run the old name.
	if _, err := h.s.BeginRun(h.ctx, "hr_v1", "full", "old-replica"); !errors.Is(err, store.ErrRenamed) ||
		!strings.Contains(err.Error(), `"hr"`) {
		t.Errorf("BeginRun(hr_v1) after the rename: %v, want ErrRenamed naming hr", err)
	}
	// Nor may another sync adopt what hr adopted.
	other := h.begin("ad")
	if _, err := other.Adopt(h.ctx, []string{"hr_v1"}); !errors.Is(err, store.ErrRenamed) {
		t.Errorf("ad adopting hr_v1 after hr did: %v, want ErrRenamed", err)
	}
	h.finish(other)
}

// testRenameRefusals: an adoption waits for a run of the old name, and refuses when
// both names created people (merging two populations is not a rename).
func testRenameRefusals(t *testing.T, h *harness) {
	running := h.begin("staff")
	h.apply(running, change("s1", "", person(1)))
	r := h.begin("people")
	if _, err := r.Adopt(h.ctx, []string{"staff"}); !errors.Is(err, store.ErrLocked) {
		t.Errorf("Adopt while staff runs: %v, want ErrLocked", err)
	}
	h.finish(running)

	h.apply(r, change("p1", "", person(2)))
	_, err := r.Adopt(h.ctx, []string{"staff"})
	if err == nil || errors.Is(err, store.ErrLocked) || !strings.Contains(err.Error(), "both created people") {
		t.Errorf("Adopt when both have people: %v, want a refusal that says both created people", err)
	}
	h.finish(r)
	// Refused, the old name is untouched and may still run.
	if got := h.lookup("staff", "s1"); len(got) != 1 {
		t.Errorf("staff's link after a refused adoption: %+v", got)
	}
	h.finish(h.begin("staff"))
}

// sourceOf returns the sync a person's field comes from.
func sourceOf(t *testing.T, h *harness, profileID, field string) string {
	t.Helper()
	people, err := h.s.People(h.ctx, store.PersonRef{ProfileID: profileID})
	if err != nil || len(people) != 1 {
		t.Fatalf("People(%s) = %d, %v", profileID, len(people), err)
	}
	for _, f := range people[0].Fields {
		if f.Field == field {
			return f.Source
		}
	}
	t.Fatalf("person %s has no field %s", profileID, field)
	return ""
}

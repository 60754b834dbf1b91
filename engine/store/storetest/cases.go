package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

func testMigrateTwice(t *testing.T, h *harness) {
	for i := range 2 {
		if err := h.s.Migrate(h.ctx); err != nil {
			t.Fatalf("Migrate #%d: %v", i+1, err)
		}
	}
	// The schema works after the second, no-op migration.
	r := h.begin("hr")
	if res := h.apply(r, change("e1", "", person(1))); res.Created != 1 {
		t.Fatalf("Apply after two migrations created %d, want 1", res.Created)
	}
	h.finish(r)
}

func testCreateThenLookup(t *testing.T, h *harness) {
	const n = 250
	changes := make([]store.Change, n)
	ids := make([]string, n)
	for i := range changes {
		ids[i] = fmt.Sprintf("ext-%03d", i)
		changes[i] = change(ids[i], "", person(i))
	}
	r := h.begin("hr")
	res := h.apply(r, changes...)
	if res != (store.ApplyResult{Created: n}) {
		t.Fatalf("Apply = %+v, want %d created", res, n)
	}
	h.finish(r)

	got := h.lookup("hr", append(ids, "never-synced")...)
	if len(got) != n {
		t.Fatalf("Lookup returned %d entries, want %d", len(got), n)
	}
	seen := make(map[string]bool)
	for i, c := range changes {
		st, ok := got[c.ExternalID]
		if !ok {
			t.Fatalf("Lookup lacks %s", c.ExternalID)
		}
		if !bytes.Equal(st.Hash, c.Hash) {
			t.Errorf("%s: hash %x, want %x", c.ExternalID, st.Hash, c.Hash)
		}
		if st.ProfileID == "" || seen[st.ProfileID] {
			t.Errorf("%s (#%d): profile ID %q empty or shared", c.ExternalID, i, st.ProfileID)
		}
		seen[st.ProfileID] = true
		if st.Deleted {
			t.Errorf("%s: new profile reads as deleted", c.ExternalID)
		}
	}
	// Another sync's links are its own.
	if other := h.lookup("crm", ids...); len(other) != 0 {
		t.Fatalf("Lookup in another sync returned %d entries, want 0", len(other))
	}
	live := 0
	if err := h.s.LiveExternalIDs(h.ctx, "hr", func(string) error { live++; return nil }); err != nil {
		t.Fatal(err)
	}
	if live != n {
		t.Fatalf("LiveExternalIDs streamed %d IDs, want %d", live, n)
	}
}

func testProfilesRoundTrip(t *testing.T, h *harness) {
	p := person(7)
	p.Manager = "boss-ext"
	p.Active = false
	p.Attributes = map[string]string{"cost_center": "cc-1", "building": "B2"}
	p.Seeded = []string{profile.Title}
	p.Photo = &profile.Photo{ContentType: "image/png", Data: []byte("png-bytes")}
	c := change("e7", "", p)
	r := h.begin("hr")
	h.apply(r, c, change("e8", "", person(8)))
	h.finish(r)

	sp := h.profile("hr", "e7")
	if sp.ExternalID != "e7" || sp.ProfileID == "" {
		t.Fatalf("stored profile has external ID %q, profile ID %q", sp.ExternalID, sp.ProfileID)
	}
	if sp.Profile.Core != p.Core {
		t.Errorf("core fields = %q, want %q", sp.Profile.Core, p.Core)
	}
	if sp.Profile.Manager != p.Manager || sp.Profile.Active != p.Active {
		t.Errorf("manager %q active %v, want %q %v", sp.Profile.Manager, sp.Profile.Active, p.Manager, p.Active)
	}
	if !reflect.DeepEqual(sp.Profile.Attributes, p.Attributes) {
		t.Errorf("attributes = %v, want %v", sp.Profile.Attributes, p.Attributes)
	}
	if !slices.Equal(sp.Profile.Seeded, p.Seeded) {
		t.Errorf("seeded = %v, want %v", sp.Profile.Seeded, p.Seeded)
	}
	if sp.Profile.Photo == nil || !bytes.Equal(sp.Profile.Photo.Data, p.Photo.Data) || sp.Profile.Photo.ContentType != "image/png" {
		t.Errorf("photo = %+v, want %+v", sp.Profile.Photo, p.Photo)
	}
	if sum := sp.Profile.Hash(salt); !bytes.Equal(sum[:], c.Hash) {
		t.Errorf("the stored profile hashes differently from what was applied")
	}
	if sp.DeletedAt != nil || sp.UpdatedAt.IsZero() || sp.CustomFields == nil {
		t.Errorf("deleted %v, updated %v, custom fields %v", sp.DeletedAt, sp.UpdatedAt, sp.CustomFields)
	}

	list, err := h.s.ListProfiles(h.ctx, "hr", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ExternalID != "e7" || list[1].ExternalID != "e8" {
		t.Fatalf("ListProfiles = %d profiles, want e7 then e8 (by display name)", len(list))
	}
	if one, err := h.s.ListProfiles(h.ctx, "hr", 1); err != nil || len(one) != 1 {
		t.Fatalf("ListProfiles with limit 1 = %d profiles, %v", len(one), err)
	}
}

func testUpdateCounts(t *testing.T, h *harness) {
	r := h.begin("hr")
	var creates []store.Change
	for i := range 10 {
		creates = append(creates, change(fmt.Sprintf("e%d", i), "", person(i)))
	}
	h.apply(r, creates...)
	stored := h.lookup("hr", "e0", "e1", "e2", "e3")

	var batch []store.Change
	for _, ext := range []string{"e0", "e1", "e2", "e3"} {
		p := person(100)
		p.Set(profile.Title, "Title for "+ext)
		batch = append(batch, change(ext, stored[ext].ProfileID, p))
	}
	for i := 10; i < 13; i++ {
		batch = append(batch, change(fmt.Sprintf("e%d", i), "", person(i)))
	}
	res := h.apply(r, batch...)
	if res != (store.ApplyResult{Created: 3, Updated: 4}) {
		t.Fatalf("Apply = %+v, want 3 created and 4 updated", res)
	}
	h.finish(r)
	after := h.lookup("hr", "e0", "e1", "e2", "e3")
	for i, ext := range []string{"e0", "e1", "e2", "e3"} {
		if after[ext].ProfileID != stored[ext].ProfileID {
			t.Errorf("%s: update moved the profile from %s to %s", ext, stored[ext].ProfileID, after[ext].ProfileID)
		}
		if !bytes.Equal(after[ext].Hash, batch[i].Hash) {
			t.Errorf("%s: hash not updated", ext)
		}
		sp := h.profile("hr", ext)
		if got := sp.Profile.Get(profile.Title); got != "Title for "+ext {
			t.Errorf("%s: title %q, want %q", ext, got, "Title for "+ext)
		}
	}
	e4, p4 := h.profile("hr", "e4"), person(4)
	if got := e4.Profile.Get(profile.Title); got != p4.Get(profile.Title) {
		t.Errorf("e4 was not in the batch but its title changed to %q", got)
	}
}

func testDuplicateChanges(t *testing.T, h *harness) {
	first, last := person(1), person(2)
	r := h.begin("hr")
	res := h.apply(r, change("dup", "", first), change("dup", "", last))
	if res.Created != 1 {
		t.Fatalf("two changes to one external ID created %d profiles, want 1", res.Created)
	}
	h.finish(r)
	if got := h.profile("hr", "dup").Profile.Core; got != last.Core {
		t.Fatalf("stored %q, want the last change %q", got, last.Core)
	}
}

func testCustomFieldsSurvive(t *testing.T, h *harness) {
	r := h.begin("hr")
	h.apply(r, change("e1", "", person(1)))
	id := h.lookup("hr", "e1")["e1"].ProfileID
	custom := map[string]any{"pronouns": "they/them", "shirt": "L", "skills": []any{"go", "sql"}}
	if err := h.hooks.SetCustomFields(h.ctx, id, custom); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		if got := h.profile("hr", "e1").CustomFields; !reflect.DeepEqual(got, custom) {
			t.Fatalf("%s: custom fields = %v, want %v", when, got, custom)
		}
	}
	p := person(2)
	h.apply(r, change("e1", id, p))
	check("after an update")
	if n, err := r.SoftDelete(h.ctx, []string{"e1"}); err != nil || n != 1 {
		t.Fatalf("SoftDelete = %d, %v", n, err)
	}
	check("after a soft delete")
	h.apply(r, change("e1", id, person(3)))
	check("after a restore")
	if _, err := r.ResolveManagers(h.ctx, nil); err != nil {
		t.Fatal(err)
	}
	check("after resolving managers")
	h.finish(r)
}

func testSeededFields(t *testing.T, h *harness) {
	seeded := func(title, nick, dept string) profile.Profile {
		p := person(1)
		p.Set(profile.Title, title)
		p.Set(profile.Department, dept)
		p.Attributes["nickname"] = nick
		p.Seeded = []string{profile.Title, "attributes.nickname"}
		return p
	}
	r := h.begin("hr")
	h.apply(r, change("e1", "", seeded("Engineer", "Bobby", "R&D")))
	id := h.lookup("hr", "e1")["e1"].ProfileID
	sp := h.profile("hr", "e1")
	if sp.Profile.Get(profile.Title) != "Engineer" || sp.Profile.Attributes["nickname"] != "Bobby" {
		t.Fatalf("a create did not seed the fields: title %q, nickname %q",
			sp.Profile.Get(profile.Title), sp.Profile.Attributes["nickname"])
	}

	// The person changes the seeded fields; the sync must keep their values.
	if err := h.hooks.SetField(h.ctx, id, profile.Title, "Chief Tinkerer"); err != nil {
		t.Fatal(err)
	}
	if err := h.hooks.SetField(h.ctx, id, "attributes.nickname", "Bob"); err != nil {
		t.Fatal(err)
	}
	h.apply(r, change("e1", id, seeded("Senior Engineer", "Robert", "Platform")))
	sp = h.profile("hr", "e1")
	if got := sp.Profile.Get(profile.Title); got != "Chief Tinkerer" {
		t.Errorf("seeded title = %q after an update, want the person's %q", got, "Chief Tinkerer")
	}
	if got := sp.Profile.Attributes["nickname"]; got != "Bob" {
		t.Errorf("seeded attribute = %q after an update, want the person's %q", got, "Bob")
	}
	if got := sp.Profile.Get(profile.Department); got != "Platform" {
		t.Errorf("owned department = %q, want the source's %q", got, "Platform")
	}

	// Emptied, a seeded field is filled again.
	if err := h.hooks.SetField(h.ctx, id, profile.Title, ""); err != nil {
		t.Fatal(err)
	}
	if err := h.hooks.SetField(h.ctx, id, "attributes.nickname", ""); err != nil {
		t.Fatal(err)
	}
	h.apply(r, change("e1", id, seeded("Staff Engineer", "Rob", "Platform")))
	sp = h.profile("hr", "e1")
	if got := sp.Profile.Get(profile.Title); got != "Staff Engineer" {
		t.Errorf("empty seeded title = %q after an update, want %q", got, "Staff Engineer")
	}
	if got := sp.Profile.Attributes["nickname"]; got != "Rob" {
		t.Errorf("empty seeded attribute = %q after an update, want %q", got, "Rob")
	}

	// A field the mapping owns again is overwritten.
	owned := seeded("Principal", "Robbie", "Platform")
	owned.Seeded = nil
	h.apply(r, change("e1", id, owned))
	sp = h.profile("hr", "e1")
	if sp.Profile.Get(profile.Title) != "Principal" || sp.Profile.Attributes["nickname"] != "Robbie" {
		t.Errorf("owned fields = %q, %q, want the source's", sp.Profile.Get(profile.Title), sp.Profile.Attributes["nickname"])
	}
	h.finish(r)
}

func testImages(t *testing.T, h *harness) {
	img := func(s string) *profile.Photo { return &profile.Photo{ContentType: "image/jpeg", Data: []byte(s)} }
	withPhoto := func(i int, ph *profile.Photo) profile.Profile {
		p := person(i)
		p.Photo = ph
		return p
	}
	image := func(id string) (string, profile.Photo, time.Time, error) {
		return h.hooks.Image(h.ctx, id)
	}
	r := h.begin("hr")
	h.apply(r, change("sync-pic", "", withPhoto(1, img("A"))), change("user-pic", "", withPhoto(2, img("A"))))
	ids := h.lookup("hr", "sync-pic", "user-pic")
	syncID, userID := ids["sync-pic"].ProfileID, ids["user-pic"].ProfileID

	src, ph, at1, err := image(syncID)
	if err != nil || src != "sync" || string(ph.Data) != "A" {
		t.Fatalf("after create: image %q from %q, %v; want A from sync", ph.Data, src, err)
	}
	// The same picture again is not rewritten.
	h.apply(r, change("sync-pic", syncID, withPhoto(3, img("A"))))
	if _, _, at2, err := image(syncID); err != nil || !at2.Equal(at1) {
		t.Fatalf("an unchanged picture was rewritten (updated %v, then %v; %v)", at1, at2, err)
	}
	// A new picture replaces it.
	h.apply(r, change("sync-pic", syncID, withPhoto(4, img("B"))))
	if src, ph, _, err := image(syncID); err != nil || src != "sync" || string(ph.Data) != "B" {
		t.Fatalf("after a new picture: %q from %q, %v; want B from sync", ph.Data, src, err)
	}
	// No picture in the source removes the sync's.
	h.apply(r, change("sync-pic", syncID, withPhoto(5, nil)))
	if _, _, _, err := image(syncID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after the source dropped the picture: Image error %v, want ErrNotFound", err)
	}

	// A person's own picture is never replaced nor removed by a sync.
	own := profile.Photo{ContentType: "image/png", Data: []byte("mine")}
	if err := h.hooks.SetUserImage(h.ctx, userID, own); err != nil {
		t.Fatal(err)
	}
	for i, ph := range []*profile.Photo{img("C"), nil, img("D")} {
		h.apply(r, change("user-pic", userID, withPhoto(10+i, ph)))
		src, got, _, err := image(userID)
		if err != nil || src != "user" || !bytes.Equal(got.Data, own.Data) || got.ContentType != own.ContentType {
			t.Fatalf("update %d: image %q (%s) from %q, %v; want the person's own", i, got.Data, got.ContentType, src, err)
		}
	}
	h.finish(r)
}

func testSoftDeleteRestore(t *testing.T, h *harness) {
	r := h.begin("hr")
	h.apply(r, change("gone", "", person(1)), change("stays", "", person(2)))
	id := h.lookup("hr", "gone")["gone"].ProfileID
	if people, err := h.s.People(h.ctx, store.PersonRef{ProfileID: id}); err != nil || len(people) != 1 ||
		len(people[0].Links) != 1 || people[0].Fields[0].Source != "hr" || people[0].Fields[0].Since == nil {
		t.Fatalf("People of a single-source profile = %+v, %v", people, err)
	}

	n, err := r.SoftDelete(h.ctx, []string{"gone", "never-synced"})
	if err != nil || n != 1 {
		t.Fatalf("SoftDelete = %d, %v; want 1", n, err)
	}
	if n, err := r.SoftDelete(h.ctx, []string{"gone"}); err != nil || n != 0 {
		t.Fatalf("second SoftDelete = %d, %v; want 0", n, err)
	}
	if st := h.lookup("hr", "gone")["gone"]; !st.Deleted || st.ProfileID != id {
		t.Fatalf("after SoftDelete: %+v, want deleted %s", st, id)
	}
	sp := h.profile("hr", "gone")
	if sp.DeletedAt == nil || sp.Profile.Active {
		t.Fatalf("soft-deleted profile: deleted_at %v, active %v", sp.DeletedAt, sp.Profile.Active)
	}
	var live []string
	if err := h.s.LiveExternalIDs(h.ctx, "hr", func(ext string) error { live = append(live, ext); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(live, []string{"stays"}) {
		t.Fatalf("LiveExternalIDs = %v, want [stays]", live)
	}

	res := h.apply(r, change("gone", id, person(3)))
	if res != (store.ApplyResult{Updated: 1}) {
		t.Fatalf("restoring Apply = %+v, want 1 updated", res)
	}
	h.finish(r)
	if st := h.lookup("hr", "gone")["gone"]; st.Deleted || st.ProfileID != id {
		t.Fatalf("after restore: %+v, want live profile %s", st, id)
	}
	sp = h.profile("hr", "gone")
	if sp.DeletedAt != nil || !sp.Profile.Active {
		t.Fatalf("restored profile: deleted_at %v, active %v", sp.DeletedAt, sp.Profile.Active)
	}
}

// testResolveSomeManagers: resolving for a few changed external IDs sets their own
// managers and those of the people who refer to them, and nothing else.
func testResolveSomeManagers(t *testing.T, h *harness) {
	withManager := func(i int, ref string) profile.Profile {
		p := person(i)
		p.Manager = ref
		return p
	}
	boss := change("boss", "", person(0))
	boss.DN = "cn=boss,ou=people"
	r := h.begin("hr")
	h.apply(r, boss, change("a", "", withManager(1, "")), change("late", "", withManager(2, "ghost")))
	if _, err := r.ResolveManagers(h.ctx, nil); err != nil {
		t.Fatal(err)
	}
	// a now reports to the boss by DN; the ghost late reports to arrives.
	aID := h.lookup("hr", "a")["a"].ProfileID
	h.apply(r, change("a", aID, withManager(1, "CN=Boss,OU=People")), change("ghost", "", withManager(3, "a")))
	n, err := r.ResolveManagers(h.ctx, []string{"a", "ghost"})
	if err != nil || n < 2 {
		t.Fatalf("ResolveManagers(a, ghost) = %d, %v; want at least 2 (a, and late who refers to ghost)", n, err)
	}
	ids := h.lookup("hr", "boss", "a", "ghost")
	for ext, want := range map[string]string{"a": ids["boss"].ProfileID, "ghost": ids["a"].ProfileID, "late": ids["ghost"].ProfileID, "boss": ""} {
		if got := h.profile("hr", ext).ManagerID; got != want {
			t.Errorf("%s: manager %q, want %q", ext, got, want)
		}
	}
	if n, err := r.ResolveManagers(h.ctx, []string{"a", "ghost"}); err != nil || n != 0 {
		t.Fatalf("second ResolveManagers(a, ghost) = %d, %v; want 0", n, err)
	}

	// Created in two batches, the first referring to the second: Apply could not set the
	// early one's manager. Resolving around nothing but the unresolved still sets it.
	h.apply(r, change("early", "", withManager(5, "cn=newboss,ou=people")))
	newBoss := change("newboss", "", person(6))
	newBoss.DN = "cn=newboss,ou=people"
	h.apply(r, newBoss, change("later", "", withManager(7, "newboss")))
	if got := h.profile("hr", "early").ManagerID; got != "" {
		t.Fatalf("early: manager %q before resolving, want none (a test of nothing)", got)
	}
	if n, err := r.ResolveManagers(h.ctx, []string{}); err != nil || n != 1 {
		t.Fatalf("ResolveManagers() = %d, %v; want 1 (early)", n, err)
	}
	nb := h.lookup("hr", "newboss")["newboss"].ProfileID
	for _, ext := range []string{"early", "later"} {
		if got := h.profile("hr", ext).ManagerID; got != nb {
			t.Errorf("%s: manager %q, want newboss %q", ext, got, nb)
		}
	}
	h.finish(r)
}

func testResolveManagers(t *testing.T, h *harness) {
	withManager := func(i int, ref string) profile.Profile {
		p := person(i)
		p.Manager = ref
		return p
	}
	boss := change("boss", "", person(0))
	boss.DN = "CN=The Boss,OU=People,DC=Example,DC=com"
	r := h.begin("hr")
	h.apply(r,
		boss,
		change("by-id", "", withManager(1, "boss")),
		change("by-dn", "", withManager(2, "cn=the boss,ou=people,dc=example,dc=COM")),
		change("dangling", "", withManager(3, "nobody")),
		change("none", "", withManager(4, "")),
	)
	// The same external ID in another sync is not a manager here.
	other := h.begin("crm")
	h.apply(other, change("x", "", withManager(5, "boss")))

	// Apply may already have resolved what it could while creating (by-id and by-dn):
	// ResolveManagers sets whatever is left.
	n, err := r.ResolveManagers(h.ctx, nil)
	if err != nil || n > 2 {
		t.Fatalf("ResolveManagers = %d, %v; want at most 2", n, err)
	}
	bossID := h.lookup("hr", "boss")["boss"].ProfileID
	want := map[string]string{"boss": "", "by-id": bossID, "by-dn": bossID, "dangling": "", "none": ""}
	check := func() {
		t.Helper()
		for ext, w := range want {
			if got := h.profile("hr", ext).ManagerID; got != w {
				t.Errorf("%s: manager %q, want %q", ext, got, w)
			}
		}
	}
	check()
	if n, err := r.ResolveManagers(h.ctx, nil); err != nil || n != 0 {
		t.Fatalf("second ResolveManagers = %d, %v; want 0", n, err)
	}
	if n, err := other.ResolveManagers(h.ctx, nil); err != nil || n != 0 {
		t.Fatalf("ResolveManagers of another sync = %d, %v; want 0 (its ref is dangling there)", n, err)
	}

	// A reference that goes away clears the manager.
	byID := h.lookup("hr", "by-id")["by-id"].ProfileID
	h.apply(r, change("by-id", byID, withManager(1, "")))
	if n, err := r.ResolveManagers(h.ctx, nil); err != nil || n != 1 {
		t.Fatalf("ResolveManagers after a reference was dropped = %d, %v; want 1", n, err)
	}
	want["by-id"] = ""
	check()
	h.finish(r)
	h.finish(other)
}

func testLockExcludes(t *testing.T, h *harness) {
	r1 := h.begin("hr")
	for _, holder := range []string{"replica-b", "replica-" + t.Name()} {
		_, err := h.s.BeginRun(h.ctx, "hr", "full", holder)
		if !errors.Is(err, store.ErrLocked) {
			t.Fatalf("second BeginRun by %s: %v, want ErrLocked", holder, err)
		}
	}
	r2 := h.begin("crm") // another sync runs in parallel
	h.apply(r2, change("c1", "", person(1)))
	h.apply(r1, change("h1", "", person(2)))
	h.finish(r1)
	r3, err := h.s.BeginRun(h.ctx, "hr", "delta", "replica-b")
	if err != nil {
		t.Fatalf("BeginRun after Finish: %v", err)
	}
	if r3.ID() == r1.ID() {
		t.Fatalf("two runs share ID %d", r1.ID())
	}
	h.apply(r3, change("h2", "", person(3)))
	h.finish(r3)
	h.finish(r2)
	if err := r1.Finish(h.ctx, store.Summary{Status: store.StatusSucceeded}); err == nil {
		t.Fatal("a second Finish of a run succeeded")
	}
	if _, err := r1.Apply(h.ctx, []store.Change{change("late", "", person(4))}); err == nil {
		t.Fatal("Apply after Finish succeeded")
	}
}

func testLeaseTakeover(t *testing.T, h *harness) {
	ttl := h.hooks.LeaseTTL()
	if ttl <= 0 || ttl > maxLeaseTTL {
		t.Fatalf("the store's lease TTL is %v: run the suite with one of at most %v", ttl, maxLeaseTTL)
	}
	stale, err := h.s.BeginRun(h.ctx, "hr", "full", "replica-a")
	if err != nil {
		t.Fatal(err)
	}
	// Renewal keeps the lease well past its TTL.
	timer := time.NewTimer(2*ttl + ttl/2)
	select {
	case <-timer.C:
	case <-h.ctx.Done():
		t.Fatal(h.ctx.Err())
	}
	if _, err := h.s.BeginRun(h.ctx, "hr", "full", "replica-b"); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("BeginRun after %v of a renewed lease: %v, want ErrLocked", 2*ttl+ttl/2, err)
	}
	h.apply(stale, change("before", "", person(1)))

	// The holder stalls past its lease and a new run takes over, by the same replica name
	// (say, the next schedule on the same pod): only the lease's term tells them apart.
	if err := h.hooks.BreakLock(h.ctx, "hr"); err != nil {
		t.Fatal(err)
	}
	var taker store.Run
	waitFor(t, 5*time.Second, "a new run to take the expired lock", func() bool {
		taker, err = h.s.BeginRun(h.ctx, "hr", "full", "replica-a")
		if err != nil && !errors.Is(err, store.ErrLocked) {
			t.Fatalf("BeginRun of the taker: %v", err)
		}
		return err == nil
	})

	if _, err := stale.Apply(h.ctx, []store.Change{change("after", "", person(2))}); !errors.Is(err, store.ErrLockLost) {
		t.Fatalf("Apply of the stale run: %v, want ErrLockLost", err)
	}
	if _, err := stale.SoftDelete(h.ctx, []string{"before"}); !errors.Is(err, store.ErrLockLost) {
		t.Fatalf("SoftDelete of the stale run: %v, want ErrLockLost", err)
	}
	if _, err := stale.ResolveManagers(h.ctx, nil); !errors.Is(err, store.ErrLockLost) {
		t.Fatalf("ResolveManagers of the stale run: %v, want ErrLockLost", err)
	}
	if err := stale.RecordErrors(h.ctx, []store.RecordError{{ExternalID: "x", Message: "y"}}); !errors.Is(err, store.ErrLockLost) {
		t.Fatalf("RecordErrors of the stale run: %v, want ErrLockLost", err)
	}
	got := h.lookup("hr", "before", "after")
	if _, ok := got["after"]; ok {
		t.Fatal("the stale run's Apply wrote a link")
	}
	if st := got["before"]; st.Deleted {
		t.Fatal("the stale run's SoftDelete deleted a profile")
	}
	if errs, err := h.s.RunErrors(h.ctx, stale.ID()); err != nil || len(errs) != 0 {
		t.Fatalf("the stale run recorded errors: %v, %v", errs, err)
	}
	err = stale.Finish(h.ctx, store.Summary{Status: store.StatusSucceeded, Cursor: "stale-cursor"})
	if !errors.Is(err, store.ErrLockLost) {
		t.Fatalf("Finish of the stale run: %v, want ErrLockLost", err)
	}
	// The stale Finish neither released the taker's lock nor stored its cursor.
	if _, err := h.s.BeginRun(h.ctx, "hr", "full", "replica-c"); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("BeginRun after the stale run finished: %v, want ErrLocked (the taker holds it)", err)
	}
	if c, err := h.s.Cursor(h.ctx, "hr"); err != nil || c != "" {
		t.Fatalf("Cursor = %q, %v; the stale run must not store one", c, err)
	}
	h.apply(taker, change("after", "", person(2)))
	h.finish(taker)

	// A lease that expired is lost even before anyone takes it over.
	expired, err := h.s.BeginRun(h.ctx, "payroll", "full", "replica-a")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.hooks.BreakLock(h.ctx, "payroll"); err != nil {
		t.Fatal(err)
	}
	if _, err := expired.Apply(h.ctx, []store.Change{change("p1", "", person(3))}); !errors.Is(err, store.ErrLockLost) {
		t.Fatalf("Apply of a run whose lease expired: %v, want ErrLockLost", err)
	}
	if got := h.lookup("payroll", "p1"); len(got) != 0 {
		t.Fatal("the expired run's Apply wrote a link")
	}
	if err := expired.Finish(h.ctx, store.Summary{Status: store.StatusSucceeded}); !errors.Is(err, store.ErrLockLost) {
		t.Fatalf("Finish of the expired run: %v, want ErrLockLost", err)
	}

	runs, err := h.s.Runs(h.ctx, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	status := map[int64]string{}
	for _, ri := range runs {
		status[ri.ID] = ri.Status
	}
	if s := status[stale.ID()]; s != store.StatusAbandoned && s != store.StatusFailed {
		t.Errorf("the stale run is recorded as %q, want abandoned or failed", s)
	}
	if s := status[taker.ID()]; s != store.StatusSucceeded {
		t.Errorf("the taker is recorded as %q, want succeeded", s)
	}
	if s := status[expired.ID()]; s != store.StatusFailed {
		t.Errorf("the expired run is recorded as %q, want failed", s)
	}
}

func testFinishRecordsRun(t *testing.T, h *harness) {
	r1, err := h.s.BeginRun(h.ctx, "hr", "full", "replica-a")
	if err != nil {
		t.Fatal(err)
	}
	runs, err := h.s.Runs(h.ctx, "hr", 10)
	if err != nil || len(runs) != 1 || runs[0].Status != store.StatusRunning || runs[0].FinishedAt != nil {
		t.Fatalf("Runs while running = %+v, %v; want one running run", runs, err)
	}
	sum := store.Summary{Status: store.StatusSucceeded, Processed: 100, Created: 10, Updated: 20,
		Unchanged: 60, Skipped: 5, Deleted: 3, Errors: 2, Message: "two records failed", Cursor: "usn:42"}
	if err := r1.Finish(h.ctx, sum); err != nil {
		t.Fatal(err)
	}
	if c, err := h.s.Cursor(h.ctx, "hr"); err != nil || c != "usn:42" {
		t.Fatalf("Cursor = %q, %v; want usn:42", c, err)
	}

	// A failed run keeps the last good cursor.
	r2, err := h.s.BeginRun(h.ctx, "hr", "delta", "replica-b")
	if err != nil {
		t.Fatal(err)
	}
	if err := r2.Finish(h.ctx, store.Summary{Status: store.StatusFailed, Message: "connector crashed", Cursor: "usn:99"}); err != nil {
		t.Fatal(err)
	}
	if c, err := h.s.Cursor(h.ctx, "hr"); err != nil || c != "usn:42" {
		t.Fatalf("Cursor after a failed run = %q, %v; want usn:42", c, err)
	}
	if c, err := h.s.Cursor(h.ctx, "crm"); err != nil || c != "" {
		t.Fatalf("Cursor of a sync that never ran = %q, %v; want empty", c, err)
	}
	other := h.begin("crm")
	h.finish(other)

	runs, err = h.s.Runs(h.ctx, "hr", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[0].ID != r2.ID() || runs[1].ID != r1.ID() {
		t.Fatalf("Runs(hr) = %+v, want r2 then r1", runs)
	}
	got := runs[1]
	if got.Summary.Cursor != "" {
		got.Summary.Cursor = "" // Runs need not report cursors
	}
	want := sum
	want.Cursor = ""
	if got.Summary != want || got.Sync != "hr" || got.Mode != "full" || got.Holder != "replica-a" {
		t.Errorf("run r1 = %+v, want %+v by replica-a in full mode", got, want)
	}
	if got.FinishedAt == nil || got.FinishedAt.Before(got.StartedAt) {
		t.Errorf("run r1 started %v, finished %v", got.StartedAt, got.FinishedAt)
	}
	if runs[0].Status != store.StatusFailed || runs[0].Message != "connector crashed" || runs[0].Mode != "delta" {
		t.Errorf("run r2 = %+v, want failed delta run", runs[0])
	}
	all, err := h.s.Runs(h.ctx, "", 10)
	if err != nil || len(all) != 3 || all[0].ID != other.ID() {
		t.Fatalf("Runs(all) = %d runs, %v; want 3, newest (crm) first", len(all), err)
	}
	if last, err := h.s.Runs(h.ctx, "", 1); err != nil || len(last) != 1 {
		t.Fatalf("Runs with limit 1 = %d runs, %v", len(last), err)
	}
	if err := h.begin("x").Finish(h.ctx, store.Summary{}); err == nil {
		t.Error("Finish with no status succeeded")
	}
}

func testRecordErrors(t *testing.T, h *harness) {
	r := h.begin("hr")
	errs := []store.RecordError{
		{ExternalID: "e1", Message: "mapping trapped: unreachable"},
		{ExternalID: "e2", Message: "no external ID"},
		{ExternalID: "e3", Message: "bad photo"},
	}
	if err := r.RecordErrors(h.ctx, errs[:2]); err != nil {
		t.Fatal(err)
	}
	if err := r.RecordErrors(h.ctx, errs[2:]); err != nil {
		t.Fatal(err)
	}
	if err := r.RecordErrors(h.ctx, nil); err != nil {
		t.Fatal(err)
	}
	h.finish(r)
	got, err := h.s.RunErrors(h.ctx, r.ID())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, errs) {
		t.Fatalf("RunErrors = %v, want %v", got, errs)
	}
	r2 := h.begin("hr")
	h.finish(r2)
	if got, err := h.s.RunErrors(h.ctx, r2.ID()); err != nil || len(got) != 0 {
		t.Fatalf("RunErrors of a clean run = %v, %v; want none", got, err)
	}
}

func testLiveExternalIDsStops(t *testing.T, h *harness) {
	r := h.begin("hr")
	var changes []store.Change
	for i := range 20 {
		changes = append(changes, change(fmt.Sprintf("e%d", i), "", person(i)))
	}
	h.apply(r, changes...)
	h.finish(r)
	stop := errors.New("enough")
	calls := 0
	err := h.s.LiveExternalIDs(h.ctx, "hr", func(string) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 3 {
		t.Fatalf("LiveExternalIDs = %v after %d calls; want the callback's error after 3", err, calls)
	}
}

// testSourceHash: the source hash of a change comes back from Lookup, through creates and
// updates, and an update without one clears it.
func testSourceHash(t *testing.T, h *harness) {
	r := h.begin("hr")
	a, b := change("a", "", person(1)), change("b", "", person(2))
	a.SourceHash = []byte("source-a-1")
	h.apply(r, a, b)
	got := h.lookup("hr", "a", "b")
	if string(got["a"].SourceHash) != "source-a-1" || got["b"].SourceHash != nil {
		t.Fatalf("after create: a %q, b %q; want source-a-1 and nil", got["a"].SourceHash, got["b"].SourceHash)
	}
	a2 := change("a", got["a"].ProfileID, person(3))
	a2.SourceHash = []byte("source-a-2")
	b2 := change("b", got["b"].ProfileID, person(4))
	b2.SourceHash = []byte("source-b-1")
	h.apply(r, a2, b2)
	got = h.lookup("hr", "a", "b")
	if string(got["a"].SourceHash) != "source-a-2" || string(got["b"].SourceHash) != "source-b-1" {
		t.Fatalf("after update: a %q, b %q", got["a"].SourceHash, got["b"].SourceHash)
	}
	h.apply(r, change("a", got["a"].ProfileID, person(5)))
	if got := h.lookup("hr", "a"); got["a"].SourceHash != nil {
		t.Fatalf("an update without a source hash kept %q", got["a"].SourceHash)
	}
	before := h.lookup("hr", "b")["b"]
	if err := r.SetSourceHashes(h.ctx, map[string][]byte{"a": []byte("source-a-3"), "b": []byte("source-b-2")}); err != nil {
		t.Fatal(err)
	}
	got = h.lookup("hr", "a", "b")
	if string(got["a"].SourceHash) != "source-a-3" || string(got["b"].SourceHash) != "source-b-2" {
		t.Fatalf("after SetSourceHashes: a %q, b %q", got["a"].SourceHash, got["b"].SourceHash)
	}
	if string(got["b"].Hash) != string(before.Hash) || got["b"].ProfileID != before.ProfileID {
		t.Fatal("SetSourceHashes changed more than the source hash")
	}
	h.finish(r)
}

func testLinkSources(t *testing.T, h *harness) {
	r := h.begin("hr")
	a, b, c := change("a", "", person(1)), change("b", "", person(2)), change("c", "", person(3))
	a.SourceHash, c.SourceHash = []byte("source-a"), []byte("source-c")
	h.apply(r, a, b, c)
	if _, err := r.SoftDelete(h.ctx, []string{"c"}); err != nil {
		t.Fatal(err)
	}
	h.finish(r)
	other := h.begin("crm")
	h.apply(other, change("x", "", person(4)))
	h.finish(other)

	type link struct {
		source  string
		hasHash bool
		deleted bool
	}
	got := map[string]link{}
	err := h.s.LinkSources(h.ctx, "hr", func(ext, src []byte, deleted bool) error {
		// The slices are only valid during the call: copy them.
		got[string(ext)] = link{string(src), len(src) > 0, deleted}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]link{
		"a": {"source-a", true, false},
		"b": {"", false, false},
		"c": {"source-c", true, true},
	}
	if len(got) != len(want) {
		t.Fatalf("LinkSources streamed %v, want %v", got, want)
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("LinkSources %s = %+v, want %+v", id, got[id], w)
		}
	}

	stop := errors.New("stop")
	calls := 0
	err = h.s.LinkSources(h.ctx, "hr", func([]byte, []byte, bool) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("LinkSources after fn failed: err %v after %d calls, want the error after 1", err, calls)
	}
}

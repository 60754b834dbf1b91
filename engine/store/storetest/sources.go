package storetest

import (
	"fmt"
	"maps"
	"sync"
	"testing"

	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

// twoSources is the typical setup of issue 11: HR creates and ends people; AD only joins
// them, by employee number and then email, and wins the email and the work phone.
var twoSources = store.Sources{
	Roles: map[string]store.Roles{
		"hr": {Creates: true, Ends: true},
		"ad": {Join: []string{profile.EmployeeNumber, profile.Email}},
	},
	Order:  []string{"hr", "ad"},
	Fields: map[string][]string{profile.Email: {"ad"}, profile.PhoneWork: {"ad"}, store.FieldManager: {"ad"}},
}

// RunSources runs the cases of several sources per person, each on its own store from
// newStore, which must return a store with those sources on an empty database (not yet
// migrated). The suite closes it.
func RunSources(t *testing.T, newStore func(t *testing.T, src store.Sources) store.Store) {
	cases := []struct {
		name string
		fn   func(t *testing.T, h *harness)
	}{
		{"JoinOutcomes", testJoinOutcomes},
		{"PrecedenceAndFallThrough", testPrecedenceAndFallThrough},
		{"DropByRole", testDropByRole},
		{"OrderIndependent", testOrderIndependent},
		{"ManagersAcrossSources", testManagersAcrossSources},
		{"PhotoPrecedence", testPhotoPrecedence},
		{"ConcurrentSources", testConcurrentSources},
		{"RenameAdopts", testRenameAdopts},
		{"RenameRefusals", testRenameRefusals},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			open := func(t *testing.T) *harness {
				s := newStore(t, twoSources)
				t.Cleanup(s.Close)
				hooks, ok := s.(Hooks)
				if !ok {
					t.Fatalf("store %T does not implement storetest.Hooks", s)
				}
				h := &harness{t: t, s: s, hooks: hooks, ctx: t.Context()}
				if err := s.Migrate(h.ctx); err != nil {
					t.Fatalf("Migrate: %v", err)
				}
				return h
			}
			h := open(t)
			h.reopen = func() *harness { return open(t) }
			c.fn(t, h)
		})
	}
}

// hrPerson is HR's record of person i: employee number E<i>, HR's email and title, no
// work phone.
func hrPerson(i int) profile.Profile {
	var p profile.Profile
	p.Set(profile.UserName, fmt.Sprintf("user%d", i))
	p.Set(profile.Email, fmt.Sprintf("person%d@hr.example.com", i))
	p.Set(profile.DisplayName, fmt.Sprintf("Person %d", i))
	p.Set(profile.Title, fmt.Sprintf("HR title %d", i))
	p.Set(profile.EmployeeNumber, fmt.Sprintf("E%d", i))
	p.Active = true
	p.Attributes = map[string]string{"cost_center": fmt.Sprintf("cc-%d", i)}
	return p
}

// adPerson is AD's record of person i: the same employee number, AD's email, title and
// work phone.
func adPerson(i int) profile.Profile {
	var p profile.Profile
	p.Set(profile.UserName, fmt.Sprintf("ad-user%d", i))
	p.Set(profile.Email, fmt.Sprintf("Person%d@AD.example.com", i))
	p.Set(profile.Title, fmt.Sprintf("AD title %d", i))
	p.Set(profile.PhoneWork, fmt.Sprintf("+1 555 %04d", i))
	p.Set(profile.EmployeeNumber, fmt.Sprintf(" E%d ", i))
	p.Active = true
	p.Attributes = map[string]string{"office": fmt.Sprintf("room %d", i)}
	return p
}

func testJoinOutcomes(t *testing.T, h *harness) {
	hr := h.begin("hr")
	h.apply(hr, change("e1", "", hrPerson(1)), change("e2", "", hrPerson(2)))
	dup1, dup2 := hrPerson(3), hrPerson(4)
	dup1.Set(profile.Email, "shared@example.com")
	dup2.Set(profile.Email, "shared@example.com")
	h.apply(hr, change("e3", "", dup1), change("e4", "", dup2))
	h.finish(hr)

	byEmail := adPerson(2)
	byEmail.Set(profile.EmployeeNumber, "")
	byEmail.Set(profile.Email, "  PERSON2@hr.example.com ")
	nobody := adPerson(99)
	twice := adPerson(50)
	twice.Set(profile.EmployeeNumber, "")
	twice.Set(profile.Email, "Shared@Example.com")
	ad := h.begin("ad")
	res := h.apply(ad, change("a1", "", adPerson(1)), change("a2", "", byEmail), change("a99", "", nobody), change("a50", "", twice))
	if want := (store.ApplyResult{Joined: 2, Unmatched: 1, Disputed: 1}); res != want {
		t.Fatalf("AD's Apply = %+v, want %+v", res, want)
	}
	// A second record that finds a profile the sync links already is a dispute.
	again := adPerson(1)
	if res := h.apply(ad, change("a1-again", "", again)); res.Disputed != 1 || res.Joined != 0 {
		t.Fatalf("a second AD record of person 1: %+v, want disputed", res)
	}
	h.finish(ad)

	hrIDs := h.lookup("hr", "e1", "e2")
	adIDs := h.lookup("ad", "a1", "a2", "a99", "a50", "a1-again")
	if adIDs["a1"].ProfileID != hrIDs["e1"].ProfileID || adIDs["a2"].ProfileID != hrIDs["e2"].ProfileID {
		t.Fatalf("AD's links %+v do not point at HR's profiles %+v", adIDs, hrIDs)
	}
	for _, ext := range []string{"a99", "a50", "a1-again"} {
		if st, ok := adIDs[ext]; !ok || st.ProfileID != "" {
			t.Errorf("pending record %s: %+v, want a link without a profile", ext, st)
		}
	}
	pending, err := h.s.Pending(h.ctx, "ad", 0)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]store.PendingRecord{}
	for _, p := range pending {
		got[p.ExternalID] = p
	}
	if len(got) != 3 || got["a99"].Situation != store.Unmatched || got["a50"].Situation != store.Disputed ||
		len(got["a50"].Candidates) != 2 || got["a1-again"].Situation != store.Disputed ||
		len(got["a1-again"].Candidates) != 1 || got["a1-again"].Candidates[0] != hrIDs["e1"].ProfileID {
		t.Fatalf("Pending(ad) = %+v", pending)
	}
	// No profile was created by AD, nor merged from a dispute.
	if sp := h.profile("hr", "e3"); sp.Profile.Get(profile.Title) != "HR title 3" {
		t.Errorf("a disputed record changed a candidate: %+v", sp.Profile)
	}
}

func testPrecedenceAndFallThrough(t *testing.T, h *harness) {
	hr := h.begin("hr")
	h.apply(hr, change("e1", "", hrPerson(1)))
	h.finish(hr)
	ad := h.begin("ad")
	h.apply(ad, change("a1", "", adPerson(1)))
	h.finish(ad)

	p := h.profile("hr", "e1").Profile
	want := map[string]string{
		profile.Title:            "HR title 1",             // default order: hr first
		profile.Email:            "Person1@AD.example.com", // email: ad first
		profile.PhoneWork:        "+1 555 0001",            // HR has none
		profile.DisplayName:      "Person 1",               // AD has none
		profile.UserName:         "user1",                  // hr first
		profile.EmployeeNumber:   "E1",                     // hr first
		"attributes.office":      "room 1",                 // only AD
		"attributes.cost_center": "cc-1",                   // only HR
	}
	check(t, "after HR then AD", p, want)

	people, err := h.s.People(h.ctx, store.PersonRef{Sync: "ad", ExternalID: "a1"})
	if err != nil || len(people) != 1 {
		t.Fatalf("People(ad a1) = %d people, %v", len(people), err)
	}
	fields := map[string]store.PersonField{}
	for _, f := range people[0].Fields {
		fields[f.Field] = f
	}
	if f := fields[profile.Email]; f.Value != "Person1@AD.example.com" || f.Source != "ad" || f.Since == nil ||
		len(f.Offers) != 1 || f.Offers[0] != (store.Offer{Sync: "hr", Value: "person1@hr.example.com"}) {
		t.Errorf("People: email %+v, want AD's with HR's offer", f)
	}
	if f := fields[profile.Title]; f.Source != "hr" || len(f.Offers) != 1 || f.Offers[0].Sync != "ad" {
		t.Errorf("People: title %+v, want HR's with AD's offer", f)
	}
	if f := fields["attributes.office"]; f.Value != "room 1" || f.Source != "ad" {
		t.Errorf("People: attributes.office %+v", f)
	}
	if len(people[0].Links) != 2 {
		t.Errorf("People: links %+v, want HR's and AD's", people[0].Links)
	}
	if byMail, err := h.s.People(h.ctx, store.PersonRef{Email: " PERSON1@ad.example.com"}); err != nil || len(byMail) != 1 || byMail[0].ProfileID != people[0].ProfileID {
		t.Errorf("People by email = %+v, %v", byMail, err)
	}

	// HR changes its title; AD's contribution stays.
	upd := hrPerson(1)
	upd.Set(profile.Title, "Principal")
	hr = h.begin("hr")
	if res := h.apply(hr, change("e1", h.lookup("hr", "e1")["e1"].ProfileID, upd)); res.Updated != 1 {
		t.Fatalf("HR's update: %+v", res)
	}
	h.finish(hr)
	want[profile.Title] = "Principal"
	check(t, "after HR's update", h.profile("hr", "e1").Profile, want)

	// AD clears its email: HR's falls through.
	noMail := adPerson(1)
	noMail.Set(profile.Email, "")
	ad = h.begin("ad")
	h.apply(ad, change("a1", h.lookup("ad", "a1")["a1"].ProfileID, noMail))
	h.finish(ad)
	want[profile.Email] = "person1@hr.example.com"
	check(t, "after AD cleared its email", h.profile("hr", "e1").Profile, want)

	// A field the winning source only seeds is the person's once set; custom fields are
	// never touched by a merge.
	id := h.lookup("hr", "e1")["e1"].ProfileID
	seeded := hrPerson(1)
	seeded.Set(profile.Title, "Principal")
	seeded.Seeded = []string{profile.Title}
	hr = h.begin("hr")
	h.apply(hr, change("e1", id, seeded))
	h.finish(hr)
	if err := h.hooks.SetField(h.ctx, id, profile.Title, "Chief Tinkerer"); err != nil {
		t.Fatal(err)
	}
	if err := h.hooks.SetCustomFields(h.ctx, id, map[string]any{"pronouns": "they/them"}); err != nil {
		t.Fatal(err)
	}
	ad = h.begin("ad")
	h.apply(ad, change("a1", id, adPerson(1)))
	h.finish(ad)
	sp := h.profile("hr", "e1")
	if got := sp.Profile.Get(profile.Title); got != "Chief Tinkerer" {
		t.Errorf("a seeded title the person changed became %q after a merge", got)
	}
	if sp.CustomFields["pronouns"] != "they/them" {
		t.Errorf("custom fields after a merge: %v", sp.CustomFields)
	}
}

// check compares fields of p ("attributes.NAME" for attributes) with want.
func check(t *testing.T, when string, p profile.Profile, want map[string]string) {
	t.Helper()
	for f, v := range want {
		if got := store.FieldValue(&p, f); got != v {
			t.Errorf("%s: %s = %q, want %q", when, f, got, v)
		}
	}
}

func testDropByRole(t *testing.T, h *harness) {
	hr := h.begin("hr")
	h.apply(hr, change("e1", "", hrPerson(1)), change("e2", "", hrPerson(2)))
	h.finish(hr)
	ad := h.begin("ad")
	h.apply(ad, change("a1", "", adPerson(1)), change("a2", "", adPerson(2)), change("a99", "", adPerson(99)))
	// AD drops person 1: only its fields go.
	n, err := ad.SoftDelete(h.ctx, []string{"a1", "a99"})
	if err != nil || n != 0 {
		t.Fatalf("AD's SoftDelete = %d, %v; want 0 profiles deactivated", n, err)
	}
	h.finish(ad)
	sp := h.profile("hr", "e1")
	if sp.DeletedAt != nil || !sp.Profile.Active {
		t.Fatalf("AD's drop deactivated the profile: %+v", sp)
	}
	check(t, "after AD dropped person 1", sp.Profile, map[string]string{
		profile.Email: "person1@hr.example.com", profile.PhoneWork: "", profile.Title: "HR title 1",
		"attributes.office": "",
	})
	if st := h.lookup("ad", "a1")["a1"]; !st.Deleted {
		t.Errorf("AD's dropped link reads %+v, want gone", st)
	}
	if _, ok := h.lookup("ad", "a99")["a99"]; ok {
		t.Errorf("a dropped pending record is still kept")
	}

	// HR drops person 2: the profile ends although AD still has the person.
	hr = h.begin("hr")
	if n, err := hr.SoftDelete(h.ctx, []string{"e2"}); err != nil || n != 1 {
		t.Fatalf("HR's SoftDelete = %d, %v; want 1", n, err)
	}
	h.finish(hr)
	if sp := h.profile("hr", "e2"); sp.DeletedAt == nil || sp.Profile.Active {
		t.Fatalf("HR's drop left the profile live: %+v", sp)
	}
	// AD's next change of person 2 does not bring the profile back: AD creates nobody.
	ad = h.begin("ad")
	changed := adPerson(2)
	changed.Set(profile.Title, "AD title changed")
	h.apply(ad, change("a2", h.lookup("ad", "a2")["a2"].ProfileID, changed))
	h.finish(ad)
	if sp := h.profile("hr", "e2"); sp.DeletedAt == nil {
		t.Fatalf("AD's update restored a profile HR ended")
	}

	// Person 2 comes back in HR: the same profile, with AD's contribution.
	id := h.lookup("hr", "e2")["e2"].ProfileID
	hr = h.begin("hr")
	h.apply(hr, change("e2", id, hrPerson(2)))
	h.finish(hr)
	sp = h.profile("hr", "e2")
	if sp.ProfileID != id || sp.DeletedAt != nil || !sp.Profile.Active {
		t.Fatalf("returning person: %+v, want profile %s live", sp, id)
	}
	check(t, "after person 2 came back", sp.Profile, map[string]string{profile.PhoneWork: "+1 555 0002", profile.Title: "HR title 2"})

	// Person 1 comes back in AD: it rejoins by its link.
	ad = h.begin("ad")
	h.apply(ad, change("a1", h.lookup("ad", "a1")["a1"].ProfileID, adPerson(1)))
	h.finish(ad)
	check(t, "after AD's person 1 came back", h.profile("hr", "e1").Profile, map[string]string{profile.PhoneWork: "+1 555 0001"})
}

func testOrderIndependent(t *testing.T, h *harness) {
	const n = 20
	hrRun := func(h *harness) {
		r := h.begin("hr")
		var cs []store.Change
		for i := range n {
			cs = append(cs, change(fmt.Sprintf("e%d", i), "", hrPerson(i)))
		}
		h.apply(r, cs...)
		if _, err := r.Rematch(h.ctx); err != nil {
			t.Fatal(err)
		}
		h.finish(r)
	}
	adRun := func(h *harness) {
		r := h.begin("ad")
		var cs []store.Change
		for i := range n {
			cs = append(cs, change(fmt.Sprintf("a%d", i), "", adPerson(i)))
		}
		h.apply(r, cs...)
		if _, err := r.Rematch(h.ctx); err != nil {
			t.Fatal(err)
		}
		h.finish(r)
	}
	hrRun(h)
	adRun(h)
	other := h.reopen()
	adRun(other) // AD first: every record unmatched, kept
	if p, err := other.s.Pending(other.ctx, "ad", 0); err != nil || len(p) != n {
		t.Fatalf("AD before HR: %d pending, %v; want %d", len(p), err, n)
	}
	hrRun(other) // HR creates them, and the pending records join at the end of its run
	if p, err := other.s.Pending(other.ctx, "ad", 0); err != nil || len(p) != 0 {
		t.Fatalf("after HR: %d still pending, %v", len(p), err)
	}
	for i := range n {
		ext := fmt.Sprintf("e%d", i)
		a, b := h.profile("hr", ext).Profile, other.profile("hr", ext).Profile
		if a.Core != b.Core || a.Active != b.Active || !maps.Equal(a.Attributes, b.Attributes) {
			t.Fatalf("person %d differs by the order of the syncs:\nHR then AD: %+v\nAD then HR: %+v", i, a, b)
		}
	}
	check(t, "AD then HR", other.profile("hr", "e3").Profile, map[string]string{
		profile.Email: "Person3@AD.example.com", profile.Title: "HR title 3", profile.PhoneWork: "+1 555 0003",
	})
}

func testManagersAcrossSources(t *testing.T, h *harness) {
	// HR names managers by employee number (its external IDs); AD by DN. AD wins the
	// manager (twoSources), and its DN reference resolves through AD's own links.
	boss, report := hrPerson(1), hrPerson(2)
	report.Manager = "e3" // HR says person 3
	hr := h.begin("hr")
	h.apply(hr, change("e1", "", boss), change("e2", "", report), change("e3", "", hrPerson(3)))
	if _, err := hr.ResolveManagers(h.ctx, nil); err != nil {
		t.Fatal(err)
	}
	h.finish(hr)
	ids := h.lookup("hr", "e1", "e2", "e3")
	if got := h.profile("hr", "e2").ManagerID; got != ids["e3"].ProfileID {
		t.Fatalf("HR alone: manager %q, want person 3's %q", got, ids["e3"].ProfileID)
	}
	adReport := adPerson(2)
	adReport.Manager = "UID=A1,ou=people,dc=example,dc=com" // AD says person 1, by DN
	ad := h.begin("ad")
	h.apply(ad, change("a1", "", adPerson(1)), change("a2", "", adReport))
	if _, err := ad.ResolveManagers(h.ctx, nil); err != nil {
		t.Fatal(err)
	}
	h.finish(ad)
	if got := h.profile("hr", "e2").ManagerID; got != ids["e1"].ProfileID {
		t.Fatalf("with AD: manager %q, want person 1's %q (AD's reference wins)", got, ids["e1"].ProfileID)
	}
	// A later HR run resolves its own references but leaves AD's manager alone.
	hr = h.begin("hr")
	if _, err := hr.ResolveManagers(h.ctx, nil); err != nil {
		t.Fatal(err)
	}
	h.finish(hr)
	if got := h.profile("hr", "e2").ManagerID; got != ids["e1"].ProfileID {
		t.Fatalf("HR's resolution overrode AD's manager: %q", got)
	}
	// AD drops its manager reference: HR's falls through.
	ad = h.begin("ad")
	h.apply(ad, change("a2", ids["e2"].ProfileID, adPerson(2)))
	h.finish(ad)
	if got := h.profile("hr", "e2").ManagerID; got != ids["e3"].ProfileID {
		t.Fatalf("after AD dropped its reference: manager %q, want HR's person 3 %q", got, ids["e3"].ProfileID)
	}
}

func testPhotoPrecedence(t *testing.T, h *harness) {
	hrP := hrPerson(1)
	hrP.Photo = &profile.Photo{ContentType: "image/png", Data: []byte("hr picture")}
	hr := h.begin("hr")
	h.apply(hr, change("e1", "", hrP))
	h.finish(hr)
	id := h.lookup("hr", "e1")["e1"].ProfileID
	adP := adPerson(1)
	adP.Photo = &profile.Photo{ContentType: "image/jpeg", Data: []byte("ad picture")}
	ad := h.begin("ad")
	h.apply(ad, change("a1", "", adP))
	h.finish(ad)
	photo := func() string {
		_, p, _, err := h.hooks.Image(h.ctx, id)
		if err != nil {
			return "none"
		}
		return string(p.Data)
	}
	if got := photo(); got != "hr picture" {
		t.Fatalf("picture %q, want HR's (default order)", got)
	}
	// HR drops its picture: AD's falls through.
	hr = h.begin("hr")
	h.apply(hr, change("e1", id, hrPerson(1)))
	h.finish(hr)
	if got := photo(); got != "ad picture" {
		t.Fatalf("picture %q, want AD's after HR dropped its own", got)
	}
	// The person's own picture is never replaced.
	if err := h.hooks.SetUserImage(h.ctx, id, profile.Photo{ContentType: "image/png", Data: []byte("mine")}); err != nil {
		t.Fatal(err)
	}
	hr = h.begin("hr")
	h.apply(hr, change("e1", id, hrP))
	h.finish(hr)
	if got := photo(); got != "mine" {
		t.Fatalf("picture %q, want the person's own", got)
	}
}

func testConcurrentSources(t *testing.T, h *harness) {
	const n, rounds = 40, 15
	hr := h.begin("hr")
	var cs []store.Change
	for i := range n {
		cs = append(cs, change(fmt.Sprintf("e%d", i), "", hrPerson(i)))
	}
	h.apply(hr, cs...)
	h.finish(hr)
	ids := make([]string, n)
	for i := range n {
		ids[i] = h.lookup("hr", fmt.Sprintf("e%d", i))[fmt.Sprintf("e%d", i)].ProfileID
	}
	// Two runs on "different replicas" at once, each rewriting its fields of the same
	// people round after round, AD joining them in its first round.
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	run := func(sync string, build func(i, round int) store.Change) {
		defer wg.Done()
		r, err := h.s.BeginRun(h.ctx, sync, "full", "replica-"+sync)
		if err != nil {
			errs <- err
			return
		}
		for round := range rounds {
			var cs []store.Change
			for i := range n {
				cs = append(cs, build(i, round))
			}
			if _, err := r.Apply(h.ctx, cs); err != nil {
				errs <- fmt.Errorf("%s round %d: %w", sync, round, err)
				return
			}
		}
		errs <- r.Finish(h.ctx, store.Summary{Status: store.StatusSucceeded})
	}
	wg.Add(2)
	go run("hr", func(i, round int) store.Change {
		p := hrPerson(i)
		p.Set(profile.Title, fmt.Sprintf("HR title %d round %d", i, round))
		return change(fmt.Sprintf("e%d", i), ids[i], p)
	})
	go run("ad", func(i, round int) store.Change {
		p := adPerson(i)
		p.Set(profile.PhoneWork, fmt.Sprintf("+1 555 %04d round %d", i, round))
		return change(fmt.Sprintf("a%d", i), "", p)
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		sp := h.profile("hr", fmt.Sprintf("e%d", i))
		check(t, fmt.Sprintf("person %d after concurrent runs", i), sp.Profile, map[string]string{
			profile.Title:     fmt.Sprintf("HR title %d round %d", i, rounds-1),
			profile.PhoneWork: fmt.Sprintf("+1 555 %04d round %d", i, rounds-1),
			profile.Email:     fmt.Sprintf("Person%d@AD.example.com", i),
		})
	}
}

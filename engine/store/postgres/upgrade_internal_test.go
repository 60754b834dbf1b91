package postgres

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/engine/store/pgtest"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

// testdata/schema-v4-250-people.sql is pg_dump --inserts of a store written by the
// release before several sources per person (commit deff479, schema version 4): its
// binary synced the 250 people of examples/people.ldif, then the same file without two
// of them (soft-deleted); then, as the People Service would, one person got custom
// fields and another their own picture.
const dumpV4 = "testdata/schema-v4-250-people.sql"

// restoreDump loads a plain pg_dump into the database at dsn, without psql: its
// meta-commands (\restrict) are dropped, the rest runs as one simple-protocol script.
func restoreDump(t *testing.T, dsn, path string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var script bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if !strings.HasPrefix(sc.Text(), `\`) {
			script.WriteString(sc.Text())
			script.WriteByte('\n')
		}
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, script.String()); err != nil {
		t.Fatalf("restore %s: %v", path, err)
	}
}

// A store written by the release before several sources keeps its profiles, links,
// soft-deletions, custom fields and pictures through the migration, its sync runs on
// as before, and a second source can join its people.
func TestUpgradeFromSchemaV4Dump(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	restoreDump(t, dsn, dumpV4)
	src := store.Sources{
		Roles: map[string]store.Roles{"ad": {Join: []string{profile.EmployeeNumber}}},
		Order: []string{"people", "ad"},
	}
	s, err := Open(ctx, dsn, Options{Sources: src})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var profiles, live, links, gone, custom, own int
	if err := s.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM profiles), (SELECT count(*) FROM profiles WHERE deleted_at IS NULL),
		(SELECT count(*) FROM profile_links WHERE situation = 'linked'),
		(SELECT count(*) FROM profile_links WHERE gone_at IS NOT NULL),
		(SELECT count(*) FROM profiles WHERE custom_fields ? 'pronouns'),
		(SELECT count(*) FROM profile_images WHERE source = 'user')`).Scan(&profiles, &live, &links, &gone, &custom, &own); err != nil {
		t.Fatal(err)
	}
	if profiles != 250 || live != 248 || links != 250 || gone != 2 || custom != 1 || own != 1 {
		t.Fatalf("after the migration: %d profiles (%d live), %d links (%d gone), %d with custom fields, %d own pictures; want 250 (248), 250 (2), 1, 1",
			profiles, live, links, gone, custom, own)
	}
	var ids []string
	var deleted int
	if err := s.LinkSources(ctx, "people", func(ext, _ []byte, del bool) error {
		ids = append(ids, string(ext))
		if del {
			deleted++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 250 || deleted != 2 {
		t.Fatalf("LinkSources: %d links, %d deleted; want 250, 2", len(ids), deleted)
	}
	stored, err := s.Lookup(ctx, "people", []string{"ede05ac0-cb42-4a4e-ba95-de7c36d3da5b", "d4164b0e-76d7-412b-818e-8a319d2be6d9"})
	if err != nil {
		t.Fatal(err)
	}
	kept, dropped := stored["ede05ac0-cb42-4a4e-ba95-de7c36d3da5b"], stored["d4164b0e-76d7-412b-818e-8a319d2be6d9"]
	if kept.ProfileID == "" || kept.Deleted || dropped.ProfileID == "" || !dropped.Deleted {
		t.Fatalf("Lookup: live %+v, dropped %+v", kept, dropped)
	}
	old, err := s.Profiles(ctx, "people", []string{"ede05ac0-cb42-4a4e-ba95-de7c36d3da5b", "d4164b0e-76d7-412b-818e-8a319d2be6d9"})
	if err != nil {
		t.Fatal(err)
	}
	before := old["ede05ac0-cb42-4a4e-ba95-de7c36d3da5b"].Profile

	// The old sync goes on: the dropped person comes back to the same profile.
	r, err := s.BeginRun(ctx, "people", "full", "after-upgrade")
	if err != nil {
		t.Fatal(err)
	}
	back := old["d4164b0e-76d7-412b-818e-8a319d2be6d9"].Profile
	back.Set(profile.Title, "Returned")
	if res, err := r.Apply(ctx, []store.Change{{ExternalID: "d4164b0e-76d7-412b-818e-8a319d2be6d9", ProfileID: dropped.ProfileID, Profile: back}}); err != nil || res.Updated != 1 {
		t.Fatalf("Apply after the upgrade = %+v, %v", res, err)
	}
	if err := r.Finish(ctx, store.Summary{Status: store.StatusSucceeded}); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Lookup(ctx, "people", []string{"d4164b0e-76d7-412b-818e-8a319d2be6d9"}); st["d4164b0e-76d7-412b-818e-8a319d2be6d9"].Deleted {
		t.Fatal("the returning person still reads as dropped")
	}

	// A second source joins an upgraded profile by employee number; the old source's
	// fields are kept as its contribution.
	r, err = s.BeginRun(ctx, "ad", "full", "after-upgrade")
	if err != nil {
		t.Fatal(err)
	}
	var adp profile.Profile
	adp.Set(profile.EmployeeNumber, before.Get(profile.EmployeeNumber))
	adp.Set(profile.PhoneWork, "+49 30 1234") // loses: the old source has one
	adp.Set(profile.Timezone, "Atlantic/Reykjavik")
	adp.Set(profile.Title, "AD's title, which loses")
	adp.Active = true
	res, err := r.Apply(ctx, []store.Change{{ExternalID: "ad-1", Profile: adp}})
	if err != nil || res.Joined != 1 {
		t.Fatalf("AD's Apply = %+v, %v; want 1 joined", res, err)
	}
	if err := r.Finish(ctx, store.Summary{Status: store.StatusSucceeded}); err != nil {
		t.Fatal(err)
	}
	now, err := s.Profiles(ctx, "people", []string{"ede05ac0-cb42-4a4e-ba95-de7c36d3da5b"})
	if err != nil {
		t.Fatal(err)
	}
	after := now["ede05ac0-cb42-4a4e-ba95-de7c36d3da5b"].Profile
	if after.Get(profile.Title) != before.Get(profile.Title) || after.Get(profile.Email) != before.Get(profile.Email) ||
		after.Get(profile.PhoneWork) != before.Get(profile.PhoneWork) || after.Get(profile.Timezone) != "Atlantic/Reykjavik" ||
		before.Get(profile.Timezone) != "" {
		t.Fatalf("the joined profile: %+v\nwant the old source's fields with AD's timezone; before: %+v", after, before)
	}
}

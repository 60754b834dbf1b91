package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/engine/store/pgtest"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

// oneStatement is the whole-sync resolution as one statement, as it was before it was cut
// into pieces: the reference the pieces must agree with.
const oneStatement = `
	WITH by_dn AS (
		SELECT DISTINCT ON (lower(dn)) lower(dn) AS ldn, profile_id
		  FROM profile_links WHERE sync_name = $1 AND dn <> ''
		 ORDER BY lower(dn), external_id
	), wanted AS (
		SELECT l.profile_id,
		       CASE WHEN l.manager_ref = '' THEN NULL
		            ELSE coalesce(by_id.profile_id, by_dn.profile_id) END AS manager_id
		  FROM profile_links l
		  JOIN profiles p ON p.id = l.profile_id AND p.deleted_at IS NULL
		  LEFT JOIN profile_links by_id ON by_id.sync_name = l.sync_name AND by_id.external_id = l.manager_ref
		  LEFT JOIN by_dn ON by_dn.ldn = lower(l.manager_ref)
		 WHERE l.sync_name = $1
	)
	UPDATE profiles p SET manager_id = w.manager_id, updated_at = now()
	  FROM wanted w
	 WHERE p.id = w.profile_id AND p.manager_id IS DISTINCT FROM w.manager_id`

func openStore(t *testing.T, dsn string) *Store {
	t.Helper()
	return openStoreWith(t, dsn, store.Sources{})
}

// openStoreWith is openStore for a store whose syncs share people by src.
func openStoreWith(t *testing.T, dsn string, src store.Sources) *Store {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, dsn, Options{Logger: slog.New(slog.DiscardHandler), Sources: src})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// tangle builds people of one sync whose references exercise every rule: by external
// ID, by DN in another case, a DN shared by several links (the lowest external ID
// wins), a reference that is one link's external ID and another's DN (the ID wins),
// dangling and empty references. They are created in a shuffled order, so that the
// order of profile IDs (the pieces' walk) is not the order of external IDs.
func tangle(syncName string, n int, rng *rand.Rand) []store.Change {
	ext := func(i int) string { return fmt.Sprintf("%s-%03d", syncName, i) }
	dn := func(i int) string {
		switch {
		case i%11 == 3:
			return "CN=Shared,OU=People" // the same DN, in different cases
		case i%11 == 4:
			return "cn=shared,ou=people"
		case i == 7:
			return ext(9) // a DN that is another link's external ID
		case i%13 == 0:
			return "" // no DN
		}
		return fmt.Sprintf("uid=%s,ou=People", ext(i))
	}
	out := make([]store.Change, 0, n)
	for i := range n {
		var p profile.Profile
		p.Set(profile.Email, ext(i)+"@example.com")
		p.Active = true
		switch i % 6 {
		case 0:
			p.Manager = ext(i / 3) // by external ID
		case 1:
			p.Manager = strings.ToUpper(dn(i / 2)) // by DN, in another case
		case 2:
			p.Manager = fmt.Sprintf("nobody-%d", i) // dangling
		case 3:
			// none
		case 4:
			p.Manager = "cn=SHARED,ou=People"
		case 5:
			p.Manager = ext(9) // both an external ID and a DN
		}
		sum := p.Hash([]byte("resolve-test"))
		out = append(out, store.Change{ExternalID: ext(i), DN: dn(i), Profile: p, Hash: sum[:]})
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// managers reads every profile's manager.
func managers(t *testing.T, ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) map[string]string {
	t.Helper()
	rows, err := q.Query(ctx, `SELECT id::text, coalesce(manager_id::text, '') FROM profiles`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	var id, m string
	if _, err := pgx.ForEachRow(rows, []any{&id, &m}, func() error { out[id] = m; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// The whole-sync resolution, cut into pieces of any size, sets exactly the managers the
// single statement did and reports as many changed rows; other syncs' profiles and
// soft-deleted ones stay as they are.
func TestResolveAllInPiecesMatchesOneStatement(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, pgtest.NewDatabase(t))
	rng := rand.New(rand.NewPCG(1, 2))

	hr, err := s.BeginRun(ctx, "hr", "full", "test")
	if err != nil {
		t.Fatal(err)
	}
	crm, err := s.BeginRun(ctx, "crm", "full", "test")
	if err != nil {
		t.Fatal(err)
	}
	// The two syncs' creates interleave, so that the walk over profile IDs meets both.
	hrChanges, crmChanges := tangle("hr", 120, rng), tangle("crm", 40, rng)
	for len(hrChanges)+len(crmChanges) > 0 {
		for _, side := range []struct {
			r  store.Run
			cs *[]store.Change
		}{{hr, &hrChanges}, {crm, &crmChanges}} {
			b := (*side.cs)[:min(7, len(*side.cs))]
			*side.cs = (*side.cs)[len(b):]
			if len(b) > 0 {
				if _, err := side.r.Apply(ctx, b); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if _, err := hr.SoftDelete(ctx, []string{"hr-005", "hr-044", "hr-100"}); err != nil {
		t.Fatal(err)
	}

	// scramble gives every profile a wrong manager (or none), the same each time.
	scramble := func() {
		t.Helper()
		if _, err := s.pool.Exec(ctx, `
			UPDATE profiles SET manager_id = CASE WHEN hashtext(id::text) % 3 = 0 THEN NULL
			       ELSE (SELECT id FROM profiles ORDER BY id LIMIT 1) END`); err != nil {
			t.Fatal(err)
		}
	}
	scramble()
	before := managers(t, ctx, s.pool)
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := tx.Exec(ctx, oneStatement, "hr")
	if err != nil {
		t.Fatal(err)
	}
	want, wantN := managers(t, ctx, tx), int(tag.RowsAffected())
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if wantN < 60 {
		t.Fatalf("the single statement changed %d managers: the scramble tests little", wantN)
	}

	rr := hr.(*run)
	for _, piece := range []int{1, 2, 7, 50, defaultResolvePiece} {
		scramble()
		rr.resolvePiece = piece
		n, err := hr.ResolveManagers(ctx, nil)
		if err != nil {
			t.Fatalf("pieces of %d: %v", piece, err)
		}
		if n != wantN {
			t.Errorf("pieces of %d: %d managers changed, the single statement %d", piece, n, wantN)
		}
		got := managers(t, ctx, s.pool)
		for id, w := range want {
			if got[id] != w {
				t.Errorf("pieces of %d: profile %s: manager %q, want %q (before: %q)", piece, id, got[id], w, before[id])
			}
		}
		if n, err := hr.ResolveManagers(ctx, nil); err != nil || n != 0 {
			t.Errorf("pieces of %d: resolving again changed %d, %v; want 0", piece, n, err)
		}
	}
	for _, r := range []store.Run{hr, crm} {
		if err := r.Finish(ctx, store.Summary{Status: store.StatusSucceeded}); err != nil {
			t.Fatal(err)
		}
	}
}

// On the statistics of a 250-person trial, with a big sync written since by a run that
// did not get to resolve it (the scenario of issue 12 §1, the run lost), the next run's
// whole-sync resolution plans on fresh statistics and its pieces read only through
// indexes. Planned on the trial's statistics, the DN look-up read every link of the sync
// for each link (this test's plan before the resolution analyzed); a sequential scan or
// a hash join would cost each piece the whole table.
func TestResolvePiecePlansStayOnIndexes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	s := openStore(t, dsn)
	if _, err := s.pool.Exec(ctx, `ALTER TABLE profiles SET (autovacuum_enabled = false);
		ALTER TABLE profile_links SET (autovacuum_enabled = false)`); err != nil {
		t.Fatal(err)
	}
	write := func(syncName string, from, n int) {
		t.Helper()
		r, err := s.BeginRun(ctx, syncName, "full", "test")
		if err != nil {
			t.Fatal(err)
		}
		// A run that wrote without analyzing (its ANALYZE failed, or an older version).
		r.(*run).outgrowAt.Store(math.MaxInt64)
		all := creates(from, n)
		for len(all) > 0 {
			b := all[:min(1000, len(all))]
			all = all[len(b):]
			if _, err := r.Apply(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.Finish(ctx, store.Summary{Status: store.StatusSucceeded}); err != nil {
			t.Fatal(err)
		}
	}
	write("trial", 0, 250)
	if _, err := s.pool.Exec(ctx, `ANALYZE profiles, profile_links`); err != nil {
		t.Fatal(err)
	}
	const big = 20000
	write("big", 250, big)
	// The writers' sessions report their counts to the statistics when they end.
	s.Close()
	s = openStore(t, dsn)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var modified int64
		if err := s.pool.QueryRow(ctx, `SELECT n_mod_since_analyze FROM pg_stat_user_tables
			WHERE relname = 'profile_links'`).Scan(&modified); err != nil {
			t.Fatal(err)
		}
		if modified >= big {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the statistics count %d changed links, want %d", modified, big)
		}
		time.Sleep(20 * time.Millisecond)
	}
	r, err := s.BeginRun(ctx, "big", "full", "test")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Finish(ctx, store.Summary{Status: store.StatusSucceeded})
	r.(*run).analyzeIfStale(ctx) // as ResolveManagers does first

	var some [16]byte
	if err := s.pool.QueryRow(ctx, `SELECT profile_id FROM profile_links WHERE sync_name = 'big'
		ORDER BY profile_id OFFSET 5000 LIMIT 1`).Scan(&some); err != nil {
		t.Fatal(err)
	}
	explain := func(stmt string, args ...any) string {
		t.Helper()
		tx, err := s.pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, boundedPlans); err != nil {
			t.Fatal(err)
		}
		rows, err := tx.Query(ctx, "EXPLAIN "+stmt, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		var line string
		if _, err := pgx.ForEachRow(rows, []any{&line}, func() error { plan = append(plan, line); return nil }); err != nil {
			t.Fatal(err)
		}
		return strings.Join(plan, "\n")
	}
	for _, from := range []string{">=", ">"} {
		plans := []string{
			explain(fmt.Sprintf(`SELECT profile_id FROM profile_links WHERE profile_id %s $1
				ORDER BY profile_id OFFSET %d LIMIT 1`, from, defaultResolvePiece-1), some),
			explain(fmt.Sprintf(resolvePiece, from), "big", some, maxUUID),
		}
		for _, plan := range plans {
			for _, bad := range []string{"Seq Scan", "Hash Join", "Merge Join", "Filter: (lower(dn)"} {
				if strings.Contains(plan, bad) {
					t.Errorf("a piece's plan has a %s:\n%s", bad, plan)
				}
			}
		}
		if !strings.Contains(plans[1], "Index Cond: ((sync_name = 'big'::text) AND (lower(dn) = lower(t.manager_ref)))") {
			t.Errorf("the piece does not look DNs up by the DN index:\n%s", plans[1])
		}
	}
}

package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/engine/store/pgtest"
)

// planNode is a node of EXPLAIN (FORMAT JSON) output, as PostgreSQL documents it
// ("Using EXPLAIN", section 14.1 of the PostgreSQL 15 manual): the fields this test reads.
type planNode struct {
	NodeType     string     `json:"Node Type"`
	RelationName string     `json:"Relation Name"`
	IndexName    string     `json:"Index Name"`
	IndexCond    string     `json:"Index Cond"`
	RecheckCond  string     `json:"Recheck Cond"`
	Filter       string     `json:"Filter"`
	Parent       string     `json:"Parent Relationship"`
	Plans        []planNode `json:"Plans"`
}

// walk calls fn for the node and every node below it, but for the subplans below it
// unless withSubPlans.
func (n planNode) walk(withSubPlans bool, fn func(planNode)) {
	if n.Parent == "SubPlan" && !withSubPlans {
		return
	}
	fn(n)
	for _, c := range n.Plans {
		c.walk(withSubPlans, fn)
	}
}

// The scoped manager resolution finds the links that refer to the changed people by
// probing an index on the reference, on the statistics of a 250-person trial after a
// big sync was written since, and after the run analyzed them: its cost grows with the
// changed IDs, not with the sync. Before the index it read every link of the sync for
// those branches (a hash semi join over a sequential scan: 0.8–3.0 s at 1M people).
func TestScopedResolvePlanProbesTheReferenceIndex(t *testing.T) {
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
		r.(*run).outgrowAt.Store(math.MaxInt64) // stale statistics: no analysis while applying
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
	write("big", 0, big)

	// A few hundred changed people, managers of others (creates: e<i> reports to e<i/10>).
	changed := make([]string, 300)
	for i := range changed {
		changed[i] = fmt.Sprintf("e%d", 500+i)
	}
	r, err := s.BeginRun(ctx, "big", "full", "test")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Finish(ctx, store.Summary{Status: store.StatusSucceeded})
	// explain plans the statement as ResolveManagers runs it, with boundedPlans.
	explain := func(format string) []string {
		t.Helper()
		tx, err := s.pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, boundedPlans); err != nil {
			t.Fatal(err)
		}
		rows, err := tx.Query(ctx, "EXPLAIN "+format+resolveSomeManagers, "big", changed)
		if err != nil {
			t.Fatal(err)
		}
		plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return plan
	}
	wholeSync := "(sync_name = 'big'::text)"
	check := func(when string, withSubPlans bool) {
		t.Helper()
		var doc []struct {
			Plan planNode `json:"Plan"`
		}
		if err := json.Unmarshal([]byte(strings.Join(explain("(FORMAT JSON) "), "\n")), &doc); err != nil || len(doc) != 1 {
			t.Fatalf("%s: decode the plan: %v", when, err)
		}
		failed, probes := false, 0
		doc[0].Plan.walk(withSubPlans, func(n planNode) {
			if n.RelationName != "profile_links" && n.NodeType != "Bitmap Index Scan" {
				return
			}
			switch {
			case n.NodeType == "Seq Scan":
				t.Errorf("%s: the plan reads every link (Seq Scan on profile_links)", when)
				failed = true
			case n.IndexCond == wholeSync:
				t.Errorf("%s: the plan reads all the sync's links from %s, filtering %s", when, n.IndexName, n.Filter)
				failed = true
			case n.IndexName == "profile_links_manager_ref":
				probes++
			}
		})
		if probes != 1 {
			t.Errorf("%s: %d probes of profile_links_manager_ref, want one (for the references by ID and by DN)", when, probes)
			failed = true
		}
		if failed {
			t.Logf("%s: plan:\n%s", when, strings.Join(explain(""), "\n"))
		}
	}
	// The look-ups of each target's manager (subplans) rely on the analysis that
	// ResolveManagers does first: on the trial's statistics they read the sync by name.
	check("on the trial's statistics", false)

	// The writers' sessions report their counts to the statistics when they end; then the
	// run analyzes, as ResolveManagers does first.
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
	r.(*run).analyzeIfStale(ctx)
	check("on fresh statistics", true)

	n, err := r.ResolveManagers(ctx, changed)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("resolving around unchanged people changed %d managers, want 0", n)
	}
}

// Resolving around some changed people sets, to what the whole-sync statement sets, the
// managers of their links, of the links whose reference names one of them (by external
// ID, or by DN in any case; a reference naming an ID in another case is resolved too,
// to what it already should be) and of the live links left without one; it leaves every
// other profile as it was. The people follow tangle's rules, each reference kind.
func TestScopedResolveMatchesOneStatementAroundTheChanged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, pgtest.NewDatabase(t))
	rng := rand.New(rand.NewPCG(3, 4))
	r, err := s.BeginRun(ctx, "hr", "full", "test")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Finish(ctx, store.Summary{Status: store.StatusSucceeded})
	people := tangle("hr", 150, rng)
	for b := range slices.Chunk(people, 13) {
		if _, err := r.Apply(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.SoftDelete(ctx, []string{"hr-009", "hr-100"}); err != nil {
		t.Fatal(err)
	}
	profileOf := map[string]string{}
	rows, err := s.pool.Query(ctx, `SELECT external_id, profile_id::text FROM profile_links WHERE sync_name = 'hr'`)
	if err != nil {
		t.Fatal(err)
	}
	var ext, id string
	if _, err := pgx.ForEachRow(rows, []any{&ext, &id}, func() error { profileOf[ext] = id; return nil }); err != nil {
		t.Fatal(err)
	}

	for _, every := range []int{1, 3, 10, 40} {
		// The changed: every every-th person, a soft-deleted one and an unknown ID.
		changed := []string{"hr-009", "nobody"}
		for i := 0; i < len(people); i += every {
			changed = append(changed, fmt.Sprintf("hr-%03d", i))
		}
		// scramble gives every profile a wrong manager (or none), the same each time.
		if _, err := s.pool.Exec(ctx, `
			UPDATE profiles SET manager_id = CASE WHEN hashtext(id::text) % 3 = 0 THEN NULL
			       ELSE (SELECT id FROM profiles ORDER BY id DESC LIMIT 1) END`); err != nil {
			t.Fatal(err)
		}
		before := managers(t, ctx, s.pool)
		tx, err := s.pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, oneStatement, "hr"); err != nil {
			t.Fatal(err)
		}
		want := managers(t, ctx, tx)
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		refs := map[string]bool{} // lower-cased
		for _, c := range people {
			if slices.Contains(changed, c.ExternalID) {
				refs[strings.ToLower(c.ExternalID)] = true
				if c.DN != "" {
					refs[strings.ToLower(c.DN)] = true
				}
			}
		}
		targets := map[string]bool{}
		for _, c := range people {
			pid := profileOf[c.ExternalID]
			ref := c.Profile.Manager
			if slices.Contains(changed, c.ExternalID) || ref != "" && (refs[strings.ToLower(ref)] || before[pid] == "") {
				targets[pid] = true
			}
		}
		wantN := 0
		for pid := range before {
			if !targets[pid] || pid == profileOf["hr-009"] || pid == profileOf["hr-100"] {
				want[pid] = before[pid] // not a target, or soft-deleted
			}
			if want[pid] != before[pid] {
				wantN++
			}
		}
		if every == 1 && wantN < 60 {
			t.Fatalf("the scoped resolution would change %d managers: the scramble tests little", wantN)
		}
		n, err := r.ResolveManagers(ctx, changed)
		if err != nil {
			t.Fatal(err)
		}
		if n != wantN {
			t.Errorf("every %d: %d managers changed, want %d", every, n, wantN)
		}
		got := managers(t, ctx, s.pool)
		for pid, w := range want {
			if got[pid] != w {
				t.Errorf("every %d: profile %s: manager %q, want %q (before: %q)", every, pid, got[pid], w, before[pid])
			}
		}
	}
}

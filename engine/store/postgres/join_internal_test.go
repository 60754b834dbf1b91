package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/engine/store/pgtest"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

// The join's key look-up probes the key index, and joins every record, on the
// statistics a store has after a small trial when the creating sync has since written
// many more people. (BenchmarkJoin met a worse plan: the planner read a partial key
// index whole, for its predicate, and compared every profile with every record, 4.3 s
// a batch of 1,000 at 10,000 people. This test did not reproduce that plan on the old
// code; it guards the plan's shape, and BenchmarkJoin's rate guards the speed.)
func TestJoinProbesTheKeyIndexOnStaleStatistics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := store.Sources{Roles: map[string]store.Roles{"ad": {Join: []string{profile.EmployeeNumber}}}}
	s, err := Open(ctx, pgtest.NewDatabase(t), Options{Sources: src})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	people := func(from, n int) []store.Change {
		cs := make([]store.Change, n)
		for i := range cs {
			var p profile.Profile
			p.Set(profile.UserName, fmt.Sprintf("u%d", from+i))
			p.Set(profile.EmployeeNumber, fmt.Sprintf("E%d", from+i))
			p.Active = true
			cs[i] = store.Change{ExternalID: fmt.Sprintf("hr-%d", from+i), Profile: p}
		}
		return cs
	}
	write := func(sync string, cs []store.Change) {
		t.Helper()
		r, err := s.BeginRun(ctx, sync, "full", "test")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Apply(ctx, cs); err != nil {
			t.Fatal(err)
		}
		if err := r.Finish(ctx, store.Summary{Status: store.StatusSucceeded}); err != nil {
			t.Fatal(err)
		}
	}
	// The trial: 250 people, analyzed (as autovacuum would); then the real export, not
	// analyzed since; then the directory's first run, which makes its key index.
	write("hr", people(0, 250))
	if _, err := s.pool.Exec(ctx, `ANALYZE profiles, profile_links`); err != nil {
		t.Fatal(err)
	}
	for k := 250; k < 6250; k += 1000 {
		write("hr", people(k, 1000))
	}
	write("ad", nil)
	vals := make([]string, 1000)
	idx := make([]int32, 1000)
	for i := range vals {
		vals[i], idx[i] = fmt.Sprintf("E%d", 5000+i), int32(i)
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, boundedPlans); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `EXPLAIN SELECT v.i, p.id FROM unnest($1::text[], $2::int[]) AS v(val, i)
			JOIN profiles p ON `+keySQL(profile.EmployeeNumber, "p")+` = `+normSQL(profile.EmployeeNumber, "v.val")+` AND p.deleted_at IS NULL`, vals, idx)
		if err != nil {
			return err
		}
		var plan []string
		var line string
		if _, err := pgx.ForEachRow(rows, []any{&line}, func() error { plan = append(plan, line); return nil }); err != nil {
			return err
		}
		got := strings.Join(plan, "\n")
		if !strings.Contains(got, "Index Cond: (btrim(employee_number) = btrim(v.val))") {
			t.Errorf("the key look-up does not probe the key index:\n%s", got)
		}
		for _, bad := range []string{"Seq Scan on profiles", "Materialize", "Join Filter"} {
			if strings.Contains(got, bad) {
				t.Errorf("the key look-up's plan has a %s:\n%s", bad, got)
			}
		}
		outs, err := match(ctx, tx, "ad", []string{profile.EmployeeNumber}, len(vals), func(i int, _ string) string { return vals[i] })
		if err != nil {
			return err
		}
		for i, o := range outs {
			if o.situation != store.Joined {
				t.Fatalf("record %d (%s): %s, want joined", i, vals[i], o.situation)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

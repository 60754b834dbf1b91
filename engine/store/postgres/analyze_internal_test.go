package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/engine/store/pgtest"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

// creates builds n creates of people from..from+n-1, each managed by person i/10.
func creates(from, n int) []store.Change {
	out := make([]store.Change, 0, n)
	for i := from; i < from+n; i++ {
		var p profile.Profile
		p.Set(profile.Email, fmt.Sprintf("person%d@example.com", i))
		p.Active = true
		p.Manager = fmt.Sprintf("e%d", i/10)
		sum := p.Hash([]byte("analyze-test"))
		ext := fmt.Sprintf("e%d", i)
		out = append(out, store.Change{ExternalID: ext, DN: "uid=" + ext + ",dc=example", Profile: p, Hash: sum[:]})
	}
	return out
}

// The scenario of issue 12 §1: a 250-person trial, analyzed as autovacuum would, then a
// big first sync. Before resolving managers the big run must have brought the planner's
// statistics up to date, or the resolution is planned for a table of 250 rows.
func TestBigSyncAfterAnalyzedTrialAnalyzesWhatItWrote(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := Open(ctx, pgtest.NewDatabase(t), Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// Autovacuum must not analyze behind the test's back.
	if _, err := s.pool.Exec(ctx, `ALTER TABLE profiles SET (autovacuum_enabled = false);
		ALTER TABLE profile_links SET (autovacuum_enabled = false)`); err != nil {
		t.Fatal(err)
	}
	sync := func(from, n int) {
		t.Helper()
		r, err := s.BeginRun(ctx, "big", "full", "test")
		if err != nil {
			t.Fatal(err)
		}
		all := creates(from, n)
		for len(all) > 0 {
			b := all[:min(1000, len(all))]
			all = all[len(b):]
			if _, err := r.Apply(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := r.ResolveManagers(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if err := r.Finish(ctx, store.Summary{Status: store.StatusSucceeded, Created: int64(n)}); err != nil {
			t.Fatal(err)
		}
	}
	sync(0, 250)
	if _, err := s.pool.Exec(ctx, `ANALYZE profiles, profile_links`); err != nil {
		t.Fatal(err)
	}
	const big = 20000
	start := time.Now()
	sync(250, big)
	t.Logf("big sync of %d after the trial: %v", big, time.Since(start))
	var believed float64
	if err := s.pool.QueryRow(ctx,
		`SELECT reltuples FROM pg_class WHERE oid = 'profile_links'::regclass`).Scan(&believed); err != nil {
		t.Fatal(err)
	}
	if believed < big {
		t.Fatalf("after the big sync the planner believes profile_links holds %.0f rows, want at least %d", believed, big)
	}
}

// The batches of a big first sync after an analyzed trial look their managers up on
// statistics that keep up with the sync as it grows: the run analyzes while it applies,
// before it resolves anything.
func TestApplyAnalyzesAsTheSyncOutgrowsTheStatistics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := Open(ctx, pgtest.NewDatabase(t), Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `ALTER TABLE profiles SET (autovacuum_enabled = false);
		ALTER TABLE profile_links SET (autovacuum_enabled = false)`); err != nil {
		t.Fatal(err)
	}
	apply := func(syncName string, from, n int) *run {
		t.Helper()
		r, err := s.BeginRun(ctx, syncName, "full", "test")
		if err != nil {
			t.Fatal(err)
		}
		all := creates(from, n)
		for len(all) > 0 {
			b := all[:min(500, len(all))]
			all = all[len(b):]
			if _, err := r.Apply(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		return r.(*run)
	}
	trial := apply("trial", 0, 250)
	if err := trial.Finish(ctx, store.Summary{Status: store.StatusSucceeded}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `ANALYZE profiles, profile_links`); err != nil {
		t.Fatal(err)
	}
	const big = 3 * outgrowMin
	r := apply("big", 250, big)
	defer r.Finish(ctx, store.Summary{Status: store.StatusSucceeded})
	believed, err := r.believedLinks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Analyzing whenever the run has written as many rows as the planner believed, the
	// last analysis saw at least half of what the run wrote.
	if believed < big/2 {
		t.Fatalf("after %d creates the planner believes profile_links holds %.0f rows, want at least %d", big, believed, big/2)
	}
}

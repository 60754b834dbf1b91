package postgres_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/engine/store/pgtest"
	"github.com/peoplesync/peoplesync/engine/store/postgres"
	"github.com/peoplesync/peoplesync/engine/store/storetest"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// testLeaseTTL is short so that the suite can wait out a lease, long enough that renewal
// every TTL/3 never misses on a busy CI machine.
const testLeaseTTL = 3 * time.Second

func open(t testing.TB, ttl time.Duration) *postgres.Store {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := postgres.Open(ctx, dsn, postgres.Options{
		LeaseTTL: ttl,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, testLeaseTTL) })
}

func TestOpenRejectsBadDSN(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := postgres.Open(ctx, "postgres://nobody@127.0.0.1:1/none?connect_timeout=2", postgres.Options{}); err == nil {
		t.Fatal("Open of an unreachable server succeeded")
	}
	if _, err := postgres.Open(ctx, "::not a dsn::", postgres.Options{}); err == nil {
		t.Fatal("Open of a malformed DSN succeeded")
	}
}

// BenchmarkApply creates, then updates, batches of 10k profiles and reports rows/s of each.
func BenchmarkApply(b *testing.B) {
	const batch = 10_000
	s := open(b, 0)
	b.Cleanup(s.Close)
	ctx := context.Background()
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	r, err := s.BeginRun(ctx, "bench", "full", "bench")
	if err != nil {
		b.Fatal(err)
	}
	defer r.Finish(ctx, store.Summary{Status: store.StatusSucceeded})
	salt := []byte("bench")
	build := func(round, gen int, ids map[string]store.Stored) []store.Change {
		changes := make([]store.Change, batch)
		for i := range changes {
			var p profile.Profile
			for j, f := range profile.CoreFields {
				p.Core[j] = fmt.Sprintf("%s %d/%d gen %d", f, round, i, gen)
			}
			p.Active = true
			p.Manager = fmt.Sprintf("r%d-%d", round, i/10)
			p.Attributes = map[string]string{"cost_center": fmt.Sprint(i % 50), "gen": fmt.Sprint(gen)}
			p.Seeded = []string{profile.Title}
			ext := fmt.Sprintf("r%d-%d", round, i)
			sum := p.Hash(salt)
			changes[i] = store.Change{ExternalID: ext, DN: "uid=" + ext + ",ou=people", Profile: p, Hash: sum[:]}
			if ids != nil {
				changes[i].ProfileID = ids[ext].ProfileID
			}
		}
		return changes
	}
	var createTime, updateTime time.Duration
	round := 0
	b.ResetTimer()
	for b.Loop() {
		round++
		creates := build(round, 0, nil)
		start := time.Now()
		res, err := r.Apply(ctx, creates)
		createTime += time.Since(start)
		if err != nil || res.Created != batch {
			b.Fatalf("create: %+v, %v", res, err)
		}
		ext := make([]string, batch)
		for i, c := range creates {
			ext[i] = c.ExternalID
		}
		ids, err := s.Lookup(ctx, "bench", ext)
		if err != nil {
			b.Fatal(err)
		}
		updates := build(round, 1, ids)
		start = time.Now()
		res, err = r.Apply(ctx, updates)
		updateTime += time.Since(start)
		if err != nil || res.Updated != batch {
			b.Fatalf("update: %+v, %v", res, err)
		}
	}
	b.ReportMetric(float64(round*batch)/createTime.Seconds(), "create-rows/s")
	b.ReportMetric(float64(round*batch)/updateTime.Seconds(), "update-rows/s")
}

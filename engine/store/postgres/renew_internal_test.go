package postgres

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/engine/store/pgtest"
)

// A run's appliers write several batches at once, so that some fenced transaction is
// always open. The renewal must not wait for a moment with none: under a short lease,
// a run kept busy for several lease lengths keeps its lease (issue 12 §1: under FOR SHARE
// fences the renewal starved and healthy runs lost their lock).
func TestRenewalIsNotStarvedByOverlappingWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const ttl = 900 * time.Millisecond
	s, err := Open(ctx, pgtest.NewDatabase(t), Options{LeaseTTL: ttl, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := s.BeginRun(ctx, "busy", "full", "a")
	if err != nil {
		t.Fatal(err)
	}
	rr := r.(*run)
	end := time.Now().Add(4 * ttl)
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for w := range 3 {
		wg.Go(func() {
			// Staggered so that the transactions overlap.
			time.Sleep(time.Duration(w) * 30 * time.Millisecond)
			for time.Now().Before(end) {
				if err := rr.write(ctx, "busy", func(tx pgx.Tx) error {
					_, err := tx.Exec(ctx, `SELECT pg_sleep(0.09)`)
					return err
				}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("a write of a healthy run failed: %v", err)
	}
	if err := r.Finish(ctx, store.Summary{Status: store.StatusSucceeded}); err != nil {
		t.Fatalf("Finish of a healthy busy run: %v", err)
	}
}

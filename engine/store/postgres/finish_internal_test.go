package postgres

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/engine/store/pgtest"
)

// retrySignal is a slog handler that closes ch on the first record about a retry.
type retrySignal struct {
	slog.Handler
	ch chan struct{}
}

func (h retrySignal) Handle(_ context.Context, rec slog.Record) error {
	if strings.Contains(rec.Message, "retrying") {
		select {
		case <-h.ch:
		default:
			close(h.ch)
		}
	}
	return nil
}
func (retrySignal) Enabled(context.Context, slog.Level) bool { return true }
func (h retrySignal) WithAttrs([]slog.Attr) slog.Handler     { return h }
func (h retrySignal) WithGroup(string) slog.Handler          { return h }

// A database that restarts while a run ends: Finish retries until it is back, so the
// run's row is not left "running" nor its lock held for the rest of the lease.
func TestFinishOutlastsADatabaseRestart(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.NewServer(t)
	retried := make(chan struct{})
	s, err := Open(ctx, srv.DSN("postgres"), Options{Logger: slog.New(retrySignal{slog.DiscardHandler, retried})})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := s.BeginRun(ctx, "hr", "full", "a")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Shutdown(ctx, pgtest.Clean); err != nil {
		t.Fatal(err)
	}
	finished := make(chan error, 1)
	go func() { finished <- r.Finish(ctx, store.Summary{Status: store.StatusSucceeded, Created: 7}) }()
	select {
	case <-retried:
	case err := <-finished:
		t.Fatalf("Finish while the database was down returned at once: %v", err)
	}
	if err := srv.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-finished; err != nil {
		t.Fatalf("Finish across a restart: %v", err)
	}
	runs, err := s.Runs(ctx, "hr", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Status != store.StatusSucceeded {
		t.Fatalf("runs = %+v, want one succeeded", runs)
	}
	locks, err := s.Locks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(locks) != 0 {
		t.Fatalf("locks after Finish = %+v, want none", locks)
	}
}

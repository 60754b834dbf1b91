package postgres

import (
	"context"
	"io/fs"
	"testing"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/peoplesync/peoplesync/engine/store/pgtest"
)

// A run recorded before runs counted unchanged records apart (migration 4) still reads
// after the migration: its skipped count as it was, unchanged 0.
func TestRunsRecordedBeforeUnchangedStillRead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := Open(ctx, pgtest.NewDatabase(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `
		INSERT INTO sync_runs (sync_name, mode, holder, status, finished_at, processed, skipped)
		VALUES ('hr', 'full', 'old-replica', 'succeeded', now(), 300, 300)`); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	runs, err := s.Runs(ctx, "hr", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Processed != 300 || runs[0].Skipped != 300 || runs[0].Unchanged != 0 {
		t.Fatalf("the old run reads as %+v, want processed 300, skipped 300, unchanged 0", runs)
	}
}

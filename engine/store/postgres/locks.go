package postgres

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/peoplesync/peoplesync/engine/store"
)

// Locks returns every sync's lock row, by sync name; Live is judged by the database clock.
func (s *Store) Locks(ctx context.Context) ([]store.LockInfo, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT sync_name, holder, term, acquired_at, expires_at, expires_at > now()
		  FROM sync_locks ORDER BY sync_name`)
	if err != nil {
		return nil, fmt.Errorf("locks: %w", translate(err))
	}
	var (
		out []store.LockInfo
		l   store.LockInfo
	)
	_, err = pgx.ForEachRow(rows, []any{&l.Sync, &l.Holder, &l.Term, &l.AcquiredAt, &l.ExpiresAt, &l.Live},
		func() error {
			out = append(out, l)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("locks: %w", translate(err))
	}
	return out, nil
}

// AbandonRuns marks abandoned the running runs of syncs without a live lease: their
// holder died (kill -9, a crashed node) before it could finish them. A run whose holder
// is alive keeps renewing its lease, so it is never marked.
func (s *Store) AbandonRuns(ctx context.Context) (int, error) {
	tag, err := s.pool.Exec(ctx, `
		UPDATE sync_runs r SET status = $1, finished_at = now(),
		       message = 'the run was interrupted: its process stopped without finishing it'
		 WHERE r.status = $2
		   AND NOT EXISTS (SELECT 1 FROM sync_locks l
		                    WHERE l.sync_name = r.sync_name AND l.expires_at > now())`,
		store.StatusAbandoned, store.StatusRunning)
	if err != nil {
		return 0, fmt.Errorf("abandon runs: %w", translate(err))
	}
	return int(tag.RowsAffected()), nil
}

// Ready returns nil if the database answers and has every migration this binary embeds,
// for readiness probes. It takes no lock.
func (s *Store) Ready(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ready: %w", translate(err))
	}
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("ready: %w", err)
	}
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("ready: %w", err)
	}
	pending, err := p.HasPending(ctx)
	if err != nil {
		return fmt.Errorf("ready: %w", translate(err))
	}
	if pending {
		return fmt.Errorf("ready: the store's schema lacks migrations (run peoplesync migrate)")
	}
	return nil
}

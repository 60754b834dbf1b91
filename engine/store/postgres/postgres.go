package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/peoplesync/peoplesync/engine/store"
)

// DefaultLeaseTTL is the lease of a sync's lock when Options.LeaseTTL is zero.
const DefaultLeaseTTL = 30 * time.Second

//go:embed migrations/*.sql
var migrations embed.FS

// Options configures a Store.
type Options struct {
	// LeaseTTL is how long a run's lock lasts without renewal; the run renews it every
	// LeaseTTL/3. Default DefaultLeaseTTL.
	LeaseTTL time.Duration
	// Logger receives the store's logs; default slog.Default().
	Logger *slog.Logger
	// Sources says how the syncs that share people combine into one profile: each
	// sync's roles and the precedence of fields. The zero value keeps every sync's
	// people to itself.
	Sources store.Sources
}

// Store is a profile store in PostgreSQL. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	// lease is a small pool of its own for lease renewals, so that a renewal never
	// queues for a connection behind the run's own work in pool.
	lease *pgxpool.Pool
	ttl   time.Duration
	log   *slog.Logger
	// sources are the roles of the syncs and the precedence of fields (Options.Sources).
	sources store.Sources

	// runs are the unfinished runs, whose renewers Close stops.
	mu   sync.Mutex
	runs map[*run]struct{}
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at dsn (a URL or key=value string; pgxpool settings such
// as pool_max_conns apply). It does not migrate: call Migrate.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	if opts.LeaseTTL == 0 {
		opts.LeaseTTL = DefaultLeaseTTL
	}
	if opts.LeaseTTL < 0 {
		return nil, fmt.Errorf("open store: negative lease TTL %v", opts.LeaseTTL)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", translate(err))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", translate(err))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open store: %w", translate(err))
	}
	lcfg := cfg.Copy()
	lcfg.MaxConns = 2
	lcfg.MinConns = 0
	lease, err := pgxpool.NewWithConfig(ctx, lcfg)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open store: lease pool: %w", translate(err))
	}
	return &Store{
		pool:    pool,
		lease:   lease,
		ttl:     opts.LeaseTTL,
		sources: opts.Sources,
		log:     opts.Logger.With("component", "store"),
		runs:    make(map[*run]struct{}),
	}, nil
}

// Migrate applies the embedded migrations that the database lacks. Concurrent Migrate
// calls from several replicas serialize on a goose lock table (no session state, so it
// works through PgBouncer).
func (s *Store) Migrate(ctx context.Context) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	locker, err := lock.NewPostgresTableLocker(lock.WithTableLockTimeout(time.Second, 300))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithLocker(locker), goose.WithSlog(s.log), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", translate(err))
	}
	for _, r := range results {
		s.log.InfoContext(ctx, "migration applied", "version", r.Source.Version, "duration", r.Duration)
	}
	return nil
}

// PendingMigrations returns how many of the embedded migrations the database has not
// applied, without changing anything (a database without the schema lacks all of
// them): for the commands that only read, which must not migrate as a side effect.
func (s *Store) PendingMigrations(ctx context.Context) (int, error) {
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return 0, fmt.Errorf("list migrations: %w", err)
	}
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT to_regclass('goose_db_version') IS NOT NULL`).Scan(&exists); err != nil {
		return 0, fmt.Errorf("read the schema version: %w", translate(err))
	}
	if !exists {
		return len(files), nil
	}
	applied := map[int64]bool{}
	rows, err := s.pool.Query(ctx, `SELECT version_id, is_applied FROM goose_db_version ORDER BY id`)
	if err != nil {
		return 0, fmt.Errorf("read the schema version: %w", translate(err))
	}
	var version int64
	var isApplied bool
	if _, err := pgx.ForEachRow(rows, []any{&version, &isApplied}, func() error {
		applied[version] = isApplied // the latest row of a version says its state
		return nil
	}); err != nil {
		return 0, fmt.Errorf("read the schema version: %w", translate(err))
	}
	pending := 0
	for _, f := range files {
		v, err := strconv.ParseInt(strings.SplitN(path.Base(f), "_", 2)[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("migration %s has no version number", f)
		}
		if !applied[v] {
			pending++
		}
	}
	return pending, nil
}

// LeaseTTL returns the lease of the locks this store's runs take.
func (s *Store) LeaseTTL() time.Duration { return s.ttl }

// Close stops the renewers of unfinished runs (their leases then expire) and closes the
// connection pool.
func (s *Store) Close() {
	s.mu.Lock()
	runs := make([]*run, 0, len(s.runs))
	for r := range s.runs {
		runs = append(runs, r)
	}
	s.mu.Unlock()
	for _, r := range runs {
		r.stopRenewer()
	}
	s.pool.Close()
	s.lease.Close()
}

func (s *Store) track(r *run) {
	s.mu.Lock()
	s.runs[r] = struct{}{}
	s.mu.Unlock()
}

func (s *Store) untrack(r *run) {
	s.mu.Lock()
	delete(s.runs, r)
	s.mu.Unlock()
}

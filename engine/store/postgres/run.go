package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/peoplesync/peoplesync/engine/store"
)

// finishTimeout bounds Finish, which runs even when the caller's context is cancelled so
// that a shutting-down run still records itself and releases its lock.
const finishTimeout = time.Minute

// run is one run's hold on a sync's lease.
type run struct {
	s      *Store
	id     int64
	sync   string
	holder string
	term   int64
	log    *slog.Logger

	lost     atomic.Bool // the lease is known to be no longer ours
	finished atomic.Bool
	// unanalyzed counts the rows the run created or updated since it last analyzed the
	// tables (see analyzeIfStale).
	unanalyzed atomic.Int64
	// outgrowAt is the count of unanalyzed rows at which Apply next considers analyzing
	// (see analyzeIfOutgrown); analyzing is held while it does.
	outgrowAt atomic.Int64
	analyzing atomic.Bool
	// resolvePiece is how many links a piece of the whole-sync manager resolution
	// resolves (defaultResolvePiece; tests make it small).
	resolvePiece int
	// adoptPiece is how many links one transaction of an adoption moves (rename.go);
	// defaultAdoptPiece but in tests.
	adoptPiece int

	stopOnce sync.Once
	cancel   context.CancelFunc
	done     chan struct{}
}

var _ store.Run = (*run)(nil)

// BeginRun takes the sync's lease for holder and records a running run. It returns an
// error wrapping store.ErrLocked, naming the holder and the lease's end, if another
// holder's lease is live. Runs of the sync that were still "running" when their lease was
// taken over are marked abandoned.
func (s *Store) BeginRun(ctx context.Context, syncName, mode, holder string) (store.Run, error) {
	return s.beginRun(ctx, syncName, mode, holder, nil)
}

// BeginTickRun is BeginRun for the scheduled time tick. The run's row records the tick;
// a unique index on (sync_name, mode, tick) makes a second run of the same tick fail
// inside the transaction that took the lease, which then rolls back: the caller gets an
// error wrapping store.ErrTickTaken and holds nothing.
func (s *Store) BeginTickRun(ctx context.Context, syncName, mode, holder string, tick time.Time) (store.Run, error) {
	if tick.IsZero() {
		return nil, fmt.Errorf("begin run of sync %q: zero tick", syncName)
	}
	return s.beginRun(ctx, syncName, mode, holder, &tick)
}

func (s *Store) beginRun(ctx context.Context, syncName, mode, holder string, tick *time.Time) (store.Run, error) {
	if syncName == "" || holder == "" {
		return nil, fmt.Errorf("begin run: sync name and holder must not be empty")
	}
	if keys := s.sources.RolesOf(syncName).Join; len(keys) > 0 {
		if err := s.ensureJoinIndexes(ctx, keys); err != nil {
			return nil, fmt.Errorf("begin run of sync %q: %w", syncName, err)
		}
	}
	s.endStalledWrites(ctx, syncName)
	var id, term int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The lease row is locked while the holder writes: rather than queue behind
		// its writes (or a stalled one, see endStalledWrites), this try gives up.
		if _, err := tx.Exec(ctx, `SELECT set_config('lock_timeout', $1, true)`,
			fmt.Sprint(takeTimeout.Milliseconds())); err != nil {
			return err
		}
		// A renamed sync's profiles belong to its new name (rename.go): a run under the
		// old name, from a replica still on the old configuration, would create them anew.
		var renamedTo string
		var renamedAt time.Time
		switch err := tx.QueryRow(ctx, `SELECT new_name, started_at FROM sync_renames WHERE old_name = $1`,
			syncName).Scan(&renamedTo, &renamedAt); {
		case err == nil:
			return fmt.Errorf("sync %q: %w to %q on %s (previous_names), which adopted its profiles; "+
				"a run under the old name would create them again: remove sync %q from the configuration, or give a new sync another name",
				syncName, store.ErrRenamed, renamedTo, renamedAt.UTC().Format(time.DateOnly), syncName)
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		// A taker first locks the row FOR UPDATE, which waits for the holder's fenced
		// writes (FOR KEY SHARE) but not for its renewals; the upsert alone would take
		// only FOR NO KEY UPDATE, which the fence does not exclude.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM sync_locks WHERE sync_name = $1 FOR UPDATE`, syncName); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `
			INSERT INTO sync_locks AS l (sync_name, holder, term, acquired_at, expires_at)
			VALUES ($1, $2, nextval('sync_lock_terms'), now(), now() + $3::bigint * interval '1 microsecond')
			ON CONFLICT (sync_name) DO UPDATE
			   SET holder = excluded.holder, term = excluded.term,
			       acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
			 WHERE l.expires_at <= now()
			RETURNING term`, syncName, holder, s.ttl.Microseconds()).Scan(&term)
		if errors.Is(err, pgx.ErrNoRows) {
			var other string
			var until time.Time
			if err := tx.QueryRow(ctx, `SELECT holder, expires_at FROM sync_locks WHERE sync_name = $1`,
				syncName).Scan(&other, &until); err != nil {
				// The holder let go between the two statements: still locked for this try.
				return fmt.Errorf("sync %q: %w", syncName, store.ErrLocked)
			}
			return fmt.Errorf("sync %q: %w: held by %q until %s", syncName, store.ErrLocked, other,
				until.UTC().Format(time.RFC3339))
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			UPDATE sync_runs SET status = $2, finished_at = now(),
			       message = 'the run lost its lock (lease expired and taken over)'
			 WHERE sync_name = $1 AND status = $3`,
			syncName, store.StatusAbandoned, store.StatusRunning); err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `
			INSERT INTO sync_runs (sync_name, mode, holder, status, tick) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (sync_name, mode, tick) WHERE tick IS NOT NULL DO NOTHING
			RETURNING id`, syncName, mode, holder, store.StatusRunning, tick).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			// Returning the error rolls back the lease just taken.
			return fmt.Errorf("sync %q, %s run at %s: %w", syncName, mode,
				tick.UTC().Format(time.RFC3339Nano), store.ErrTickTaken)
		}
		return err
	})
	if isLockTimeout(err) {
		err = fmt.Errorf("sync %q: %w: its holder is writing", syncName, store.ErrLocked)
	}
	if err != nil {
		if errors.Is(err, store.ErrLocked) || errors.Is(err, store.ErrTickTaken) || errors.Is(err, store.ErrRenamed) {
			return nil, fmt.Errorf("begin run: %w", err)
		}
		return nil, fmt.Errorf("begin run of sync %q: %w", syncName, translate(err))
	}
	r := &run{
		s: s, id: id, sync: syncName, holder: holder, term: term,
		log:          s.log.With("sync", syncName, "run", id),
		resolvePiece: defaultResolvePiece,
		adoptPiece:   defaultAdoptPiece,
		done:         make(chan struct{}),
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.cancel = cancel
	s.track(r)
	go r.renew(rctx)
	return r, nil
}

// takeTimeout is how long BeginRun waits for the lease row while another run's write
// holds it locked.
const takeTimeout = time.Second

// leaseSessionName is the application name of a session while it writes under the
// lease with this term. Terms are unique across syncs, and the name stays far below
// Postgres's 63-byte limit.
func leaseSessionName(term int64) string { return fmt.Sprintf("peoplesync term %d", term) }

// endStalledWrites ends the sessions still writing under the sync's lease if the lease
// has expired. A holder frozen inside a write transaction (SIGSTOP, a paused VM) keeps
// the lease row locked, so a taker's update of the row would wait for it for as long as
// the freeze lasts: the idle-in-transaction timeout ends a stall between statements,
// but nothing ends one inside a COPY, where the server waits for data without a
// timeout. An expired lease's writes are lost anyway (their holder's next fence fails);
// ending them rolls them back. Failing that (a role not allowed to signal the holder's
// sessions), the taker waits as before.
func (s *Store) endStalledWrites(ctx context.Context, syncName string) {
	rows, err := s.pool.Query(ctx, `
		SELECT a.pid, pg_terminate_backend(a.pid)
		  FROM sync_locks l JOIN pg_stat_activity a ON a.application_name = 'peoplesync term ' || l.term
		 WHERE l.sync_name = $1 AND l.expires_at <= now() AND a.datname = current_database()
		   AND a.pid <> pg_backend_pid()`, syncName)
	if err == nil {
		var pid int32
		var ended bool
		_, err = pgx.ForEachRow(rows, []any{&pid, &ended}, func() error {
			s.log.WarnContext(ctx, "ended a session still writing under an expired lease",
				"sync", syncName, "pid", pid, "ended", ended)
			return nil
		})
	}
	if err != nil && ctx.Err() == nil {
		s.log.WarnContext(ctx, "could not end the writes of an expired lease; waiting for them instead",
			"sync", syncName, "err", translate(err))
	}
}

// ID is the run's row in sync_runs.
func (r *run) ID() int64 { return r.id }

// renew extends the lease every TTL/3 until the run ends or the lease is lost. A failed
// attempt (network) is retried at the next tick; if the lease expired meanwhile, that
// attempt finds it lost.
func (r *run) renew(ctx context.Context) {
	defer close(r.done)
	every := r.s.ttl / 3
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		actx, cancel := context.WithTimeout(ctx, every)
		tag, err := r.s.lease.Exec(actx, `
			UPDATE sync_locks SET expires_at = now() + $4::bigint * interval '1 microsecond'
			 WHERE sync_name = $1 AND holder = $2 AND term = $3 AND expires_at > now()`,
			r.sync, r.holder, r.term, r.s.ttl.Microseconds())
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			r.log.WarnContext(ctx, "renewing the sync lock failed; retrying", "err", translate(err))
		case tag.RowsAffected() == 0:
			r.lost.Store(true)
			r.log.ErrorContext(ctx, "sync lock lost: the lease expired or was taken over")
			return
		}
	}
}

func (r *run) stopRenewer() {
	r.stopOnce.Do(func() {
		r.cancel()
		<-r.done
		r.s.untrack(r)
	})
}

// write runs fn in a transaction that first proves the lease is still the run's, and
// returns an error wrapping store.ErrLockLost if it is not.
func (r *run) write(ctx context.Context, what string, fn func(tx pgx.Tx) error) error {
	if r.finished.Load() {
		return fmt.Errorf("%s: run %d is finished", what, r.id)
	}
	if r.lost.Load() {
		return fmt.Errorf("%s: %w", what, store.ErrLockLost)
	}
	err := pgx.BeginFunc(ctx, r.s.pool, func(tx pgx.Tx) error {
		// A holder that stalls inside this transaction (SIGSTOP, a GC pause) would hold
		// the lease row locked and keep a taker waiting: the server ends the
		// transaction once it has idled for a lease, by when the lease has expired.
		// And no JIT (see noJIT).
		// The session also carries the lease's term in its application name while the
		// transaction lasts: a taker ends the sessions of a lease that expired (see
		// endStalledWrites), for a stall the idle timeout does not cover.
		if _, err := tx.Exec(ctx, `SELECT set_config('idle_in_transaction_session_timeout', $1, true),
			set_config('application_name', $2, true), `+noJIT,
			fmt.Sprint(r.s.ttl.Milliseconds()), leaseSessionName(r.term)); err != nil {
			return err
		}
		if err := r.fence(ctx, tx); err != nil {
			return err
		}
		return fn(tx)
	})
	if isIdleTimeout(err) {
		err = fmt.Errorf("sync %q, term %d: the transaction stalled past the lease: %w", r.sync, r.term, store.ErrLockLost)
	}
	if err != nil && !errors.Is(err, store.ErrLockLost) && ctx.Err() == nil && r.leaseGone(ctx) {
		// The server may end a stalled transaction by closing its connection, which
		// reads as a broken connection rather than the idle timeout: when the lease is
		// gone, that is what the failure means.
		err = fmt.Errorf("sync %q, term %d: the lease is no longer this run's (the write failed with: %v): %w",
			r.sync, r.term, err, store.ErrLockLost)
	}
	if err != nil {
		if errors.Is(err, store.ErrLockLost) {
			r.lost.Store(true)
		}
		return fmt.Errorf("%s: %w", what, translate(err))
	}
	return nil
}

// writeRetrying is write, done again (up to maxWriteRetries times) when it raced another
// sync's write to the same people: a profile became shared meanwhile (errShareRace), or
// the server broke a deadlock. fn must start from scratch each time.
func (r *run) writeRetrying(ctx context.Context, what string, fn func(tx pgx.Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := r.write(ctx, what, fn)
		if attempt < maxWriteRetries && (errors.Is(err, errShareRace) || isDeadlock(err)) {
			continue
		}
		return err
	}
}

// noJIT is the select-list item that turns Postgres's JIT compilation off for the rest
// of a transaction (set_config's local form, which works through a transaction-pooling
// PgBouncer). Our statements touch many rows but run once: JIT costs them more than it
// saves. A run's scoped manager resolution after 1,000 deletions took 524 ms, 421 of
// them compiling (pg_stat_statements' jit_* columns); without JIT, 140 ms.
const noJIT = `set_config('jit', 'off', true)`

// leaseGone reports whether the run's lease has expired or been taken over (false when
// that cannot be told).
func (r *run) leaseGone(ctx context.Context) bool {
	var one int
	err := r.s.pool.QueryRow(ctx, `
		SELECT 1 FROM sync_locks
		 WHERE sync_name = $1 AND holder = $2 AND term = $3 AND expires_at > now()`,
		r.sync, r.holder, r.term).Scan(&one)
	return errors.Is(err, pgx.ErrNoRows)
}

// fence locks the run's lease row, or returns store.ErrLockLost if the lease is no
// longer the run's. Holding the row lock until commit keeps a taker out meanwhile. The
// lock is FOR KEY SHARE: the run's own write transactions may hold it together (a run
// writes several batches at once), and a taker's SELECT ... FOR UPDATE waits for every
// one of them to commit, while the renewal's UPDATE of expires_at (a non-key column, so
// FOR NO KEY UPDATE) does not conflict with it. Under FOR SHARE the renewal queued behind
// the overlapping fences of a run's appliers and the lease expired (issue 12 §1).
func (r *run) fence(ctx context.Context, tx pgx.Tx) error {
	var one int
	err := tx.QueryRow(ctx, `
		SELECT 1 FROM sync_locks
		 WHERE sync_name = $1 AND holder = $2 AND term = $3 AND expires_at > now()
		   FOR KEY SHARE`, r.sync, r.holder, r.term).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("sync %q, term %d: %w", r.sync, r.term, store.ErrLockLost)
	}
	return err
}

// SetSourceHashes updates the source hashes of linked external IDs; only links.
func (r *run) SetSourceHashes(ctx context.Context, hashes map[string][]byte) error {
	if len(hashes) == 0 {
		return nil
	}
	ids := make([]string, 0, len(hashes))
	sums := make([][]byte, 0, len(hashes))
	for id, h := range hashes {
		ids = append(ids, id)
		sums = append(sums, h)
	}
	return r.write(ctx, "set source hashes", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `
			UPDATE profile_links l SET source_hash = v.h
			  FROM unnest($2::text[], $3::bytea[]) AS v(ext, h)
			 WHERE l.sync_name = $1 AND l.external_id = v.ext
			   AND l.source_hash IS DISTINCT FROM v.h`, r.sync, ids, sums)
		return err
	})
}

// SoftDelete withdraws the sync's records of externalIDs: each link is marked gone (kept,
// so that a person who comes back rejoins the same profile), a pending record is
// dropped. A profile is soft-deleted when the sync may end people and no other sync that
// may still has the person; otherwise a shared profile is computed again without the
// sync's fields. It returns how many profiles it soft-deleted.
func (r *run) SoftDelete(ctx context.Context, externalIDs []string) (int, error) {
	if len(externalIDs) == 0 {
		return 0, nil
	}
	roles := r.s.sources.RolesOf(r.sync)
	var n int
	err := r.writeRetrying(ctx, "soft delete", func(tx pgx.Tx) error {
		n = 0
		if _, err := tx.Exec(ctx, `DELETE FROM profile_links
			 WHERE sync_name = $1 AND external_id = ANY ($2::text[]) AND situation <> 'linked'`,
			r.sync, externalIDs); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `
			WITH gone AS (
				UPDATE profile_links SET gone_at = now()
				 WHERE sync_name = $1 AND external_id = ANY ($2::text[]) AND situation = 'linked' AND gone_at IS NULL
				RETURNING profile_id
			)
			SELECT DISTINCT g.profile_id::text, p.provenance IS NOT NULL
			  FROM gone g JOIN profiles p ON p.id = g.profile_id WHERE p.deleted_at IS NULL`, r.sync, externalIDs)
		if err != nil {
			return err
		}
		var sole, shared []string
		var id string
		var isShared bool
		if _, err := pgx.ForEachRow(rows, []any{&id, &isShared}, func() error {
			if isShared {
				shared = append(shared, id)
			} else {
				sole = append(sole, id)
			}
			return nil
		}); err != nil {
			return err
		}
		if roles.Ends && len(sole) > 0 {
			tag, err := tx.Exec(ctx, `UPDATE profiles SET deleted_at = now(), active = false, updated_at = now()
				 WHERE id = ANY ($1::uuid[]) AND deleted_at IS NULL AND provenance IS NULL`, uuidParam(sole))
			if err != nil {
				return err
			}
			if int(tag.RowsAffected()) < len(sole) {
				return errShareRace
			}
			n += int(tag.RowsAffected())
		}
		if len(shared) > 0 {
			if err := lockShared(ctx, tx, shared); err != nil {
				return err
			}
			if roles.Ends {
				// Deactivated when no sync that may end people still has the person.
				tag, err := tx.Exec(ctx, `UPDATE profiles p SET deleted_at = now(), active = false, updated_at = now()
					 WHERE p.id = ANY ($1::uuid[]) AND p.deleted_at IS NULL
					   AND NOT EXISTS (SELECT 1 FROM profile_links o
					        WHERE o.profile_id = p.id AND o.gone_at IS NULL AND NOT (o.sync_name = ANY ($2::text[])))`,
					uuidParam(shared), r.s.sources.NonEnders())
				if err != nil {
					return err
				}
				n += int(tag.RowsAffected())
			}
			if _, err := r.recompute(ctx, tx, shared, nil, nil); err != nil {
				return err
			}
		}
		return r.countCommitted(ctx, tx, 0, 0, n, 0)
	})
	return n, err
}

// countCommitted adds a write's counts to the run's row, in the transaction that commits
// the write: a run that never finishes (kill -9, a lost lock, a crashed node) still
// shows, once abandoned, what it committed. It is a write's last statement, so that the
// appliers' transactions queue on the row only for their commits. Finish then records
// the run's totals, which these sums equal. (Unmatched and disputed are not sums: a run
// reports its sync's pending records as they stand when it ends.)
func (r *run) countCommitted(ctx context.Context, tx pgx.Tx, created, updated, deleted, joined int) error {
	if created == 0 && updated == 0 && deleted == 0 && joined == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `
		UPDATE sync_runs SET created = created + $2, updated = updated + $3, deleted = deleted + $4,
		       joined = joined + $5
		 WHERE id = $1`, r.id, created, updated, deleted, joined)
	if err != nil {
		return fmt.Errorf("count the committed changes: %w", err)
	}
	return nil
}

// ResolveManagers points each live profile of the sync (or, given externalIDs, each one
// those IDs can affect) at the profile whose link has the manager reference as external
// ID or, failing that, as DN (case-insensitively; the lowest external ID wins among equal
// DNs). An empty or dangling reference clears manager_id. Only rows whose manager
// changes are written.
//
// The whole sync is resolved in pieces (see resolveAll), each its own fenced write
// transaction: a run that stops between pieces leaves some managers resolved and the
// rest as they were, and the sync's next run, finding this one unclean, resolves them all.
func (r *run) ResolveManagers(ctx context.Context, externalIDs []string) (int, error) {
	r.analyzeIfStale(ctx)
	if externalIDs == nil {
		return r.resolveAll(ctx)
	}
	var n int
	err := r.write(ctx, "resolve managers", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, boundedPlans); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, resolveSomeManagers, r.sync, externalIDs)
		n = int(tag.RowsAffected())
		return err
	})
	return n, err
}

// resolveAll resolves the managers of the whole sync in pieces, each its own fenced
// write transaction over the next r.resolvePiece links in order of profile ID. One
// statement over the whole sync held its transaction open for as long as it ran: 7–8 s
// for a re-organisation of 200,000 people on the 2-core machine, and in proportion
// beyond, longer than a lease (issue 12 §1).
//
// The order is the profile ID's, not the external ID's, because profile IDs are
// time-ordered (newUUID): a piece's links, their profiles and mostly their managers are
// neighbours on disk. In external ID order every link of a piece was on a page of its
// own, and a piece of 5,000 took 500 ms instead of 130 ms (1M people, a busy machine).
// The walk covers every sync's links (the profile ID index is not per sync) and skips
// the others', so that a piece is bounded by the links it reads, whatever the sync.
func (r *run) resolveAll(ctx context.Context) (int, error) {
	start := time.Now()
	var total, pieces int
	// The walk goes from the nil UUID, inclusive, which every ID follows, to the max
	// UUID, inclusive (UUIDs compare as bytes); in between each piece starts after the
	// last's end.
	after, from := pgtype.UUID{Valid: true}, ">="
	for done := false; !done; {
		var upto pgtype.UUID
		var changed int
		err := r.write(ctx, "resolve managers", func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, boundedPlans); err != nil {
				return err
			}
			// The piece ends at the profile ID resolvePiece links on, or at the end.
			err := tx.QueryRow(ctx, fmt.Sprintf(`
				SELECT profile_id FROM profile_links WHERE profile_id %s $1
				 ORDER BY profile_id OFFSET %d LIMIT 1`, from, r.resolvePiece-1), after).Scan(&upto)
			switch {
			case errors.Is(err, pgx.ErrNoRows):
				upto, done = maxUUID, true
			case err != nil:
				return err
			}
			return tx.QueryRow(ctx, fmt.Sprintf(resolvePiece, from), r.sync, after, upto).Scan(&changed)
		})
		if err != nil {
			return total, err
		}
		total += changed
		pieces++
		after, from = upto, ">"
	}
	r.log.DebugContext(ctx, "resolved the whole sync's managers", "pieces", pieces, "changed", total,
		"took", time.Since(start).Round(time.Millisecond))
	return total, nil
}

// defaultResolvePiece is how many links a piece of resolveAll reads. Measured with
// bench/soak on the 2-core machine, busy with other work (load 5–6), for a 1M-person
// sync: ~95 ms a piece when 1% of the managers change, ~190 ms when every one does, the
// longest piece 0.3–0.45 s, a thirtieth of a 10 s lease; the whole sync 19 and 38 s
// (the single statement took 8–19 and 66–114 s).
const defaultResolvePiece = 5000

// boundedPlans turns off, for the rest of a transaction, the plans whose cost is the
// table's rather than the rows' asked for: sequential scans and hash and merge joins.
// A piece's statements read a bounded number of rows through indexes; on the statistics
// of a 250-person trial after 100,000 creates the planner joined a piece's 5,000 links
// to a sequential scan of every profile, a scan of the whole table per piece.
const boundedPlans = `SELECT set_config('enable_seqscan', 'off', true),
	set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)`

// maxUUID is the largest UUID (RFC 9562's Max UUID), the end of resolveAll's walk.
var maxUUID = pgtype.UUID{Bytes: [16]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, Valid: true}

// resolvePiece resolves the managers of the links of the sync $1 whose profile IDs
// compare with %s (> or >=) to $2 and are at most $3, and returns how many profiles it
// changed. (Two operators, not an OR for the first piece, which would keep the bound
// out of the index condition: every piece would read from the start.) A
// reference is looked up by external ID in the primary key and by DN in
// profile_links_dn, once for each link, and the lowest external ID among equal DNs is
// taken by an aggregate, not by ORDER BY … LIMIT 1, which the planner may answer by
// walking the primary key in order until a DN matches.
const resolvePiece = `
	WITH piece AS MATERIALIZED (
		SELECT l.sync_name, l.profile_id, l.manager_ref FROM profile_links l
		 WHERE l.profile_id %s $2 AND l.profile_id <= $3
	), wanted AS MATERIALIZED (
		SELECT t.profile_id,
		       CASE WHEN t.manager_ref = '' THEN NULL ELSE coalesce(
		           (SELECT m.profile_id FROM profile_links m
		             WHERE m.sync_name = $1 AND m.external_id = t.manager_ref),
		           (SELECT (array_agg(m.profile_id ORDER BY m.external_id))[1] FROM profile_links m
		             WHERE m.sync_name = $1 AND lower(m.dn) = lower(t.manager_ref))) END AS manager_id
		  FROM piece t
		 WHERE t.sync_name = $1
	), changed AS (
		UPDATE profiles p SET manager_id = w.manager_id, updated_at = now()
		  FROM wanted w
		 WHERE p.id = w.profile_id AND p.deleted_at IS NULL AND p.manager_id IS DISTINCT FROM w.manager_id
		   AND (p.provenance IS NULL OR p.provenance->'manager'->>'s' = $1)
		RETURNING 1
	)
	SELECT count(*)::int FROM changed`

// analyzeIfStale analyzes the tables a run writes once they have changed by more than a
// fifth of what the planner believes they hold (and at least analyzeMin rows): changed
// by this run, or by earlier ones since the last ANALYZE (a run that wrote 100,000
// people and died before resolving them leaves its successor to resolve all of them).
// The manager resolution looks the sync's links up by DN: planned on the statistics of
// a 250-person trial after 100,000 creates, where the sync's name is one the statistics
// have never seen, the planner believes the sync holds a row or two, and looks a DN up
// by reading every link of the sync (issue 12 §1); autovacuum would analyze only later.
// A failure only logs: the statements still run, perhaps slower.
func (r *run) analyzeIfStale(ctx context.Context) {
	written := r.unanalyzed.Load()
	var believed float64
	var modified int64
	if err := r.s.pool.QueryRow(ctx, `
		SELECT coalesce(max(c.reltuples), -1), coalesce(max(s.n_mod_since_analyze), 0)
		  FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
		 WHERE c.oid = 'profile_links'::regclass`).Scan(&believed, &modified); err != nil {
		r.warnUnlessStopped(ctx, "reading the planner's row estimate failed", err)
		return
	}
	// The statistics' count includes this run's writes once its sessions report them.
	changed := max(written, modified)
	if changed < analyzeMin || believed >= 0 && float64(changed) < believed/5 {
		return
	}
	if _, err := r.s.pool.Exec(ctx, `ANALYZE profiles, profile_links`); err != nil {
		r.warnUnlessStopped(ctx, "analyzing the written tables failed", err)
		return
	}
	r.unanalyzed.Add(-written)
}

// warnUnlessStopped logs a failed analysis, unless the run is stopping (interrupted,
// timed out): then the run's own error says why, and "context canceled" here is noise.
func (r *run) warnUnlessStopped(ctx context.Context, msg string, err error) {
	if ctx.Err() != nil {
		r.log.DebugContext(ctx, msg, "err", translate(err))
		return
	}
	r.log.WarnContext(ctx, msg, "err", translate(err))
}

// analyzeIfOutgrown, after each batch Apply wrote, analyzes the tables once the run has
// written as many rows as the planner believed they held, so that the statistics keep up
// with a sync that grows from nothing: after a 250-person trial had been analyzed, the
// batches of a 1M-person initial sync looked their new people's managers up (see
// resolveNewManagers) on the trial's statistics, which have never seen the big sync's
// name: believing it a row or two, the planner read every link of the sync for each
// batch, and the write transactions grew with the sync. Measured with bench/soak at 1M
// people: the initial sync took 154–180 s, its longest write transaction 2.9–5.0 s;
// analyzing as it grows, 43 s (112 s on a machine at load 10) and 0.6–1.0 s. Doubling
// from 10,000, the run analyzes seven times on the way to 1M people (0.2–1.6 s each);
// one applier does while the other goes on writing.
func (r *run) analyzeIfOutgrown(ctx context.Context) {
	written := r.unanalyzed.Load()
	if written < max(outgrowMin, r.outgrowAt.Load()) || !r.analyzing.CompareAndSwap(false, true) {
		return
	}
	defer r.analyzing.Store(false)
	believed, err := r.believedLinks(ctx)
	if err != nil {
		r.warnUnlessStopped(ctx, "reading the planner's row estimate failed", err)
		r.outgrowAt.Store(math.MaxInt64) // not again in this run
		return
	}
	if float64(written) < believed {
		r.outgrowAt.Store(int64(believed))
		return
	}
	start := time.Now()
	// Only the links: the batches' look-ups read them, and profiles only by primary key.
	if _, err := r.s.pool.Exec(ctx, `ANALYZE profile_links`); err != nil {
		r.warnUnlessStopped(ctx, "analyzing the written links failed", err)
		r.outgrowAt.Store(math.MaxInt64)
		return
	}
	r.unanalyzed.Add(-written)
	if believed, err = r.believedLinks(ctx); err == nil {
		r.outgrowAt.Store(int64(believed))
	}
	r.log.DebugContext(ctx, "analyzed the tables the run outgrew", "written", written,
		"took", time.Since(start).Round(time.Millisecond))
}

// outgrowMin is the fewest rows a run writes before Apply considers analyzing: reading
// 10,000 links for a batch's look-up costs a few milliseconds.
const outgrowMin = 10000

// believedLinks is how many rows the planner believes profile_links holds (-1: never
// analyzed or vacuumed).
func (r *run) believedLinks(ctx context.Context) (float64, error) {
	var believed float64
	err := r.s.pool.QueryRow(ctx,
		`SELECT coalesce(max(reltuples), -1) FROM pg_class WHERE oid = 'profile_links'::regclass`).Scan(&believed)
	return believed, err
}

// analyzeMin is the fewest written rows after which a run considers analyzing: below it
// no plan's choice matters much.
const analyzeMin = 1000

const (
	// resolveSomeManagers resolves the links of the given external IDs, the links that
	// refer to them and the links whose reference is unresolved, each with an index
	// probe, for a run that changed a few people, or created many whose managers Apply
	// mostly set already: its cost grows with the changed IDs, not with the sync.
	//
	// The links that refer to a changed one are found in profile_links_manager_ref
	// (sync, lower(manager_ref)), one index for both kinds of reference: by external
	// ID, compared exactly, and by DN, case-insensitively. Probing by lower(external ID)
	// finds a superset of the links that name an ID (those naming it in another case
	// too), which are resolved like the others, to what they already have. Without the
	// index these branches read every link of the sync, a hash semi join over a
	// sequential scan: 0.8–3.0 s a run at 1M people, 1.4 s of a joining run of 8.2 s at
	// 30,000 (issue 12 §1).
	//
	// Each probe is a LATERAL subquery fenced with OFFSET 0, which the planner can
	// neither flatten nor turn inside out: on statistics that have not seen the sync
	// (a big sync written after a small trial was analyzed, and not yet a fifth of the
	// table) the planner believes the sync holds a row or two, and given a join it
	// read the sync's links by name, filtering them, once for all the changed IDs
	// (TestScopedResolvePlanProbesTheReferenceIndex). For the same reason the lowest
	// external ID among equal DNs is taken by an aggregate, as in resolvePiece, not by
	// ORDER BY … LIMIT 1, which the planner answered by walking the primary key.
	//
	// The unresolved ones are found from the profiles without a manager
	// (profiles_unmanaged, a few in a sync: its top and its broken references), not by
	// reading every link of the sync: that took 0.9 s after 10,000 joins, and grew with
	// the sync. Their links are probed by profile ID alone, the sync checked outside the
	// fence: on the trial's statistics the planner otherwise read the sync's links by
	// name for each such profile.
	//
	// The statement runs with boundedPlans. The look-ups of each target's manager are
	// planned, like resolvePiece's, on the statistics ResolveManagers keeps fresh
	// (analyzeIfStale): on a trial's, the DN look-up reads the sync's links by name.
	resolveSomeManagers = `
		WITH changed AS MATERIALIZED (
			SELECT c.* FROM unnest($2::text[]) AS ids(id)
			 CROSS JOIN LATERAL (
				SELECT l.external_id, lower(l.dn) AS ldn, l.profile_id, l.manager_ref
				  FROM profile_links l
				 WHERE l.sync_name = $1 AND l.external_id = ids.id OFFSET 0) c
		), refs AS (
			SELECT lower(external_id) AS ref FROM changed
			UNION
			SELECT ldn FROM changed WHERE ldn <> ''
		), targets AS (
			SELECT profile_id, manager_ref FROM changed
			UNION
			SELECT t.profile_id, t.manager_ref FROM refs
			 CROSS JOIN LATERAL (
				SELECT l.profile_id, l.manager_ref FROM profile_links l
				 WHERE l.sync_name = $1 AND lower(l.manager_ref) = refs.ref AND l.manager_ref <> ''
				OFFSET 0) t
			UNION
			SELECT l.profile_id, l.manager_ref FROM profiles p
			 CROSS JOIN LATERAL (
				SELECT l.sync_name, l.profile_id, l.manager_ref FROM profile_links l
				 WHERE l.profile_id = p.id OFFSET 0) l
			 WHERE p.manager_id IS NULL AND p.deleted_at IS NULL
			   AND l.sync_name = $1 AND l.manager_ref <> ''
		), wanted AS MATERIALIZED (
			SELECT t.profile_id,
			       CASE WHEN t.manager_ref = '' THEN NULL ELSE coalesce(
			           (SELECT m.profile_id FROM profile_links m
			             WHERE m.sync_name = $1 AND m.external_id = t.manager_ref),
			           (SELECT (array_agg(m.profile_id ORDER BY m.external_id))[1] FROM profile_links m
			             WHERE m.sync_name = $1 AND lower(m.dn) = lower(t.manager_ref))) END AS manager_id
			  FROM targets t
			  JOIN profiles p ON p.id = t.profile_id AND p.deleted_at IS NULL
		)
		UPDATE profiles p SET manager_id = w.manager_id, updated_at = now()
		  FROM wanted w
		 WHERE p.id = w.profile_id AND p.manager_id IS DISTINCT FROM w.manager_id
		   AND (p.provenance IS NULL OR p.provenance->'manager'->>'s' = $1)`
)

// RecordErrors stores per-record errors of the run with COPY.
func (r *run) RecordErrors(ctx context.Context, errs []store.RecordError) error {
	if len(errs) == 0 {
		return nil
	}
	return r.write(ctx, "record errors", func(tx pgx.Tx) error {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"run_errors"},
			[]string{"run_id", "external_id", "message"},
			pgx.CopyFromSlice(len(errs), func(i int) ([]any, error) {
				return []any{r.id, clean(errs[i].ExternalID), clean(errs[i].Message)}, nil
			}))
		return err
	})
}

// Finish records the summary, keeps the cursor of a succeeded run, releases the lease and
// stops the renewer. It runs even if ctx is cancelled (bounded by finishTimeout), so that
// a shutting-down run still lets go of its lock. After the lease was lost it writes no
// sync data: it marks its own run failed if no taker marked it abandoned, and returns an
// error wrapping store.ErrLockLost.
func (r *run) Finish(ctx context.Context, sum store.Summary) error {
	switch sum.Status {
	case store.StatusSucceeded, store.StatusCompletedWithErrors, store.StatusFailed, store.StatusGuarded, store.StatusAbandoned:
	default:
		return fmt.Errorf("finish run %d: invalid status %q", r.id, sum.Status)
	}
	if !r.finished.CompareAndSwap(false, true) {
		return fmt.Errorf("finish run %d: already finished", r.id)
	}
	r.stopRenewer()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	if !r.lost.Load() {
		err := r.retryFinish(ctx, func() error { return r.finishTx(ctx, sum) })
		if err == nil {
			return nil
		}
		if !errors.Is(err, store.ErrLockLost) {
			return fmt.Errorf("finish run %d: %w", r.id, translate(err))
		}
		r.lost.Store(true)
	}
	return r.finishLost(ctx, sum)
}

// retryFinish runs fn until it succeeds, fails with the lease lost, or ctx ends, waiting
// between tries with a backoff: a database that restarts while a run ends comes back
// within seconds, and without a retry the run's row stayed "running" and its lock held
// for the whole lease (issue 12 §4).
func (r *run) retryFinish(ctx context.Context, fn func() error) error {
	wait := 50 * time.Millisecond
	for {
		err := fn()
		if err == nil || errors.Is(err, store.ErrLockLost) || ctx.Err() != nil {
			return err
		}
		r.log.WarnContext(ctx, "recording the run's end failed; retrying", "err", translate(err), "in", wait)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// finishTx records the summary, keeps the cursor and deletes the lease, fenced.
func (r *run) finishTx(ctx context.Context, sum store.Summary) error {
	{
		err := pgx.BeginFunc(ctx, r.s.pool, func(tx pgx.Tx) error {
			if err := r.fence(ctx, tx); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `
				UPDATE sync_runs SET status = $2, finished_at = now(), processed = $3, created = $4,
				       updated = $5, skipped = $6, deleted = $7, errors = $8, message = $9,
				       unchanged = $10, joined = $11, unmatched = $12, disputed = $13
				 WHERE id = $1`, r.id, sum.Status, sum.Processed, sum.Created, sum.Updated,
				sum.Skipped, sum.Deleted, sum.Errors, clean(sum.Message), sum.Unchanged,
				sum.Joined, sum.Unmatched, sum.Disputed); err != nil {
				return err
			}
			if sum.Cursor != "" && sum.Status == store.StatusSucceeded {
				if _, err := tx.Exec(ctx, `
					INSERT INTO sync_cursors (sync_name, cursor, updated_at) VALUES ($1, $2, now())
					ON CONFLICT (sync_name) DO UPDATE SET cursor = excluded.cursor, updated_at = now()`,
					r.sync, clean(sum.Cursor)); err != nil {
					return err
				}
			}
			_, err := tx.Exec(ctx, `DELETE FROM sync_locks WHERE sync_name = $1 AND holder = $2 AND term = $3`,
				r.sync, r.holder, r.term)
			return err
		})
		return err
	}
}

// finishLost records the end of a run whose lease is gone.
func (r *run) finishLost(ctx context.Context, sum store.Summary) error {
	// The lease is gone: record only on the run's own row, and only if nobody else did.
	msg := "the run lost its lock"
	if sum.Message != "" {
		msg += ": " + sum.Message
	}
	if err := r.retryFinish(ctx, func() error {
		_, err := r.s.pool.Exec(ctx, `
		UPDATE sync_runs SET status = $2, finished_at = now(), processed = $3, created = $4,
		       updated = $5, skipped = $6, deleted = $7, errors = $8, message = $9,
		       unchanged = $11, joined = $12, unmatched = $13, disputed = $14
		 WHERE id = $1 AND status = $10`, r.id, store.StatusFailed, sum.Processed, sum.Created,
			sum.Updated, sum.Skipped, sum.Deleted, sum.Errors, clean(msg), store.StatusRunning, sum.Unchanged,
			sum.Joined, sum.Unmatched, sum.Disputed)
		return err
	}); err != nil {
		r.log.WarnContext(ctx, "recording the lost run failed", "err", translate(err))
	}
	return fmt.Errorf("finish run %d: %w", r.id, store.ErrLockLost)
}

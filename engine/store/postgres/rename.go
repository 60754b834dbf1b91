package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/peoplesync/peoplesync/engine/store"
)

// A renamed sync (previous_names) adopts what the store keeps under its old name: the
// links (live, gone and pending) with their pictures, the profiles' provenance and
// pictures that name the old sync, its runs and its cursor. sync_renames records the
// adoption from its first piece on, so that a stopped adoption resumes and a run under
// the old name is refused from then on (beginRun).

// defaultAdoptPiece is how many links one transaction of an adoption moves: a sync of
// 1M people moves in 100 transactions, none near a lease (issue 12 §1).
const defaultAdoptPiece = 10000

// Adopt moves what the store keeps under each previous name to the run's sync.
func (r *run) Adopt(ctx context.Context, previous []string) ([]store.Adopted, error) {
	var out []store.Adopted
	for _, old := range previous {
		a, err := r.adopt(ctx, old)
		if err != nil {
			return out, fmt.Errorf("adopt previous name %q: %w", old, err)
		}
		if a.Links > 0 || a.Runs > 0 {
			out = append(out, a)
		}
	}
	return out, nil
}

// adopt adopts one previous name: a claim, the links in pieces, then the rest.
func (r *run) adopt(ctx context.Context, old string) (store.Adopted, error) {
	a := store.Adopted{Name: old}
	pending, err := r.claim(ctx, old)
	if err != nil || !pending {
		return a, err
	}
	for {
		n, err := r.adoptLinks(ctx, old)
		a.Links += n
		if err != nil {
			return a, err
		}
		if n < r.adoptPiece {
			break
		}
	}
	err = r.write(ctx, "adopt the runs", func(tx pgx.Tx) error {
		// A moved run keeps its tick unless the sync has a run of the same mode and tick.
		tag, err := tx.Exec(ctx, `
			UPDATE sync_runs o SET sync_name = $2,
			       tick = CASE WHEN EXISTS (SELECT 1 FROM sync_runs n
			                                 WHERE n.sync_name = $2 AND n.mode = o.mode AND n.tick = o.tick)
			                   THEN NULL ELSE o.tick END
			 WHERE o.sync_name = $1`, old, r.sync)
		if err != nil {
			return err
		}
		a.Runs = int(tag.RowsAffected())
		if _, err := tx.Exec(ctx, `
			UPDATE sync_cursors SET sync_name = $2
			 WHERE sync_name = $1 AND NOT EXISTS (SELECT 1 FROM sync_cursors WHERE sync_name = $2)`, old, r.sync); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sync_cursors WHERE sync_name = $1`, old); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE sync_renames SET finished_at = now() WHERE old_name = $1`, old)
		return err
	})
	if err == nil {
		r.log.InfoContext(ctx, "adopted a previous name of the sync", "previous", old, "links", a.Links, "runs", a.Runs)
	}
	return a, err
}

// claim records that the run's sync adopts old, unless that is done already, and says
// whether anything is left to adopt. It refuses while a run of old holds its lock, when
// old went to another sync, and when both names have links that no earlier adoption of
// old explains (two syncs that each created people: merging them is not a rename).
func (r *run) claim(ctx context.Context, old string) (pending bool, err error) {
	err = r.write(ctx, "claim the previous name", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT set_config('lock_timeout', $1, true)`,
			fmt.Sprint(takeTimeout.Milliseconds())); err != nil {
			return err
		}
		var to string
		var finished *time.Time
		err := tx.QueryRow(ctx, `SELECT new_name, finished_at FROM sync_renames WHERE old_name = $1 FOR UPDATE`,
			old).Scan(&to, &finished)
		resumed := err == nil
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return err
		case to != r.sync:
			return fmt.Errorf("%w to %q already, which adopted its profiles", store.ErrRenamed, to)
		case finished != nil:
			return nil
		}
		var holder string
		var until time.Time
		var live bool
		err = tx.QueryRow(ctx, `SELECT holder, expires_at, expires_at > now() FROM sync_locks WHERE sync_name = $1 FOR UPDATE`,
			old).Scan(&holder, &until, &live)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return err
		case live:
			return fmt.Errorf("a run of sync %q is under way: %w: held by %q until %s; adopting waits for its end",
				old, store.ErrLocked, holder, until.UTC().Format(time.RFC3339))
		}
		if !resumed {
			var oldHas, oldRuns, newHas bool
			if err := tx.QueryRow(ctx, `SELECT
				    EXISTS (SELECT 1 FROM profile_links WHERE sync_name = $1),
				    EXISTS (SELECT 1 FROM sync_runs WHERE sync_name = $1),
				    EXISTS (SELECT 1 FROM profile_links WHERE sync_name = $2)`, old, r.sync).Scan(&oldHas, &oldRuns, &newHas); err != nil {
				return err
			}
			if !oldHas && !oldRuns {
				return nil // nothing was ever kept under the name
			}
			if oldHas && newHas {
				return fmt.Errorf("sync %q has profiles of its own already, and so has its previous name %q: "+
					"both created people, so adopting would give some people two links; "+
					"remove the name from previous_names, or delete one of the syncs' profiles first", r.sync, old)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO sync_renames (old_name, new_name) VALUES ($1, $2)`, old, r.sync); err != nil {
				return err
			}
		}
		// A run of the old name that died is over for good.
		if _, err := tx.Exec(ctx, `
			UPDATE sync_runs SET status = $2, finished_at = now(), message = $3
			 WHERE sync_name = $1 AND status = $4`,
			old, store.StatusAbandoned, fmt.Sprintf("the sync was renamed to %q while this run was unfinished", r.sync),
			store.StatusRunning); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sync_locks WHERE sync_name = $1`, old); err != nil {
			return err
		}
		pending = true
		return nil
	})
	if isLockTimeout(err) {
		err = fmt.Errorf("a run of sync %q is writing: %w", old, store.ErrLocked)
	}
	return pending, err
}

// adoptLinks moves the next piece of old's links to the run's sync, with their
// pictures, the provenance of their profiles and their profiles' synced pictures, and
// returns how many it moved.
func (r *run) adoptLinks(ctx context.Context, old string) (int, error) {
	var n int
	err := r.write(ctx, "adopt links", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE adopt_piece (external_id text, profile_id uuid) ON COMMIT DROP`); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `
			INSERT INTO adopt_piece SELECT external_id, profile_id FROM profile_links
			 WHERE sync_name = $1 ORDER BY external_id LIMIT $2`, old, r.adoptPiece)
		if err != nil {
			return err
		}
		if n = int(tag.RowsAffected()); n == 0 {
			return nil
		}
		// The piece's size and keys for the planner: without them it guesses, and may
		// hash every link of the old name once a piece.
		if _, err := tx.Exec(ctx, `ANALYZE adopt_piece`); err != nil {
			return err
		}
		// link_images refers to its link by (sync, external ID): its rows leave while
		// the links' key changes and come back under the new name.
		for _, st := range []struct {
			sql  string
			args []any
		}{
			{`CREATE TEMP TABLE adopt_images ON COMMIT DROP AS
			  SELECT i.external_id, i.content_type, i.sha256, i.data
			    FROM link_images i JOIN adopt_piece p USING (external_id) WHERE i.sync_name = ` + quoteLiteral(old), nil},
			{`DELETE FROM link_images i USING adopt_piece p WHERE i.sync_name = $1 AND i.external_id = p.external_id`,
				[]any{old}},
			{`UPDATE profile_links l SET sync_name = $2
			    FROM adopt_piece p WHERE l.sync_name = $1 AND l.external_id = p.external_id`, []any{old, r.sync}},
			{`INSERT INTO link_images (sync_name, external_id, content_type, sha256, data)
			  SELECT $1, external_id, content_type, sha256, data FROM adopt_images`, []any{r.sync}},
			{`UPDATE profiles p SET provenance = (
			         SELECT jsonb_object_agg(e.k, CASE WHEN e.v->>'s' = $1
			                                      THEN jsonb_set(e.v, '{s}', to_jsonb($2::text)) ELSE e.v END)
			           FROM jsonb_each(p.provenance) AS e(k, v))
			    FROM adopt_piece x
			   WHERE p.id = x.profile_id AND p.provenance IS NOT NULL`, []any{old, r.sync}},
			{`UPDATE profile_images i SET sync_name = $2
			    FROM adopt_piece x WHERE i.profile_id = x.profile_id AND i.sync_name = $1`, []any{old, r.sync}},
		} {
			if _, err := tx.Exec(ctx, st.sql, st.args...); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// LinkedSyncs returns the names of the syncs with links, sorted. It skips through the
// primary key from one name to the next, so it reads a few index pages per sync
// however many links each has.
func (s *Store) LinkedSyncs(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `
		WITH RECURSIVE names (name) AS (
			(SELECT sync_name FROM profile_links ORDER BY sync_name LIMIT 1)
			UNION ALL
			SELECT (SELECT l.sync_name FROM profile_links l WHERE l.sync_name > n.name
			         ORDER BY l.sync_name LIMIT 1)
			  FROM names n WHERE n.name IS NOT NULL
		)
		SELECT name FROM names WHERE name IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("linked syncs: %w", translate(err))
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("linked syncs: %w", translate(err))
	}
	return names, nil
}

package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

// Lookup returns what is stored for those external IDs of the sync that have a link
// (a pending record's has no ProfileID). Deleted says the sync dropped the person.
func (s *Store) Lookup(ctx context.Context, syncName string, externalIDs []string) (map[string]store.Stored, error) {
	out := make(map[string]store.Stored, len(externalIDs))
	if len(externalIDs) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `
		SELECT l.external_id, coalesce(l.profile_id::text, ''), l.content_hash, l.source_hash, l.dn, l.manager_ref,
		       l.gone_at IS NOT NULL
		  FROM profile_links l
		 WHERE l.sync_name = $1 AND l.external_id = ANY ($2::text[])`, syncName, externalIDs)
	if err != nil {
		return nil, fmt.Errorf("lookup: %w", translate(err))
	}
	var (
		ext string
		st  store.Stored
	)
	_, err = pgx.ForEachRow(rows, []any{&ext, &st.ProfileID, &st.Hash, &st.SourceHash, &st.DN, &st.ManagerRef, &st.Deleted}, func() error {
		out[ext] = st
		st.Hash, st.SourceHash = nil, nil // the next row scans into fresh slices
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("lookup: %w", translate(err))
	}
	return out, nil
}

// profileColumns is the select list that scanProfile reads.
var profileColumns = func() string {
	cols := []string{"p.id::text", "l.external_id"}
	for _, f := range profile.CoreFields {
		cols = append(cols, "p."+f)
	}
	cols = append(cols, "l.manager_ref", "p.active", "p.attributes", "l.seeded",
		"coalesce(p.manager_id::text, '')",
		"coalesce((SELECT m.display_name FROM profiles m WHERE m.id = p.manager_id), '')",
		"p.custom_fields", "p.deleted_at", "p.updated_at")
	return strings.Join(cols, ", ")
}()

// scanProfile reads one row of profileColumns (plus the photo columns if photo).
func scanProfile(rows pgx.Rows, photo bool) (store.StoredProfile, error) {
	var (
		sp     store.StoredProfile
		attrs  map[string]any
		custom map[string]any
		ptype  *string
		pdata  []byte
	)
	dest := []any{&sp.ProfileID, &sp.ExternalID}
	for i := range sp.Profile.Core {
		dest = append(dest, &sp.Profile.Core[i])
	}
	dest = append(dest, &sp.Profile.Manager, &sp.Profile.Active, &attrs, &sp.Profile.Seeded,
		&sp.ManagerID, &sp.ManagerName, &custom, &sp.DeletedAt, &sp.UpdatedAt)
	if photo {
		dest = append(dest, &ptype, &pdata)
	}
	if err := rows.Scan(dest...); err != nil {
		return sp, err
	}
	if len(attrs) > 0 {
		sp.Profile.Attributes = make(map[string]string, len(attrs))
		for k, v := range attrs {
			sp.Profile.Attributes[k] = jsonString(v)
		}
	}
	if custom == nil {
		custom = map[string]any{}
	}
	sp.CustomFields = custom
	if ptype != nil {
		sp.Profile.Photo = &profile.Photo{ContentType: *ptype, Data: pdata}
	}
	return sp, nil
}

// jsonString renders an attribute value as a string: strings as they are, anything a
// person may have stored otherwise as its JSON.
func jsonString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// Profiles returns the stored profiles of those external IDs of the sync, with the
// picture the sync wrote (a user's own picture is not part of the synced profile).
func (s *Store) Profiles(ctx context.Context, syncName string, externalIDs []string) (map[string]store.StoredProfile, error) {
	out := make(map[string]store.StoredProfile, len(externalIDs))
	if len(externalIDs) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `
		SELECT `+profileColumns+`, i.content_type, i.data
		  FROM profile_links l
		  JOIN profiles p ON p.id = l.profile_id
		  LEFT JOIN profile_images i ON i.profile_id = p.id AND i.source = 'sync'
		 WHERE l.sync_name = $1 AND l.external_id = ANY ($2::text[])`, syncName, externalIDs)
	if err != nil {
		return nil, fmt.Errorf("profiles: %w", translate(err))
	}
	defer rows.Close()
	for rows.Next() {
		sp, err := scanProfile(rows, true)
		if err != nil {
			return nil, fmt.Errorf("profiles: %w", translate(err))
		}
		out[sp.ExternalID] = sp
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("profiles: %w", translate(err))
	}
	return out, nil
}

// ListProfiles returns up to limit profiles of the sync (all if limit <= 0), deleted ones
// included, ordered by display name. Pictures are left out.
func (s *Store) ListProfiles(ctx context.Context, syncName string, limit int) ([]store.StoredProfile, error) {
	var lim *int
	if limit > 0 {
		lim = &limit
	}
	rows, err := s.pool.Query(ctx, `
		SELECT `+profileColumns+`
		  FROM profile_links l JOIN profiles p ON p.id = l.profile_id
		 WHERE l.sync_name = $1
		 ORDER BY p.display_name, l.external_id
		 LIMIT $2`, syncName, lim)
	if err != nil {
		return nil, fmt.Errorf("list profiles: %w", translate(err))
	}
	defer rows.Close()
	var out []store.StoredProfile
	for rows.Next() {
		sp, err := scanProfile(rows, false)
		if err != nil {
			return nil, fmt.Errorf("list profiles: %w", translate(err))
		}
		out = append(out, sp)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list profiles: %w", translate(err))
	}
	return out, nil
}

// LiveExternalIDs streams the external IDs of the sync's profiles that are not
// soft-deleted. An error from fn stops the stream and is returned (wrapped).
func (s *Store) LiveExternalIDs(ctx context.Context, syncName string, fn func(externalID string) error) error {
	return s.scan(ctx, "live external IDs", `
		SELECT l.external_id FROM profile_links l
		 WHERE l.sync_name = $1 AND l.gone_at IS NULL`, []any{syncName}, func(rows pgx.Rows) error {
		var ext string
		if err := rows.Scan(&ext); err != nil {
			return translate(err)
		}
		return fn(ext)
	})
}

// LinkSources streams every link of the sync with its source hash and whether the sync
// dropped it (gone). The slices alias the driver's buffer (pgtype.DriverBytes): at a
// million links, a copy of each would be most of the work.
func (s *Store) LinkSources(ctx context.Context, syncName string, fn func(externalID, sourceHash []byte, deleted bool) error) error {
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT `+noJIT); err != nil {
			return translate(err)
		}
		rows, err := tx.Query(ctx, `
			SELECT external_id, source_hash, gone_at IS NOT NULL FROM profile_links WHERE sync_name = $1`, syncName)
		if err != nil {
			return translate(err)
		}
		defer rows.Close()
		var ext, src pgtype.DriverBytes
		var gone bool
		for rows.Next() {
			if err := rows.Scan(&ext, &src, &gone); err != nil {
				return translate(err)
			}
			if err := fn(ext, src, gone); err != nil {
				return err
			}
		}
		return translate(rows.Err())
	})
	if err != nil {
		return fmt.Errorf("link sources: %w", err)
	}
	return nil
}

// scan runs a query over a whole sync (a join of every link and profile) in a read-only
// transaction without JIT (see noJIT), calling each for every row. An error from each
// stops it and is returned (wrapped with what).
func (s *Store) scan(ctx context.Context, what, query string, args []any, each func(pgx.Rows) error) error {
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT `+noJIT); err != nil {
			return translate(err)
		}
		rows, err := tx.Query(ctx, query, args...)
		if err != nil {
			return translate(err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := each(rows); err != nil {
				return err
			}
		}
		return translate(rows.Err())
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// Runs returns the latest runs, newest first, of the sync or of all syncs if it is "".
func (s *Store) Runs(ctx context.Context, syncName string, limit int) ([]store.RunInfo, error) {
	var lim *int
	if limit > 0 {
		lim = &limit
	}
	rows, err := s.pool.Query(ctx, `
		SELECT id, sync_name, mode, holder, started_at, finished_at, tick, status, processed,
		       created, updated, unchanged, skipped, deleted, errors, joined, unmatched, disputed, message
		  FROM sync_runs
		 WHERE $1 = '' OR sync_name = $1
		 ORDER BY id DESC
		 LIMIT $2`, syncName, lim)
	if err != nil {
		return nil, fmt.Errorf("runs: %w", translate(err))
	}
	var (
		out []store.RunInfo
		ri  store.RunInfo
	)
	_, err = pgx.ForEachRow(rows, []any{&ri.ID, &ri.Sync, &ri.Mode, &ri.Holder, &ri.StartedAt,
		&ri.FinishedAt, &ri.Tick, &ri.Status, &ri.Processed, &ri.Created, &ri.Updated, &ri.Unchanged, &ri.Skipped,
		&ri.Deleted, &ri.Errors, &ri.Joined, &ri.Unmatched, &ri.Disputed, &ri.Message}, func() error {
		out = append(out, ri)
		ri.FinishedAt, ri.Tick = nil, nil
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("runs: %w", translate(err))
	}
	return out, nil
}

// RunErrors returns the per-record errors of a run in the order they were recorded.
func (s *Store) RunErrors(ctx context.Context, runID int64) ([]store.RecordError, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT external_id, message FROM run_errors WHERE run_id = $1 ORDER BY seq`, runID)
	if err != nil {
		return nil, fmt.Errorf("run errors: %w", translate(err))
	}
	var (
		out []store.RecordError
		e   store.RecordError
	)
	if _, err := pgx.ForEachRow(rows, []any{&e.ExternalID, &e.Message}, func() error {
		out = append(out, e)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("run errors: %w", translate(err))
	}
	if len(out) == 0 {
		var exists bool
		if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sync_runs WHERE id = $1)`, runID).Scan(&exists); err != nil {
			return nil, fmt.Errorf("run errors: %w", translate(err))
		}
		if !exists {
			return nil, fmt.Errorf("run %d: %w", runID, store.ErrNotFound)
		}
	}
	return out, nil
}

// Cursor returns the sync's last delta cursor, "" if none.
func (s *Store) Cursor(ctx context.Context, syncName string) (string, error) {
	var c string
	err := s.pool.QueryRow(ctx, `SELECT cursor FROM sync_cursors WHERE sync_name = $1`, syncName).Scan(&c)
	if err != nil {
		if err = translate(err); errors.Is(err, store.ErrNotFound) {
			return "", nil
		}
		return "", fmt.Errorf("cursor: %w", err)
	}
	return c, nil
}

// Pending returns the sync's pending records (see store.PendingRecord).
func (s *Store) Pending(ctx context.Context, syncName string, limit int) ([]store.PendingRecord, error) {
	var lim *int
	if limit > 0 {
		lim = &limit
	}
	rows, err := s.pool.Query(ctx, `
		SELECT external_id, situation, coalesce(candidates::text[], '{}'), contribution, coalesce(linked_at, now())
		  FROM profile_links
		 WHERE sync_name = $1 AND situation <> 'linked' AND gone_at IS NULL
		 ORDER BY external_id LIMIT $2`, syncName, lim)
	if err != nil {
		return nil, fmt.Errorf("pending records: %w", translate(err))
	}
	keys := s.sources.RolesOf(syncName).Join
	var out []store.PendingRecord
	var pr store.PendingRecord
	var c contribution
	_, err = pgx.ForEachRow(rows, []any{&pr.ExternalID, &pr.Situation, &pr.Candidates, &c, &pr.Since}, func() error {
		for _, f := range []string{profile.DisplayName, profile.UserName, profile.Email} {
			if pr.Name = contributionKeyValue(&c, f); pr.Name != "" {
				break
			}
		}
		pr.Keys = make(map[string]string, len(keys))
		for _, k := range keys {
			pr.Keys[k] = contributionKeyValue(&c, k)
		}
		out = append(out, pr)
		pr, c = store.PendingRecord{}, contribution{}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pending records: %w", translate(err))
	}
	return out, nil
}

// PendingCounts counts the sync's pending records by situation.
func (s *Store) PendingCounts(ctx context.Context, syncName string) (unmatched, disputed int64, err error) {
	err = s.pool.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE situation = 'unmatched'), count(*) FILTER (WHERE situation = 'disputed')
		  FROM profile_links WHERE sync_name = $1 AND situation <> 'linked' AND gone_at IS NULL`, syncName).Scan(&unmatched, &disputed)
	if err != nil {
		return 0, 0, fmt.Errorf("count pending records: %w", translate(err))
	}
	return unmatched, disputed, nil
}

// Match runs the join of sync's keys for records against the store as it is, read-only.
func (s *Store) Match(ctx context.Context, syncName string, records []profile.Profile) ([]store.MatchResult, error) {
	out := make([]store.MatchResult, len(records))
	keys := s.sources.RolesOf(syncName).Join
	if len(keys) == 0 {
		for i := range out {
			out[i].Situation = store.Unmatched
		}
		return out, nil
	}
	outs, err := match(ctx, s.pool, syncName, keys, len(records), func(i int, key string) string {
		return store.FieldValue(&records[i], key)
	})
	if err != nil {
		return nil, fmt.Errorf("match: %w", err)
	}
	for i, o := range outs {
		out[i].Situation = o.situation
		if o.situation == store.Joined {
			out[i].ProfileID = uuidString(o.profile)
		}
		for _, c := range o.candidates {
			out[i].Candidates = append(out[i].Candidates, uuidString(c))
		}
	}
	return out, nil
}

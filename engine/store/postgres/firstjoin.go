package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

// A profile's first join: a record of the sync J joins a profile that one other sync F
// fed alone until now (provenance NULL; F's one live link, its contribution NULL, is the
// profile's columns). Its merge has two known sources, so each field's precedence is a
// fixed choice between F and J, and the profile is merged in SQL from the staging row
// and the profile's own columns, without writing F's contribution and reading it back
// for mergeSources. firstJoins does exactly what recompute would do for these profiles
// (TestFirstJoinMergesAsRecompute compares the two on random inputs); everything else
// (a third source, a recompute after a drop, a shared record's update) stays with
// recompute. In BenchmarkJoin it took a batch of 1,000 joins from ≈ 350 ms to ≈ … ms.

// firstJoinContributions writes out F's contribution for the joined rows of the batch
// whose profile has one other live source (and J's new link), returning their profile
// IDs and F's sync names. The profiles must be locked: a statement after the lock sees
// what other syncs committed meanwhile, so a profile a concurrent join made shared is
// left to recompute.
const firstJoinContributions = `UPDATE profile_links l SET contribution = %s
	  FROM stage s JOIN profiles p ON p.id = s.linked
	 WHERE s.act = 'joined' AND p.provenance IS NULL
	   AND l.profile_id = p.id AND l.gone_at IS NULL AND l.sync_name <> $1 AND l.contribution IS NULL
	   AND NOT EXISTS (SELECT 1 FROM profile_links x
	        WHERE x.profile_id = p.id AND x.gone_at IS NULL
	          AND NOT (x.sync_name = l.sync_name AND x.external_id = l.external_id)
	          AND NOT (x.sync_name = $1 AND x.external_id = s.ext))
	RETURNING l.profile_id::text, l.sync_name`

// firstJoins merges the profiles of the batch's first joins (see above) and returns
// their IDs; the caller recomputes the rest. restore says whether a profile soft-deleted
// meanwhile is restored (the sync may create people). The profiles ids must be locked
// and their first sources' pictures kept (lockProfiles, keepFirstPictures).
func (r *run) firstJoins(ctx context.Context, tx pgx.Tx, restore bool, now time.Time) (map[string]bool, error) {
	if r.s.noFirstJoinSQL {
		return nil, nil
	}
	// The statements below start from the staging table's joined rows and probe the
	// profiles and links by index. Without an index of its own the staging table was
	// the inner side of their joins under boundedPlans: a scan of it per profile, 1M
	// comparisons a batch of 1,000.
	if _, err := tx.Exec(ctx, `CREATE INDEX ON stage (linked)`); err != nil {
		return nil, fmt.Errorf("index the staging table: %w", err)
	}
	rows, err := tx.Query(ctx, fmt.Sprintf(firstJoinContributions, contributionSQL("p")), r.sync)
	if err != nil {
		return nil, fmt.Errorf("keep the contributions of first joins: %w", err)
	}
	done := make(map[string]bool)
	var ids, firsts []string
	var id, first string
	if _, err := pgx.ForEachRow(rows, []any{&id, &first}, func() error {
		done[id] = true
		ids = append(ids, id)
		if !slices.Contains(firsts, first) {
			firsts = append(firsts, first)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("keep the contributions of first joins: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	slices.Sort(firsts)
	q := firstJoinMerge(r.s.sources, r.sync, firsts)
	jOrigin, err := json.Marshal(origin{Sync: r.sync, Since: now})
	if err != nil {
		return nil, fmt.Errorf("merge first joins: %w", err)
	}
	fOrigins := make([]string, len(firsts))
	for i, f := range firsts {
		o, err := json.Marshal(origin{Sync: f, Since: now})
		if err != nil {
			return nil, fmt.Errorf("merge first joins: %w", err)
		}
		fOrigins[i] = string(o)
	}
	rows, err = tx.Query(ctx, q, r.sync, string(jOrigin), ids, restore, firsts, fOrigins)
	if err != nil {
		return nil, fmt.Errorf("merge first joins: %w", err)
	}
	var u sharedUpdate
	var (
		photo                        *bool
		photoSync, photoExt, curSync string
		photoSHA, curSHA             []byte
		manager                      *bool
		managerSync, managerRef      string
		unmanaged                    bool
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &photo, &photoSync, &photoExt, &photoSHA, &curSync, &curSHA,
		&manager, &managerSync, &managerRef, &unmanaged}, func() error {
		var win *liveSource
		if photo != nil {
			win = &liveSource{sync: photoSync, ext: photoExt, photo: photoSHA}
		}
		u.addPicture(id, curSync, curSHA, win)
		// A manager reference that stays the first source's resolved as before: only an
		// unresolved one is looked at again.
		if manager == nil || *manager || unmanaged {
			var m *liveSource
			if manager != nil {
				m = &liveSource{sync: managerSync, managerRef: managerRef}
			}
			u.addManager(id, m)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("merge first joins: %w", err)
	}
	if err := u.write(ctx, tx); err != nil {
		return nil, err
	}
	return done, nil
}

// firstJoinMerge is the statement that merges the first joins of the sync j onto
// profiles whose one source so far is one of firsts: $1 is j, $2 j's origin (JSON), $3
// the profile IDs, $4 restore, $5 firsts and $6 their origins. The aliases are p (the profile), s (j's staging row), l
// (the first source's link) and fi, ji (the first and the joining source's pictures,
// link_images). It returns, for each profile, who won the picture and the manager
// reference (true: j, false: the first source, NULL: none) and the stored picture, for
// addPicture and addManager.
func firstJoinMerge(src store.Sources, j string, firsts []string) string {
	// jw is the SQL of "j wins field over the row's first source".
	jw := func(field string) string {
		var in []string
		for _, f := range firsts {
			if src.Rank(field, []string{f, j})[0] == j {
				in = append(in, quoteLiteral(f))
			}
		}
		switch len(in) {
		case 0:
			return "false"
		case len(firsts):
			return "true"
		}
		return "l.sync_name IN (" + strings.Join(in, ", ") + ")"
	}
	// Attributes: j wins an attribute key y.k by the rule of "attributes" unless the
	// key has a rule of its own that says otherwise.
	var own []string
	for f := range src.Fields {
		if name, ok := strings.CutPrefix(f, store.FieldAttributes+"."); ok && name != "" {
			own = append(own, name)
		}
	}
	slices.Sort(own)
	var attrWins strings.Builder
	attrWins.WriteString("CASE l.sync_name")
	for _, f := range firsts {
		def := src.Rank(store.FieldAttributes, []string{f, j})[0] == j
		var flip []string
		for _, name := range own {
			if (src.Rank(store.FieldAttributes+"."+name, []string{f, j})[0] == j) != def {
				flip = append(flip, quoteLiteral(name))
			}
		}
		expr := fmt.Sprint(def)
		if len(flip) > 0 {
			op := "IN"
			if def {
				op = "NOT IN"
			}
			expr = "y.k " + op + " (" + strings.Join(flip, ", ") + ")"
		}
		fmt.Fprintf(&attrWins, " WHEN %s THEN %s", quoteLiteral(f), expr)
	}
	attrWins.WriteString(" END")

	// The provenance is built as JSON text and parsed once: building it with
	// jsonb_build_object, an object per field, took most of the statement's time.
	// $2 is j's origin as JSON, $5 and $6 the first syncs and their origins.
	const jOrigin, fOrigin = "$2::text", "($6::text[])[array_position($5::text[], l.sync_name)]"
	entry := func(field string) string { return quoteLiteral(strconv.Quote(field)+":") + " || " }
	// pj and mj: does j's picture (manager reference) win, the first source's, or none?
	winner := func(field, jHas, fHas string) string {
		return fmt.Sprintf(`CASE WHEN %s THEN CASE WHEN %[2]s THEN true WHEN %[3]s THEN false END
			ELSE CASE WHEN %[3]s THEN false WHEN %[2]s THEN true END END`, jw(field), jHas, fHas)
	}
	pj := winner(store.FieldPhoto, "ji.sha256 IS NOT NULL", "fi.sha256 IS NOT NULL")
	mj := winner(store.FieldManager, "s.manager_ref <> ''", "l.manager_ref <> ''")
	jActive := jw(store.FieldActive)

	var set, prov strings.Builder
	for _, f := range profile.CoreFields {
		// j's value is chosen when it is non-empty and j wins or the first has none; a
		// field j only seeds then keeps a non-empty stored value.
		jc := fmt.Sprintf("(s.%[1]s <> '' AND (%[2]s OR p.%[1]s = ''))", f, jw(f))
		fmt.Fprintf(&set, "%[1]s = CASE WHEN %[2]s AND NOT (p.%[1]s <> '' AND '%[1]s' = ANY (s.seeded)) THEN s.%[1]s ELSE p.%[1]s END,\n", f, jc)
		fmt.Fprintf(&prov, "CASE WHEN %s THEN %s%s WHEN p.%s <> '' THEN %s%s END,\n", jc, entry(f), jOrigin, f, entry(f), fOrigin)
	}
	fmt.Fprintf(&prov, "%s CASE WHEN %s THEN %s ELSE %s END,\n", entry(store.FieldActive), jActive, jOrigin, fOrigin)
	fmt.Fprintf(&prov, "%s CASE %s WHEN true THEN %s WHEN false THEN %s END,\n", entry(store.FieldPhoto), pj, jOrigin, fOrigin)
	fmt.Fprintf(&prov, "%s CASE %s WHEN true THEN %s WHEN false THEN %s END", entry(store.FieldManager), mj, jOrigin, fOrigin)

	return fmt.Sprintf(`UPDATE profiles p SET %[1]s
		active = CASE WHEN p.deleted_at IS NOT NULL AND NOT $4 THEN false WHEN %[2]s THEN s.active ELSE p.active END,
		deleted_at = CASE WHEN $4 THEN NULL ELSE p.deleted_at END, updated_at = now(),
		(attributes, provenance) = (
			SELECT coalesce(jsonb_object_agg(a.k, a.v), '{}'),
			       ('{' || concat_ws(',', %[3]s,
			            string_agg(to_json('attributes.' || a.k)::text || ':' || a.origin, ','))
			        || '}')::jsonb
			  FROM (SELECT x.k,
			               CASE WHEN x.jc AND NOT (x.pv <> '' AND 'attributes.' || x.k = ANY (s.seeded)) THEN x.sv ELSE x.pv END AS v,
			               CASE WHEN x.jc THEN `+jOrigin+` ELSE `+fOrigin+` END AS origin
			          FROM (SELECT y.k, coalesce(y.pv, '') AS pv, coalesce(y.sv, '') AS sv,
			                       coalesce(y.sv, '') <> '' AND (%[4]s OR coalesce(y.pv, '') = '') AS jc
			                  FROM (SELECT u.k, p.attributes ->> u.k AS pv, s.attributes ->> u.k AS sv
			                          FROM (SELECT jsonb_object_keys(p.attributes) UNION SELECT jsonb_object_keys(s.attributes)) AS u(k)) y) x
			         WHERE x.pv <> '' OR x.sv <> '') a)
		  FROM stage s
		  JOIN profile_links l ON l.profile_id = s.linked AND l.gone_at IS NULL AND l.sync_name <> $1
		  LEFT JOIN link_images fi ON fi.sync_name = l.sync_name AND fi.external_id = l.external_id
		  LEFT JOIN link_images ji ON ji.sync_name = $1 AND ji.external_id = s.ext
		  LEFT JOIN profile_images pi ON pi.profile_id = s.linked
		 WHERE s.act = 'joined' AND s.linked = ANY ($3::uuid[]) AND p.id = s.linked
		RETURNING p.id::text, %[5]s,
		       CASE %[5]s WHEN true THEN $1::text WHEN false THEN l.sync_name ELSE '' END,
		       CASE %[5]s WHEN true THEN s.ext WHEN false THEN l.external_id ELSE '' END,
		       CASE %[5]s WHEN true THEN ji.sha256 WHEN false THEN fi.sha256 END,
		       coalesce(CASE WHEN pi.source = 'user' THEN 'user' ELSE pi.sync_name END, ''), pi.sha256,
		       %[6]s,
		       CASE %[6]s WHEN true THEN $1::text WHEN false THEN l.sync_name ELSE '' END,
		       CASE %[6]s WHEN true THEN s.manager_ref WHEN false THEN l.manager_ref ELSE '' END,
		       p.manager_id IS NULL`,
		set.String(), jActive, prov.String(), attrWins.String(), pj, mj)
}

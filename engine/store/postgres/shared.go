package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

// Several sources per person (issue 11). A profile fed by one sync is stored as before:
// its columns are that sync's record, its link's contribution is NULL and its
// provenance NULL, and nothing here runs. Once a second sync's record joins it, each
// link holds its contribution and the profile's columns are computed from all live
// contributions by the precedence of store.Sources, field by field (recompute). So the
// profile does not depend on the order in which the syncs ran: it is always the merge of
// what each source last said.
//
// Concurrency: the writes of a shared profile lock its row first (FOR NO KEY UPDATE, in
// ID order, so two runs' merges never wait on each other in a cycle; not FOR UPDATE,
// which would also wait for every other sync's link insert that checks its foreign key), then read every live
// contribution in a later statement, which sees what other runs committed meanwhile. A
// single-source update checks in its UPDATE that the profile is still unshared; if
// another sync made it shared in between, the write is done again (errShareRace).

// contribution is what one source's record offers a shared profile. Its JSON is built by
// contributionSQL as well, from a row of the staging table or of profiles.
type contribution struct {
	Core       []string          `json:"c"`
	Attributes map[string]string `json:"a"`
	Active     bool              `json:"act"`
}

// contributionSQL is the jsonb of a contribution built from the row alias a, which has
// the core field columns, attributes and active (the staging table or profiles).
func contributionSQL(a string) string {
	return fmt.Sprintf(`jsonb_build_object('c', jsonb_build_array(%s), 'a', %s.attributes, 'act', %s.active)`,
		coreColumns(a), a, a)
}

// coreColumns is the select list of the core field columns of the row alias a, in
// CoreFields order.
func coreColumns(a string) string {
	cols := make([]string, len(profile.CoreFields))
	for i, f := range profile.CoreFields {
		cols[i] = a + "." + f
	}
	return strings.Join(cols, ", ")
}

// origin is where a shared profile's field came from: the sync, and since when that
// sync has been the field's source.
type origin struct {
	Sync  string    `json:"s"`
	Since time.Time `json:"t"`
}

// errShareRace: a profile this write took for single-source became shared by another
// sync's concurrent write; the write is done again, now seeing it shared.
var errShareRace = errors.New("a profile became shared during the write")

// keySQL is the normalised SQL of a join key on the profiles row alias a (empty for the
// bare column, as an index needs it), or "" if field cannot be a key.
func keySQL(field, a string) string {
	if a != "" {
		a += "."
	}
	var col string
	switch name, isAttr := strings.CutPrefix(field, store.FieldAttributes+"."); {
	case profile.FieldIndex(field) >= 0:
		col = a + field
	case isAttr && name != "" && !strings.ContainsRune(name, 0):
		col = "(" + a + "attributes->>" + quoteLiteral(name) + ")"
	default:
		return ""
	}
	return normSQL(field, col)
}

// normSQL normalises a key value in SQL, as the comparison of a join does on both sides.
func normSQL(field, expr string) string {
	if store.KeyFoldsCase(field) {
		return "lower(btrim(" + expr + "))"
	}
	return "btrim(" + expr + ")"
}

// quoteLiteral quotes s as an SQL string literal (standard_conforming_strings is on
// since PostgreSQL 9.1).
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// joinIndexName is the name of the index on a join key's normalised value.
func joinIndexName(field string) string {
	sum := sha256.Sum256([]byte(field))
	return "profiles_key_" + hex.EncodeToString(sum[:6])
}

// ensureJoinIndexes creates the indexes a sync's join keys are looked up by, once: a
// store whose syncs join nobody has none and pays nothing for them. They are not partial
// (live profiles only, as the match is): on the statistics of a smaller store the
// planner read a partial index whole, for its predicate, and filtered every profile
// once per record (10,000 × 1,000 comparisons a batch); a full one it can only probe.
//
// The catalog is asked first: CREATE INDEX IF NOT EXISTS takes its lock on profiles
// before it looks at the name, which would wait for every other run's writes.
func (s *Store) ensureJoinIndexes(ctx context.Context, keys []string) error {
	for _, k := range keys {
		expr := keySQL(k, "")
		if expr == "" {
			return fmt.Errorf("join key %q is neither a core field nor attributes.NAME", k)
		}
		var exists bool
		if err := s.pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, joinIndexName(k)).Scan(&exists); err != nil {
			return fmt.Errorf("look for the index of join key %s: %w", k, err)
		}
		if exists {
			continue
		}
		if _, err := s.pool.Exec(ctx, fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON profiles ((%s))`,
			joinIndexName(k), expr)); err != nil {
			return fmt.Errorf("create the index of join key %s: %w", k, err)
		}
		// The planner knows an expression only once it has analyzed it.
		if _, err := s.pool.Exec(ctx, `ANALYZE profiles`); err != nil {
			return fmt.Errorf("analyze profiles for join key %s: %w", k, err)
		}
	}
	return nil
}

// defaultPlans undoes boundedPlans for the rest of a transaction.
const defaultPlans = `SELECT set_config(name, reset_val, true) FROM pg_settings
	WHERE name IN ('enable_seqscan', 'enable_hashjoin', 'enable_mergejoin')`

// querier is a transaction or the pool: a match can run in a write or in a plan.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// outcome is how one unlinked record finds its person.
type outcome struct {
	situation  string // store.Joined, store.Unmatched or store.Disputed
	profile    [16]byte
	candidates [][16]byte
	key        string // the key that found the candidates
}

// match decides for n unlinked records of sync, whose key values value(i, key) gives,
// which live profile each belongs to: the keys are tried in order; the first that finds
// any profile decides. One profile that the sync has no live link to yet: joined; more
// than one, or one the sync links already, or one that another record of the same batch
// also found: disputed; none by any key: unmatched.
func match(ctx context.Context, q querier, sync string, keys []string, n int, value func(i int, key string) string) ([]outcome, error) {
	if tx, ok := q.(pgx.Tx); ok {
		// The key look-ups go through the join indexes, whatever the statistics say
		// (see boundedPlans); the caller's statements after them are planned freely.
		if _, err := tx.Exec(ctx, boundedPlans); err != nil {
			return nil, fmt.Errorf("match: %w", err)
		}
	}
	out := make([]outcome, n)
	undecided := make([]int, n)
	for i := range undecided {
		undecided[i] = i
	}
	for _, key := range keys {
		expr := keySQL(key, "p")
		if expr == "" {
			return nil, fmt.Errorf("join key %q is neither a core field nor attributes.NAME", key)
		}
		var idx []int32
		var vals []string
		for _, i := range undecided {
			if v := strings.TrimSpace(value(i, key)); v != "" {
				idx = append(idx, int32(i))
				vals = append(vals, clean(v))
			}
		}
		if len(idx) == 0 {
			continue
		}
		rows, err := q.Query(ctx, `SELECT v.i, p.id FROM unnest($1::text[], $2::int[]) AS v(val, i)
			JOIN profiles p ON `+expr+` = `+normSQL(key, "v.val")+` AND p.deleted_at IS NULL`, vals, idx)
		if err != nil {
			return nil, fmt.Errorf("match by %s: %w", key, err)
		}
		found := make(map[int][][16]byte)
		var i int32
		var id [16]byte
		if _, err := pgx.ForEachRow(rows, []any{&i, &id}, func() error {
			found[int(i)] = append(found[int(i)], id)
			return nil
		}); err != nil {
			return nil, fmt.Errorf("match by %s: %w", key, err)
		}
		rest := undecided[:0]
		for _, i := range undecided {
			c, ok := found[i]
			if !ok {
				rest = append(rest, i)
				continue
			}
			slices.SortFunc(c, func(a, b [16]byte) int { return strings.Compare(string(a[:]), string(b[:])) })
			c = slices.Compact(c)
			out[i] = outcome{situation: store.Disputed, candidates: c, key: key}
			if len(c) == 1 {
				out[i] = outcome{situation: store.Joined, profile: c[0], key: key}
			}
		}
		undecided = rest
	}
	for _, i := range undecided {
		out[i].situation = store.Unmatched
	}
	if tx, ok := q.(pgx.Tx); ok {
		if _, err := tx.Exec(ctx, defaultPlans); err != nil {
			return nil, fmt.Errorf("match: %w", err)
		}
	}
	// A profile may have one live link of each sync: a second record that finds it is
	// a dispute, whether it came in this batch or before.
	targets := make(map[[16]byte][]int)
	for i := range out {
		if out[i].situation == store.Joined {
			targets[out[i].profile] = append(targets[out[i].profile], i)
		}
	}
	if len(targets) == 0 {
		return out, nil
	}
	ids := make([][16]byte, 0, len(targets))
	for id := range targets {
		ids = append(ids, id)
	}
	// Every live link of the candidates, the sync picked out here: a profile has a link
	// or two, and profile_links_profile_id is then the only index the statement can
	// use. Asked for the sync's links in SQL, on statistics that had not seen the sync,
	// the planner read all of them by name (profile_links_dn), filtering, once per
	// batch: 0.12 s a batch after 98,000 joins.
	rows, err := q.Query(ctx, liveLinksOf, ids)
	if err != nil {
		return nil, fmt.Errorf("match: look up the sync's links: %w", err)
	}
	linked := make(map[[16]byte]bool)
	var id [16]byte
	var linkSync string
	if _, err := pgx.ForEachRow(rows, []any{&id, &linkSync}, func() error {
		if linkSync == sync {
			linked[id] = true
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("match: look up the sync's links: %w", err)
	}
	for id, is := range targets {
		if len(is) > 1 || linked[id] {
			for _, i := range is {
				out[i] = outcome{situation: store.Disputed, candidates: [][16]byte{id}, key: out[i].key}
			}
		}
	}
	return out, nil
}

// liveLinksOf lists the live links (profile, sync) of the profiles $1.
const liveLinksOf = `SELECT profile_id, sync_name FROM profile_links
	WHERE profile_id = ANY ($1::uuid[]) AND gone_at IS NULL`

// contributionKeyValue is the value of a join key in a stored contribution.
func contributionKeyValue(c *contribution, key string) string {
	if name, ok := strings.CutPrefix(key, store.FieldAttributes+"."); ok {
		return c.Attributes[name]
	}
	if i := profile.FieldIndex(key); i >= 0 && i < len(c.Core) {
		return c.Core[i]
	}
	return ""
}

// uuidParam is ids (formatted UUIDs) as a uuid[] parameter. Given the strings, the
// driver first tried to encode them in binary, failed, and built an error that
// formatted the whole slice before falling back to text: 0.4 s of CPU in a
// 100,000-person joining run. An ID that does not parse leaves the strings to the
// driver.
func uuidParam(ids []string) any {
	out := make([][16]byte, len(ids))
	for i, id := range ids {
		if len(id) != 36 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-' {
			return ids
		}
		h := id[0:8] + id[9:13] + id[14:18] + id[19:23] + id[24:]
		if _, err := hex.Decode(out[i][:], []byte(h)); err != nil {
			return ids
		}
	}
	return out
}

// uuidString formats a UUID.
func uuidString(u [16]byte) string {
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// lockShared locks the profiles ids, in ID order, and writes out the contribution of
// each live link that has none yet (the profile's only source until now) from the
// profile's columns, with its picture: after this every live link of ids has its
// contribution. The links of sync with external IDs skip are left alone (the caller
// writes them).
func lockShared(ctx context.Context, tx pgx.Tx, idList []string) error {
	ids := uuidParam(idList)
	if _, err := tx.Exec(ctx, `SELECT 1 FROM profiles WHERE id = ANY ($1::uuid[]) ORDER BY id FOR NO KEY UPDATE`, ids); err != nil {
		return fmt.Errorf("lock shared profiles: %w", err)
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO link_images (sync_name, external_id, content_type, sha256, data)
		SELECT l.sync_name, l.external_id, i.content_type, i.sha256, i.data
		  FROM profiles p
		  JOIN profile_links l ON l.profile_id = p.id
		  JOIN profile_images i ON i.profile_id = p.id AND i.source = 'sync'
		 WHERE p.id = ANY ($1::uuid[]) AND p.provenance IS NULL
		   AND l.contribution IS NULL AND l.gone_at IS NULL
		ON CONFLICT (sync_name, external_id) DO NOTHING`, ids); err != nil {
		return fmt.Errorf("keep the pictures of the profiles' first sources: %w", err)
	}
	if _, err := tx.Exec(ctx, `
		UPDATE profile_links l SET contribution = `+contributionSQL("p")+`
		  FROM profiles p
		 WHERE p.id = ANY ($1::uuid[]) AND p.provenance IS NULL AND l.profile_id = p.id
		   AND l.contribution IS NULL AND l.gone_at IS NULL`, ids); err != nil {
		return fmt.Errorf("keep the contributions of the profiles' first sources: %w", err)
	}
	return nil
}

// liveSource is one live link of a shared profile as recompute reads it.
type liveSource struct {
	sync, ext, managerRef string
	seeded                []string
	c                     contribution
	photo                 []byte // sha256 of its picture in link_images, nil if none
}

// current is a shared profile's stored state as recompute reads it.
type current struct {
	core       [profile.NumCoreFields]string
	attributes map[string]string
	active     bool
	deleted    bool
	provenance map[string]origin
	photoSync  string // the sync whose picture the profile shows ("" none; "user" the person's own)
	photoSHA   []byte
	sources    []liveSource
}

// recompute sets each of the profiles ids (locked by lockShared, every live link with
// its contribution) to the merge of its live sources by precedence: for each field the
// first source in the field's order with a non-empty value. A field the winning source
// only seeds keeps a non-empty stored value. restore lists profiles to restore if
// soft-deleted. own, if not nil, has the contribution of the run's sync to each of the
// profiles, as the caller just wrote it. It returns how many profiles changed.
func (r *run) recompute(ctx context.Context, tx pgx.Tx, ids []string, restore map[string]bool, own map[string]*contribution) (int, error) {
	cur, err := readShared(ctx, tx, ids, r.sync, own)
	if err != nil {
		return 0, err
	}
	now := time.Now().UTC()
	var upd sharedUpdate
	ranks := newRanker(r.s.sources)
	for _, id := range ids {
		c, ok := cur[id]
		if !ok || len(c.sources) == 0 {
			continue // gone, or no live source left: it keeps its last values
		}
		upd.add(id, c, ranks, restore[id], now)
	}
	if err := upd.write(ctx, tx); err != nil {
		return 0, err
	}
	return upd.changed, nil
}

// readShared reads the profiles ids with their live sources. The contributions it knows
// already are not read back (decoding them took 1.5 s of CPU in a 100,000-person
// joining run): given own, those of sync, and that of an unshared profile's first
// source (its only other live link), which lockShared wrote from the profile's columns.
func readShared(ctx context.Context, tx pgx.Tx, idList []string, sync string, own map[string]*contribution) (map[string]*current, error) {
	ids := uuidParam(idList)
	rows, err := tx.Query(ctx, `
		SELECT p.id::text, `+coreColumns("p")+`, p.attributes, p.active, p.deleted_at IS NOT NULL,
		       p.provenance, coalesce(CASE WHEN i.source = 'user' THEN 'user' ELSE i.sync_name END, ''), i.sha256
		  FROM profiles p LEFT JOIN profile_images i ON i.profile_id = p.id
		 WHERE p.id = ANY ($1::uuid[])`, ids)
	if err != nil {
		return nil, fmt.Errorf("read shared profiles: %w", err)
	}
	out := make(map[string]*current, len(idList))
	for rows.Next() {
		c := &current{}
		var id string
		var attrs map[string]any
		var prov map[string]origin
		dest := []any{&id}
		for i := range c.core {
			dest = append(dest, &c.core[i])
		}
		dest = append(dest, &attrs, &c.active, &c.deleted, &prov, &c.photoSync, &c.photoSHA)
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read shared profiles: %w", err)
		}
		c.attributes = make(map[string]string, len(attrs))
		for k, v := range attrs {
			c.attributes[k] = jsonString(v)
		}
		c.provenance = prov
		out[id] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read shared profiles: %w", err)
	}
	rows, err = tx.Query(ctx, `
		SELECT l.profile_id::text, l.sync_name, l.external_id, l.manager_ref, l.seeded,
		       CASE WHEN $3 AND (l.sync_name = $2 OR p.provenance IS NULL) THEN NULL ELSE l.contribution END, li.sha256
		  FROM profile_links l JOIN profiles p ON p.id = l.profile_id
		  LEFT JOIN link_images li USING (sync_name, external_id)
		 WHERE l.profile_id = ANY ($1::uuid[]) AND l.gone_at IS NULL AND l.contribution IS NOT NULL
		 ORDER BY l.profile_id, l.sync_name, l.external_id`, ids, sync, own != nil)
	if err != nil {
		return nil, fmt.Errorf("read the sources of shared profiles: %w", err)
	}
	for rows.Next() {
		var id string
		var s liveSource
		var read *contribution
		if err := rows.Scan(&id, &s.sync, &s.ext, &s.managerRef, &s.seeded, &read, &s.photo); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read the sources of shared profiles: %w", err)
		}
		c := out[id]
		if c == nil {
			continue
		}
		switch {
		case read != nil:
			s.c = *read
		case own != nil && s.sync == sync && own[id] != nil:
			s.c = *own[id]
		case own != nil && s.sync != sync && c.provenance == nil:
			// An unshared profile's links, in a write of the run's sync: its first
			// source and the sync's own.
			s.c = contribution{Core: slices.Clone(c.core[:]), Attributes: c.attributes, Active: c.active}
		default:
			rows.Close()
			return nil, fmt.Errorf("read the sources of shared profiles: the contribution of %s's link to %s is unknown", s.sync, id)
		}
		c.sources = append(c.sources, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the sources of shared profiles: %w", err)
	}
	return out, nil
}

// merged is the outcome of merging one profile's sources.
type merged struct {
	core       [profile.NumCoreFields]string
	attributes map[string]string
	active     bool
	provenance map[string]origin
	photo      *liveSource // the source whose picture wins; nil: none
	manager    *liveSource // the source whose manager reference wins; nil: none
}

// ranker caches Sources.Rank by field and set of syncs: a batch's profiles mostly have
// the same sources, and ranking every field of every profile anew cost a third of a
// batch's merge.
type ranker struct {
	src   store.Sources
	cache map[[2]string][]string
}

func newRanker(src store.Sources) *ranker {
	return &ranker{src: src, cache: make(map[[2]string][]string)}
}

// rank returns names (a profile's syncs, in a fixed order) by precedence for field. The
// result is shared: callers must not change it.
func (k *ranker) rank(field string, names []string, set string) []string {
	key := [2]string{field, set}
	if r, ok := k.cache[key]; ok {
		return r
	}
	r := k.src.Rank(field, slices.Clone(names))
	k.cache[key] = r
	return r
}

// mergeSources merges a profile's live sources by precedence (see recompute).
func mergeSources(c *current, ranks *ranker, now time.Time) merged {
	m := merged{attributes: map[string]string{}, provenance: map[string]origin{}}
	bySync := make(map[string]*liveSource, len(c.sources))
	names := make([]string, 0, len(c.sources))
	for i := range c.sources {
		s := &c.sources[i]
		if _, dup := bySync[s.sync]; !dup {
			bySync[s.sync] = s
			names = append(names, s.sync)
		}
	}
	since := func(field, sync string) origin {
		if o, ok := c.provenance[field]; ok && o.Sync == sync {
			return o
		}
		return origin{Sync: sync, Since: now}
	}
	set := strings.Join(names, "\x00")
	buf := make([]*liveSource, 0, len(names))
	ranked := func(field string) []*liveSource {
		buf = buf[:0]
		for _, n := range ranks.rank(field, names, set) {
			buf = append(buf, bySync[n])
		}
		return buf
	}
	for fi, f := range profile.CoreFields {
		for _, s := range ranked(f) {
			v := ""
			if fi < len(s.c.Core) {
				v = s.c.Core[fi]
			}
			if v == "" {
				continue
			}
			if slices.Contains(s.seeded, f) && c.core[fi] != "" {
				v = c.core[fi]
			}
			m.core[fi] = v
			m.provenance[f] = since(f, s.sync)
			break
		}
	}
	keys := make(map[string]bool)
	for _, s := range c.sources {
		for k := range s.c.Attributes {
			keys[k] = true
		}
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		f := store.FieldAttributes + "." + k
		for _, s := range ranked(f) {
			v := s.c.Attributes[k]
			if v == "" {
				continue
			}
			if slices.Contains(s.seeded, f) && c.attributes[k] != "" {
				v = c.attributes[k]
			}
			m.attributes[k] = v
			m.provenance[f] = since(f, s.sync)
			break
		}
	}
	if act := ranked(store.FieldActive); len(act) > 0 {
		m.active = act[0].c.Active
		m.provenance[store.FieldActive] = since(store.FieldActive, act[0].sync)
	}
	for _, s := range ranked(store.FieldPhoto) {
		if s.photo != nil {
			m.photo = s
			m.provenance[store.FieldPhoto] = since(store.FieldPhoto, s.sync)
			break
		}
	}
	for _, s := range ranked(store.FieldManager) {
		if s.managerRef != "" {
			m.manager = s
			m.provenance[store.FieldManager] = since(store.FieldManager, s.sync)
			break
		}
	}
	return m
}

// sharedUpdate collects the writes of recompute, column by column, for one statement
// each.
type sharedUpdate struct {
	ids                      []string
	core                     [profile.NumCoreFields][]string
	attrs, prov              []string // JSON documents
	active, restore          []bool
	photoIDs, photoSyncs     []string
	photoExts                []string
	noPhoto                  []string
	managerIDs, managerSyncs []string
	managerRefs              []string
	changed                  int
	enc                      jsonEncoder
}

func (u *sharedUpdate) add(id string, c *current, ranks *ranker, restore bool, now time.Time) {
	m := mergeSources(c, ranks, now)
	active := m.active
	deleted := c.deleted && !restore
	if deleted {
		active = false
	}
	same := m.core == c.core && maps.Equal(m.attributes, c.attributes) && active == c.active && !(c.deleted && restore) &&
		maps.EqualFunc(m.provenance, c.provenance, func(a, b origin) bool { return a.Sync == b.Sync && a.Since.Equal(b.Since) })
	if !same {
		attrs, prov := u.enc.attributes(m.attributes), u.enc.provenance(m.provenance)
		u.ids = append(u.ids, id)
		for i := range m.core {
			u.core[i] = append(u.core[i], m.core[i])
		}
		u.attrs = append(u.attrs, attrs)
		u.prov = append(u.prov, prov)
		u.active = append(u.active, active)
		u.restore = append(u.restore, restore)
		u.changed++
	}
	switch {
	case c.photoSync == "user":
	case m.photo == nil && c.photoSync != "":
		u.noPhoto = append(u.noPhoto, id)
	case m.photo != nil && (c.photoSync != m.photo.sync || string(c.photoSHA) != string(m.photo.photo)):
		u.photoIDs = append(u.photoIDs, id)
		u.photoSyncs = append(u.photoSyncs, m.photo.sync)
		u.photoExts = append(u.photoExts, m.photo.ext)
	}
	u.managerIDs = append(u.managerIDs, id)
	if m.manager != nil {
		u.managerSyncs = append(u.managerSyncs, m.manager.sync)
		u.managerRefs = append(u.managerRefs, m.manager.managerRef)
	} else {
		u.managerSyncs = append(u.managerSyncs, "")
		u.managerRefs = append(u.managerRefs, "")
	}
}

func (u *sharedUpdate) write(ctx context.Context, tx pgx.Tx) error {
	if len(u.ids) > 0 {
		var set, types, names strings.Builder
		args := []any{uuidParam(u.ids)}
		for i, f := range profile.CoreFields {
			fmt.Fprintf(&set, "%s = v.%s, ", f, f)
			fmt.Fprintf(&types, ", $%d::text[]", i+2)
			fmt.Fprintf(&names, ", %s", f)
			args = append(args, u.core[i])
		}
		n := len(args)
		args = append(args, u.attrs, u.prov, u.active, u.restore)
		// The documents go as text, which Postgres parses once; as jsonb parameters
		// the driver validated each first.
		q := fmt.Sprintf(`UPDATE profiles p SET %s attributes = v.attrs::jsonb, provenance = v.prov::jsonb,
			active = v.act, deleted_at = CASE WHEN v.restore THEN NULL ELSE p.deleted_at END, updated_at = now()
			FROM unnest($1::uuid[]%s, $%d::text[], $%d::text[], $%d::bool[], $%d::bool[])
			  AS v(id%s, attrs, prov, act, restore)
			WHERE p.id = v.id`, set.String(), types.String(), n+1, n+2, n+3, n+4, names.String())
		if _, err := tx.Exec(ctx, q, args...); err != nil {
			return fmt.Errorf("write shared profiles: %w", err)
		}
	}
	if len(u.noPhoto) > 0 {
		if _, err := tx.Exec(ctx, `DELETE FROM profile_images WHERE profile_id = ANY ($1::uuid[]) AND source = 'sync'`, uuidParam(u.noPhoto)); err != nil {
			return fmt.Errorf("drop shared profiles' pictures: %w", err)
		}
	}
	if len(u.photoIDs) > 0 {
		if _, err := tx.Exec(ctx, `
			INSERT INTO profile_images AS i (profile_id, source, sync_name, content_type, sha256, data, updated_at)
			SELECT v.id, 'sync', li.sync_name, li.content_type, li.sha256, li.data, now()
			  FROM unnest($1::uuid[], $2::text[], $3::text[]) AS v(id, sync, ext)
			  JOIN link_images li ON li.sync_name = v.sync AND li.external_id = v.ext
			ON CONFLICT (profile_id) DO UPDATE
			   SET sync_name = excluded.sync_name, content_type = excluded.content_type,
			       sha256 = excluded.sha256, data = excluded.data, updated_at = now()
			 WHERE i.source = 'sync'`, uuidParam(u.photoIDs), u.photoSyncs, u.photoExts); err != nil {
			return fmt.Errorf("write shared profiles' pictures: %w", err)
		}
	}
	if len(u.managerIDs) > 0 {
		// Each reference resolves through its own sync's links: by external ID, then by
		// DN (the lowest external ID among equal DNs).
		if _, err := tx.Exec(ctx, `
			WITH wanted AS (
				SELECT v.id, CASE WHEN v.ref = '' THEN NULL ELSE coalesce(
				    (SELECT m.profile_id FROM profile_links m
				      WHERE m.sync_name = v.sync AND m.external_id = v.ref),
				    (SELECT (array_agg(m.profile_id ORDER BY m.external_id))[1] FROM profile_links m
				      WHERE m.sync_name = v.sync AND lower(m.dn) = lower(v.ref))) END AS manager_id
				  FROM unnest($1::uuid[], $2::text[], $3::text[]) AS v(id, sync, ref)
			)
			UPDATE profiles p SET manager_id = w.manager_id, updated_at = now()
			  FROM wanted w
			 WHERE p.id = w.id AND p.manager_id IS DISTINCT FROM w.manager_id`,
			uuidParam(u.managerIDs), u.managerSyncs, u.managerRefs); err != nil {
			return fmt.Errorf("resolve shared profiles' managers: %w", err)
		}
	}
	return nil
}

// Rematch tries again to join the pending records (unmatched and disputed) of every sync
// that joins, against the profiles as they are now: a person created since, or whose key
// changed, is found. It walks them in pieces of rematchPiece, each its own write, and
// returns how many it joined.
func (r *run) Rematch(ctx context.Context) (int, error) {
	var pending bool
	if err := r.s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM profile_links WHERE situation <> 'linked')`).Scan(&pending); err != nil {
		return 0, fmt.Errorf("rematch: %w", err)
	}
	if !pending {
		return 0, nil
	}
	total := 0
	for _, sync := range r.s.sources.Joiners() {
		keys := r.s.sources.RolesOf(sync).Join
		if err := r.s.ensureJoinIndexes(ctx, keys); err != nil {
			return total, fmt.Errorf("rematch: %w", err)
		}
		for after := ""; ; {
			var exts []string
			var cs []contribution
			rows, err := r.s.pool.Query(ctx, `SELECT external_id, contribution FROM profile_links
				 WHERE sync_name = $1 AND situation <> 'linked' AND external_id > $2
				 ORDER BY external_id LIMIT $3`, sync, after, rematchPiece)
			if err != nil {
				return total, fmt.Errorf("rematch: %w", err)
			}
			var ext string
			var c contribution
			if _, err := pgx.ForEachRow(rows, []any{&ext, &c}, func() error {
				exts, cs = append(exts, ext), append(cs, c)
				c = contribution{}
				return nil
			}); err != nil {
				return total, fmt.Errorf("rematch: %w", err)
			}
			if len(exts) == 0 {
				break
			}
			after = exts[len(exts)-1]
			var joined int
			err = r.writeRetrying(ctx, "rematch", func(tx pgx.Tx) error {
				joined = 0
				outs, err := match(ctx, tx, sync, keys, len(exts), func(i int, key string) string {
					return contributionKeyValue(&cs[i], key)
				})
				if err != nil {
					return err
				}
				var jExt, jID, dExt, dCands []string
				for i, o := range outs {
					switch o.situation {
					case store.Joined:
						jExt, jID = append(jExt, exts[i]), append(jID, uuidString(o.profile))
					case store.Disputed:
						ids := make([]string, len(o.candidates))
						for k, id := range o.candidates {
							ids[k] = uuidString(id)
						}
						dExt, dCands = append(dExt, exts[i]), append(dCands, "{"+strings.Join(ids, ",")+"}")
					}
				}
				if len(dExt) > 0 {
					if _, err := tx.Exec(ctx, `UPDATE profile_links l SET situation = 'disputed', candidates = v.c::uuid[]
						  FROM unnest($2::text[], $3::text[]) AS v(ext, c)
						 WHERE l.sync_name = $1 AND l.external_id = v.ext AND l.situation <> 'linked'`, sync, dExt, dCands); err != nil {
						return fmt.Errorf("record disputes: %w", err)
					}
				}
				if len(jExt) == 0 {
					return nil
				}
				tag, err := tx.Exec(ctx, `UPDATE profile_links l SET profile_id = v.id::uuid, situation = 'linked',
					       candidates = NULL, linked_at = now()
					  FROM unnest($2::text[], $3::text[]) AS v(ext, id)
					 WHERE l.sync_name = $1 AND l.external_id = v.ext AND l.situation <> 'linked'`, sync, jExt, jID)
				if err != nil {
					return fmt.Errorf("join pending records: %w", err)
				}
				joined = int(tag.RowsAffected())
				ids := slices.Compact(slices.Sorted(slices.Values(jID)))
				if err := lockShared(ctx, tx, ids); err != nil {
					return err
				}
				_, err = r.recompute(ctx, tx, ids, nil, nil)
				return err
			})
			if err != nil {
				return total, err
			}
			total += joined
		}
	}
	return total, nil
}

// rematchPiece is how many pending records one write of Rematch tries.
const rematchPiece = 1000

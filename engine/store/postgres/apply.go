package postgres

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

// stageColumns are the columns Apply COPYs into the staging table, in order.
var stageColumns = func() []string {
	cols := []string{"ext", "dn", "new_id"}
	cols = append(cols, profile.CoreFields[:]...)
	return append(cols, "manager_ref", "active", "attributes", "seeded", "seeded_attrs", "hash", "source_hash",
		"has_photo", "photo_type", "photo_sha", "photo_data", "act", "linked", "candidates")
}()

// createStage creates the staging table: one row per change. new_id is the id a created
// profile gets (a version 7 UUID, see newUUID); linked is the profile of the record's
// link or match (NULL: create). act, decided before the batch is copied, says what the
// row does: create a profile; fast, update the
// profile of a link that is its only source; shared, update a link's contribution to a
// profile several sources feed; joined, link the record to the profile it matched;
// unmatched or disputed, keep it as a pending record (see match).
var createStage = func() string {
	var b strings.Builder
	b.WriteString(`CREATE TEMP TABLE stage (
		ext text NOT NULL, dn text NOT NULL,
		new_id uuid NOT NULL, linked uuid`)
	for _, f := range profile.CoreFields {
		fmt.Fprintf(&b, ", %s text NOT NULL", f)
	}
	b.WriteString(`, manager_ref text NOT NULL, active boolean NOT NULL, attributes jsonb NOT NULL,
		seeded text[] NOT NULL, seeded_attrs boolean NOT NULL, hash bytea, source_hash bytea,
		has_photo boolean NOT NULL, photo_type text, photo_sha bytea, photo_data bytea,
		act text NOT NULL DEFAULT 'create', candidates uuid[]
	) ON COMMIT DROP`)
	return b.String()
}()

// insertProfiles creates the profiles of the changes that create one.
var insertProfiles = func() string {
	cols := strings.Join(profile.CoreFields[:], ", ")
	return `INSERT INTO profiles (id, ` + cols + `, active, attributes)
		SELECT new_id, ` + cols + `, active, attributes FROM stage WHERE act = 'create'`
}()

// updateProfiles updates the profiles that have this one source: seeded fields only
// where the stored value is empty, the rest overwritten; custom_fields untouched; a
// soft-deleted profile restored if the sync ($1) may create people. A profile another
// sync made shared meanwhile is left out (the caller sees the count fall short).
var updateProfiles = func() string {
	var b strings.Builder
	b.WriteString("UPDATE profiles p SET ")
	for _, f := range profile.CoreFields {
		fmt.Fprintf(&b, "%[1]s = CASE WHEN p.%[1]s <> '' AND '%[1]s' = ANY (s.seeded) THEN p.%[1]s ELSE s.%[1]s END, ", f)
	}
	b.WriteString(`active = s.active AND ($1 OR p.deleted_at IS NULL),
		attributes = CASE WHEN s.seeded_attrs THEN s.attributes || coalesce(
			(SELECT jsonb_object_agg(e.key, e.value) FROM jsonb_each(p.attributes) e
			  WHERE 'attributes.' || e.key = ANY (s.seeded) AND e.value NOT IN ('""'::jsonb, 'null'::jsonb)),
			'{}'::jsonb) ELSE s.attributes END,
		deleted_at = CASE WHEN $1 THEN NULL ELSE p.deleted_at END, updated_at = now()
		FROM stage s WHERE p.id = s.linked AND s.act = 'fast' AND p.provenance IS NULL`)
	return b.String()
}()

// updateLinks refreshes the links of updated profiles; a shared profile's link gets the
// record's contribution.
var updateLinks = `UPDATE profile_links l
	   SET dn = s.dn, manager_ref = s.manager_ref, content_hash = s.hash, source_hash = s.source_hash,
	       seeded = s.seeded, gone_at = NULL,
	       contribution = CASE WHEN s.act = 'shared' THEN ` + contributionSQL("s") + ` ELSE l.contribution END
	  FROM stage s
	 WHERE s.act IN ('fast', 'shared') AND l.sync_name = $1 AND l.external_id = s.ext`

// upsertPending writes the links of joined records and the pending records (unmatched,
// disputed), with their contributions.
var upsertPending = `INSERT INTO profile_links AS l (sync_name, external_id, profile_id, dn, manager_ref,
		content_hash, source_hash, seeded, situation, candidates, contribution)
	SELECT $1, s.ext, s.linked, s.dn, s.manager_ref, s.hash, s.source_hash, s.seeded,
	       CASE WHEN s.act = 'joined' THEN 'linked' ELSE s.act END, s.candidates, ` + contributionSQL("s") + `
	  FROM stage s WHERE s.act IN ('joined', 'unmatched', 'disputed')
	ON CONFLICT (sync_name, external_id) DO UPDATE
	   SET profile_id = excluded.profile_id, situation = excluded.situation, candidates = excluded.candidates,
	       contribution = excluded.contribution, dn = excluded.dn, manager_ref = excluded.manager_ref,
	       content_hash = excluded.content_hash, source_hash = excluded.source_hash, seeded = excluded.seeded,
	       gone_at = NULL,
	       linked_at = CASE WHEN excluded.situation = 'linked' AND l.situation <> 'linked' THEN now() ELSE l.linked_at END`

const (
	// findLinks looks up the link of each of the batch's external IDs ($2) of the sync
	// $1: its profile (NULL: a pending record) and whether that profile is shared. Each
	// probe is a LATERAL subquery fenced with OFFSET 0, one primary-key look-up per ID,
	// and the sync's name reaches it through an InitPlan, which the planner cannot
	// look into: planned on statistics that have not seen the sync (its first run,
	// joining into a store another sync filled), the planner believed the sync's links
	// a row or two. As a join of the staging table with the links it hashed all of them
	// once per batch, which grew with the run (0.17 s a batch after 98,000 joins, 5.7 s
	// of a 100,000-person joining run); told the name, it probed each ID by reading the
	// sync's links by name in profile_links_dn (8 ms a probe after 8,000 joins).
	findLinks = `SELECT v.ext, l.profile_id, coalesce(l.shared, false)
		  FROM unnest($2::text[]) AS v(ext)
		 CROSS JOIN LATERAL (
		       SELECT l.profile_id,
		              (SELECT p.provenance IS NOT NULL FROM profiles p WHERE p.id = l.profile_id) AS shared
		         FROM profile_links l
		        WHERE l.sync_name = (SELECT $1::text) AND l.external_id = v.ext
		       OFFSET 0) l`
	// insertLinks links the created profiles (a pending record that now creates its
	// profile has a link already).
	insertLinks = `INSERT INTO profile_links AS l (sync_name, external_id, profile_id, dn, manager_ref, content_hash, source_hash, seeded)
		SELECT $1, ext, new_id, dn, manager_ref, hash, source_hash, seeded FROM stage WHERE act = 'create'
		ON CONFLICT (sync_name, external_id) DO UPDATE
		   SET profile_id = excluded.profile_id, situation = 'linked', candidates = NULL, contribution = NULL,
		       dn = excluded.dn, manager_ref = excluded.manager_ref, content_hash = excluded.content_hash,
		       source_hash = excluded.source_hash, seeded = excluded.seeded, gone_at = NULL, linked_at = now()`
	// deleteSyncImages removes the sync's picture of linked people who no longer have one.
	deleteSyncImages = `DELETE FROM profile_images i USING stage s
		WHERE i.profile_id = s.linked AND s.act = 'fast' AND NOT s.has_photo AND i.source = 'sync'`
	// upsertSyncImages never replaces a user's own picture, nor an unchanged one.
	upsertSyncImages = `INSERT INTO profile_images AS i (profile_id, source, sync_name, content_type, sha256, data, updated_at)
		SELECT coalesce(linked, new_id), 'sync', $1, photo_type, photo_sha, photo_data, now()
		  FROM stage WHERE has_photo AND act IN ('fast', 'create')
		ON CONFLICT (profile_id) DO UPDATE
		   SET source = 'sync', sync_name = excluded.sync_name, content_type = excluded.content_type,
		       sha256 = excluded.sha256, data = excluded.data, updated_at = now()
		 WHERE i.source = 'sync' AND i.sha256 <> excluded.sha256`
	// deleteLinkImages and upsertLinkImages keep the pictures of the records that
	// contribute to shared profiles or wait as pending records.
	deleteLinkImages = `DELETE FROM link_images i USING stage s
		WHERE i.sync_name = $1 AND i.external_id = s.ext AND NOT s.has_photo
		  AND s.act IN ('shared', 'joined', 'unmatched', 'disputed')`
	upsertLinkImages = `INSERT INTO link_images AS i (sync_name, external_id, content_type, sha256, data)
		SELECT $1, ext, photo_type, photo_sha, photo_data FROM stage
		 WHERE has_photo AND act IN ('shared', 'joined', 'unmatched', 'disputed')
		ON CONFLICT (sync_name, external_id) DO UPDATE
		   SET content_type = excluded.content_type, sha256 = excluded.sha256, data = excluded.data
		 WHERE i.sha256 <> excluded.sha256`
)

// Apply writes a batch of creates and updates in one fenced transaction: COPY into a
// staging table, then set-based merges. A change whose external ID is already linked
// updates the linked profile whatever its ProfileID says; of several changes to one
// external ID, the last wins.
func (r *run) Apply(ctx context.Context, changes []store.Change) (res store.ApplyResult, err error) {
	defer func() {
		if err == nil {
			r.unanalyzed.Add(int64(res.Created + res.Updated + res.Joined + res.Unmatched + res.Disputed))
			r.analyzeIfOutgrown(ctx)
		}
	}()
	if len(changes) == 0 {
		return res, r.write(ctx, "apply", func(pgx.Tx) error { return nil })
	}
	// Creates of external IDs the caller found unlinked are COPYed straight into the
	// tables, the fastest way into Postgres. Should one be linked after all (the primary
	// key of profile_links says so), the batch is written again the careful way.
	creates, updates := splitCreates(changes)
	if len(creates) > 0 && len(r.s.sources.RolesOf(r.sync).Join) == 0 {
		err := r.write(ctx, "apply", func(tx pgx.Tx) error {
			res = store.ApplyResult{}
			n, err := copyCreates(ctx, tx, r.sync, creates)
			if err != nil {
				return err
			}
			res.Created = n
			if len(updates) > 0 {
				u, err := r.merge(ctx, tx, updates)
				if err != nil {
					return err
				}
				res.Created += u.Created
				res.Updated = u.Updated
			}
			return r.countCommitted(ctx, tx, res.Created, res.Updated, 0, res.Joined)
		})
		if !isUniqueViolation(err) {
			return res, err
		}
	}
	err = r.writeRetrying(ctx, "apply", func(tx pgx.Tx) error {
		var err error
		if res, err = r.merge(ctx, tx, changes); err != nil {
			return err
		}
		return r.countCommitted(ctx, tx, res.Created, res.Updated, 0, res.Joined)
	})
	return res, err
}

// maxWriteRetries bounds how often a write that raced another sync's is done again.
const maxWriteRetries = 5

// splitCreates separates the changes that create a profile (no ProfileID) from the rest;
// of several changes to one external ID, only the last is kept.
func splitCreates(changes []store.Change) (creates, updates []store.Change) {
	last := make(map[string]int, len(changes))
	for i, c := range changes {
		last[c.ExternalID] = i
	}
	for i, c := range changes {
		switch {
		case last[c.ExternalID] != i:
		case c.ProfileID == "" && c.ExternalID != "":
			creates = append(creates, c)
		default:
			updates = append(updates, c)
		}
	}
	return creates, updates
}

// copyCreates COPYs new profiles, their links and their pictures straight into the
// tables, with profile IDs made here.
func copyCreates(ctx context.Context, tx pgx.Tx, syncName string, creates []store.Change) (int, error) {
	ids := make([][16]byte, len(creates))
	for i := range creates {
		id, err := newUUID()
		if err != nil {
			return 0, err
		}
		ids[i] = id
	}
	managers, err := resolveNewManagers(ctx, tx, syncName, creates, ids)
	if err != nil {
		return 0, err
	}
	var profiles, links, images copyBuffer
	for i, c := range creates {
		id := ids[i]
		p := &c.Profile
		attrs, err := attributesJSON(p)
		if err != nil {
			return 0, fmt.Errorf("attributes of %s: %w", c.ExternalID, err)
		}
		profiles.row(len(copyProfileColumns))
		profiles.uuid(id)
		for _, v := range p.Core {
			profiles.text(v)
		}
		profiles.boolean(p.Active)
		profiles.jsonb(attrs)
		manager, ok := managers[i].([16]byte)
		profiles.uuidOrNull(manager, ok)

		links.row(len(copyLinkColumns))
		links.text(syncName)
		links.text(c.ExternalID)
		links.uuid(id)
		links.text(c.DN)
		links.text(p.Manager)
		links.bytea(c.Hash)
		links.bytea(c.SourceHash)
		links.textArray(p.Seeded)

		if p.Photo != nil {
			sum := sha256.Sum256(p.Photo.Data)
			images.row(len(copyImageColumns))
			images.uuid(id)
			images.text("sync")
			images.text(syncName)
			images.text(p.Photo.ContentType)
			images.bytea(sum[:])
			data := p.Photo.Data
			if data == nil {
				data = []byte{} // data is NOT NULL; nil would be
			}
			images.bytea(data)
		}
	}
	n, err := profiles.copyInto(ctx, tx, "profiles", copyProfileColumns)
	if err != nil {
		return 0, fmt.Errorf("copy new profiles: %w", err)
	}
	if _, err := links.copyInto(ctx, tx, "profile_links", copyLinkColumns); err != nil {
		return 0, fmt.Errorf("copy new links: %w", err)
	}
	if _, err := images.copyInto(ctx, tx, "profile_images", copyImageColumns); err != nil {
		return 0, fmt.Errorf("copy new pictures: %w", err)
	}
	return int(n), nil
}

// The columns copyCreates fills, in the order it writes them.
var (
	copyProfileColumns = append(append([]string{"id"}, profile.CoreFields[:]...), "active", "attributes", "manager_id")
	copyLinkColumns    = []string{"sync_name", "external_id", "profile_id", "dn", "manager_ref", "content_hash", "source_hash", "seeded"}
	copyImageColumns   = []string{"profile_id", "source", "sync_name", "content_type", "sha256", "data"}
)

// resolveNewManagers returns, for each create, the ID of the profile its manager
// reference names (nil if none is known yet): a profile created in the same batch or one
// already linked, by external ID first, then by DN. Setting manager_id as profiles are
// created spares ResolveManagers from rewriting every new row; it stays the authority
// and corrects whatever this could not know.
func resolveNewManagers(ctx context.Context, tx pgx.Tx, syncName string, creates []store.Change, ids [][16]byte) ([]any, error) {
	byExt := make(map[string][16]byte, len(creates))
	byDN := make(map[string][16]byte, len(creates))
	for i, c := range creates {
		byExt[c.ExternalID] = ids[i]
		if c.DN != "" {
			byDN[strings.ToLower(c.DN)] = ids[i]
		}
	}
	var refs []string
	seen := make(map[string]bool)
	for _, c := range creates {
		ref := c.Profile.Manager
		if _, ok := byExt[ref]; ok || ref == "" || seen[ref] {
			continue
		}
		seen[ref] = true
		refs = append(refs, clean(ref))
	}
	linkedExt := make(map[string][16]byte)
	linkedDN := make(map[string][16]byte)
	if len(refs) > 0 {
		rows, err := tx.Query(ctx, `
			SELECT external_id, lower(dn), profile_id FROM profile_links
			 WHERE sync_name = $1 AND external_id = ANY ($2::text[])
			UNION
			SELECT external_id, lower(dn), profile_id FROM profile_links
			 WHERE sync_name = $1 AND lower(dn) = ANY (ARRAY(SELECT lower(r) FROM unnest($2::text[]) r))
			 ORDER BY 1 DESC`, syncName, refs)
		if err != nil {
			return nil, fmt.Errorf("look up managers: %w", err)
		}
		for rows.Next() {
			var ext, ldn string
			var id [16]byte
			if err := rows.Scan(&ext, &ldn, &id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("look up managers: %w", err)
			}
			linkedExt[ext] = id
			linkedDN[ldn] = id // descending order: the lowest external ID is kept
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("look up managers: %w", err)
		}
	}
	out := make([]any, len(creates))
	for i, c := range creates {
		ref := c.Profile.Manager
		if ref == "" {
			continue
		}
		lref := strings.ToLower(ref)
		for _, m := range []map[string][16]byte{byExt, linkedExt} {
			if id, ok := m[ref]; ok {
				out[i] = id
				break
			}
		}
		if out[i] != nil {
			continue
		}
		for _, m := range []map[string][16]byte{byDN, linkedDN} {
			if id, ok := m[lref]; ok {
				out[i] = id
				break
			}
		}
	}
	return out, nil
}

// newUUID returns a version 7 UUID (RFC 9562): 48 bits of Unix milliseconds, then
// random bits. IDs made later sort later, so a sync's creates land on the right-hand
// edge of the indexes on profile IDs (the profiles' primary key, the links' profile_id)
// instead of on random pages, and so do the foreign-key checks that look them up:
// Postgres CPU of an initial 100k sync -8%, its wall time -5% against random (v4) IDs.
func newUUID() ([16]byte, error) {
	var u [16]byte
	if _, err := rand.Read(u[6:]); err != nil {
		return u, fmt.Errorf("make a profile id: %w", err)
	}
	ms := uint64(time.Now().UnixMilli())
	for i := 5; i >= 0; i-- {
		u[i] = byte(ms)
		ms >>= 8
	}
	u[6] = u[6]&0x0f | 0x70
	u[8] = u[8]&0x3f | 0x80
	return u, nil
}

// isUniqueViolation reports whether err is PostgreSQL's unique_violation.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// merge writes changes through the staging table: creates and updates, the link deciding
// which is which; for a sync that joins, the match decides what an unlinked record is.
func (r *run) merge(ctx context.Context, tx pgx.Tx, changes []store.Change) (store.ApplyResult, error) {
	var res store.ApplyResult
	rows, kept, err := stageRows(changes)
	if err != nil {
		return res, err
	}
	exts := make([]string, len(rows))
	for i, row := range rows {
		exts[i] = row[0].(string)
	}
	d := make([]decision, len(rows))
	if err := r.findLinks(ctx, tx, exts, d); err != nil {
		return res, err
	}
	roles := r.s.sources.RolesOf(r.sync)
	if err := r.decide(ctx, tx, roles, kept, d); err != nil {
		return res, err
	}
	count := make(map[string]int)
	for i, row := range rows {
		count[d[i].act]++
		var linked any
		if d[i].linked != nil {
			linked = *d[i].linked
		}
		var cands any
		if d[i].candidates != nil {
			cands = d[i].candidates
		}
		rows[i] = append(row, d[i].act, linked, cands)
	}
	if _, err := tx.Exec(ctx, createStage); err != nil {
		return res, fmt.Errorf("create staging table: %w", err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"stage"}, stageColumns, pgx.CopyFromRows(rows)); err != nil {
		return res, fmt.Errorf("copy batch: %w", err)
	}
	res.Joined, res.Unmatched, res.Disputed = count["joined"], count["unmatched"], count["disputed"]
	b := &pgx.Batch{}
	if count["create"] > 0 {
		b.Queue(insertProfiles).Exec(func(tag pgconn.CommandTag) error {
			res.Created = int(tag.RowsAffected())
			return nil
		})
		b.Queue(insertLinks, r.sync)
	}
	if count["fast"] > 0 {
		b.Queue(updateProfiles, roles.Creates).Exec(func(tag pgconn.CommandTag) error {
			if int(tag.RowsAffected()) < count["fast"] {
				return errShareRace
			}
			res.Updated += int(tag.RowsAffected())
			return nil
		})
		b.Queue(deleteSyncImages)
	}
	if count["fast"]+count["shared"] > 0 {
		b.Queue(updateLinks, r.sync)
	}
	if count["joined"]+count["unmatched"]+count["disputed"] > 0 {
		b.Queue(upsertPending, r.sync)
	}
	b.Queue(upsertSyncImages, r.sync)
	if count["shared"]+count["joined"]+count["unmatched"]+count["disputed"] > 0 {
		b.Queue(deleteLinkImages, r.sync)
		b.Queue(upsertLinkImages, r.sync)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		if errors.Is(err, errShareRace) {
			return res, err
		}
		return res, fmt.Errorf("merge batch: %w", err)
	}
	if count["shared"]+count["joined"] == 0 {
		return res, nil
	}
	var ids []string
	seen := make(map[string]bool)
	for i := range d {
		if d[i].act != "shared" && d[i].act != "joined" {
			continue
		}
		if id := uuidString(*d[i].linked); !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	// What follows reads and writes profiles by the batch's IDs: planned on a view of a
	// smaller store it would hash the whole table once per batch (see boundedPlans).
	if _, err := tx.Exec(ctx, boundedPlans); err != nil {
		return res, fmt.Errorf("bound the plans: %w", err)
	}
	if err := lockShared(ctx, tx, ids); err != nil {
		return res, err
	}
	restore := map[string]bool{}
	if roles.Creates {
		restore = seen
	}
	own := make(map[string]*contribution, len(ids))
	for i := range d {
		if d[i].act == "shared" || d[i].act == "joined" {
			own[uuidString(*d[i].linked)] = contributionOf(&kept[i].Profile)
		}
	}
	if _, err := r.recompute(ctx, tx, ids, restore, own); err != nil {
		return res, err
	}
	res.Updated += count["shared"]
	return res, nil
}

// decision is what one staged row does (see createStage): its act, the profile it
// writes (nil: a new one, or none) and, if disputed, the candidates.
type decision struct {
	act        string
	linked     *[16]byte
	candidates [][16]byte
}

// findLinks sets the decision of each of the batch's records (exts, as staged) whose
// external ID has a link: fast (a profile of its own), shared, or pending (no profile
// yet). The others are left to decide.
func (r *run) findLinks(ctx context.Context, tx pgx.Tx, exts []string, d []decision) error {
	at := make(map[string]int, len(exts))
	for i, e := range exts {
		at[e] = i
	}
	rows, err := tx.Query(ctx, findLinks, r.sync, exts)
	if err != nil {
		return fmt.Errorf("find links: %w", err)
	}
	var ext string
	var id pgtype.UUID
	var shared bool
	_, err = pgx.ForEachRow(rows, []any{&ext, &id, &shared}, func() error {
		i, ok := at[ext]
		if !ok {
			return nil
		}
		switch {
		case !id.Valid:
			d[i].act = "pending"
		case shared:
			d[i].act = "shared"
		default:
			d[i].act = "fast"
		}
		if id.Valid {
			p := id.Bytes
			d[i].linked = &p
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("find links: %w", err)
	}
	return nil
}

// decide settles, for a sync that joins, what each unlinked record (no link, or a
// pending one) is: joined to the one profile it matched, a new profile (unmatched, and
// the sync may create people), or pending (unmatched, or disputed). A sync that joins
// nobody creates a profile for every unlinked record.
func (r *run) decide(ctx context.Context, tx pgx.Tx, roles store.Roles, kept []store.Change, d []decision) error {
	var unlinked []int
	for i := range d {
		if d[i].act == "" || d[i].act == "pending" {
			d[i].act, d[i].linked = "create", nil
			unlinked = append(unlinked, i)
		}
	}
	if len(unlinked) == 0 || len(roles.Join) == 0 {
		return nil
	}
	outs, err := match(ctx, tx, r.sync, roles.Join, len(unlinked), func(i int, key string) string {
		return store.FieldValue(&kept[unlinked[i]].Profile, key)
	})
	if err != nil {
		return err
	}
	for j, i := range unlinked {
		switch o := outs[j]; o.situation {
		case store.Joined:
			p := o.profile
			d[i].act, d[i].linked = "joined", &p
		case store.Disputed:
			d[i].act, d[i].candidates = "disputed", o.candidates
		case store.Unmatched:
			if !roles.Creates {
				d[i].act = "unmatched"
			}
		}
	}
	return nil
}

// stageRows turns changes into COPY rows, last change per external ID winning, and
// returns the changes it kept, row by row.
func stageRows(changes []store.Change) ([][]any, []store.Change, error) {
	last := make(map[string]int, len(changes))
	for i, c := range changes {
		if c.ExternalID == "" {
			return nil, nil, fmt.Errorf("change %d has no external ID", i)
		}
		last[c.ExternalID] = i
	}
	rows := make([][]any, 0, len(last))
	kept := make([]store.Change, 0, len(last))
	for i, c := range changes {
		if last[c.ExternalID] != i {
			continue
		}
		p := &c.Profile
		row := make([]any, 0, len(stageColumns))
		id, err := newUUID()
		if err != nil {
			return nil, nil, err
		}
		row = append(row, clean(c.ExternalID), clean(c.DN), id)
		for _, v := range p.Core {
			row = append(row, clean(v))
		}
		attrJSON, err := attributesJSON(p)
		if err != nil {
			return nil, nil, fmt.Errorf("attributes of %s: %w", c.ExternalID, err)
		}
		seeded := seededList(p)
		seededAttrs := false
		for _, s := range seeded {
			seededAttrs = seededAttrs || strings.HasPrefix(s, "attributes.")
		}
		row = append(row, clean(p.Manager), p.Active, attrJSON, seeded, seededAttrs, c.Hash, c.SourceHash)
		if p.Photo != nil {
			sum := sha256.Sum256(p.Photo.Data)
			data := p.Photo.Data
			if data == nil {
				data = []byte{}
			}
			row = append(row, true, clean(p.Photo.ContentType), sum[:], data)
		} else {
			row = append(row, false, nil, nil, nil)
		}
		rows = append(rows, row)
		kept = append(kept, c)
	}
	return rows, kept, nil
}

// contributionOf is the contribution a change's profile makes, as contributionSQL
// builds it from the change's staged row.
func contributionOf(p *profile.Profile) *contribution {
	c := &contribution{Core: make([]string, len(p.Core)), Attributes: make(map[string]string, len(p.Attributes)), Active: p.Active}
	for i, v := range p.Core {
		c.Core[i] = clean(v)
	}
	for k, v := range p.Attributes {
		c.Attributes[clean(k)] = clean(v)
	}
	return c
}

// attributesJSON is the profile's attributes as the jsonb they are stored as.
func attributesJSON(p *profile.Profile) ([]byte, error) {
	attrs := make(map[string]string, len(p.Attributes))
	for k, v := range p.Attributes {
		attrs[clean(k)] = clean(v)
	}
	return json.Marshal(attrs)
}

// seededList is the profile's seeded field names, storable.
func seededList(p *profile.Profile) []string {
	seeded := make([]string, len(p.Seeded))
	for i, s := range p.Seeded {
		seeded[i] = clean(s)
	}
	return seeded
}

// clean makes s storable as PostgreSQL text, which holds neither NUL bytes nor invalid
// UTF-8: such bytes are dropped rather than failing a whole batch.
func clean(s string) string {
	if strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, ""), "\x00", "")
}

package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

// stageColumns are the columns Apply COPYs into the staging table, in order.
var stageColumns = func() []string {
	cols := []string{"ext", "dn"}
	cols = append(cols, profile.CoreFields[:]...)
	return append(cols, "manager_ref", "active", "attributes", "seeded", "seeded_attrs", "hash",
		"has_photo", "photo_type", "photo_sha", "photo_data")
}()

// createStage creates the staging table: one row per change. new_id is the id a created
// profile gets; linked is filled from profile_links (NULL: create).
var createStage = func() string {
	var b strings.Builder
	b.WriteString(`CREATE TEMP TABLE stage (
		ext text NOT NULL, dn text NOT NULL,
		new_id uuid NOT NULL DEFAULT gen_random_uuid(), linked uuid`)
	for _, f := range profile.CoreFields {
		fmt.Fprintf(&b, ", %s text NOT NULL", f)
	}
	b.WriteString(`, manager_ref text NOT NULL, active boolean NOT NULL, attributes jsonb NOT NULL,
		seeded text[] NOT NULL, seeded_attrs boolean NOT NULL, hash bytea,
		has_photo boolean NOT NULL, photo_type text, photo_sha bytea, photo_data bytea
	) ON COMMIT DROP`)
	return b.String()
}()

// insertProfiles creates the profiles of unlinked changes.
var insertProfiles = func() string {
	cols := strings.Join(profile.CoreFields[:], ", ")
	return `INSERT INTO profiles (id, ` + cols + `, active, attributes)
		SELECT new_id, ` + cols + `, active, attributes FROM stage WHERE linked IS NULL`
}()

// updateProfiles updates linked profiles: seeded fields only where the stored value is
// empty, the rest overwritten; custom_fields untouched; a soft-deleted profile restored.
var updateProfiles = func() string {
	var b strings.Builder
	b.WriteString("UPDATE profiles p SET ")
	for _, f := range profile.CoreFields {
		fmt.Fprintf(&b, "%[1]s = CASE WHEN p.%[1]s <> '' AND '%[1]s' = ANY (s.seeded) THEN p.%[1]s ELSE s.%[1]s END, ", f)
	}
	b.WriteString(`active = s.active,
		attributes = CASE WHEN s.seeded_attrs THEN s.attributes || coalesce(
			(SELECT jsonb_object_agg(e.key, e.value) FROM jsonb_each(p.attributes) e
			  WHERE 'attributes.' || e.key = ANY (s.seeded) AND e.value NOT IN ('""'::jsonb, 'null'::jsonb)),
			'{}'::jsonb) ELSE s.attributes END,
		deleted_at = NULL, updated_at = now()
		FROM stage s WHERE p.id = s.linked`)
	return b.String()
}()

const (
	// findLinks marks the changes whose external ID is linked already.
	findLinks = `UPDATE stage s SET linked = l.profile_id FROM profile_links l
		WHERE l.sync_name = $1 AND l.external_id = s.ext`
	// insertLinks links the created profiles.
	insertLinks = `INSERT INTO profile_links (sync_name, external_id, profile_id, dn, manager_ref, content_hash, seeded)
		SELECT $1, ext, new_id, dn, manager_ref, hash, seeded FROM stage WHERE linked IS NULL`
	// updateLinks refreshes the links of updated profiles.
	updateLinks = `UPDATE profile_links l
		   SET dn = s.dn, manager_ref = s.manager_ref, content_hash = s.hash, seeded = s.seeded
		  FROM stage s
		 WHERE s.linked IS NOT NULL AND l.sync_name = $1 AND l.external_id = s.ext`
	// deleteSyncImages removes the sync's picture of linked people who no longer have one.
	deleteSyncImages = `DELETE FROM profile_images i USING stage s
		WHERE i.profile_id = s.linked AND NOT s.has_photo AND i.source = 'sync'`
	// upsertSyncImages never replaces a user's own picture, nor an unchanged one.
	upsertSyncImages = `INSERT INTO profile_images AS i (profile_id, source, content_type, sha256, data, updated_at)
		SELECT coalesce(linked, new_id), 'sync', photo_type, photo_sha, photo_data, now()
		  FROM stage WHERE has_photo
		ON CONFLICT (profile_id) DO UPDATE
		   SET source = 'sync', content_type = excluded.content_type, sha256 = excluded.sha256,
		       data = excluded.data, updated_at = now()
		 WHERE i.source = 'sync' AND i.sha256 <> excluded.sha256`
)

// Apply writes a batch of creates and updates in one fenced transaction: COPY into a
// staging table, then set-based merges. A change whose external ID is already linked
// updates the linked profile whatever its ProfileID says; of several changes to one
// external ID, the last wins.
func (r *run) Apply(ctx context.Context, changes []store.Change) (store.ApplyResult, error) {
	var res store.ApplyResult
	if len(changes) == 0 {
		return res, r.write(ctx, "apply", func(pgx.Tx) error { return nil })
	}
	rows, err := stageRows(changes)
	if err != nil {
		return res, fmt.Errorf("apply: %w", err)
	}
	err = r.write(ctx, "apply", func(tx pgx.Tx) error {
		res = store.ApplyResult{}
		if _, err := tx.Exec(ctx, createStage); err != nil {
			return fmt.Errorf("create staging table: %w", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"stage"}, stageColumns, pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("copy batch: %w", err)
		}
		tag, err := tx.Exec(ctx, findLinks, r.sync)
		if err != nil {
			return fmt.Errorf("find links: %w", err)
		}
		linked := int(tag.RowsAffected())
		b := &pgx.Batch{}
		if linked < len(rows) {
			b.Queue(insertProfiles).Exec(func(tag pgconn.CommandTag) error {
				res.Created = int(tag.RowsAffected())
				return nil
			})
			b.Queue(insertLinks, r.sync)
		}
		if linked > 0 {
			b.Queue(updateProfiles).Exec(func(tag pgconn.CommandTag) error {
				res.Updated = int(tag.RowsAffected())
				return nil
			})
			b.Queue(updateLinks, r.sync)
			b.Queue(deleteSyncImages)
		}
		b.Queue(upsertSyncImages)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("merge batch: %w", err)
		}
		return nil
	})
	return res, err
}

// stageRows turns changes into COPY rows, last change per external ID winning.
func stageRows(changes []store.Change) ([][]any, error) {
	last := make(map[string]int, len(changes))
	for i, c := range changes {
		if c.ExternalID == "" {
			return nil, fmt.Errorf("change %d has no external ID", i)
		}
		last[c.ExternalID] = i
	}
	rows := make([][]any, 0, len(last))
	for i, c := range changes {
		if last[c.ExternalID] != i {
			continue
		}
		p := &c.Profile
		row := make([]any, 0, len(stageColumns))
		row = append(row, clean(c.ExternalID), clean(c.DN))
		for _, v := range p.Core {
			row = append(row, clean(v))
		}
		attrs := make(map[string]string, len(p.Attributes))
		for k, v := range p.Attributes {
			attrs[clean(k)] = clean(v)
		}
		attrJSON, err := json.Marshal(attrs)
		if err != nil {
			return nil, fmt.Errorf("attributes of %s: %w", c.ExternalID, err)
		}
		seeded := make([]string, len(p.Seeded))
		seededAttrs := false
		for j, s := range p.Seeded {
			seeded[j] = clean(s)
			seededAttrs = seededAttrs || strings.HasPrefix(s, "attributes.")
		}
		row = append(row, clean(p.Manager), p.Active, attrJSON, seeded, seededAttrs, c.Hash)
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
	}
	return rows, nil
}

// clean makes s storable as PostgreSQL text, which holds neither NUL bytes nor invalid
// UTF-8: such bytes are dropped rather than failing a whole batch.
func clean(s string) string {
	if strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, ""), "\x00", "")
}

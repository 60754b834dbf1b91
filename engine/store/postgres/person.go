package postgres

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

// People returns the people ref names, each with the origin of every field.
func (s *Store) People(ctx context.Context, ref store.PersonRef) ([]store.Person, error) {
	var where string
	var args []any
	switch {
	case ref.ProfileID != "":
		where, args = "p.id::text = $1", []any{ref.ProfileID}
	case ref.Email != "":
		where, args = "lower(btrim(p.email)) = lower(btrim($1))", []any{ref.Email}
	case ref.Sync != "" && ref.ExternalID != "":
		where = "p.id = (SELECT l.profile_id FROM profile_links l WHERE l.sync_name = $1 AND l.external_id = $2)"
		args = []any{ref.Sync, ref.ExternalID}
	default:
		return nil, fmt.Errorf("people: say a profile ID, an email, or a sync and an external ID")
	}
	var out []store.Person
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT p.id::text FROM profiles p WHERE `+where+` ORDER BY p.id LIMIT 20`, args...)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, id := range ids {
			p, err := readPerson(ctx, tx, id)
			if err != nil {
				return err
			}
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("people: %w", translate(err))
	}
	if out == nil {
		out = []store.Person{}
	}
	return out, nil
}

// readPerson reads one profile, its links and its sources' contributions.
func readPerson(ctx context.Context, tx pgx.Tx, id string) (store.Person, error) {
	p := store.Person{ProfileID: id}
	var c current
	var attrs map[string]any
	var managerRef string
	dest := []any{}
	for i := range c.core {
		dest = append(dest, &c.core[i])
	}
	dest = append(dest, &attrs, &c.active, &p.DeletedAt, &p.CreatedAt, &p.UpdatedAt, &c.provenance,
		&p.ManagerID, &p.ManagerName, &c.photoSync)
	err := tx.QueryRow(ctx, `
		SELECT `+coreColumns("p")+`, p.attributes, p.active, p.deleted_at, p.created_at, p.updated_at,
		       p.provenance, coalesce(p.manager_id::text, ''),
		       coalesce((SELECT m.display_name FROM profiles m WHERE m.id = p.manager_id), ''),
		       coalesce((SELECT CASE WHEN i.source = 'user' THEN 'user' ELSE coalesce(i.sync_name, '') END
		                   FROM profile_images i WHERE i.profile_id = p.id), '-')
		  FROM profiles p WHERE p.id = $1::uuid`, id).Scan(dest...)
	if err != nil {
		return p, err
	}
	c.attributes = map[string]string{}
	for k, v := range attrs {
		c.attributes[k] = jsonString(v)
	}
	rows, err := tx.Query(ctx, `
		SELECT l.sync_name, l.external_id, l.dn, l.manager_ref, l.linked_at, l.gone_at, l.contribution,
		       (SELECT li.sha256 FROM link_images li WHERE li.sync_name = l.sync_name AND li.external_id = l.external_id)
		  FROM profile_links l WHERE l.profile_id = $1::uuid
		 ORDER BY l.gone_at IS NOT NULL, l.sync_name, l.external_id`, id)
	if err != nil {
		return p, err
	}
	var live []liveSource
	for rows.Next() {
		var pl store.PersonLink
		var contrib *contribution
		var photo []byte
		if err := rows.Scan(&pl.Sync, &pl.ExternalID, &pl.DN, &pl.ManagerRef, &pl.LinkedAt, &pl.GoneAt, &contrib, &photo); err != nil {
			rows.Close()
			return p, err
		}
		p.Links = append(p.Links, pl)
		if pl.GoneAt == nil && contrib != nil {
			live = append(live, liveSource{sync: pl.Sync, ext: pl.ExternalID, managerRef: pl.ManagerRef, c: *contrib, photo: photo})
		}
		if pl.GoneAt == nil && managerRef == "" {
			managerRef = pl.ManagerRef
		}
	}
	if err := rows.Err(); err != nil {
		return p, err
	}
	// A profile fed by one source: every value is that source's, since it was linked.
	if c.provenance == nil {
		var src string
		var since *time.Time
		for _, l := range p.Links {
			if l.GoneAt == nil {
				src, since = l.Sync, l.LinkedAt
				if since == nil {
					since = &p.CreatedAt
				}
				break
			}
		}
		add := func(field, value string) {
			if value != "" {
				p.Fields = append(p.Fields, store.PersonField{Field: field, Value: value, Source: src, Since: since})
			}
		}
		for i, f := range profile.CoreFields {
			add(f, c.core[i])
		}
		for _, k := range slices.Sorted(maps.Keys(c.attributes)) {
			add(store.FieldAttributes+"."+k, c.attributes[k])
		}
		add(store.FieldActive, strconv.FormatBool(c.active))
		add(store.FieldManager, managerRef)
		if c.photoSync != "-" {
			ph := store.PersonField{Field: store.FieldPhoto, Value: "yes", Source: src, Since: since}
			if c.photoSync == "user" {
				ph.Value, ph.Source, ph.Since = "the person's own", "", nil
			}
			p.Fields = append(p.Fields, ph)
		}
		return p, nil
	}
	// A shared profile: the provenance says who won; the contributions, who lost.
	field := func(name, value string, offered func(s *liveSource) string) {
		pf := store.PersonField{Field: name, Value: value}
		if o, ok := c.provenance[name]; ok {
			pf.Source = o.Sync
			t := o.Since
			pf.Since = &t
		}
		for i := range live {
			s := &live[i]
			if v := offered(s); v != "" && v != pf.Value && s.sync != pf.Source {
				pf.Offers = append(pf.Offers, store.Offer{Sync: s.sync, Value: v})
			}
		}
		if pf.Value != "" || len(pf.Offers) > 0 {
			p.Fields = append(p.Fields, pf)
		}
	}
	for i, f := range profile.CoreFields {
		field(f, c.core[i], func(s *liveSource) string {
			if i < len(s.c.Core) {
				return s.c.Core[i]
			}
			return ""
		})
	}
	keys := maps.Clone(c.attributes)
	for _, s := range live {
		for k := range s.c.Attributes {
			keys[k] = ""
		}
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		field(store.FieldAttributes+"."+k, c.attributes[k], func(s *liveSource) string { return s.c.Attributes[k] })
	}
	field(store.FieldActive, strconv.FormatBool(c.active), func(s *liveSource) string { return strconv.FormatBool(s.c.Active) })
	winner := ""
	if o, ok := c.provenance[store.FieldManager]; ok {
		for _, s := range live {
			if s.sync == o.Sync {
				winner = s.managerRef
			}
		}
	}
	field(store.FieldManager, winner, func(s *liveSource) string { return s.managerRef })
	photo := ""
	switch c.photoSync {
	case "user":
		photo = "the person's own"
	case "-":
	default:
		photo = "yes"
	}
	field(store.FieldPhoto, photo, func(s *liveSource) string {
		if s.photo != nil {
			return "yes"
		}
		return ""
	})
	return p, nil
}

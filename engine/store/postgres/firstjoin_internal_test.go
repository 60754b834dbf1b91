package postgres

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/engine/store/pgtest"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

// The first joins merged in SQL (firstJoins) give the profiles, provenance, pictures,
// managers and contributions that recompute gives: the same random people and
// precedence go through a store of each, and then through updates, drops and rejoins
// that recompute handles in both, so that what the SQL left behind is also what
// recompute goes on from. (The fixtures are made up: two or three syncs of a
// directory-like record each, some fields empty, some only seeded, some pictures.)
func TestFirstJoinMergesAsRecompute(t *testing.T) {
	joiner := store.Roles{Join: []string{profile.EmployeeNumber}}
	configs := []store.Sources{
		{ // issue 11's: HR first, AD wins email, phone and manager.
			Roles: map[string]store.Roles{"hr": store.DefaultRoles, "ad": joiner},
			Order: []string{"hr", "ad"},
			Fields: map[string][]string{profile.Email: {"ad"}, profile.PhoneWork: {"ad"},
				store.FieldManager: {"ad"}},
		},
		{ // AD first, but HR wins the attributes bar one, the picture and active; AD may create.
			Roles: map[string]store.Roles{"hr": store.DefaultRoles, "ad": {Join: joiner.Join, Creates: true}},
			Order: []string{"ad", "hr"},
			Fields: map[string][]string{store.FieldAttributes: {"hr"}, "attributes.b": {"ad"},
				store.FieldPhoto: {"hr"}, store.FieldActive: {"hr"}, profile.Title: {"hr"}},
		},
		{ // no order (by name: ad, hr, zz); a third sync zz that Order does not name.
			Roles: map[string]store.Roles{"hr": store.DefaultRoles, "zz": store.DefaultRoles, "ad": joiner},
			Fields: map[string][]string{"attributes.a": {"hr", "zz"}, store.FieldManager: {"hr"},
				store.FieldPhoto: {"zz", "ad"}, profile.DisplayName: {"zz"}},
		},
	}
	for ci, src := range configs {
		t.Run(fmt.Sprint(ci), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var stores [2]*Store
			for k := range stores {
				s, err := Open(ctx, pgtest.NewDatabase(t), Options{Sources: src})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(s.Close)
				if err := s.Migrate(ctx); err != nil {
					t.Fatal(err)
				}
				s.noFirstJoinSQL = k == 1
				stores[k] = s
			}
			sc := newJoinScenario(uint64(ci), src)
			for step, do := range sc.steps {
				var got [2]map[string]string
				for k, s := range stores {
					do(t, s)
					got[k] = snapshot(t, s)
				}
				compareSnapshots(t, fmt.Sprintf("after step %d (%s)", step, sc.names[step]), got[0], got[1])
			}
			var joined int
			if err := stores[0].pool.QueryRow(ctx, `SELECT count(*) FROM profiles WHERE provenance IS NOT NULL`).Scan(&joined); err != nil {
				t.Fatal(err)
			}
			if joined < 10 {
				t.Fatalf("only %d shared profiles: the scenario tests little", joined)
			}
		})
	}
}

// joinScenario is a sequence of writes applied alike to each store.
type joinScenario struct {
	names []string
	steps []func(t *testing.T, s *Store)
}

const joinPeople = 48

func newJoinScenario(seed uint64, src store.Sources) *joinScenario {
	rng := rand.New(rand.NewPCG(seed, 11))
	value := func(sync, field string, i int) string {
		switch rng.IntN(4) {
		case 0:
			return ""
		case 1:
			return "shared " + field // the same value from both sides
		}
		return fmt.Sprintf("%s %s %d", sync, field, i)
	}
	seededOf := []string{profile.Title, profile.DisplayName, profile.Email, "attributes.a", "attributes.c"}
	person := func(sync string, i, gen int) store.Change {
		var p profile.Profile
		for _, f := range profile.CoreFields {
			p.Set(f, value(sync, f, i))
		}
		p.Set(profile.EmployeeNumber, fmt.Sprintf("E%d", i))
		if sync == "ad" && i%9 == 8 {
			p.Set(profile.EmployeeNumber, fmt.Sprintf("nobody %d", i)) // joins nobody
		}
		p.Active = rng.IntN(5) > 0
		p.Attributes = map[string]string{}
		for _, k := range []string{"a", "b", "c", sync} {
			if rng.IntN(3) > 0 {
				p.Attributes[k] = value(sync, k, i)
			}
		}
		for _, f := range seededOf {
			if rng.IntN(3) == 0 {
				p.Seeded = append(p.Seeded, f)
			}
		}
		if rng.IntN(2) == 0 {
			p.Photo = &profile.Photo{ContentType: "image/png", Data: fmt.Appendf(nil, "%s photo %d gen %d %d", sync, i, gen, rng.IntN(2))}
		}
		if rng.IntN(3) > 0 {
			p.Manager = fmt.Sprintf("%s-%d", sync, rng.IntN(joinPeople))
		}
		ext := fmt.Sprintf("%s-%d", sync, i)
		sum := p.Hash([]byte("test"))
		return store.Change{ExternalID: ext, DN: "uid=" + ext + ",ou=people", Profile: p, Hash: sum[:]}
	}
	first := func(i int) string {
		if _, ok := src.Roles["zz"]; ok && i%3 == 2 {
			return "zz"
		}
		return "hr"
	}
	sc := &joinScenario{}
	add := func(name string, fn func(t *testing.T, s *Store)) {
		sc.names = append(sc.names, name)
		sc.steps = append(sc.steps, fn)
	}
	// Each step's changes are made once, so that both stores get the same.
	apply := func(sync string, batches [][]store.Change, drop []string) func(t *testing.T, s *Store) {
		return func(t *testing.T, s *Store) {
			t.Helper()
			ctx := context.Background()
			r, err := s.BeginRun(ctx, sync, "full", "test")
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range batches {
				cs := slices.Clone(b)
				ids, err := s.Lookup(ctx, sync, extsOf(cs))
				if err != nil {
					t.Fatal(err)
				}
				for k := range cs {
					cs[k].ProfileID = ids[cs[k].ExternalID].ProfileID
				}
				if _, err := r.Apply(ctx, cs); err != nil {
					t.Fatalf("%s: Apply: %v", sync, err)
				}
			}
			if len(drop) > 0 {
				if _, err := r.SoftDelete(ctx, drop); err != nil {
					t.Fatalf("%s: SoftDelete: %v", sync, err)
				}
			}
			if _, err := r.ResolveManagers(ctx, []string{}); err != nil {
				t.Fatal(err)
			}
			if err := r.Finish(ctx, store.Summary{Status: store.StatusSucceeded}); err != nil {
				t.Fatal(err)
			}
		}
	}
	firsts := map[string][]store.Change{}
	for i := range joinPeople {
		firsts[first(i)] = append(firsts[first(i)], person(first(i), i, 0))
	}
	for _, sync := range slices.Sorted(maps.Keys(firsts)) {
		add("create by "+sync, apply(sync, [][]store.Change{firsts[sync]}, nil))
	}
	// Before the join: a person's own picture and a seeded field the person changed.
	add("the people's own edits", func(t *testing.T, s *Store) {
		ctx := context.Background()
		for i := 0; i < joinPeople; i += 5 {
			ids, err := s.Lookup(ctx, first(i), []string{fmt.Sprintf("%s-%d", first(i), i)})
			if err != nil {
				t.Fatal(err)
			}
			id := ids[fmt.Sprintf("%s-%d", first(i), i)].ProfileID
			if i%10 == 0 {
				if err := s.SetUserImage(ctx, id, profile.Photo{ContentType: "image/jpeg", Data: []byte("own")}); err != nil {
					t.Fatal(err)
				}
			} else if err := s.SetField(ctx, id, profile.Title, "own title"); err != nil {
				t.Fatal(err)
			}
		}
	})
	var joins []store.Change
	for i := range joinPeople {
		joins = append(joins, person("ad", i, 0))
	}
	add("first joins", apply("ad", [][]store.Change{joins[:joinPeople/2], joins[joinPeople/2:]}, nil))
	// recompute from here on, in both stores.
	var upd []store.Change
	var drop []string
	for i := range joinPeople {
		switch i % 4 {
		case 0:
			upd = append(upd, person("ad", i, 1))
		case 1:
			drop = append(drop, fmt.Sprintf("ad-%d", i))
		}
	}
	add("AD updates and drops", apply("ad", [][]store.Change{upd}, drop))
	var hrUpd []store.Change
	for i := 0; i < joinPeople; i += 3 {
		if first(i) == "hr" {
			hrUpd = append(hrUpd, person("hr", i, 1))
		}
	}
	add("HR updates", apply("hr", [][]store.Change{hrUpd}, nil))
	var back []store.Change
	for i := 1; i < joinPeople; i += 4 {
		back = append(back, person("ad", i, 2))
	}
	add("AD's dropped people come back", apply("ad", [][]store.Change{back}, nil))
	return sc
}

func extsOf(cs []store.Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ExternalID
	}
	return out
}

// snapshot is what a store holds, keyed by what does not depend on its profile IDs: a
// profile by its links, a link by its sync and external ID. Provenance is compared by
// sync (its times are the runs'), after checking that each time is one.
func snapshot(t *testing.T, s *Store) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	rows, err := s.pool.Query(ctx, `
		WITH names AS (
			SELECT profile_id, string_agg(sync_name || '/' || external_id, ',' ORDER BY sync_name, external_id) AS name
			  FROM profile_links WHERE profile_id IS NOT NULL GROUP BY profile_id
		)
		SELECT n.name, concat_ws(' | ', `+coreColumns("p")+`, p.active, p.attributes::text, p.custom_fields::text,
		       p.deleted_at IS NOT NULL, m.name,
		       (SELECT string_agg(key || '=' || (value->>'s') || CASE WHEN (value->>'t')::timestamptz IS NULL THEN '?' ELSE '' END, ',' ORDER BY key)
		          FROM jsonb_each(p.provenance)),
		       i.source, i.sync_name, encode(i.sha256, 'hex'))
		  FROM profiles p JOIN names n ON n.profile_id = p.id
		  LEFT JOIN names m ON m.profile_id = p.manager_id
		  LEFT JOIN profile_images i ON i.profile_id = p.id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		out["profile "+k] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows, err = s.pool.Query(ctx, `
		SELECT l.sync_name || '/' || l.external_id,
		       concat_ws(' | ', l.situation, l.gone_at IS NOT NULL, l.contribution::text, encode(li.sha256, 'hex'))
		  FROM profile_links l LEFT JOIN link_images li USING (sync_name, external_id)`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		out["link "+k] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func compareSnapshots(t *testing.T, when string, sqlMerge, goMerge map[string]string) {
	t.Helper()
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(goMerge)) {
		if sqlMerge[k] != goMerge[k] {
			diffs = append(diffs, fmt.Sprintf("%s:\n  SQL: %s\n  Go:  %s", k, sqlMerge[k], goMerge[k]))
		}
	}
	for k := range sqlMerge {
		if _, ok := goMerge[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: only with the SQL merge: %s", k, sqlMerge[k]))
		}
	}
	if len(diffs) > 0 {
		if len(diffs) > 8 {
			diffs = append(diffs[:8], fmt.Sprintf("… and %d more", len(diffs)-8))
		}
		t.Errorf("%s: the SQL merge and recompute differ:\n%s", when, strings.Join(diffs, "\n"))
	}
}

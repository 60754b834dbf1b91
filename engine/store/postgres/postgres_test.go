package postgres_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/engine/store/pgtest"
	"github.com/peoplesync/peoplesync/engine/store/postgres"
	"github.com/peoplesync/peoplesync/engine/store/storetest"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// testLeaseTTL is short so that the suite can wait out a lease, long enough that renewal
// every TTL/3 never misses on a busy CI machine.
const testLeaseTTL = 3 * time.Second

func open(t testing.TB, ttl time.Duration) *postgres.Store {
	t.Helper()
	return openWith(t, postgres.Options{LeaseTTL: ttl})
}

func openWith(t testing.TB, opts postgres.Options) *postgres.Store {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := postgres.Open(ctx, dsn, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, testLeaseTTL) })
}

func TestSourcesConformance(t *testing.T) {
	storetest.RunSources(t, func(t *testing.T, src store.Sources) store.Store {
		return openWith(t, postgres.Options{LeaseTTL: testLeaseTTL, Sources: src})
	})
}

func TestOpenRejectsBadDSN(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := postgres.Open(ctx, "postgres://nobody@127.0.0.1:1/none?connect_timeout=2", postgres.Options{}); err == nil {
		t.Fatal("Open of an unreachable server succeeded")
	}
	if _, err := postgres.Open(ctx, "::not a dsn::", postgres.Options{}); err == nil {
		t.Fatal("Open of a malformed DSN succeeded")
	}
}

// BenchmarkApply creates, then updates, batches of 10k profiles and reports rows/s of each.
func BenchmarkApply(b *testing.B) {
	const batch = 10_000
	s := open(b, 0)
	b.Cleanup(s.Close)
	ctx := context.Background()
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	r, err := s.BeginRun(ctx, "bench", "full", "bench")
	if err != nil {
		b.Fatal(err)
	}
	defer r.Finish(ctx, store.Summary{Status: store.StatusSucceeded})
	salt := []byte("bench")
	build := func(round, gen int, ids map[string]store.Stored) []store.Change {
		changes := make([]store.Change, batch)
		for i := range changes {
			var p profile.Profile
			for j, f := range profile.CoreFields {
				p.Core[j] = fmt.Sprintf("%s %d/%d gen %d", f, round, i, gen)
			}
			p.Active = true
			p.Manager = fmt.Sprintf("r%d-%d", round, i/10)
			p.Attributes = map[string]string{"cost_center": fmt.Sprint(i % 50), "gen": fmt.Sprint(gen)}
			p.Seeded = []string{profile.Title}
			ext := fmt.Sprintf("r%d-%d", round, i)
			sum := p.Hash(salt)
			changes[i] = store.Change{ExternalID: ext, DN: "uid=" + ext + ",ou=people", Profile: p, Hash: sum[:]}
			if ids != nil {
				changes[i].ProfileID = ids[ext].ProfileID
			}
		}
		return changes
	}
	var createTime, updateTime time.Duration
	round := 0
	b.ResetTimer()
	for b.Loop() {
		round++
		creates := build(round, 0, nil)
		start := time.Now()
		res, err := r.Apply(ctx, creates)
		createTime += time.Since(start)
		if err != nil || res.Created != batch {
			b.Fatalf("create: %+v, %v", res, err)
		}
		ext := make([]string, batch)
		for i, c := range creates {
			ext[i] = c.ExternalID
		}
		ids, err := s.Lookup(ctx, "bench", ext)
		if err != nil {
			b.Fatal(err)
		}
		updates := build(round, 1, ids)
		start = time.Now()
		res, err = r.Apply(ctx, updates)
		updateTime += time.Since(start)
		if err != nil || res.Updated != batch {
			b.Fatalf("update: %+v, %v", res, err)
		}
	}
	b.ReportMetric(float64(round*batch)/createTime.Seconds(), "create-rows/s")
	b.ReportMetric(float64(round*batch)/updateTime.Seconds(), "update-rows/s")
}

// openRun opens a migrated store and begins a full run of the sync "hr".
func openRun(t *testing.T) (*postgres.Store, store.Run) {
	t.Helper()
	s := open(t, testLeaseTTL)
	t.Cleanup(s.Close)
	ctx := context.Background()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := s.BeginRun(ctx, "hr", "full", "test")
	if err != nil {
		t.Fatal(err)
	}
	return s, r
}

// Text PostgreSQL cannot hold (NUL bytes, invalid UTF-8) is stored with those bytes
// dropped rather than failing the batch, in every column a create writes; a picture
// without bytes is stored empty; profiles with and without seeded fields, managers and
// pictures share one batch.
func TestCreatesDropUnstorableText(t *testing.T) {
	t.Parallel()
	s, r := openRun(t)
	ctx := context.Background()
	var bad profile.Profile
	bad.Set(profile.DisplayName, "Zo\x00ë \xffØ")
	bad.Set(profile.Title, "Chief\xc3")
	bad.Active = true
	bad.Manager = "bo\x00ss"
	bad.Attributes = map[string]string{"nick\x00": "Z\xffo", "plain": "ok"}
	bad.Seeded = []string{"ti\x00tle", "attributes.nick"}
	bad.Photo = &profile.Photo{ContentType: "image/\xffjpeg"}
	var boss profile.Profile
	boss.Set(profile.DisplayName, "Boss")
	boss.Photo = &profile.Photo{ContentType: "image/png", Data: []byte{0x89, 'P', 'N', 'G', 0}}
	changes := []store.Change{
		{ExternalID: "bad\x00", DN: "uid=bad\xff,ou=people", Profile: bad},
		{ExternalID: "boss", DN: "uid=boss,ou=people", Profile: boss},
	}
	res, err := r.Apply(ctx, changes)
	if err != nil || res.Created != 2 {
		t.Fatalf("Apply = %+v, %v; want 2 created", res, err)
	}
	if err := r.Finish(ctx, store.Summary{Status: store.StatusSucceeded}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Profiles(ctx, "hr", []string{"bad", "boss"})
	if err != nil {
		t.Fatal(err)
	}
	p, ok := got["bad"]
	if !ok {
		t.Fatalf("no profile for external ID %q; got %v", "bad", got)
	}
	if d, tt := p.Profile.Get(profile.DisplayName), p.Profile.Get(profile.Title); d != "Zoë Ø" || tt != "Chief" {
		t.Errorf("display name %q, title %q; want %q, %q", d, tt, "Zoë Ø", "Chief")
	}
	if p.Profile.Manager != "boss" {
		t.Errorf("manager %q, want %q", p.Profile.Manager, "boss")
	}
	if want := map[string]string{"nick": "Zo", "plain": "ok"}; !maps.Equal(p.Profile.Attributes, want) {
		t.Errorf("attributes = %q, want %q", p.Profile.Attributes, want)
	}
	if want := []string{"title", "attributes.nick"}; !slices.Equal(p.Profile.Seeded, want) {
		t.Errorf("seeded = %q, want %q", p.Profile.Seeded, want)
	}
	if ph := p.Profile.Photo; ph == nil || ph.ContentType != "image/jpeg" || len(ph.Data) != 0 {
		t.Errorf("photo = %+v, want an empty image/jpeg", ph)
	}
	b := got["boss"].Profile
	if b.Photo == nil || !bytes.Equal(b.Photo.Data, boss.Photo.Data) || len(b.Seeded) != 0 || b.Manager != "" {
		t.Errorf("boss = photo %+v, seeded %q, manager %q; want its picture, nothing seeded, no manager", b.Photo, b.Seeded, b.Manager)
	}
}

// Profiles get version 7 UUIDs whichever way Apply creates them: COPYed straight in, or
// through the staging table when a batch's "creates" turn out to be linked already.
func TestCreatedProfileIDsAreVersion7(t *testing.T) {
	t.Parallel()
	s, r := openRun(t)
	ctx := context.Background()
	var p profile.Profile
	p.Set(profile.DisplayName, "A")
	if _, err := r.Apply(ctx, []store.Change{{ExternalID: "a", Profile: p}}); err != nil {
		t.Fatal(err)
	}
	// "a" is linked already: the COPY fails on the link's key and the batch is merged.
	res, err := r.Apply(ctx, []store.Change{{ExternalID: "a", Profile: p}, {ExternalID: "b", Profile: p}})
	if err != nil || res.Created != 1 || res.Updated != 1 {
		t.Fatalf("Apply = %+v, %v; want 1 created, 1 updated", res, err)
	}
	if err := r.Finish(ctx, store.Summary{Status: store.StatusSucceeded}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Lookup(ctx, "hr", []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{"a", "b"} {
		id := got[ext].ProfileID
		if len(id) != 36 || id[14] != '7' {
			t.Errorf("profile of %s has ID %q, want a version 7 UUID", ext, id)
		}
	}
}

// A run's row counts what it committed as it commits it, through both ways of applying
// (COPYed creates, and a merge after a create turned out to be linked) and soft deletes:
// a run that dies before it finishes still shows, once abandoned, what it wrote.
// Finish then records the totals.
func TestRunRowCountsCommittedWrites(t *testing.T) {
	t.Parallel()
	s, r := openRun(t)
	ctx := context.Background()
	var p profile.Profile
	p.Set(profile.DisplayName, "A")
	if _, err := r.Apply(ctx, []store.Change{{ExternalID: "a", Profile: p}, {ExternalID: "c", Profile: p}}); err != nil {
		t.Fatal(err)
	}
	// "a" is linked already: the COPY fails on the link's key, rolls back, and the batch
	// is merged; only the merge may count.
	if _, err := r.Apply(ctx, []store.Change{{ExternalID: "a", Profile: p}, {ExternalID: "b", Profile: p}}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.SoftDelete(ctx, []string{"c", "nobody"}); err != nil {
		t.Fatal(err)
	}
	runs, err := s.Runs(ctx, "hr", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Status != store.StatusRunning || runs[0].Created != 3 || runs[0].Updated != 1 || runs[0].Deleted != 1 {
		t.Fatalf("running run = %+v, want running with 3 created, 1 updated, 1 deleted", runs)
	}
	if err := r.Finish(ctx, store.Summary{Status: store.StatusSucceeded, Processed: 4, Created: 3, Updated: 1, Deleted: 1}); err != nil {
		t.Fatal(err)
	}
	runs, err = s.Runs(ctx, "hr", 1)
	if err != nil {
		t.Fatal(err)
	}
	if runs[0].Created != 3 || runs[0].Updated != 1 || runs[0].Deleted != 1 || runs[0].Processed != 4 {
		t.Fatalf("finished run = %+v, want the totals Finish gave", runs[0])
	}
}

// BenchmarkJoin measures the joining source's path: a sync that creates 10k people per
// round, then a sync that joins each of them by employee number in batches of 1,000
// (issue 11's first run of the directory), and reports joined rows/s against
// create-rows/s of the same people.
func BenchmarkJoin(b *testing.B) {
	const n, batch = 10_000, 1_000
	s := openWith(b, postgres.Options{Sources: store.Sources{
		Roles: map[string]store.Roles{"hr": store.DefaultRoles, "ad": {Join: []string{profile.EmployeeNumber}}},
		Order: []string{"hr", "ad"},
	}})
	b.Cleanup(s.Close)
	ctx := context.Background()
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	salt := []byte("bench")
	person := func(sync string, round, i int) store.Change {
		var p profile.Profile
		for j, f := range profile.CoreFields {
			p.Core[j] = fmt.Sprintf("%s %s %d/%d", sync, f, round, i)
		}
		p.Set(profile.EmployeeNumber, fmt.Sprintf("E%d-%d", round, i))
		p.Active = true
		p.Manager = fmt.Sprintf("%s%d-%d", sync, round, i/10)
		p.Attributes = map[string]string{sync: fmt.Sprint(i % 50)}
		ext := fmt.Sprintf("%s%d-%d", sync, round, i)
		sum := p.Hash(salt)
		return store.Change{ExternalID: ext, DN: "uid=" + ext + ",ou=people", Profile: p, Hash: sum[:]}
	}
	var createTime, joinTime time.Duration
	resolveTime := map[string]time.Duration{}
	round := 0
	for b.Loop() {
		round++
		for _, sync := range []string{"hr", "ad"} {
			d := &createTime
			if sync == "ad" {
				d = &joinTime
			}
			r, err := s.BeginRun(ctx, sync, "full", "bench")
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			for k := 0; k < n; k += batch {
				cs := make([]store.Change, batch)
				for i := range cs {
					cs[i] = person(sync, round, k+i)
				}
				res, err := r.Apply(ctx, cs)
				if err != nil || res.Created+res.Joined != batch {
					b.Fatalf("%s: %+v, %v", sync, res, err)
				}
			}
			*d += time.Since(start)
			rs := time.Now()
			if _, err := r.ResolveManagers(ctx, []string{}); err != nil {
				b.Fatal(err)
			}
			resolveTime[sync] += time.Since(rs)
			if err := r.Finish(ctx, store.Summary{Status: store.StatusSucceeded}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(round*n)/createTime.Seconds(), "create-rows/s")
	b.ReportMetric(float64(round*n)/joinTime.Seconds(), "join-rows/s")
	b.ReportMetric(resolveTime["hr"].Seconds()/float64(round), "hr-resolve-s/round")
	b.ReportMetric(resolveTime["ad"].Seconds()/float64(round), "ad-resolve-s/round")
}

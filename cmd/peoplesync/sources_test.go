package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/jackc/pgx/v5"

	"github.com/peoplesync/peoplesync/engine/mapper/mappertest"
	"github.com/peoplesync/peoplesync/engine/store/pgtest"
	"github.com/peoplesync/peoplesync/plugins/ldap/slapdtest"
)

// twoSources is a real directory (slapd, loaded with examples/people.ldif) and the HR
// export examples/hr.csv over the same people: HR creates and ends people and names
// managers by employee number; the directory only joins them, by employee number and
// then email, and wins the email and the phones.
type twoSources struct {
	srv *slapdtest.Server
	csv string // the HR export the config reads (a copy the test may change)
	dir string
}

func newTwoSources(t *testing.T) *twoSources {
	t.Helper()
	srv, err := slapdtest.Start(t.Context(), slapdtest.Options{})
	if err != nil {
		t.Fatalf("start slapd: %v", err)
	}
	t.Cleanup(srv.Stop)
	ldif, err := os.ReadFile("../../examples/people.ldif")
	if err != nil {
		t.Fatal(err)
	}
	body := strings.TrimLeft(strings.TrimPrefix(string(ldif), "version: 1\n"), "\n")
	if err := srv.Add(t.Context(), strings.NewReader("dn: ou=people,dc=example,dc=com\nobjectClass: organizationalUnit\nou: people\n\n"+body)); err != nil {
		t.Fatalf("load the example directory: %v", err)
	}
	ts := &twoSources{srv: srv, dir: t.TempDir()}
	ts.csv = filepath.Join(ts.dir, "hr.csv")
	hr, err := os.ReadFile("../../examples/hr.csv")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ts.csv, hr, 0o644); err != nil {
		t.Fatal(err)
	}
	return ts
}

// config writes a config over the two sources and the store at dsn.
func (ts *twoSources) config(t *testing.T, name, dsn string) string {
	t.Helper()
	wasm := mappertest.Build(t, "../../mappings/default")
	env := "TEST_STORE_URL_" + strings.ReplaceAll(t.Name(), "/", "_") + "_" + name
	t.Setenv(env, dsn)
	t.Setenv("TEST_LDAP_PASSWORD", ts.srv.Password())
	src := fmt.Sprintf(`
store {
  url = env(%[1]q)
}
connector "hr_csv" {
  plugin = "file"
  config {
    path         = %[2]q
    id_attribute = "employee_id"
  }
}
connector "corp_ldap" {
  plugin = "ldap"
  config {
    url                 = %[3]q
    bind_dn             = %[4]q
    bind_password       = env("TEST_LDAP_PASSWORD")
    base_dn             = "ou=people,dc=example,dc=com"
    allow_insecure_bind = true
  }
}
mapping "default" {
  module   = %[5]q
  settings = { default_country_code = "49" }
}
sync "hr" {
  connector = connector.hr_csv
  mapping   = mapping.default
  schedule  = "0 * * * *"
}
sync "ad" {
  connector = connector.corp_ldap
  mapping   = mapping.default
  schedule  = "*/15 * * * *"
  people {
    create = false
    end    = false
    join   = ["employee_number", "email"]
  }
}
precedence {
  default = ["hr", "ad"]
  fields = {
    email        = ["ad", "hr"]
    phone_work   = ["ad", "hr"]
    phone_mobile = ["ad", "hr"]
    photo        = ["ad"]
  }
}
`, env, ts.csv, ts.srv.URL(), ts.srv.BindDN(), wasm)
	path := filepath.Join(ts.dir, name+".hcl")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

type joinSummary struct {
	summary
	Linked    int64 `json:"linked"`
	Joined    int64 `json:"joined"`
	Unmatched int64 `json:"unmatched"`
	Disputed  int64 `json:"disputed"`
	Rematched int64 `json:"rematched"`
}

func syncOne(t *testing.T, cfg, sync string) joinSummary {
	t.Helper()
	code, out, errOut := cli(t, "--config", cfg, "sync", "--sync", sync, "--output", "json")
	if code != 0 {
		t.Fatalf("sync %s exited %d\nstdout: %s\nstderr: %s", sync, code, out, errOut)
	}
	var s joinSummary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("sync --output json printed %q: %v", out, err)
	}
	// The run's own log line says how its records found their people too.
	if s.Joined > 0 && !strings.Contains(errOut, fmt.Sprintf(`"joined":%d,`, s.Joined)) {
		t.Errorf("sync %s joined %d, but its \"sync run finished\" line does not say so:\n%s", sync, s.Joined, errOut)
	}
	return s
}

// snapshot is every profile of a store as a person would see it, by employee number:
// its fields, whether it is live, and its manager's employee number.
func snapshot(t *testing.T, dsn string) map[string]string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `
		SELECT p.employee_number,
		       concat_ws('|', p.user_name, p.email, p.given_name, p.family_name, p.display_name, p.title,
		                 p.department, p.organization, p.phone_work, p.phone_mobile, p.locale, p.location,
		                 p.attributes::text, p.active, p.deleted_at IS NULL, coalesce(m.employee_number, '-'))
		  FROM profiles p LEFT JOIN profiles m ON m.id = p.manager_id`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	var emp, row string
	if _, err := pgx.ForEachRow(rows, []any{&emp, &row}, func() error {
		if _, dup := out[emp]; dup {
			t.Errorf("two profiles with employee number %s", emp)
		}
		out[emp] = row
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func queryRow(t *testing.T, dsn, sql string, args []any, dest ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, sql, args...).Scan(dest...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// An LDAP directory and an HR export over the same people give one profile per person,
// each field from the source that should win, whichever sync runs first and even when
// both run at once; disputed records are listed, not merged; a person HR drops ends, a
// person the directory drops keeps their profile with the directory's fields gone.
func TestTwoSourcesOneProfilePerPerson(t *testing.T) {
	ts := newTwoSources(t)
	dsn := pgtest.NewDatabase(t)
	cfg := ts.config(t, "main", dsn)

	if code, out, errOut := cli(t, "--config", cfg, "validate"); code != 0 {
		t.Fatalf("validate exited %d: %s%s", code, out, errOut)
	}
	hr := syncOne(t, cfg, "hr")
	if hr.Created != 252 || hr.Errors != 0 {
		t.Fatalf("HR's first run: %+v, want 252 created", hr)
	}
	// plan shows what the directory's first run would join, keep and dispute.
	code, out, errOut := cli(t, "--config", cfg, "plan", "--sync", "ad", "--details", "300")
	if code != 0 {
		t.Fatalf("plan exited %d: %s", code, errOut)
	}
	for _, want := range []string{"would join 247; keep 2 unmatched and 1 disputed", "  join    ", "  disputed Dmitri Dubois", " between profiles "} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	ad := syncOne(t, cfg, "ad")
	if ad.Created != 0 || ad.Joined != 247 || ad.Unmatched != 2 || ad.Disputed != 1 || ad.Errors != 0 {
		t.Fatalf("the directory's first run: %+v, want 247 joined, 2 unmatched, 1 disputed", ad)
	}
	first := snapshot(t, dsn)
	if len(first) != 252 {
		t.Fatalf("%d profiles, want 252 (one per person HR has)", len(first))
	}
	// Each field from the right source: HR's title (default order), the directory's
	// phone (HR has none) and email; HR's manager by employee number.
	var title, phone, email, manager string
	queryRow(t, dsn, `SELECT p.title, p.phone_work, p.email, m.employee_number FROM profiles p
		JOIN profiles m ON m.id = p.manager_id WHERE p.employee_number = 'E000004'`, nil, &title, &phone, &email, &manager)
	if title != "Lead Product Manager" || !strings.HasPrefix(phone, "+") || email == "" || manager == "" {
		t.Errorf("E000004: title %q, phone %q, email %q, manager %q", title, phone, email, manager)
	}
	// person shows where each value came from and what lost.
	code, out, errOut = cli(t, "--config", cfg, "person", "--output", "json", email)
	if code != 0 {
		t.Fatalf("person exited %d: %s", code, errOut)
	}
	var people struct {
		People []struct {
			Fields []struct {
				Field, Value, Source string
				Lost                 []struct{ Sync, Value string }
			}
			Links []struct{ Sync string }
		}
	}
	if err := json.Unmarshal([]byte(out), &people); err != nil || len(people.People) != 1 {
		t.Fatalf("person --output json: %v\n%s", err, out)
	}
	sources := map[string]string{}
	lostTo := map[string]string{}
	for _, f := range people.People[0].Fields {
		sources[f.Field] = f.Source
		if len(f.Lost) > 0 {
			lostTo[f.Field] = f.Lost[0].Sync
		}
	}
	if sources["title"] != "hr" || lostTo["title"] != "ad" || sources["phone_work"] != "ad" || sources["email"] != "ad" ||
		sources["attributes.cost_center"] != "hr" || len(people.People[0].Links) != 2 {
		t.Errorf("person: sources %v, lost to %v, %d links", sources, lostTo, len(people.People[0].Links))
	}
	// The disputed and unmatched records are listed with their candidates.
	code, out, errOut = cli(t, "--config", cfg, "pending", "--sync", "ad", "--output", "json")
	if code != 0 {
		t.Fatalf("pending exited %d: %s", code, errOut)
	}
	var pending struct {
		Pending []struct {
			Situation  string
			Name       string
			Keys       map[string]string
			Candidates []string
		}
	}
	if err := json.Unmarshal([]byte(out), &pending); err != nil {
		t.Fatal(err)
	}
	var situations []string
	for _, p := range pending.Pending {
		situations = append(situations, p.Situation+" "+p.Keys["employee_number"])
		if p.Situation == "disputed" && len(p.Candidates) != 2 {
			t.Errorf("the dispute names %d candidates, want the two HR rows with its mail", len(p.Candidates))
		}
	}
	slices.Sort(situations)
	if want := []string{"disputed E000248", "unmatched E000249", "unmatched E000250"}; !slices.Equal(situations, want) {
		t.Errorf("pending: %v, want %v", situations, want)
	}
	var e900001 string
	queryRow(t, dsn, `SELECT title FROM profiles WHERE employee_number = 'E900001'`, nil, &e900001)
	if e900001 != "Analyst" {
		t.Errorf("a disputed record was merged into a candidate: title %q", e900001)
	}

	// Unchanged re-runs write nothing.
	if again := syncOne(t, cfg, "ad"); again.Created+again.Updated+again.Joined != 0 || again.Unchanged != 250 {
		t.Errorf("the directory's unchanged run: %+v", again)
	}

	// Order does not matter: the directory first, then HR.
	dsn2 := pgtest.NewDatabase(t)
	cfg2 := ts.config(t, "reversed", dsn2)
	if first := syncOne(t, cfg2, "ad"); first.Unmatched != 250 || first.Created != 0 {
		t.Fatalf("the directory before HR: %+v, want 250 kept unmatched", first)
	}
	if then := syncOne(t, cfg2, "hr"); then.Created != 252 || then.Rematched != 247 {
		t.Fatalf("HR after the directory: %+v, want 252 created and 247 waiting records joined", then)
	}
	compareSnapshots(t, "HR then the directory", first, "the directory then HR", snapshot(t, dsn2))

	// Both at once, as two replicas would.
	dsn3 := pgtest.NewDatabase(t)
	cfg3 := ts.config(t, "concurrent", dsn3)
	var wg sync.WaitGroup
	codes := make([]int, 2)
	outs := make([]string, 2)
	for i, s := range []string{"hr", "ad"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var errOut string
			codes[i], _, errOut = cli(t, "--config", cfg3, "sync", "--sync", s, "--output", "json")
			outs[i] = errOut
		}()
	}
	wg.Wait()
	if codes[0] != 0 || codes[1] != 0 {
		t.Fatalf("concurrent runs exited %v:\n%s\n%s", codes, outs[0], outs[1])
	}
	compareSnapshots(t, "HR then the directory", first, "both at once", snapshot(t, dsn3))

	// HR drops a person: the profile ends, although the directory still has them.
	rows, err := os.ReadFile(ts.csv)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, line := range strings.Split(string(rows), "\n") {
		if !strings.HasPrefix(line, "E000010,") {
			kept = append(kept, line)
		}
	}
	if err := os.WriteFile(ts.csv, []byte(strings.Join(kept, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	if dropped := syncOne(t, cfg, "hr"); dropped.Deleted != 1 {
		t.Fatalf("HR's run without E000010: %+v, want 1 deleted", dropped)
	}
	var live bool
	queryRow(t, dsn, `SELECT deleted_at IS NULL FROM profiles WHERE employee_number = 'E000010'`, nil, &live)
	if live {
		t.Error("the profile HR dropped is still live")
	}

	// The directory drops a person: the profile stays, the directory's phone goes.
	conn, err := goldap.DialURL(ts.srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Bind(ts.srv.AdminDN(), ts.srv.AdminPassword()); err != nil {
		t.Fatal(err)
	}
	res, err := conn.Search(goldap.NewSearchRequest("ou=people,dc=example,dc=com", goldap.ScopeSingleLevel, goldap.NeverDerefAliases,
		0, 0, false, "(employeeNumber=E000020)", []string{"dn"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("find E000020 in the directory: %v, %d entries", err, len(res.Entries))
	}
	if err := conn.Del(goldap.NewDelRequest(res.Entries[0].DN, nil)); err != nil {
		t.Fatal(err)
	}
	if dropped := syncOne(t, cfg, "ad"); dropped.Deleted != 0 {
		t.Fatalf("the directory's run without E000020: %+v, want no profile deleted", dropped)
	}
	var phone20, title20 string
	queryRow(t, dsn, `SELECT deleted_at IS NULL, phone_work, title FROM profiles WHERE employee_number = 'E000020'`, nil, &live, &phone20, &title20)
	if !live || phone20 != "" || title20 == "" {
		t.Errorf("after the directory dropped E000020: live %v, phone %q (want HR's: none), title %q", live, phone20, title20)
	}
}

func compareSnapshots(t *testing.T, aName string, a map[string]string, bName string, b map[string]string) {
	t.Helper()
	if len(a) != len(b) {
		t.Errorf("%s has %d profiles, %s %d", aName, len(a), bName, len(b))
	}
	diffs := 0
	for emp, row := range a {
		if b[emp] != row && diffs < 5 {
			diffs++
			t.Errorf("%s differs:\n  %s: %s\n  %s: %s", emp, aName, row, bName, b[emp])
		}
	}
}

// A join key that the mapping never fills is reported, not silently unmatched.
func TestJoinKeyNobodyHas(t *testing.T) {
	ts := newTwoSources(t)
	dsn := pgtest.NewDatabase(t)
	cfg := ts.config(t, "keyless", dsn)
	raw, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(raw), `join   = ["employee_number", "email"]`, `join   = ["attributes.badge_id"]`, 1)
	if err := os.WriteFile(cfg, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	syncOne(t, cfg, "hr")
	code, out, errOut := cli(t, "--config", cfg, "sync", "--sync", "ad")
	if code != 0 {
		t.Fatalf("sync exited %d: %s", code, errOut)
	}
	if !strings.Contains(out, "250 records have no value for any join key, so they can never join a person") {
		t.Errorf("the summary does not say the key is missing:\n%s", out)
	}
}

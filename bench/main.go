// Command bench measures peoplesync against the machine's own limits: it starts a real
// slapd and a real Postgres (the helpers the tests use), loads N generated people, times
// the two physical limits (ldapsearch dumping everyone with paging, psql \copy loading as
// many profile rows) and then peoplesync's runs, each as the real binary in its own
// process, and prints one table of medians.
//
//	go run ./bench -n 100000 -runs 3        (make bench N=100000 RUNS=3)
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/peoplesync/peoplesync/bench/internal/procstat"
	"github.com/peoplesync/peoplesync/engine/mapper/mappertest"
	"github.com/peoplesync/peoplesync/engine/store/pgtest"
	"github.com/peoplesync/peoplesync/examples/peoplegen"
	"github.com/peoplesync/peoplesync/plugins/ldap/slapdtest"
)

func main() {
	n := flag.Int("n", 100000, "number of people")
	runs := flag.Int("runs", 3, "repetitions; the table shows medians")
	keep := flag.Bool("keep", false, "keep the work directory")
	mappingRounds := flag.Int("mapping-rounds", 3, "alternated rounds of the mapping time limit's cost (0: skip)")
	mappingOnly := flag.Bool("mapping-only", false, "measure only the mapping time limit's cost")
	sourcesOnly := flag.Bool("sources-only", false, "run only the initial sync (the two-source ratios' base) and the two-source case")
	sourcesRounds := flag.Int("sources-rounds", 1, "how many times to run the two-source case, each into a fresh database")
	flag.Parse()
	log.SetFlags(log.Ltime)
	if *mappingOnly {
		dir, err := os.MkdirTemp("", "peoplesync-bench-")
		if err == nil {
			defer os.RemoveAll(dir)
			err = (&world{dir: dir}).mappingTimeLimit(context.Background(), os.Stdout, *mappingRounds)
		}
		if err != nil {
			log.Fatalf("bench: %v", err)
		}
		return
	}
	opts := benchOptions{n: *n, runs: *runs, keep: *keep, mappingRounds: *mappingRounds,
		sourcesOnly: *sourcesOnly, sourcesRounds: max(*sourcesRounds, 1)}
	if *sourcesOnly {
		opts.mappingRounds = 0
	}
	if err := run(context.Background(), opts); err != nil {
		log.Fatalf("bench: %v", err)
	}
}

// pageSize is the page size of both the ldapsearch dump and the connector's paged search
// (and the server's size limit per page).
const pageSize = 1000

// sample is one measured run of one scenario.
type sample struct {
	wall          time.Duration
	rssKB         int64 // peak RSS of the peoplesync process
	connRSSKB     int64 // peak RSS of its connector subprocess
	rowsWritten   int64 // rows inserted, updated or deleted in the profile tables
	reported      result
	limitLDAP     time.Duration
	limitPSQL     time.Duration
	directorySize int
}

// result is what `peoplesync sync --output json` prints.
type result struct {
	Status    string `json:"status"`
	Processed int64  `json:"processed"`
	Created   int64  `json:"created"`
	Updated   int64  `json:"updated"`
	Unchanged int64  `json:"unchanged"`
	Skipped   int64  `json:"skipped"`
	Deleted   int64  `json:"deleted"`
	Errors    int64  `json:"errors"`
	Joined    int64  `json:"joined"`
	Unmatched int64  `json:"unmatched"`
}

// world is everything one bench run uses.
type world struct {
	dir      string
	bin      string
	pg       *pgtest.Server
	ldap     *slapdtest.Server
	people   []peoplegen.Person
	opts     peoplegen.Options
	peopleDN string
	churn    int // next person index to change in churn rounds
	logs     int // runs whose debug log was kept (BENCH_DEBUG_LOGS)
	runs     int // peoplesync runs so far (names BENCH_CPU_PROFILE's files)
	added    int
}

// benchOptions are the bench's flags.
type benchOptions struct {
	n, runs, mappingRounds int
	keep                   bool
	sourcesOnly            bool // only the initial sync and the two-source case
	sourcesRounds          int  // repetitions of the two-source case
}

func run(ctx context.Context, o benchOptions) error {
	n, runs, keep := o.n, o.runs, o.keep
	dir, err := os.MkdirTemp("", "peoplesync-bench-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(dir)
	}
	w := &world{dir: dir}

	log.Printf("building peoplesync and the default mapping module")
	w.bin = filepath.Join(dir, "peoplesync")
	if out, err := exec.Command("go", "build", "-o", w.bin, "./cmd/peoplesync").CombinedOutput(); err != nil {
		return fmt.Errorf("build peoplesync: %v\n%s", err, out)
	}
	wasm := filepath.Join(dir, "default.wasm")
	if err := mappertest.BuildFile("mappings/default", wasm); err != nil {
		return err
	}

	log.Printf("starting postgres and slapd")
	if w.pg, err = pgtest.Start(ctx, "", 0); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	defer w.pg.Stop()
	if w.ldap, err = slapdtest.Start(ctx, slapdtest.Options{SizeLimit: pageSize}); err != nil {
		return fmt.Errorf("start slapd: %w", err)
	}
	defer w.ldap.Stop()

	log.Printf("generating and loading %d people", n)
	w.peopleDN = "ou=people," + w.ldap.BaseDN()
	w.opts = peoplegen.Defaults(n)
	w.opts.BaseDN = w.peopleDN
	w.people = peoplegen.Generate(w.opts)
	ou := fmt.Sprintf("dn: %s\nobjectClass: organizationalUnit\nou: people\n", w.peopleDN)
	if err := w.ldap.Add(ctx, strings.NewReader(ou)); err != nil {
		return err
	}
	var ldif bytes.Buffer
	if err := peoplegen.WriteLDIF(&ldif, w.opts, w.people); err != nil {
		return err
	}
	start := time.Now()
	if err := w.ldap.Add(ctx, &ldif); err != nil {
		return err
	}
	log.Printf("loaded in %s", time.Since(start).Round(time.Millisecond))
	// A first search after slapd starts reads its database from disk; neither the limit
	// nor peoplesync should be measured against a cold server.
	if _, _, err := w.ldapsearchDump(ctx); err != nil {
		return fmt.Errorf("warm-up dump: %w", err)
	}
	if err := w.writeCSV(filepath.Join(dir, "profiles.csv")); err != nil {
		return err
	}

	scenarios := []string{"initial full sync", "unchanged full sync", "delta sync, 1% changed", "full sync, 1% deleted + 1% added"}
	if o.sourcesOnly {
		scenarios = scenarios[:1]
	}
	samples := make(map[string][]sample)
	var limitsLDAP, limitsPSQL []time.Duration
	for r := 0; r < runs; r++ {
		log.Printf("run %d of %d", r+1, runs)
		db := fmt.Sprintf("bench%d", r)
		if err := pgtest.DropDatabase(ctx, w.pg.DSN("postgres"), db); err != nil {
			return err
		}
		if err := pgtest.CreateDatabase(ctx, w.pg.DSN("postgres"), db); err != nil {
			return err
		}
		cfg, err := w.writeConfig(r, w.pg.DSN(db), wasm)
		if err != nil {
			return err
		}
		if out, err := exec.Command(w.bin, "--config", cfg, "migrate").CombinedOutput(); err != nil {
			return fmt.Errorf("migrate: %v\n%s", err, out)
		}
		// A limit is the best the machine does: the fastest of three tries (which makes
		// every ratio to it stricter than a median would).
		var ldapLimit, psqlLimit time.Duration
		var count int
		for try := range limitTries {
			d, c, err := w.ldapsearchDump(ctx)
			if err != nil {
				return err
			}
			if try == 0 || d < ldapLimit {
				ldapLimit, count = d, c
			}
			p, err := w.psqlCopy(ctx, w.pg.DSN(db))
			if err != nil {
				return err
			}
			if try == 0 || p < psqlLimit {
				psqlLimit = p
			}
		}
		limitsLDAP, limitsPSQL = append(limitsLDAP, ldapLimit), append(limitsPSQL, psqlLimit)
		log.Printf("  limits: ldapsearch %d entries in %s, psql \\copy in %s", count, ldapLimit.Round(time.Millisecond), psqlLimit.Round(time.Millisecond))

		for i, sc := range scenarios {
			switch i {
			case 2:
				if err := w.changeOnePercent(ctx); err != nil {
					return err
				}
			case 3:
				if err := w.deleteAndAddOnePercent(ctx); err != nil {
					return err
				}
			}
			s, err := w.sync(ctx, cfg, w.pg.DSN(db), i == 2)
			if err != nil {
				return fmt.Errorf("%s: %w", sc, err)
			}
			log.Printf("  %-34s %8s  rss %4d MB  connector %4d MB  rows %7d  %+v", sc, s.wall.Round(time.Millisecond),
				s.rssKB/1024, s.connRSSKB/1024, s.rowsWritten, s.reported)
			samples[sc] = append(samples[sc], s)
			if err := settle(ctx, w.pg.DSN(db)); err != nil {
				return err
			}
		}
	}

	ldapLimit, psqlLimit := median(limitsLDAP), median(limitsPSQL)
	printTable(os.Stdout, n, runs, ldapLimit, psqlLimit, scenarios, samples)
	var initials []time.Duration
	for _, s := range samples[scenarios[0]] {
		initials = append(initials, s.wall)
	}
	for range o.sourcesRounds {
		if err := w.twoSources(ctx, wasm, median(initials), ldapLimit); err != nil {
			return err
		}
	}
	return w.mappingTimeLimit(ctx, os.Stdout, o.mappingRounds)
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func medianInt(xs []int64) int64 {
	s := append([]int64(nil), xs...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func printTable(w io.Writer, n, runs int, ldapLimit, psqlLimit time.Duration, scenarios []string, samples map[string][]sample) {
	host, _ := os.Hostname()
	fmt.Fprintf(w, "\npeoplesync bench, %s, N=%d, median of %d, %d CPUs (%s, %s)\n\n", time.Now().UTC().Format("2006-01-02"), n, runs, runtime.NumCPU(), runtime.GOOS+"/"+runtime.GOARCH, host)
	fmt.Fprintf(w, "| what | wall | vs limit | target | peoplesync RSS | connector RSS | rows written |\n")
	fmt.Fprintf(w, "|---|---:|---:|---|---:|---:|---:|\n")
	fmt.Fprintf(w, "| limit: ldapsearch paged dump | %s | | | | | |\n", secs(ldapLimit))
	fmt.Fprintf(w, "| limit: psql \\copy of the profile rows | %s | | | | | |\n", secs(psqlLimit))
	initial := time.Duration(0)
	for i, sc := range scenarios {
		ss := samples[sc]
		var walls []time.Duration
		var rss, crss, rows []int64
		for _, s := range ss {
			walls = append(walls, s.wall)
			rss, crss, rows = append(rss, s.rssKB), append(crss, s.connRSSKB), append(rows, s.rowsWritten)
		}
		wall := median(walls)
		var ratio, target string
		switch i {
		case 0:
			initial = wall
			r := float64(wall) / float64(ldapLimit+psqlLimit)
			ratio, target = fmt.Sprintf("%.2f× (dump+copy)", r), verdict(r <= 1.5, "≤ 1.5×")
		case 1:
			r := float64(wall) / float64(ldapLimit)
			ratio, target = fmt.Sprintf("%.2f× dump", r), verdict(r <= 1.2 && medianInt(rows) == 0, "≤ 1.2×, 0 rows")
		case 2:
			r := float64(wall) / float64(initial)
			ratio, target = fmt.Sprintf("%.1f%% of initial", r*100), verdict(r <= 0.10, "≤ 10%")
		case 3:
			r := float64(wall) / float64(ldapLimit+psqlLimit)
			ratio, target = fmt.Sprintf("%.2f× (dump+copy)", r), "—"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %d MB | %d MB | %d |\n", sc, secs(wall), ratio, target,
			medianInt(rss)/1024, medianInt(crss)/1024, medianInt(rows))
	}
	fmt.Fprintln(w)
}

func verdict(ok bool, target string) string {
	if ok {
		return target + " ✓"
	}
	return target + " ✗"
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// writeConfig writes the sync.hcl of one run.
func (w *world) writeConfig(r int, dsn, wasm string) (string, error) {
	src := fmt.Sprintf(`
store {
  url = %q
}
connector "corp" {
  plugin = "ldap"
  config {
    url           = %q
    bind_dn       = %q
    bind_password = %q
    base_dn       = %q
    page_size     = %d
    flavor        = "openldap"
    # The bench's slapd listens on loopback only.
    allow_insecure_bind = true
  }
}
mapping "default" {
  module   = %q
  settings = { email_domain = "example.com", default_country_code = "49" }
}
sync "people" {
  connector = connector.corp
  mapping   = mapping.default
  schedule  = "@hourly"
  deletion {
    max_count   = %d
    max_percent = 50
  }
}
`, dsn, w.ldap.URL(), w.ldap.BindDN(), w.ldap.Password(), w.peopleDN, pageSize, wasm, len(w.people))
	path := filepath.Join(w.dir, fmt.Sprintf("sync%d.hcl", r))
	return path, os.WriteFile(path, []byte(src), 0o644)
}

// ldapsearchDump times ldapsearch paging through every person, and counts them.
func (w *world) ldapsearchDump(ctx context.Context) (time.Duration, int, error) {
	cmd := exec.CommandContext(ctx, "ldapsearch", "-x", "-LLL", "-H", w.ldap.URL(), "-D", w.ldap.BindDN(),
		"-w", w.ldap.Password(), "-b", w.peopleDN, "-E", fmt.Sprintf("pr=%d/noprompt", pageSize), "(objectClass=inetOrgPerson)")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, 0, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, fmt.Errorf("ldapsearch: %w", err)
	}
	count := 0
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		if bytes.HasPrefix(sc.Bytes(), []byte("dn: ")) || bytes.HasPrefix(sc.Bytes(), []byte("dn:: ")) {
			count++
		}
	}
	if err := cmd.Wait(); err != nil {
		return 0, 0, fmt.Errorf("ldapsearch: %w: %s", err, stderr.String())
	}
	return time.Since(start), count, nil
}

// writeCSV writes one profile row per person, the input of the psql \copy limit.
func (w *world) writeCSV(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	cw := csv.NewWriter(bufio.NewWriter(f))
	for _, p := range w.people {
		attrs, _ := json.Marshal(map[string]string{"employee_type": "employee"})
		_ = cw.Write([]string{p.UID, p.Mail, p.GivenName, p.FamilyName, p.GivenName + " " + p.FamilyName, p.Title,
			p.Department, "Example Corp", p.EmployeeNumber, p.Phone, p.Mobile, p.Language, "", p.City, "true", string(attrs)})
	}
	cw.Flush()
	return cw.Error()
}

// limitTries is how many times each run measures each limit.
const limitTries = 3

// settle runs, untimed, the VACUUM ANALYZE that autovacuum would run after a sync that
// wrote many rows (100k after an initial sync), so that it does not land on the CPU of the
// next timed run: a scheduled sync, an hour later, meets a settled database.
func settle(ctx context.Context, dsn string) error {
	cmd := exec.CommandContext(ctx, "psql", "-q", "-v", "ON_ERROR_STOP=1", dsn, "-c",
		"VACUUM (ANALYZE) profiles, profile_links, profile_images")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("vacuum between runs: %v\n%s", err, out)
	}
	return nil
}

// psqlCopy times psql's \copy of the profile rows into a table shaped like profiles.
func (w *world) psqlCopy(ctx context.Context, dsn string) (time.Duration, error) {
	setup := exec.CommandContext(ctx, "psql", "-q", "-v", "ON_ERROR_STOP=1", dsn, "-c",
		"DROP TABLE IF EXISTS bench_copy; CREATE TABLE bench_copy (LIKE profiles INCLUDING ALL);")
	if out, err := setup.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("psql: %v\n%s", err, out)
	}
	cols := "user_name,email,given_name,family_name,display_name,title,department,organization,employee_number,phone_work,phone_mobile,locale,timezone,location,active,attributes"
	cmd := exec.CommandContext(ctx, "psql", "-q", "-v", "ON_ERROR_STOP=1", dsn, "-c",
		fmt.Sprintf(`\copy bench_copy (%s) from '%s' with (format csv, force_not_null (%s))`,
			cols, filepath.Join(w.dir, "profiles.csv"), strings.TrimSuffix(cols, ",active,attributes")))
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("psql \\copy: %v\n%s", err, out)
	}
	d := time.Since(start)
	cleanup := exec.CommandContext(ctx, "psql", "-q", dsn, "-c", "DROP TABLE bench_copy")
	_ = cleanup.Run()
	return d, nil
}

// sync runs `peoplesync sync` once and measures it.
func (w *world) sync(ctx context.Context, cfg, dsn string, delta bool) (sample, error) {
	return w.syncNamed(ctx, cfg, dsn, "people", delta)
}

// syncNamed runs one sync of cfg and measures it.
func (w *world) syncNamed(ctx context.Context, cfg, dsn, name string, delta bool) (sample, error) {
	before, err := rowsWritten(ctx, dsn)
	if err != nil {
		return sample{}, err
	}
	level := "warn"
	if os.Getenv("BENCH_DEBUG_LOGS") != "" {
		level = "debug" // and the run's log is kept in the work directory (with -keep)
	}
	args := []string{"--config", cfg, "--log-format", "json", "--log-level", level, "sync", "--sync", name, "--output", "json"}
	if delta {
		args = append(args, "--delta")
	}
	w.runs++
	if os.Getenv("BENCH_CPU_PROFILE") != "" {
		// A developer's look at a slow run: go tool pprof on the work directory's file.
		args = append([]string{"--cpu-profile", filepath.Join(w.dir, fmt.Sprintf("run%02d-%s.pprof", w.runs, name))}, args...)
	}
	cmd := exec.CommandContext(ctx, w.bin, args...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return sample{}, err
	}
	stop := make(chan struct{})
	peaks := make(chan procstat.Peaks, 1)
	go func() { peaks <- procstat.Watch(cmd.Process.Pid, stop) }()
	err = cmd.Wait()
	wall := time.Since(start)
	close(stop)
	p := <-peaks
	s := sample{wall: wall, rssKB: p.SelfKB, connRSSKB: p.ChildKB}
	if err != nil {
		return s, fmt.Errorf("peoplesync sync: %v\n%s%s", err, out.String(), stderr.String())
	}
	if err := json.Unmarshal(out.Bytes(), &s.reported); err != nil {
		return s, fmt.Errorf("peoplesync printed %q: %w", out.String(), err)
	}
	if os.Getenv("BENCH_DEBUG_LOGS") != "" {
		w.logs++
		_ = os.WriteFile(filepath.Join(w.dir, fmt.Sprintf("run%02d-%s.log", w.logs, name)), stderr.Bytes(), 0o644)
	}
	after, err := settledRowsWritten(ctx, dsn, before)
	if err != nil {
		return s, err
	}
	s.rowsWritten = after - before
	return s, nil
}

// rowsWritten sums the rows inserted, updated and deleted in the profile tables, as the
// server's statistics count them.
func rowsWritten(ctx context.Context, dsn string) (int64, error) {
	out, err := exec.CommandContext(ctx, "psql", "-qtA", dsn, "-c",
		`SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables
		  WHERE relname IN ('profiles', 'profile_links', 'profile_images')`).Output()
	if err != nil {
		return 0, fmt.Errorf("read statistics: %w", err)
	}
	return strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
}

// settledRowsWritten reads the statistics until they stop moving: a backend reports its
// counts when its connection ends, which is just after the client exits.
func settledRowsWritten(ctx context.Context, dsn string, before int64) (int64, error) {
	last, err := rowsWritten(ctx, dsn)
	if err != nil {
		return 0, err
	}
	deadline := time.Now().Add(3 * time.Second)
	stable := 0
	for time.Now().Before(deadline) && stable < 3 {
		time.Sleep(100 * time.Millisecond)
		cur, err := rowsWritten(ctx, dsn)
		if err != nil {
			return 0, err
		}
		if cur == last {
			stable++
		} else {
			stable = 0
		}
		last = cur
	}
	return last, nil
}

// admin binds to slapd as its administrator.
func (w *world) admin() (*goldap.Conn, error) {
	conn, err := goldap.DialURL(w.ldap.URL())
	if err != nil {
		return nil, err
	}
	if err := conn.Bind(w.ldap.AdminDN(), w.ldap.AdminPassword()); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// changeOnePercent gives 1% of the people a new title.
func (w *world) changeOnePercent(ctx context.Context) error {
	conn, err := w.admin()
	if err != nil {
		return err
	}
	defer conn.Close()
	k := max(1, len(w.people)/100)
	for i := 0; i < k; i++ {
		p := &w.people[(w.churn+i)%len(w.people)]
		req := goldap.NewModifyRequest(p.DN(w.peopleDN), nil)
		req.Replace("title", []string{fmt.Sprintf("Title %d-%d", w.churn, i)})
		if err := conn.Modify(req); err != nil {
			return fmt.Errorf("modify %s: %w", p.DN(w.peopleDN), err)
		}
	}
	w.churn += k
	return ctx.Err()
}

// deleteAndAddOnePercent deletes 1% of the people and adds as many new ones.
func (w *world) deleteAndAddOnePercent(ctx context.Context) error {
	conn, err := w.admin()
	if err != nil {
		return err
	}
	defer conn.Close()
	k := max(1, len(w.people)/100)
	// Delete from the end (people without reports), add new people under the top.
	keep := len(w.people) - k
	for _, p := range w.people[keep:] {
		if err := conn.Del(goldap.NewDelRequest(p.DN(w.peopleDN), nil)); err != nil {
			return fmt.Errorf("delete %s: %w", p.DN(w.peopleDN), err)
		}
	}
	w.people = w.people[:keep]
	o := w.opts
	o.N, o.Seed = k, uint64(1000+w.added)
	fresh := peoplegen.Generate(o)
	for i := range fresh {
		p := &fresh[i]
		p.UID = fmt.Sprintf("new%d.%s", w.added, p.UID)
		w.added++
		req := goldap.NewAddRequest(p.DN(w.peopleDN), nil)
		req.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "inetOrgPerson"})
		req.Attribute("uid", []string{p.UID})
		req.Attribute("cn", []string{p.GivenName + " " + p.FamilyName})
		req.Attribute("sn", []string{p.FamilyName})
		req.Attribute("givenName", []string{p.GivenName})
		req.Attribute("displayName", []string{p.GivenName + " " + p.FamilyName})
		req.Attribute("title", []string{p.Title})
		req.Attribute("ou", []string{p.Department})
		req.Attribute("manager", []string{w.people[0].DN(w.peopleDN)})
		if p.Mail != "" {
			req.Attribute("mail", []string{p.Mail})
		}
		if err := conn.Add(req); err != nil {
			return fmt.Errorf("add %s: %w", p.DN(w.peopleDN), err)
		}
		w.people = append(w.people, *p)
	}
	return ctx.Err()
}

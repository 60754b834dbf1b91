package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/peoplesync/peoplesync/engine/store/pgtest"
)

// twoSources measures issue 11's case: the directory's people plus an HR export of the
// same people by employee number, HR creating and the directory joining. It prints its
// table: the joining source's first run against the single-source initial sync, and
// each source's unchanged re-run against its own read limit (the ldapsearch dump; for
// the file, `peoplesync check`, which reads and counts it through the connector).
func (w *world) twoSources(ctx context.Context, wasm string, singleInitial, ldapLimit time.Duration) error {
	log.Printf("two sources: the directory plus an HR export of the same people")
	csvPath := filepath.Join(w.dir, "hr.csv")
	rows, err := w.writeHRExport(csvPath)
	if err != nil {
		return err
	}
	const db = "bench_sources"
	if err := pgtest.DropDatabase(ctx, w.pg.DSN("postgres"), db); err != nil {
		return err
	}
	if err := pgtest.CreateDatabase(ctx, w.pg.DSN("postgres"), db); err != nil {
		return err
	}
	dsn := w.pg.DSN(db)
	cfg := filepath.Join(w.dir, "sources.hcl")
	src := fmt.Sprintf(`
store {
  url = %q
}
connector "hr_csv" {
  plugin = "file"
  config {
    path         = %q
    id_attribute = "employee_id"
  }
}
connector "corp" {
  plugin = "ldap"
  config {
    url                 = %q
    bind_dn             = %q
    bind_password       = %q
    base_dn             = %q
    page_size           = %d
    flavor              = "openldap"
    allow_insecure_bind = true
  }
}
mapping "default" {
  module   = %q
  settings = { email_domain = "example.com", default_country_code = "49" }
}
sync "hr" {
  connector = connector.hr_csv
  mapping   = mapping.default
  schedule  = "@hourly"
}
sync "people" {
  connector = connector.corp
  mapping   = mapping.default
  schedule  = "@hourly"
  people {
    create = false
    end    = false
    join   = ["employee_number"]
  }
}
precedence {
  default = ["hr", "people"]
  fields  = { email = ["people", "hr"], phone_work = ["people", "hr"], photo = ["people"] }
}
`, dsn, csvPath, w.ldap.URL(), w.ldap.BindDN(), w.ldap.Password(), w.peopleDN, pageSize, wasm)
	if err := os.WriteFile(cfg, []byte(src), 0o644); err != nil {
		return err
	}
	if out, err := exec.Command(w.bin, "--config", cfg, "migrate").CombinedOutput(); err != nil {
		return fmt.Errorf("migrate: %v\n%s", err, out)
	}
	var fileLimit time.Duration
	for try := range limitTries {
		start := time.Now()
		if out, err := exec.CommandContext(ctx, w.bin, "--config", cfg, "--log-level", "warn", "check", "--connector", "hr_csv").CombinedOutput(); err != nil {
			return fmt.Errorf("check hr_csv: %v\n%s", err, out)
		}
		if d := time.Since(start); try == 0 || d < fileLimit {
			fileLimit = d
		}
	}
	type step struct {
		name, sync string
		s          sample
	}
	steps := []step{{name: "HR export, initial (creates)", sync: "hr"}, {name: "directory, first run (joins)", sync: "people"},
		{name: "HR export, unchanged", sync: "hr"}, {name: "directory, unchanged", sync: "people"}}
	for i := range steps {
		if i == 1 && os.Getenv("BENCH_PG_LOG") != "" {
			if err := w.logStatements(ctx, dsn, db); err != nil {
				return err
			}
		}
		s, err := w.syncNamed(ctx, cfg, dsn, steps[i].sync, false)
		if err != nil {
			return fmt.Errorf("%s: %w", steps[i].name, err)
		}
		steps[i].s = s
		log.Printf("  %-34s %8s  rss %4d MB  rows %7d  %+v", steps[i].name, s.wall.Round(time.Millisecond), s.rssKB/1024, s.rowsWritten, s.reported)
		if err := settle(ctx, dsn); err != nil {
			return err
		}
	}
	if os.Getenv("BENCH_PG_LOG") != "" {
		if b, err := os.ReadFile(w.pg.LogPath()); err == nil {
			_ = os.WriteFile(filepath.Join(w.dir, "postgres.log"), b, 0o644)
		}
	}
	fmt.Printf("two sources: %d people in slapd, %d HR rows joined by employee number\n\n", len(w.people), rows)
	fmt.Printf("| what | wall | vs limit | target | peoplesync RSS | rows written | joined / unmatched |\n|---|---:|---:|---|---:|---:|---:|\n")
	fmt.Printf("| limit: ldapsearch paged dump | %s | | | | | |\n", secs(ldapLimit))
	fmt.Printf("| limit: peoplesync check of the HR export | %s | | | | | |\n", secs(fileLimit))
	for i, st := range steps {
		var ratio, target string
		switch i {
		case 1:
			r := float64(st.s.wall) / float64(singleInitial)
			ratio, target = fmt.Sprintf("%.2f× single-source initial (%s)", r, secs(singleInitial)), verdict(r <= 1.5, "≤ 1.5×")
		case 2:
			r := float64(st.s.wall) / float64(fileLimit)
			ratio, target = fmt.Sprintf("%.2f× check", r), verdict(r <= 1.2 && st.s.rowsWritten == 0, "≤ 1.2×, 0 rows")
		case 3:
			r := float64(st.s.wall) / float64(ldapLimit)
			ratio, target = fmt.Sprintf("%.2f× dump", r), verdict(r <= 1.2 && st.s.rowsWritten == 0, "≤ 1.2×, 0 rows")
		}
		fmt.Printf("| %s | %s | %s | %s | %d MB | %d | %d / %d |\n", st.name, secs(st.s.wall), ratio, target,
			st.s.rssKB/1024, st.s.rowsWritten, st.s.reported.Joined, st.s.reported.Unmatched)
	}
	fmt.Println()
	return nil
}

// logStatements makes the server log every statement of the joining run with its
// duration, and the plans of the slow ones (BENCH_PG_LOG, a developer's look at where
// the run's time goes in Postgres); the log is copied to the work directory at the end.
func (w *world) logStatements(ctx context.Context, dsn, db string) error {
	for _, q := range []string{
		`ALTER DATABASE ` + db + ` SET log_min_duration_statement = 0`,
		`ALTER DATABASE ` + db + ` SET session_preload_libraries = 'auto_explain'`,
		`ALTER DATABASE ` + db + ` SET auto_explain.log_min_duration = '30ms'`,
		`ALTER DATABASE ` + db + ` SET auto_explain.log_analyze = on`,
		`ALTER DATABASE ` + db + ` SET auto_explain.log_nested_statements = on`,
	} {
		if out, err := exec.CommandContext(ctx, "psql", "-q", "-v", "ON_ERROR_STOP=1", dsn, "-c", q).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v\n%s", q, err, out)
		}
	}
	return nil
}

// writeHRExport writes the HR export of the directory's people that have an employee
// number there (people the bench added later have none), managers by employee number.
func (w *world) writeHRExport(path string) (int, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	bw := bufio.NewWriter(f)
	cw := csv.NewWriter(bw)
	_ = cw.Write([]string{"employee_id", "username", "first_name", "last_name", "email", "job_title", "department", "cost_center", "manager_id", "status"})
	n := 0
	for _, p := range w.people {
		if strings.HasPrefix(p.UID, "new") || p.EmployeeNumber == "" {
			continue
		}
		manager := ""
		if m := p.ManagerIndex; m >= 0 && m < len(w.people) && !strings.HasPrefix(w.people[m].UID, "new") {
			manager = w.people[m].EmployeeNumber
		}
		status := "active"
		if p.Disabled {
			status = "inactive"
		}
		_ = cw.Write([]string{p.EmployeeNumber, p.UID, p.GivenName, p.FamilyName, p.Mail, "HR " + p.Title, p.Department,
			fmt.Sprintf("CC-%d", len(p.Department)*7), manager, status})
		n++
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return 0, err
	}
	return n, bw.Flush()
}

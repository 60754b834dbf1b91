package pgtest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

func query(t *testing.T, dsn, sql string, dest any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, sql).Scan(dest); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestNewDatabaseIsolates(t *testing.T) {
	t.Parallel()
	a, b := NewDatabase(t), NewDatabase(t)
	if a == b {
		t.Fatalf("two databases share a DSN: %s", a)
	}
	var n int
	query(t, a, "SELECT 1", &n)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE TABLE only_in_a (x int)"); err != nil {
		t.Fatal(err)
	}
	var exists bool
	query(t, b, "SELECT to_regclass('only_in_a') IS NOT NULL", &exists)
	if exists {
		t.Fatal("a table created in one test database is visible in another")
	}
}

func TestStartIsIdempotentAndStopStops(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base, err := os.MkdirTemp("/tmp", "pgtest-persist-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "pg")

	s1, err := Start(ctx, dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s1.Stop() })
	if err := CreateDatabase(ctx, s1.DSN("postgres"), "app"); err != nil {
		t.Fatal(err)
	}
	if err := CreateDatabase(ctx, s1.DSN("postgres"), "app"); err != nil {
		t.Fatalf("second CreateDatabase: %v", err)
	}

	s2, err := Start(ctx, dir, 0)
	if err != nil {
		t.Fatalf("second Start on a running cluster: %v", err)
	}
	if s2.Port() != s1.Port() || s2.DSN("app") != s1.DSN("app") {
		t.Fatalf("second Start found port %d, first started on %d", s2.Port(), s1.Port())
	}
	var n int
	query(t, s2.DSN("app"), "SELECT 1", &n)

	if err := StopDir(dir); err != nil {
		t.Fatal(err)
	}
	if err := StopDir(dir); err != nil {
		t.Fatalf("StopDir on a stopped cluster: %v", err)
	}
	if _, err := pgx.Connect(ctx, s1.DSN("app")); err == nil {
		t.Fatal("connected to a stopped server")
	}
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); err != nil {
		t.Fatalf("stopping a persistent cluster removed it: %v", err)
	}

	// A restart keeps the data.
	s3, err := Start(ctx, dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	var exists bool
	query(t, s3.DSN("postgres"), "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'app')", &exists)
	if !exists {
		t.Fatal("database app is gone after a restart")
	}
	if err := s3.Stop(); err != nil {
		t.Fatal(err)
	}
}

func TestWithDatabase(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"postgres://u@h:5/postgres?sslmode=disable", "postgres://u@h:5/x?sslmode=disable"},
		{"postgresql://u@h/", "postgresql://u@h/x"},
		{"host=h dbname=postgres user=u", "host=h user=u dbname=x"},
		{"host=h user=u", "host=h user=u dbname=x"},
	}
	for _, tt := range tests {
		got, err := WithDatabase(tt.in, "x")
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("WithDatabase(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestRestartKeepsCommittedData shuts a server of the test's own down both ways and
// checks that it comes back on the same DSN with what was committed, without what was
// in flight, and (for a crash) after WAL recovery.
func TestRestartKeepsCommittedData(t *testing.T) {
	t.Parallel()
	for _, mode := range []ShutdownMode{Clean, Crash} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			s := NewServer(t)
			if err := CreateDatabase(ctx, s.DSN("postgres"), "app"); err != nil {
				t.Fatal(err)
			}
			dsn, port := s.DSN("app"), s.Port()
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(context.Background())
			if _, err := conn.Exec(ctx, "CREATE TABLE t (x int); INSERT INTO t VALUES (1)"); err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Exec(ctx, "BEGIN; INSERT INTO t VALUES (2)"); err != nil {
				t.Fatal(err)
			}

			if err := s.Shutdown(ctx, mode); err != nil {
				t.Fatal(err)
			}
			if err := s.Shutdown(ctx, mode); err != nil {
				t.Fatalf("second Shutdown: %v", err)
			}
			if _, err := conn.Exec(ctx, "COMMIT"); err == nil {
				t.Fatal("a session survived the shutdown")
			}
			if c, err := pgx.Connect(ctx, dsn); err == nil {
				c.Close(ctx)
				t.Fatal("connected to a server that is down")
			}
			if err := s.Resume(ctx); err != nil {
				t.Fatal(err)
			}
			if err := s.Resume(ctx); err != nil {
				t.Fatalf("second Resume: %v", err)
			}
			if s.Port() != port || s.DSN("app") != dsn {
				t.Fatalf("resumed on port %d, was %d", s.Port(), port)
			}
			var sum int
			query(t, dsn, "SELECT coalesce(sum(x), 0) FROM t", &sum)
			if sum != 1 {
				t.Fatalf("after a %s restart sum(x) = %d, want 1 (committed row only)", mode, sum)
			}

			log, err := os.ReadFile(filepath.Join(s.dir, "server.log"))
			if err != nil {
				t.Fatal(err)
			}
			recovered := strings.Contains(string(log), "not properly shut down")
			if recovered != (mode == Crash) {
				t.Fatalf("%s restart: crash recovery ran = %v, want %v; server log:\n%s", mode, recovered, mode == Crash, log)
			}

			if err := s.Restart(ctx, mode); err != nil {
				t.Fatal(err)
			}
			query(t, dsn, "SELECT coalesce(sum(x), 0) FROM t", &sum)
			if sum != 1 {
				t.Fatalf("after Restart sum(x) = %d, want 1", sum)
			}
		})
	}
}

package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDatabaseURL names the environment variable holding an admin DSN of a running server
// on which NewDatabase creates its databases instead of starting a server of its own.
const EnvDatabaseURL = "PEOPLESYNC_TEST_DATABASE_URL"

// shared is the server a test binary starts on its first NewDatabase, stopped by Main.
var shared struct {
	once   sync.Once
	mu     sync.Mutex
	server *Server
	admin  string
	err    error
}

// adminDSN returns the DSN on which to create test databases, starting the binary's
// server on first use.
func adminDSN() (string, error) {
	if dsn := os.Getenv(EnvDatabaseURL); dsn != "" {
		return dsn, nil
	}
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		s, err := Start(ctx, "", 0)
		shared.mu.Lock()
		defer shared.mu.Unlock()
		if err != nil {
			shared.err = err
			return
		}
		shared.server, shared.admin = s, s.DSN("postgres")
	})
	shared.mu.Lock()
	defer shared.mu.Unlock()
	return shared.admin, shared.err
}

// Main runs the tests of a package and stops the server NewDatabase started, if any. Call
// it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
func Main(m *testing.M) {
	os.Exit(Run(m))
}

// Run is Main for a TestMain that has cleanup of its own to do: it runs the tests, stops
// the server NewDatabase started and returns the exit code.
func Run(m *testing.M) int {
	code := m.Run()
	shared.mu.Lock()
	s := shared.server
	shared.server = nil
	shared.mu.Unlock()
	if s != nil {
		if err := s.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// NewDatabase creates a fresh, empty database for t, drops it when t ends, and returns
// its DSN. It fails t (it never skips) when no server can be had.
func NewDatabase(t testing.TB) string {
	t.Helper()
	admin, err := adminDSN()
	if err != nil {
		t.Fatalf("pgtest: no PostgreSQL for tests: %v", err)
	}
	name := databaseName(t.Name())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := CreateDatabase(ctx, admin, name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := DropDatabase(ctx, admin, name); err != nil {
			t.Error(err)
		}
	})
	dsn, err := WithDatabase(admin, name)
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

// NewServer starts a server of t's own, in a temporary directory, and stops it when t
// ends. Use it, not NewDatabase, for a test that shuts the server down or restarts it
// (Shutdown, Resume, Restart), which would disturb the other tests on a shared server.
// Its commits are synchronous (fsync stays off), so that a Crash loses no committed
// transaction, as a crash of the server's processes (not of the machine) would not; with
// the asynchronous commits of a shared server it loses the last few hundred milliseconds.
// Without PostgreSQL binaries it fails t; PEOPLESYNC_TEST_DATABASE_URL does not apply.
func NewServer(t testing.TB) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := startServer(ctx, "", 0, true)
	if err != nil {
		t.Fatalf("pgtest: start a server: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// CreateDatabase creates database name through the admin DSN; an existing database is
// left as it is.
func CreateDatabase(ctx context.Context, admin, name string) error {
	return withConn(ctx, admin, func(conn *pgx.Conn) error {
		var exists bool
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
			return fmt.Errorf("pgtest: look up database %s: %w", name, err)
		}
		if exists {
			return nil
		}
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			return fmt.Errorf("pgtest: create database %s: %w", name, err)
		}
		return nil
	})
}

// DropDatabase drops database name through the admin DSN, disconnecting its sessions.
func DropDatabase(ctx context.Context, admin, name string) error {
	return withConn(ctx, admin, func(conn *pgx.Conn) error {
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("pgtest: drop database %s: %w", name, err)
		}
		return nil
	})
}

// WithDatabase returns dsn (a URL or a key=value string) naming database name instead.
func WithDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("pgtest: parse DSN: %w", err)
		}
		u.Path = "/" + name
		return u.String(), nil
	}
	re := regexp.MustCompile(`(^|\s)dbname=\S*`)
	kv := re.ReplaceAllString(dsn, "")
	return strings.TrimSpace(kv) + " dbname=" + name, nil
}

func withConn(ctx context.Context, dsn string, fn func(*pgx.Conn) error) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("pgtest: connect: %w", err)
	}
	defer conn.Close(context.Background())
	return fn(conn)
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9_]+`)

// databaseName returns a unique database name that hints at the test it belongs to.
func databaseName(test string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	hint := unsafeChars.ReplaceAllString(strings.ToLower(test), "_")
	if len(hint) > 40 {
		hint = hint[len(hint)-40:]
	}
	return "t_" + hex.EncodeToString(b[:]) + "_" + strings.Trim(hint, "_")
}

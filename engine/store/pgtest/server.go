// Package pgtest runs throwaway PostgreSQL servers for tests and local runs, and hands
// each test a fresh database of its own.
//
// A Server is a PostgreSQL cluster in a directory, started with pg_ctl on a loopback port
// with its unix socket in the data directory and durability turned off (fsync=off and
// friends): fast, and fine for data nobody needs after a crash. initdb refuses to run as
// root, so when the process is root the server's programs run as the unprivileged
// "postgres" user (or "nobody") and the data directory is chowned to it.
//
// Tests call NewDatabase, which creates a database on the server named by the environment
// variable PEOPLESYNC_TEST_DATABASE_URL (an admin DSN) or else on one server started
// lazily per test binary and stopped by Main, called from TestMain. A test that takes the
// database away mid-test calls NewServer for a server of its own, then Shutdown and Resume
// (or Restart), each Clean (an operator's restart) or Crash (the server's processes die and
// the next start recovers from the WAL); the cluster comes back on the same port and DSNs.
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Superuser is the cluster's superuser that initdb creates and the DSNs connect as.
const Superuser = "postgres"

// settings are the server options for a throwaway cluster: durability off, enough
// connections for parallel tests.
var settings = []string{
	"fsync=off",
	"synchronous_commit=off",
	"full_page_writes=off",
	"max_connections=200",
	"shared_buffers=64MB",
	"max_wal_size=1GB",
	"logging_collector=off",
}

// tempPrefix names the temporary directories of servers Start creates; each holds the
// cluster in data/ and the PID of the process that started it in owner.pid.
const tempPrefix = "pgtest-"

func ownerFile(tmp string) string { return filepath.Join(tmp, "owner.pid") }

// reapOrphans stops and removes the temporary servers whose starting process is gone (a
// test binary that crashed or was killed before Main could stop its server).
func reapOrphans() {
	dirs, _ := filepath.Glob(filepath.Join("/tmp", tempPrefix+"*"))
	for _, tmp := range dirs {
		b, err := os.ReadFile(ownerFile(tmp))
		if err != nil {
			continue // not ours, or not yet written
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || syscall.Kill(pid, 0) == nil || !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			continue // its owner lives (or we cannot tell)
		}
		if StopDir(filepath.Join(tmp, "data")) == nil {
			_ = os.RemoveAll(tmp)
		}
	}
}

// Server is a PostgreSQL cluster in a directory, running on a loopback port.
type Server struct {
	dir     string // data directory
	port    int
	bin     string // directory of initdb, pg_ctl, postgres
	cred    *syscall.Credential
	ownsDir bool // dir is a temporary directory that Stop removes
	// syncCommit turns synchronous_commit back on, so that a Crash loses no committed
	// transaction (fsync stays off: the WAL reaches the kernel, which outlives the server).
	syncCommit bool
}

// Start starts the cluster in dir on port and returns it once it accepts connections.
// If dir is "", Start creates a temporary directory that Stop removes. If dir holds no
// cluster yet, Start runs initdb there. If the cluster in dir is already running, Start
// returns it as it is (on the port it runs on). Port 0 picks a free port.
func Start(ctx context.Context, dir string, port int) (*Server, error) {
	return startServer(ctx, dir, port, false)
}

func startServer(ctx context.Context, dir string, port int, syncCommit bool) (*Server, error) {
	bin, err := findBinaries()
	if err != nil {
		return nil, err
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, bin: bin, cred: cred, syncCommit: syncCommit}
	if dir == "" {
		reapOrphans()
		tmp, err := os.MkdirTemp("/tmp", tempPrefix)
		if err != nil {
			return nil, fmt.Errorf("pgtest: create data directory: %w", err)
		}
		s.dir, s.ownsDir = tmp, true
		// The unprivileged server user must traverse it to reach data/.
		if err := os.Chmod(tmp, 0o755); err != nil {
			_ = os.RemoveAll(tmp)
			return nil, fmt.Errorf("pgtest: %w", err)
		}
		if err := os.WriteFile(ownerFile(tmp), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			_ = os.RemoveAll(tmp)
			return nil, fmt.Errorf("pgtest: %w", err)
		}
		// initdb wants the directory empty: the cluster lives one level down.
		s.dir = filepath.Join(tmp, "data")
	} else {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, fmt.Errorf("pgtest: data directory %s: %w", dir, err)
		}
		s.dir = abs
	}
	if err := s.start(ctx, port); err != nil {
		if s.ownsDir {
			_ = os.RemoveAll(filepath.Dir(s.dir))
		}
		return nil, err
	}
	return s, nil
}

func (s *Server) start(ctx context.Context, port int) error {
	if running, p := s.running(ctx); running {
		s.port = p
		return nil
	}
	if _, err := os.Stat(filepath.Join(s.dir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if err := s.initdb(ctx); err != nil {
			return err
		}
	} else if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	if port != 0 {
		return s.listen(ctx, port)
	}
	// A free port may be taken before the server binds it: try a few.
	var err error
	for range 3 {
		p, ferr := freePort()
		if ferr != nil {
			return ferr
		}
		if err = s.listen(ctx, p); err == nil {
			return nil
		}
	}
	return err
}

// listen starts the server on port.
func (s *Server) listen(ctx context.Context, port int) error {
	s.port = port
	opts := []string{"-p", strconv.Itoa(port), "-k", s.dir, "-c", "listen_addresses=127.0.0.1"}
	for _, set := range settings {
		opts = append(opts, "-c", set)
	}
	if s.syncCommit {
		opts = append(opts, "-c", "synchronous_commit=on")
	}
	logFile := filepath.Join(s.dir, "server.log")
	if err := s.run(ctx, "pg_ctl", "start", "-w", "-t", "60", "-D", s.dir, "-l", logFile,
		"-o", strings.Join(opts, " ")); err != nil {
		log, _ := os.ReadFile(logFile)
		return fmt.Errorf("%w\nserver log %s:\n%s", err, logFile, tail(log, 2000))
	}
	return nil
}

// initdb creates a cluster in s.dir, owned by the user the server runs as.
func (s *Server) initdb(ctx context.Context) error {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return fmt.Errorf("pgtest: create data directory: %w", err)
	}
	if s.cred != nil {
		// The unprivileged user must reach the directory through its parents.
		if err := os.Chmod(s.dir, 0o700); err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
		if err := os.Chown(s.dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return fmt.Errorf("pgtest: chown data directory: %w", err)
		}
		if err := checkTraversable(filepath.Dir(s.dir)); err != nil {
			return err
		}
	}
	return s.run(ctx, "initdb", "-D", s.dir, "-U", Superuser, "--auth=trust",
		"--no-locale", "--encoding=UTF8", "--no-sync", "--no-instructions")
}

// running reports whether the cluster in s.dir is running, and on which port.
func (s *Server) running(ctx context.Context) (bool, int) {
	pid, err := os.ReadFile(filepath.Join(s.dir, "postmaster.pid"))
	if err != nil {
		return false, 0
	}
	if s.run(ctx, "pg_ctl", "status", "-D", s.dir) != nil {
		return false, 0
	}
	// Line 4 of postmaster.pid is the port.
	lines := strings.Split(string(pid), "\n")
	if len(lines) < 4 {
		return false, 0
	}
	port, err := strconv.Atoi(strings.TrimSpace(lines[3]))
	if err != nil {
		return false, 0
	}
	return true, port
}

// LogPath is the server's log file.
func (s *Server) LogPath() string { return filepath.Join(s.dir, "server.log") }

// Port is the TCP port the server listens on (on 127.0.0.1).
func (s *Server) Port() int { return s.port }

// DSN returns the URL to connect to database db as the superuser.
func (s *Server) DSN(db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(Superuser),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Stop stops the server (fast shutdown) and, if Start created its directory, removes it.
// Stopping a server that is not running is not an error.
func (s *Server) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if running, _ := s.running(ctx); running {
		if err := s.run(ctx, "pg_ctl", "stop", "-w", "-m", "fast", "-D", s.dir); err != nil {
			return err
		}
	}
	if s.ownsDir {
		if err := os.RemoveAll(filepath.Dir(s.dir)); err != nil {
			return fmt.Errorf("pgtest: remove data directory: %w", err)
		}
	}
	return nil
}

// ShutdownMode says how Shutdown stops a server.
type ShutdownMode int

const (
	// Clean is pg_ctl's fast shutdown: sessions are ended, in-flight transactions roll
	// back, and a checkpoint is written, as when an operator restarts the database.
	Clean ShutdownMode = iota
	// Crash is pg_ctl's immediate shutdown: every process quits at once without a
	// checkpoint, and the next start replays the WAL, as after a crash of the server.
	Crash
)

func (m ShutdownMode) String() string {
	if m == Crash {
		return "immediate"
	}
	return "fast"
}

// Shutdown stops the server the way mode says but keeps its data directory and port, so
// that Resume brings the same cluster back on the same DSNs. Clients see their sessions
// end. Shutting down a server that is not running is not an error.
func (s *Server) Shutdown(ctx context.Context, mode ShutdownMode) error {
	if running, _ := s.running(ctx); !running {
		return nil
	}
	return s.run(ctx, "pg_ctl", "stop", "-w", "-t", "60", "-m", mode.String(), "-D", s.dir)
}

// Resume starts a server that Shutdown stopped, on the port it had, and returns once it
// accepts connections (after crash recovery if it crashed). Resuming a running server
// does nothing.
func (s *Server) Resume(ctx context.Context) error {
	if running, _ := s.running(ctx); running {
		return nil
	}
	if s.port == 0 {
		return errors.New("pgtest: resume a server that was never started")
	}
	return s.listen(ctx, s.port)
}

// Restart is Shutdown in mode, then Resume.
func (s *Server) Restart(ctx context.Context, mode ShutdownMode) error {
	if err := s.Shutdown(ctx, mode); err != nil {
		return err
	}
	return s.Resume(ctx)
}

// StopDir stops the cluster in dir if it is running; it does nothing otherwise.
func StopDir(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	bin, err := findBinaries()
	if err != nil {
		return err
	}
	cred, err := credential()
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("pgtest: data directory %s: %w", dir, err)
	}
	s := &Server{dir: abs, bin: bin, cred: cred}
	return s.Stop()
}

// run runs one of the server's programs as the server's user and returns its output in
// the error if it fails.
func (s *Server) run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(s.bin, name), args...)
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), "LC_ALL=C", "PGTZ=UTC")
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pgtest: %s %s: %w\n%s", name, strings.Join(args, " "), err, tail(out.Bytes(), 2000))
	}
	return nil
}

// findBinaries returns the directory holding initdb, pg_ctl and postgres: the one of
// pg_ctl on PATH, else the newest /usr/lib/postgresql/*/bin.
func findBinaries() (string, error) {
	have := func(dir string) bool {
		for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
			if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		// /usr/local/bin/pg_ctl may be a symlink into the real installation.
		if real, err := filepath.EvalSymlinks(p); err == nil && have(filepath.Dir(real)) {
			return filepath.Dir(real), nil
		}
		if have(filepath.Dir(p)) {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	best, bestVersion := "", -1
	for _, d := range dirs {
		v, err := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		if err == nil && v > bestVersion && have(d) {
			best, bestVersion = d, v
		}
	}
	if best == "" {
		return "", errors.New("pgtest: PostgreSQL server binaries (initdb, pg_ctl, postgres) not found " +
			"on PATH or in /usr/lib/postgresql/*/bin: install PostgreSQL (e.g. apt-get install postgresql) " +
			"or set PEOPLESYNC_TEST_DATABASE_URL to an admin DSN of a running server")
	}
	return best, nil
}

// credential returns the unprivileged user to run the server as when we are root, nil
// otherwise.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	var errs []error
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("pgtest: user %s: %w", name, err)
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, fmt.Errorf("pgtest: running as root and no unprivileged user to run PostgreSQL as: %w", errors.Join(errs...))
}

// checkTraversable fails if some directory from dir up to / is not searchable by others,
// which would keep the unprivileged server user out of its data directory.
func checkTraversable(dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("pgtest: %s is not traversable by the unprivileged PostgreSQL user (mode %v): "+
				"choose a data directory whose parents are world-searchable", d, fi.Mode().Perm())
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

package connhost_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peoplesync/peoplesync/engine/connhost"
	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/connectortest"
	"github.com/peoplesync/peoplesync/sdk/protocol"
)

// syncBuffer is a log destination safe for the plugin's log goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start starts a plugin served by this test binary and kills it at the end of the test.
func start(t testing.TB, spec connhost.Spec, logs *syncBuffer) *connhost.Process {
	t.Helper()
	p, err := connhost.Start(t.Context(), spec, options(logs))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(p.Kill)
	return p
}

func options(logs *syncBuffer) connhost.Options {
	opts := connhost.Options{Executable: os.Args[0], Logger: slog.New(slog.DiscardHandler)}
	if logs != nil {
		opts.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return opts
}

// eventually polls cond until it holds or a deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func fixture(t testing.TB, name string) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("..", "..", "plugins", "file", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBundledFileConformsAcrossTheProcessBoundary(t *testing.T) {
	path := fixture(t, "people.ldif")
	// The records as the in-process connector reads them: the suite checks the
	// subprocess returns exactly those.
	want := readInProcess(t, path)
	connectortest.Run(t, connectortest.Harness{
		New: func(t *testing.T) connector.Connector {
			return start(t, connhost.Spec{Name: "hr", Plugin: "file"}, nil)
		},
		Config:       json.RawMessage(`{"path": ` + quote(path) + `}`),
		Want:         want,
		BadConfig:    json.RawMessage(`{}`),
		BadAttribute: "path",
	})
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func readInProcess(t *testing.T, path string) []connector.Record {
	t.Helper()
	p := start(t, connhost.Spec{Name: "hr", Plugin: "file"}, nil)
	if d, err := p.Configure(t.Context(), json.RawMessage(`{"path": `+quote(path)+`}`)); err != nil || d.HasErrors() {
		t.Fatalf("Configure: %v %+v", err, d)
	}
	var got []connector.Record
	res, err := p.Read(t.Context(), connector.ReadRequest{}, func(r connector.Record) error {
		got = append(got, r)
		return nil
	})
	if err != nil || res.Count != 3 || len(got) != 3 {
		t.Fatalf("Read: %v, count %d, %d records; want 3", err, res.Count, len(got))
	}
	return got
}

func TestCrashMidStreamIsAnIncompleteRead(t *testing.T) {
	logs := &syncBuffer{}
	p := start(t, connhost.Spec{Name: "crashy", Plugin: "crasher"}, logs)
	n := 0
	_, err := p.Read(t.Context(), connector.ReadRequest{}, func(connector.Record) error { n++; return nil })
	if !errors.Is(err, protocol.ErrIncompleteRead) {
		t.Fatalf("Read = %v, want ErrIncompleteRead", err)
	}
	if !strings.Contains(err.Error(), `connector "crashy"`) {
		t.Errorf("Read error %q does not name the connector", err)
	}
	if n >= 1200 {
		t.Errorf("emitted %d records of a read that died", n)
	}
	eventually(t, "the process has exited", p.Exited)

	_, err = p.Read(t.Context(), connector.ReadRequest{}, func(connector.Record) error { return nil })
	if !errors.Is(err, protocol.ErrIncompleteRead) || !strings.Contains(err.Error(), "has exited") {
		t.Errorf("Read on a dead process = %v, want ErrIncompleteRead saying it exited", err)
	}
	// The plugin's slog line reached the host's logger, at its level, named.
	eventually(t, "the plugin's log line arrives", func() bool {
		return strings.Contains(logs.String(), `"level":"INFO","msg":"crasher reading"`)
	})
	if !strings.Contains(logs.String(), `"connector":"crashy"`) {
		t.Errorf("plugin logs do not name the connector:\n%s", logs)
	}
}

func TestCancelStopsTheReadInTheSubprocess(t *testing.T) {
	p := start(t, connhost.Spec{Name: "slow", Plugin: "hanger"}, nil)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	_, err := p.Read(ctx, connector.ReadRequest{}, func(connector.Record) error { cancel(); return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Read = %v, want context.Canceled", err)
	}
	// The hanger's Check succeeds once its Read has seen the cancellation.
	eventually(t, "the plugin's Read saw the cancellation", func() bool {
		return p.Check(t.Context()) == nil
	})
	if p.Exited() {
		t.Error("cancelling a read killed the process")
	}
}

func TestKillIsIdempotent(t *testing.T) {
	p := start(t, connhost.Spec{Name: "hr", Plugin: "file"}, nil)
	p.Kill()
	p.Kill()
	if !p.Exited() {
		t.Error("Exited() = false after Kill")
	}
	_, err := p.Read(t.Context(), connector.ReadRequest{}, func(connector.Record) error { return nil })
	if !errors.Is(err, protocol.ErrIncompleteRead) {
		t.Errorf("Read after Kill = %v, want ErrIncompleteRead", err)
	}
}

// script writes an executable shell script that leaves a marker when it runs.
func script(t *testing.T, mode os.FileMode) (path, marker string) {
	t.Helper()
	dir := t.TempDir()
	path = filepath.Join(dir, "connector.sh")
	marker = filepath.Join(dir, "ran")
	if err := os.WriteFile(path, []byte("#!/bin/sh\ntouch "+marker+"\n"), mode); err != nil {
		t.Fatal(err)
	}
	return path, marker
}

func sha(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestWrongChecksumFailsBeforeStart(t *testing.T) {
	path, marker := script(t, 0o755)
	wrong := strings.Repeat("ab", 32)
	_, err := connhost.Start(t.Context(), connhost.Spec{Name: "ext", Path: path, SHA256: wrong}, options(nil))
	if !errors.Is(err, connhost.ErrChecksumMismatch) {
		t.Fatalf("Start = %v, want ErrChecksumMismatch", err)
	}
	for _, part := range []string{`connector "ext"`, path, "expected sha256 " + wrong, "the file has " + sha(t, path)} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not say %q", err, part)
		}
	}
	if _, err := os.Stat(marker); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the binary ran despite the wrong checksum (marker: %v)", err)
	}
}

// wrapper writes an external plugin: a script that runs this test binary as the bundled
// connector name (a plugin's environment is minimal, so the binary cannot be told by a
// variable).
func wrapper(t *testing.T, body string) string {
	t.Helper()
	bin, err := filepath.Abs(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "connector.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\nBIN="+bin+"\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExternalBinaryWithChecksum(t *testing.T) {
	exe := wrapper(t, `exec "$BIN" plugin file`)
	p, err := connhost.Start(t.Context(), connhost.Spec{Name: "ext", Path: exe, SHA256: "sha256:" + sha(t, exe)}, connhost.Options{})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer p.Kill()
	d, err := p.Describe(t.Context())
	if err != nil || d.Name != "file" {
		t.Fatalf("Describe = %+v, %v", d, err)
	}
}

func TestLaunchErrorsReadClearly(t *testing.T) {
	notExec, _ := script(t, 0o644)
	notPlugin, marker := script(t, 0o755)
	tests := []struct {
		name   string
		spec   connhost.Spec
		is     error
		saying []string
	}{
		{"missing binary", connhost.Spec{Name: "ext", Path: "./no/such/connector"}, fs.ErrNotExist,
			[]string{`connector "ext"`, "./no/such/connector", "does not exist"}},
		{"not executable", connhost.Spec{Name: "ext", Path: notExec}, nil,
			[]string{`connector "ext"`, notExec, "not executable"}},
		{"directory", connhost.Spec{Name: "ext", Path: t.TempDir() + "/"}, nil,
			[]string{`connector "ext"`, "is a directory"}},
		{"not a plugin", connhost.Spec{Name: "ext", Path: notPlugin}, nil,
			[]string{`connector "ext"`, notPlugin, "did not start as a peoplesync connector"}},
		{"bad checksum syntax", connhost.Spec{Name: "ext", Path: notPlugin, SHA256: "abc"}, nil,
			[]string{`connector "ext"`, "64 hex digits"}},
		{"unknown bundled connector", connhost.Spec{Name: "dir", Plugin: "ldapp"}, nil,
			[]string{`connector "dir"`, os.Args[0], `no bundled connector "ldapp"`, "file"}},
		{"protocol version mismatch", connhost.Spec{Name: "old", Plugin: "wrongversion"}, nil,
			[]string{`connector "old"`, os.Args[0], "version"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := connhost.Start(t.Context(), tt.spec, options(nil))
			if err == nil {
				p.Kill()
				t.Fatal("Start succeeded")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("Start = %v, want it to wrap %v", err, tt.is)
			}
			for _, s := range tt.saying {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Start error %q does not say %q", err, s)
				}
			}
			t.Log(err)
		})
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("the non-plugin script did not run: %v", err)
	}
}

func TestStartHonoursCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := connhost.Start(ctx, connhost.Spec{Name: "hr", Plugin: "file"}, options(nil))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Start = %v, want context.Canceled", err)
	}
}

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestUpDownIdempotent(t *testing.T) {
	base, err := os.MkdirTemp("/tmp", "devpg-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "pg")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	t.Cleanup(func() {
		_ = run(context.Background(), []string{"down", "--dir", dir}, &bytes.Buffer{}, &bytes.Buffer{})
	})

	up := func() string {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := run(ctx, []string{"up", "--dir", dir, "--port", "0"}, &out, &errOut); err != nil {
			t.Fatalf("up: %v\n%s", err, errOut.String())
		}
		return strings.TrimSpace(out.String())
	}
	first := up()
	if !strings.HasPrefix(first, "postgres://") || !strings.Contains(first, "/"+Database+"?") {
		t.Fatalf("up printed %q, want a DSN of database %s", first, Database)
	}
	if second := up(); second != first {
		t.Fatalf("second up printed %q, first %q", second, first)
	}
	for range 2 {
		if err := run(ctx, []string{"down", "--dir", dir}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
			t.Fatalf("down: %v", err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "postmaster.pid")); !os.IsNotExist(err) {
		t.Fatalf("server still running after down (postmaster.pid: %v)", err)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{nil, {"sideways"}, {"down", "--port", "1"}, {"up", "extra"}} {
		if err := run(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Errorf("run(%q) succeeded, want an error", args)
		}
	}
}

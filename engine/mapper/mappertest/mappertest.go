// Package mappertest builds mapping modules for tests.
package mappertest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Build compiles the Go package in pkgDir (a path relative to the test's working
// directory, or absolute) into a WASI reactor module in a temporary directory and returns
// the module's path. The go command's build cache makes repeated builds fast.
func Build(t testing.TB, pkgDir string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(pkgDir)+".wasm")
	if err := BuildFile(pkgDir, out); err != nil {
		t.Fatalf("mappertest: %v", err)
	}
	return out
}

// BuildFile compiles the Go package in pkgDir into the module file out, for callers
// without a testing.TB (a TestMain building modules once for a whole package).
func BuildFile(pkgDir, out string) error {
	abs, err := filepath.Abs(pkgDir)
	if err != nil {
		return err
	}
	if out, err = filepath.Abs(out); err != nil {
		return err
	}
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, ".")
	cmd.Dir = abs
	cmd.Env = append(withoutGoEnv(os.Environ()), "GOOS=wasip1", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s: %w\n%s", pkgDir, err, msg)
	}
	return nil
}

// withoutGoEnv drops the caller's GOOS, GOARCH and CGO_ENABLED, which Build sets itself.
func withoutGoEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if strings.HasPrefix(kv, "GOOS=") || strings.HasPrefix(kv, "GOARCH=") || strings.HasPrefix(kv, "CGO_ENABLED=") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

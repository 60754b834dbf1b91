// Package mappertest builds mapping modules for tests and runs a module's golden cases
// through the sandbox.
package mappertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peoplesync/peoplesync/engine/mapper"
	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/mapping/mappingtest"
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

// CheckGoldens builds the mapping module in pkgDir, compiles it with engine/mapper and
// maps each case through the sandbox, one subtest per case: every outcome must be the
// golden file in goldenDir that the module's native test (mappingtest.Native) checks, so
// that the WASM build and the native function cannot drift apart. A mapping's own error
// (*mapper.RecordError) is the outcome's error; any other error (a trap, a failed
// configuration) fails the case. It skips in -short mode, as building a module takes
// seconds.
func CheckGoldens(t *testing.T, pkgDir, goldenDir string, cases []mappingtest.Case) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a WASM module")
	}
	ctx := context.Background()
	m, err := mapper.Compile(ctx, Build(t, pkgDir), mapper.Options{CacheDir: t.TempDir(), Instances: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(ctx)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			mp, err := m.NewMapper(ctx, []byte(c.Settings))
			if err != nil {
				t.Fatal(err)
			}
			defer mp.Close(ctx)
			res := mp.Map(ctx, []connector.Record{c.Record})[0]
			o := mappingtest.Outcome{Profile: res.Profile, Skip: res.SkipReason}
			var recErr *mapper.RecordError
			if errors.As(res.Err, &recErr) {
				o.Error = recErr.Message
			} else if res.Err != nil {
				t.Fatalf("not the mapping's own error: %v", res.Err)
			}
			mappingtest.Check(t, goldenDir, c.Name, o, false)
		})
	}
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

package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzLoad feeds arbitrary files to the loader. Whatever the input, a load returns (no
// panic, no stack overflow) within a bounded time, every diagnostic has a position in the
// file, and no diagnostic is longer than its bounded summary and detail allow. The
// committed corpus (testdata/fuzz/FuzzLoad) and the fixtures of testdata run in every
// go test.
func FuzzLoad(f *testing.F) {
	for _, glob := range []string{"testdata/valid/*.hcl", "testdata/invalid/*.hcl"} {
		paths, _ := filepath.Glob(glob)
		for _, p := range paths {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		start := time.Now()
		cfg, diags := newTestParser().Parse(src, "testdata/valid/fuzz.hcl")
		if d := time.Since(start); d > loadBound {
			t.Errorf("Parse of %d bytes took %v", len(src), d)
		}
		if cfg == nil || cfg.Files == nil {
			t.Fatal("Parse returned no Config or no Files")
		}
		for _, d := range diags {
			if len(d.Summary) > maxDiagnosticText+40 || len(d.Detail) > maxDiagnosticText+40 {
				t.Errorf("diagnostic of %d+%d bytes", len(d.Summary), len(d.Detail))
			}
			if d.Subject == nil || !strings.HasSuffix(d.Subject.Filename, "fuzz.hcl") && d.Subject.Filename != "" {
				t.Errorf("diagnostic without a position in the file: %s", FormatDiagnostic(d))
			}
		}
	})
}

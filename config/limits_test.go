package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// loadBound is how long loading a file at the limits may take: about 0.3 s on this
// machine kind, 1 s under the race detector; the old code crashed or took 93 s.
var loadBound = 2 * time.Second * raceFactor

// loadBounded parses src and fails the test if it took longer than a load may take.
func loadBounded(t *testing.T, src string) string {
	t.Helper()
	start := time.Now()
	_, diags := newTestParser().Parse([]byte(src), "big.hcl")
	if d := time.Since(start); d > loadBound {
		t.Errorf("Parse took %v", d)
	}
	if !diags.HasErrors() {
		t.Fatal("want an error, got none")
	}
	got := FormatDiagnostics(diags)
	if len(got) > 2000 {
		t.Errorf("diagnostics are %d bytes long:\n%.500s…", len(got), got)
	}
	return got
}

const limitsHead = `store { url = "x" }
connector "c" { plugin = "file" }
`

// TestDeepNestingIsAnError: 100,000 nested brackets ended in "fatal error: stack
// overflow"; now the load stops at the bracket that goes too deep.
func TestDeepNestingIsAnError(t *testing.T) {
	t.Parallel()
	for name, src := range map[string]string{
		"brackets":       "x = " + strings.Repeat("[", 100000) + strings.Repeat("]", 100000),
		"mixed":          "x = " + strings.Repeat("{a=[(", 20000),
		"interpolations": "x = " + strings.Repeat(`"${`, 50000),
		"unary":          "x = " + strings.Repeat("-", 100000) + "1",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := loadBounded(t, limitsHead+"mapping \"m\" {\n  settings = { "+src+" }\n}\n")
			if !strings.Contains(got, "error: Nesting too deep") || !strings.HasPrefix(got, "big.hcl:4:") {
				t.Errorf("diagnostics:\n%s", got)
			}
		})
	}
}

// TestLongListIsAnError: a settings list of 5M items took 93 s and 3.9 GB; its file is
// now too large, and a list that fits in the file but holds more than MaxItems is an
// error on its opening bracket.
func TestLongListIsAnError(t *testing.T) {
	t.Parallel()
	t.Run("5M items", func(t *testing.T) {
		t.Parallel()
		got := loadBounded(t, limitsHead+"mapping \"m\" {\n  settings = { x = ["+strings.Repeat("1,", 5_000_000)+"] }\n}\n")
		if want := "big.hcl:1:1: error: Configuration file too large: The file is 10000094 bytes; a configuration file may hold at most 262144 (256 KiB).\n"; got != want {
			t.Errorf("diagnostics:\n%s\nwant:\n%s", got, want)
		}
	})
	t.Run("20k items", func(t *testing.T) {
		t.Parallel()
		got := loadBounded(t, limitsHead+"mapping \"m\" {\n  settings = { x = ["+strings.Repeat("1,", 20_000)+"] }\n}\n")
		if want := "big.hcl:4:20: error: Too many items: This holds more than 10000 items"; !strings.HasPrefix(got, want) {
			t.Errorf("diagnostics:\n%s\nwant:\n%s", got, want)
		}
	})
	t.Run("lines of a block", func(t *testing.T) {
		t.Parallel()
		got := loadBounded(t, limitsHead+"mapping \"m\" {\n"+strings.Repeat("\n", 20000)+"}\n")
		if want := "big.hcl:3:13: error: Too many items"; !strings.HasPrefix(got, want) {
			t.Errorf("diagnostics:\n%s\nwant:\n%s", got, want)
		}
	})
}

// TestLongStringIsNotEchoed: a 50 MB string was echoed whole in a diagnostic; such a
// file is now too large, and a long string that fits is quoted cut short.
func TestLongStringIsNotEchoed(t *testing.T) {
	t.Parallel()
	t.Run("50 MB", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		path := filepath.Join(dir, "sync.hcl")
		// A sparse file: Load must refuse it by its size, whatever it holds.
		f, err := os.Create(path)
		if err == nil {
			err = f.Truncate(50 << 20)
		}
		if err == nil {
			err = f.Close()
		}
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		cfg, diags := newTestParser().Load(path)
		if d := time.Since(start); d > loadBound {
			t.Errorf("Load took %v", d)
		}
		got := FormatDiagnostics(diags)
		if want := path + ":1:1: error: Cannot read configuration file: " + path + " is larger than 262144 bytes (256 KiB)\n"; got != want {
			t.Errorf("diagnostics:\n%.500s\nwant:\n%s", got, want)
		}
		if cfg.Files == nil {
			t.Error("Files is nil")
		}
		src := limitsHead + `sync "s" { schedule = "` + strings.Repeat("x", 50<<20) + "\" }\n"
		_, diags = newTestParser().Parse([]byte(src), "big.hcl")
		if got := FormatDiagnostics(diags); !strings.HasPrefix(got, "big.hcl:1:1: error: Configuration file too large") || len(got) > 200 {
			t.Errorf("Parse diagnostics:\n%.500s", got)
		}
	})
	t.Run("20 kB", func(t *testing.T) {
		t.Parallel()
		long := strings.Repeat("x", 20_000)
		got := loadBounded(t, limitsHead+"mapping \"m\" { module = \"m\" }\nsync \"s\" {\n  connector = connector.c\n  mapping = mapping.m\n  schedule = \""+long+"\"\n  timezone = \""+long+"\"\n  timeout = \""+long+"\"\n}\n")
		for _, want := range []string{
			`error: Invalid cron schedule: schedule "` + long[:MaxQuoted] + `"… (20000 bytes) is not a valid schedule. Use`,
			`error: Unknown timezone: timezone "` + long[:MaxQuoted] + `"… (20000 bytes) is not an IANA`,
			`error: Invalid duration: timeout must be a duration like "30m" or "1h30m"; "` + long[:MaxQuoted] + `"… (20000 bytes) is not one.`,
		} {
			if !strings.Contains(got, want) {
				t.Errorf("diagnostics:\n%s\nwant one holding:\n%s", got, want)
			}
		}
	})
}

// TestFileFunctionSizeLimit: file() reads at most MaxFileSize bytes.
func TestFileFunctionSizeLimit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "big.txt"), make([]byte, MaxFileSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	_, diags := newTestParser().Parse([]byte(`store { url = file("big.txt") }`), filepath.Join(dir, "sync.hcl"))
	if got := FormatDiagnostics(diags); !strings.Contains(got, "is larger than 262144 bytes") {
		t.Errorf("diagnostics:\n%s", got)
	}
}

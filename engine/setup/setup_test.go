package setup

import (
	"testing"

	"github.com/peoplesync/peoplesync/config"
	"github.com/peoplesync/peoplesync/engine"
)

// TestGuardFromDeletionBlock: every limit of the deletion block, max_error_percent
// included, reaches the engine's guard; none is a hard-coded default.
func TestGuardFromDeletionBlock(t *testing.T) {
	t.Parallel()
	src := `
store {
  url = "postgres://unused"
}
connector "hr" {
  plugin = "file"
}
mapping "m" {
  module = "setup_test.go"
}
sync "people" {
  connector = connector.hr
  mapping   = mapping.m
  schedule  = "@hourly"
  deletion {
    max_count         = 7
    max_percent       = 3.5
    max_error_percent = 12.5
  }
}
sync "defaults" {
  connector = connector.hr
  mapping   = mapping.m
  schedule  = "@hourly"
}
`
	cfg, diags := config.Parse([]byte(src), "sync.hcl")
	if diags.HasErrors() {
		t.Fatal(config.FormatDiagnostics(diags))
	}
	if got, want := Guard(cfg.Sync("people").Deletion), (engine.Guard{MaxCount: 7, MaxPercent: 3.5, MaxErrorPercent: 12.5}); got != want {
		t.Errorf("Guard = %+v, want %+v", got, want)
	}
	if got := Guard(cfg.Sync("defaults").Deletion); got != engine.DefaultGuard {
		t.Errorf("Guard of a sync without a deletion block = %+v, want engine.DefaultGuard %+v", got, engine.DefaultGuard)
	}
}

package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/peoplesync/peoplesync/engine"
	"github.com/peoplesync/peoplesync/engine/store"
)

// A run stopped by Ctrl-C says "interrupted", and one stopped by the sync's timeout
// names the timeout, in its result and its run row, not "context canceled".
func TestStoppedRunsSayWhy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 20)
	cfg := e.syncConfig("file", "default", "", "")

	t.Run("interrupted", func(t *testing.T) {
		prep := e.prepare(cfg)
		stalled := make(chan struct{})
		prep.Sync.Connector = &stallingConnector{Connector: prep.Sync.Connector, after: 1, stalled: stalled}
		ctx, cancel := context.WithCancelCause(context.Background())
		go func() {
			<-stalled
			cancel(fmt.Errorf("%w (interrupt)", engine.ErrInterrupted))
		}()
		res, err := (&engine.Engine{Store: e.store, Holder: "test"}).Run(ctx, prep.Sync, engine.Options{})
		if err == nil || res.Message != "interrupted (interrupt)" || strings.Contains(err.Error(), "context canceled") {
			t.Errorf("interrupted run: err %v, message %q; want \"interrupted (interrupt)\"", err, res.Message)
		}
		checkLastRun(t, e, store.StatusFailed, "interrupted (interrupt)")
	})
	t.Run("timeout", func(t *testing.T) {
		prep := e.prepare(cfg)
		prep.Sync.Connector = &stallingConnector{Connector: prep.Sync.Connector, after: 1, stalled: make(chan struct{})}
		prep.Sync.Timeout = 300 * time.Millisecond
		res, err := (&engine.Engine{Store: e.store, Holder: "test"}).Run(context.Background(), prep.Sync, engine.Options{})
		if err == nil || !strings.Contains(res.Message, "the sync's timeout (300ms) passed") {
			t.Errorf("timed-out run: err %v, message %q; want it to name the timeout", err, res.Message)
		}
		checkLastRun(t, e, store.StatusFailed, "the sync's timeout (300ms) passed")
	})
}

// checkLastRun checks the status and message of the sync's latest run row.
func checkLastRun(t *testing.T, e *env, status, message string) {
	t.Helper()
	runs, err := e.store.Runs(context.Background(), "people", 1)
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs: %v, %d", err, len(runs))
	}
	if runs[0].Status != status || !strings.Contains(runs[0].Message, message) {
		t.Errorf("run row: %s %q, want %s with %q", runs[0].Status, runs[0].Message, status, message)
	}
}

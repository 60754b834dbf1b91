package connhost

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func TestHCLoggerBridgesToSlog(t *testing.T) {
	var buf bytes.Buffer
	l := newHCLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	if got := l.GetLevel(); got != hclog.Info {
		t.Errorf("GetLevel = %v, want info (what the slog handler keeps)", got)
	}
	if l.IsDebug() || !l.IsWarn() {
		t.Error("IsDebug/IsWarn do not follow the slog handler")
	}

	named := l.Named("plugin").Named("file").With("pid", 42)
	named.Debug("dropped")
	named.Warn("from the plugin", "records", 7, "timestamp", "2026-01-01T00:00:00Z")
	out := buf.String()
	if strings.Contains(out, "dropped") {
		t.Errorf("a debug line passed an info handler: %s", out)
	}
	for _, want := range []string{"level=WARN", `msg="from the plugin"`, "logger=plugin.file", "pid=42", "records=7"} {
		if !strings.Contains(out, want) {
			t.Errorf("log line %q lacks %q", out, want)
		}
	}
	if strings.Contains(out, "timestamp=") {
		t.Errorf("go-plugin's copy of the plugin's timestamp was kept: %s", out)
	}
	if named.Name() != "plugin.file" || len(named.ImpliedArgs()) != 2 {
		t.Errorf("Name %q, ImpliedArgs %v", named.Name(), named.ImpliedArgs())
	}
}

// go-plugin's Info lines about a plugin's start and clean exit are debug lines: every
// command would print them. Its error about a plugin that exited badly stays an error.
func TestPluginLifeIsQuiet(t *testing.T) {
	var buf bytes.Buffer
	l := newHCLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	l.Info("plugin process exited", "plugin", "/bin/peoplesync", "id", 7)
	l.Info("starting plugin", "path", "/bin/peoplesync")
	l.Error("plugin process exited", "plugin", "/bin/peoplesync", "id", 8, "error", "exit status 2")
	out := buf.String()
	if strings.Contains(out, "id=7") || strings.Contains(out, "starting plugin") {
		t.Errorf("an info line of the plugin's life was printed: %s", out)
	}
	if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "exit status 2") {
		t.Errorf("the bad exit was not logged as an error: %s", out)
	}
}

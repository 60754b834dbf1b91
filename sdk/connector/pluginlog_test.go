package connector

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
	"time"
)

// TestPluginLogHandlerSpeaksHCLogJSON checks the fields go-plugin reads back from a
// plugin's stderr: @level, @message and @timestamp in hclog's layout.
func TestPluginLogHandlerSpeaksHCLogJSON(t *testing.T) {
	tests := []struct {
		level slog.Level
		want  string
	}{
		{slog.LevelDebug - 4, "trace"},
		{slog.LevelDebug, "debug"},
		{slog.LevelInfo, "info"},
		{slog.LevelWarn, "warn"},
		{slog.LevelError, "error"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		slog.New(newPluginLogHandler(&buf)).Log(t.Context(), tt.level, "hello", "records", 3)
		if tt.level < slog.LevelDebug {
			if buf.Len() != 0 {
				t.Errorf("trace line written at the debug threshold: %s", buf.String())
			}
			continue
		}
		var got map[string]any
		if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
			t.Fatalf("not JSON: %q", buf.String())
		}
		if got["@level"] != tt.want || got["@message"] != "hello" || got["records"] != 3.0 {
			t.Errorf("level %v: got %v, want @level %q", tt.level, got, tt.want)
		}
		ts, _ := got["@timestamp"].(string)
		if _, err := time.Parse("2006-01-02T15:04:05.000000Z07:00", ts); err != nil {
			t.Errorf("@timestamp %q is not in hclog's layout: %v", ts, err)
		}
	}
}

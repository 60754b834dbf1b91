package connhost

import (
	"context"
	"io"
	"log"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// hclogger adapts a slog.Logger to the hclog.Logger that go-plugin logs to, both its own
// messages and the JSON log lines it reads from the plugin's stderr.
type hclogger struct {
	base    *slog.Logger // with implied args
	name    string
	implied []any
}

var _ hclog.Logger = (*hclogger)(nil)

func newHCLogger(l *slog.Logger) *hclogger { return &hclogger{base: l} }

// slogLevel maps hclog's levels onto slog's; trace sits below debug.
func slogLevel(l hclog.Level) slog.Level {
	switch l {
	case hclog.Trace:
		return slog.LevelDebug - 4
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

// quietInfo are go-plugin's Info messages about the plugin's life that every command
// would print (the host stops its plugins itself when it is done with them); a plugin
// that exits with an error is logged by go-plugin as an error, and its read fails.
var quietInfo = map[string]bool{"plugin process exited": true, "starting plugin": true, "plugin started": true}

func (h *hclogger) Log(level hclog.Level, msg string, args ...any) {
	ctx := context.Background()
	if level == hclog.Info && quietInfo[msg] {
		level = hclog.Debug
	}
	sl := slogLevel(level)
	if !h.base.Enabled(ctx, sl) {
		return
	}
	attrs := make([]any, 0, len(args)+2)
	if h.name != "" {
		attrs = append(attrs, "logger", h.name)
	}
	for i := 0; i+1 < len(args); i += 2 {
		if args[i] == "timestamp" { // go-plugin adds the plugin's; the record has its own
			continue
		}
		attrs = append(attrs, args[i], args[i+1])
	}
	if len(args)%2 == 1 {
		attrs = append(attrs, "extra", args[len(args)-1])
	}
	h.base.Log(ctx, sl, msg, attrs...)
}

func (h *hclogger) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }
func (h *hclogger) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }
func (h *hclogger) Info(msg string, args ...any)  { h.Log(hclog.Info, msg, args...) }
func (h *hclogger) Warn(msg string, args ...any)  { h.Log(hclog.Warn, msg, args...) }
func (h *hclogger) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }

func (h *hclogger) enabled(l hclog.Level) bool {
	return h.base.Enabled(context.Background(), slogLevel(l))
}

func (h *hclogger) IsTrace() bool { return h.enabled(hclog.Trace) }
func (h *hclogger) IsDebug() bool { return h.enabled(hclog.Debug) }
func (h *hclogger) IsInfo() bool  { return h.enabled(hclog.Info) }
func (h *hclogger) IsWarn() bool  { return h.enabled(hclog.Warn) }
func (h *hclogger) IsError() bool { return h.enabled(hclog.Error) }

func (h *hclogger) ImpliedArgs() []any { return h.implied }

func (h *hclogger) With(args ...any) hclog.Logger {
	return &hclogger{
		base:    h.base.With(args...),
		name:    h.name,
		implied: append(append([]any(nil), h.implied...), args...),
	}
}

func (h *hclogger) Name() string { return h.name }

func (h *hclogger) Named(name string) hclog.Logger {
	if h.name != "" {
		name = h.name + "." + name
	}
	return h.ResetNamed(name)
}

func (h *hclogger) ResetNamed(name string) hclog.Logger {
	return &hclogger{base: h.base, name: name, implied: h.implied}
}

// SetLevel does nothing: the slog handler decides what it keeps.
func (h *hclogger) SetLevel(hclog.Level) {}

// GetLevel returns the lowest level the slog handler keeps.
func (h *hclogger) GetLevel() hclog.Level {
	for _, l := range []hclog.Level{hclog.Trace, hclog.Debug, hclog.Info, hclog.Warn, hclog.Error} {
		if h.enabled(l) {
			return l
		}
	}
	return hclog.Off
}

func (h *hclogger) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	level := slog.LevelInfo
	if opts != nil && opts.ForceLevel != hclog.NoLevel {
		level = slogLevel(opts.ForceLevel)
	}
	return slog.NewLogLogger(h.base.Handler(), level)
}

func (h *hclogger) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	return h.StandardLogger(opts).Writer()
}

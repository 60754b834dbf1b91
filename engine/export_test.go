package engine

import (
	"log/slog"
	"time"
)

// NewProgressLog starts a ProgressLog with the clock now that logs a line on each tick.
func NewProgressLog(log *slog.Logger, now func() time.Time, tick <-chan time.Time) *ProgressLog {
	return newProgressLog(log, now, tick)
}

// SetBacklogLimit bounds the batches a full read of e holds back while the links index
// loads to n bytes.
func SetBacklogLimit(e *Engine, n int) { e.backlogLimit = n }

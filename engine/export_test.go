package engine

// SetBacklogLimit bounds the batches a full read of e holds back while the links index
// loads to n bytes.
func SetBacklogLimit(e *Engine, n int) { e.backlogLimit = n }

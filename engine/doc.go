// Package engine runs syncs: it streams a connector's records through a mapping, compares
// each mapped profile with the store by content hash, and writes only what changed.
//
//	connector.Read ──batches──► map (two workers) ──mapped──► diff + write (one writer)
//	                                                         │  Lookup hashes of the batch
//	                                                         │  Apply creates/updates (one tx)
//	after a COMPLETE read: deletions within the guard ◄──────┘
//	then: resolve managers, record the run, log one summary line
//
// Reading, mapping and writing overlap, so a run keeps both cores busy. Nothing holds the
// whole directory in memory except the set of external IDs seen, which decides deletions.
//
// Safety rules (DESIGN.md invariants): nothing is deleted unless the read ended with its
// end message and the run's error rate is under its limit; a run that would delete more
// than its guard deletes nothing and ends "guarded"; every write goes through a store.Run
// that proves the sync's lock is still held.
package engine

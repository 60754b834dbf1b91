// Package scheduler runs each configured sync on its CRON schedules, for `peoplesync
// serve`. Every replica of a deployment runs the same scheduler; the store decides which
// one runs each tick.
//
//	every replica, per sync and mode (full: schedule, delta: delta_schedule)
//	  wait for the next tick (the schedule read in the sync's timezone)
//	  previous run of this job still going here?  ─► skip the tick
//	  store.BeginTickRun(sync, mode, tick)
//	    ErrTickTaken ─► another replica ran this tick already: done (debug log)
//	    ErrLocked    ─► the sync runs elsewhere: retry until the tick is taken or the
//	                    next tick is due (debug log)
//	    ok           ─► start the connector and the mapping (engine/setup), engine.Run,
//	                    stop the connector: a crashed connector is restarted next tick
//
// The tick (the scheduled time, the same on every replica) is recorded with the run
// atomically with taking the lock, so a fast replica that finished a tick and released
// the lock cannot have a slow one run that tick again. "@every D" schedules are aligned
// to multiples of D since the zero time, not to each replica's start, so that replicas
// agree on their ticks.
//
// Stop cancels running runs with engine.ErrShutdown: each stops reading, lets the batch
// being written commit, records itself as failed ("interrupted by shutdown") and releases
// its lock.
package scheduler

// Package postgres is the PostgreSQL implementation of store.Store, on pgx. It is the only
// package that imports pgx; pgx errors become store sentinels in errors.go.
//
// # The lock: a fenced lease
//
// Each sync has at most one row in sync_locks: (holder, term, expires_at). BeginRun takes
// the row when it is missing or expired, judged by the database clock (now()), never the
// client's, and gives it a new term from a sequence, so terms never repeat even after the
// row is deleted. The Run renews its lease every TTL/3. Every write transaction of the Run
// starts by locking its own row:
//
//	BEGIN
//	SELECT 1 FROM sync_locks
//	 WHERE sync_name = $sync AND holder = $holder AND term = $term AND expires_at > now()
//	   FOR KEY SHARE                   -- no row: ErrLockLost, ROLLBACK
//	... the run's writes ...
//	COMMIT                             -- a taker's SELECT ... FOR UPDATE waits for this
//
// The renewal is a plain UPDATE of expires_at, a non-key column: it takes FOR NO KEY
// UPDATE, which does not conflict with the fences' FOR KEY SHARE, so it never queues
// behind the run's own writes (under FOR SHARE it starved behind the appliers'
// overlapping fences and a healthy run lost its lease). A taker locks the row FOR UPDATE
// before it upserts it, which conflicts with FOR KEY SHARE: it waits for the writes in
// flight, bounded by lock_timeout.
//
// A run that stalls past its lease (GC pause, partition) and is taken over fails its
// next write: the new term no longer matches. A taker cannot slip in during a write,
// because the write holds the row lock until it commits. Nor can a stall inside a write
// keep a taker out for long: the server ends a write transaction that idles for a lease,
// and a taker that finds the lease expired ends the sessions still writing under it
// (they carry the term in their application name), which covers a holder frozen in the
// middle of a COPY, where the server waits for data without any timeout. A taker waits
// at most a second for the row (lock_timeout), then reports the sync locked. The fence is
// shared, so that a run's own concurrent writes do not queue behind each other. Nothing lives in the session, so
// this works through a transaction-pooling PgBouncer.
//
//	run A  ──BeginRun(term 7)──Apply──Apply──────(stall)──────────Apply ✗ ErrLockLost
//	                                        lease expires │
//	run B                                   BeginRun(term 8)──Apply──Finish (row deleted)
//
// # Apply
//
// A batch of changes is COPYed into a temporary staging table (ON COMMIT DROP) and merged
// with set-based statements in the same transaction, pipelined in one round trip: find
// the existing links; insert the new profiles and their links; update the linked
// profiles (seeded fields only where empty, custom_fields never, soft-deleted ones
// restored) and their links; drop sync pictures the source no longer has and upsert the
// rest (never over a user's own picture, never an unchanged one). profiles and
// profile_links leave 20% of each page free so that these updates can be HOT.
//
// # PgBouncer
//
// The store keeps no session state. Through a transaction-pooling PgBouncer older than
// 1.21 (no prepared statement support), add default_query_exec_mode=exec to the DSN.
package postgres

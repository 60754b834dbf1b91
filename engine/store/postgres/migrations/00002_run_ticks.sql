-- +goose Up
-- tick is the scheduled time a run was started for (NULL for runs started by hand). The
-- unique index lets BeginTickRun refuse a second run of the same sync, mode and tick in
-- the transaction that takes the lock: one run per tick across all replicas.
ALTER TABLE sync_runs ADD COLUMN tick timestamptz;
CREATE UNIQUE INDEX sync_runs_tick ON sync_runs (sync_name, mode, tick) WHERE tick IS NOT NULL;

-- +goose Down
DROP INDEX sync_runs_tick;
ALTER TABLE sync_runs DROP COLUMN tick;

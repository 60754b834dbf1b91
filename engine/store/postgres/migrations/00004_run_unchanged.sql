-- +goose Up
-- unchanged counts the records of a run that needed no write (their source, or what the
-- mapping makes of it, was unchanged); skipped keeps counting the records the mapping
-- skipped. Runs recorded before this migration counted both in skipped: they keep their
-- rows as they are, with unchanged 0.
ALTER TABLE sync_runs ADD COLUMN unchanged bigint NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE sync_runs DROP COLUMN unchanged;

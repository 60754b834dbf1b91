-- +goose Up
-- sync_renames records that a sync was renamed (previous_names): a run of new_name
-- adopts what the store keeps under old_name (its links, pictures, runs, cursor and the
-- provenance that names it), in pieces, each its own fenced transaction. finished_at is
-- NULL while pieces are left, so that a run stopped midway resumes the adoption. The
-- row stays: a run under the old name (a replica still on the old configuration) is
-- refused rather than create the sync's people again.
CREATE TABLE sync_renames (
    old_name    text PRIMARY KEY,
    new_name    text NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);

-- +goose Down
DROP TABLE sync_renames;

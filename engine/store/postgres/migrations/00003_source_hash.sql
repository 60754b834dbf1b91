-- +goose Up
-- source_hash is a hash of the source record as the connector returned it (salted with
-- the mapping's identity). A record whose source_hash is unchanged would map to the same
-- profile, so a sync skips it without running the mapping at all.
ALTER TABLE profile_links ADD COLUMN source_hash bytea;

-- +goose Down
ALTER TABLE profile_links DROP COLUMN source_hash;

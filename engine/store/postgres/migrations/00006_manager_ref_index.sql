-- +goose Up
-- The scoped manager resolution (resolveSomeManagers) finds the links that refer to the
-- people a run changed by probing this index, for both kinds of reference: an external
-- ID (compared exactly, probed by its lower case) and a DN (case-insensitive). Without
-- it, it read every link of the sync (issue 12 §1). Empty references (the top of each
-- hierarchy) refer to no one and are left out.
CREATE INDEX profile_links_manager_ref ON profile_links (sync_name, lower(manager_ref))
    WHERE manager_ref <> '';

-- +goose Down
DROP INDEX profile_links_manager_ref;

-- +goose Up
-- The scoped manager resolution (resolveSomeManagers) finds the links that refer to the
-- people a run changed by probing this index, for both kinds of reference: an external
-- ID (compared exactly, probed by its lower case) and a DN (case-insensitive). Without
-- it, it read every link of the sync (issue 12 §1). Empty references (the top of each
-- hierarchy) refer to no one and are left out.
--
-- Built in the migration's transaction, it blocks writes to profile_links (not reads)
-- while it builds: 2.0–2.4 s for 1M links on the 2-core machine at load 6–10 (index
-- 13 MB), 0.6–0.7 s for 200,000. A sync of another replica that writes meanwhile waits
-- that long; CONCURRENTLY would not block it, but cannot run in a transaction, and a
-- build that failed half-way would leave an invalid index for the next try to trip on.
CREATE INDEX profile_links_manager_ref ON profile_links (sync_name, lower(manager_ref))
    WHERE manager_ref <> '';

-- +goose Down
DROP INDEX profile_links_manager_ref;

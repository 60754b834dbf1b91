-- +goose Up
-- The contributions of links (issue 11, 00005) move into a narrow table of their own.
-- When a second source joins a profile, the first source's contribution is written out:
-- as an UPDATE of the wide profile_links row, a new version of it with an entry in each
-- of its indexes (the row rarely fits its page again, so the update is not HOT), that
-- was the largest cost of a join (≈ 50 ms of a batch of 1,000); inserted here, a small
-- row and one index entry. A link without a row here has no contribution (the profile's
-- only source: its columns are the link's contribution).
-- No foreign key to profile_links: its checks, a trigger per row, cost 3-4 times the
-- insert itself (1,000 rows: ≈ 100 ms against ≈ 30 ms). The store deletes the
-- contributions of the links it deletes (SoftDelete's pending records); links deleted
-- with their profile by hand leave theirs behind, which nothing reads.
CREATE TABLE link_contributions (
    sync_name    text NOT NULL,
    external_id  text NOT NULL,
    contribution jsonb NOT NULL,
    PRIMARY KEY (sync_name, external_id)
);
-- Nothing filters on the documents (see 00005).
ALTER TABLE link_contributions ALTER COLUMN contribution SET STATISTICS 0;
INSERT INTO link_contributions (sync_name, external_id, contribution)
SELECT sync_name, external_id, contribution FROM profile_links WHERE contribution IS NOT NULL;
ALTER TABLE profile_links DROP COLUMN contribution;

-- +goose Down
ALTER TABLE profile_links ADD COLUMN contribution jsonb;
ALTER TABLE profile_links ALTER COLUMN contribution SET STATISTICS 0;
UPDATE profile_links l SET contribution = c.contribution
  FROM link_contributions c WHERE c.sync_name = l.sync_name AND c.external_id = l.external_id;
DROP TABLE link_contributions;

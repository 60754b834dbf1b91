-- +goose Up
-- Several sources per person (issue 11). A link is one sync's record of a person and
-- what that record contributes to the profile:
--   situation   'linked' (profile_id set), or a pending record without a profile:
--               'unmatched' (its sync may not create people and no profile matched) or
--               'disputed' (it matched several profiles, or one its sync links already);
--   candidates  the profiles a disputed record matched;
--   contribution the fields the record offers, as {"c": [core fields in CoreFields
--               order], "a": {attributes}, "act": active}. NULL while the profile has no
--               other source: its synced columns are this link's contribution, which is
--               written out only when a second source joins (so a single source writes
--               nothing more than before);
--   gone_at     when the sync dropped the person; the link stays, so that a person who
--               comes back rejoins the same profile;
--   linked_at   when the link was made (NULL for links made before this migration).
-- profiles.provenance is NULL for a profile fed by one source, otherwise for each field
-- the sync its value came from and since when: {"email": {"s": "ad", "t": "…"}, …}.
-- link_images keeps the pictures of the sources of shared profiles, so that the winning
-- picture can fall through to the next source's.
ALTER TABLE profile_links
    ALTER COLUMN profile_id DROP NOT NULL,
    ADD COLUMN situation text NOT NULL DEFAULT 'linked'
        CHECK (situation IN ('linked', 'unmatched', 'disputed')),
    ADD COLUMN candidates uuid[],
    ADD COLUMN contribution jsonb,
    ADD COLUMN gone_at timestamptz,
    ADD COLUMN linked_at timestamptz;
ALTER TABLE profile_links ALTER COLUMN linked_at SET DEFAULT now();
ALTER TABLE profile_links ADD CONSTRAINT profile_links_situation_profile
    CHECK ((situation = 'linked') = (profile_id IS NOT NULL));
-- A link was gone exactly when its profile was soft-deleted: one source per profile.
UPDATE profile_links l SET gone_at = p.deleted_at
  FROM profiles p WHERE p.id = l.profile_id AND p.deleted_at IS NOT NULL;
CREATE INDEX profile_links_pending ON profile_links (sync_name, external_id) WHERE situation <> 'linked';

ALTER TABLE profiles ADD COLUMN provenance jsonb;
-- No statement filters on these columns: ANALYZE (which a run does after large writes,
-- issue 12) need not sample their documents. With them sampled it took 0.9 s after
-- 10,000 joins, most of the scoped manager resolution that follows it.
ALTER TABLE profile_links ALTER COLUMN contribution SET STATISTICS 0,
    ALTER COLUMN candidates SET STATISTICS 0;
ALTER TABLE profiles ALTER COLUMN provenance SET STATISTICS 0;
-- The live profiles without a manager: the few a run's manager resolution must look at
-- besides what it changed (the top of each hierarchy, and references not resolved yet).
CREATE INDEX profiles_unmanaged ON profiles (id) WHERE manager_id IS NULL AND deleted_at IS NULL;

-- sync_name: the sync whose picture a 'sync' picture is (NULL before this migration:
-- the profile's one source).
ALTER TABLE profile_images ADD COLUMN sync_name text;

CREATE TABLE link_images (
    sync_name    text NOT NULL,
    external_id  text NOT NULL,
    content_type text NOT NULL DEFAULT '',
    sha256       bytea NOT NULL,
    data         bytea NOT NULL,
    PRIMARY KEY (sync_name, external_id),
    FOREIGN KEY (sync_name, external_id) REFERENCES profile_links (sync_name, external_id) ON DELETE CASCADE
);

ALTER TABLE sync_runs
    ADD COLUMN joined bigint NOT NULL DEFAULT 0,
    ADD COLUMN unmatched bigint NOT NULL DEFAULT 0,
    ADD COLUMN disputed bigint NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE sync_runs DROP COLUMN joined, DROP COLUMN unmatched, DROP COLUMN disputed;
DROP TABLE link_images;
DROP INDEX profiles_unmanaged;
ALTER TABLE profile_images DROP COLUMN sync_name;
ALTER TABLE profiles DROP COLUMN provenance;
DELETE FROM profile_links WHERE profile_id IS NULL;
DROP INDEX profile_links_pending;
ALTER TABLE profile_links DROP CONSTRAINT profile_links_situation_profile,
    DROP COLUMN situation, DROP COLUMN candidates, DROP COLUMN contribution,
    DROP COLUMN gone_at, DROP COLUMN linked_at,
    ALTER COLUMN profile_id SET NOT NULL;

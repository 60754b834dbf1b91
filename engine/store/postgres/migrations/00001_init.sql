-- +goose Up
CREATE TABLE profiles (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_name       text NOT NULL DEFAULT '',
    email           text NOT NULL DEFAULT '',
    given_name      text NOT NULL DEFAULT '',
    family_name     text NOT NULL DEFAULT '',
    display_name    text NOT NULL DEFAULT '',
    title           text NOT NULL DEFAULT '',
    department      text NOT NULL DEFAULT '',
    organization    text NOT NULL DEFAULT '',
    employee_number text NOT NULL DEFAULT '',
    phone_work      text NOT NULL DEFAULT '',
    phone_mobile    text NOT NULL DEFAULT '',
    locale          text NOT NULL DEFAULT '',
    timezone        text NOT NULL DEFAULT '',
    location        text NOT NULL DEFAULT '',
    manager_id      uuid REFERENCES profiles (id) ON DELETE SET NULL,
    active          boolean NOT NULL DEFAULT true,
    -- attributes: other mapped fields, written by syncs.
    attributes      jsonb NOT NULL DEFAULT '{}',
    -- custom_fields: owned by the person; a sync never writes it.
    custom_fields   jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz
) WITH (fillfactor = 80); -- room for HOT updates: every synced change rewrites a row
CREATE INDEX profiles_manager_id ON profiles (manager_id);

-- profile_links ties a sync's external ID to a profile.
CREATE TABLE profile_links (
    sync_name    text NOT NULL,
    external_id  text NOT NULL,
    profile_id   uuid NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    dn           text NOT NULL DEFAULT '',
    manager_ref  text NOT NULL DEFAULT '',
    content_hash bytea,
    seeded       text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (sync_name, external_id)
) WITH (fillfactor = 80);
CREATE INDEX profile_links_dn ON profile_links (sync_name, lower(dn));
CREATE INDEX profile_links_profile_id ON profile_links (profile_id);

CREATE TABLE profile_images (
    profile_id   uuid PRIMARY KEY REFERENCES profiles (id) ON DELETE CASCADE,
    source       text NOT NULL CHECK (source IN ('sync', 'user')),
    content_type text NOT NULL DEFAULT '',
    sha256       bytea NOT NULL,
    data         bytea NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sync_runs (
    id          bigserial PRIMARY KEY,
    sync_name   text NOT NULL,
    mode        text NOT NULL,
    holder      text NOT NULL,
    status      text NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    processed   bigint NOT NULL DEFAULT 0,
    created     bigint NOT NULL DEFAULT 0,
    updated     bigint NOT NULL DEFAULT 0,
    skipped     bigint NOT NULL DEFAULT 0,
    deleted     bigint NOT NULL DEFAULT 0,
    errors      bigint NOT NULL DEFAULT 0,
    message     text NOT NULL DEFAULT ''
);
CREATE INDEX sync_runs_sync_name ON sync_runs (sync_name, id DESC);

CREATE TABLE run_errors (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id      bigint NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    external_id text NOT NULL,
    message     text NOT NULL
);
CREATE INDEX run_errors_run_id ON run_errors (run_id, seq);

CREATE TABLE sync_cursors (
    sync_name  text PRIMARY KEY,
    cursor     text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- sync_locks holds each sync's lease. term comes from a sequence, so it never repeats for
-- a sync even after its row is deleted: a stale holder can never pass the fence again.
CREATE SEQUENCE sync_lock_terms;
CREATE TABLE sync_locks (
    sync_name   text PRIMARY KEY,
    holder      text NOT NULL,
    term        bigint NOT NULL,
    acquired_at timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);

-- +goose Down
DROP TABLE sync_locks;
DROP SEQUENCE sync_lock_terms;
DROP TABLE sync_cursors;
DROP TABLE run_errors;
DROP TABLE sync_runs;
DROP TABLE profile_images;
DROP TABLE profile_links;
DROP TABLE profiles;

-- zero_session server schema, version 1 (PostgreSQL 13 or newer).
-- Applied by zero_session/sync/_server_schema.py in one transaction under an advisory
-- lock, which also records the version in zero_session.schema_migrations.
-- Times are integer epoch milliseconds (*_ms) as in the file; the views show ISO-8601 UTC.
-- The whole layout is described in docs/postgres.md.

-- The schema may exist already, made by a superuser for its owner role (see
-- `zero-session sync init --print-sql`); that owner need not be allowed to create one.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'zero_session') THEN
        CREATE SCHEMA zero_session;
    END IF;
END
$$;

CREATE TABLE zero_session.schema_migrations (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- One row: this server's identity.  Stores keep their push cursors per server id, so a
-- new (or re-created) server is pushed to from the start.
CREATE TABLE zero_session.server_identity (
    only_row   boolean     PRIMARY KEY DEFAULT true CHECK (only_row),
    server_id  text        NOT NULL DEFAULT gen_random_uuid()::text,
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO zero_session.server_identity DEFAULT VALUES;

-- Every store (file) that pushed here.
CREATE TABLE zero_session.stores (
    store_id      text        PRIMARY KEY CHECK (length(store_id) = 26),
    host          text,
    first_push_at timestamptz NOT NULL DEFAULT now(),
    last_push_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per session, owned by its origin store.  last_seq is the last seq of the
-- session's timeline on this server (fork_seq + its own events pushed so far): the
-- server's cursor, moved in the same transaction as the events.
CREATE TABLE zero_session.sessions (
    ulid             text   PRIMARY KEY CHECK (length(ulid) = 26),
    origin           text   NOT NULL REFERENCES zero_session.stores (store_id),
    parent_ulid      text   REFERENCES zero_session.sessions (ulid),
    fork_seq         bigint NOT NULL DEFAULT 0 CHECK (fork_seq >= 0),
    started_at_ms    bigint NOT NULL,
    ended_at_ms      bigint,
    last_seq         bigint NOT NULL CHECK (last_seq >= fork_seq),
    last_event_at_ms bigint,
    cli_version      text,
    engine_base_url  text,
    cwd              text,
    meta_text        text   NOT NULL DEFAULT '{}',  -- the exact JSON text of the file
    meta             jsonb,                         -- the same, for queries (NULL if not jsonb)
    archived_at_ms   bigint,
    expires_at_ms    bigint,
    pushed_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (parent_ulid IS NOT NULL OR fork_seq = 0)
);

CREATE INDEX sessions_by_origin ON zero_session.sessions (origin, started_at_ms DESC);
CREATE INDEX sessions_by_parent ON zero_session.sessions (parent_ulid)
    WHERE parent_ulid IS NOT NULL;
CREATE INDEX sessions_newest_first ON zero_session.sessions (started_at_ms DESC, ulid DESC);

-- A session's own events (a fork's inherited events are its ancestors' rows).
-- text and data_text are exact, except that PostgreSQL text cannot hold NUL: an event
-- whose text (or data) holds NUL has it as U+FFFD there and its exact UTF-8 bytes in
-- text_bytes (data_bytes).  data is data_text as jsonb where it parses as jsonb.
CREATE TABLE zero_session.events (
    ulid       text   NOT NULL,
    seq        bigint NOT NULL CHECK (seq >= 1),
    at_ms      bigint NOT NULL,
    kind       text   NOT NULL,
    text       text   NOT NULL,
    data       jsonb,
    data_text  text,
    text_bytes bytea,
    data_bytes bytea,
    PRIMARY KEY (ulid, seq)
);

-- Labels and milestones, per origin store (one name from two stores is two rows).
CREATE TABLE zero_session.labels (
    store_id text   NOT NULL REFERENCES zero_session.stores (store_id),
    name     text   NOT NULL,
    ulid     text   NOT NULL,
    at_ms    bigint NOT NULL,
    PRIMARY KEY (store_id, name)
);
CREATE INDEX labels_by_name ON zero_session.labels (name);
CREATE INDEX labels_by_ulid ON zero_session.labels (ulid);

CREATE TABLE zero_session.milestones (
    store_id text   NOT NULL REFERENCES zero_session.stores (store_id),
    key      text   NOT NULL,
    value    text   NOT NULL,
    at_ms    bigint NOT NULL,
    PRIMARY KEY (store_id, key)
);

-- What a push found in conflict, never overwritten: a different event already at
-- (ulid, seq) (seq >= 1), or a session ulid owned by another store (seq = 0).  The
-- columns at_ms..data_bytes hold the pushed (refused) event.
CREATE TABLE zero_session.divergences (
    ulid       text        NOT NULL,
    seq        bigint      NOT NULL,
    store_id   text        NOT NULL,
    reason     text        NOT NULL,
    found_at   timestamptz NOT NULL DEFAULT now(),
    at_ms      bigint,
    kind       text,
    text       text,
    data_text  text,
    text_bytes bytea,
    data_bytes bytea,
    PRIMARY KEY (ulid, seq, store_id)
);
CREATE INDEX divergences_by_store ON zero_session.divergences (store_id);

-- Events are append-only, as in the file.
CREATE FUNCTION zero_session.refuse_event_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'zero_session: events are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER events_refuse_update_delete
BEFORE UPDATE OR DELETE ON zero_session.events
FOR EACH ROW EXECUTE FUNCTION zero_session.refuse_event_change();

CREATE TRIGGER events_refuse_truncate
BEFORE TRUNCATE ON zero_session.events
FOR EACH STATEMENT EXECUTE FUNCTION zero_session.refuse_event_change();

-- value::jsonb, or NULL where it does not parse as jsonb (jsonb refuses \u0000).
CREATE FUNCTION zero_session.try_jsonb(value text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN value::jsonb;
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$;

-- Epoch milliseconds as the file's views show them: 2026-11-21T14:03:00.125Z.
CREATE FUNCTION zero_session.iso(at_ms bigint) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(timestamp '1970-01-01' + at_ms * interval '1 millisecond',
                   'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- For people in psql: the file's session_list plus the origin store, newest first.
CREATE VIEW zero_session.session_list AS
SELECT
    s.ulid,
    s.origin,
    zero_session.iso(s.started_at_ms) AS started_at,
    zero_session.iso(s.ended_at_ms) AS ended_at,
    CASE
        WHEN s.archived_at_ms IS NOT NULL THEN 'archived'
        WHEN s.ended_at_ms IS NOT NULL THEN 'ended'
        ELSE 'open'
    END AS state,
    s.last_seq - s.fork_seq AS n_events,
    s.last_seq AS timeline_events,
    s.parent_ulid,
    s.fork_seq,
    (SELECT string_agg(l.name, ', ' ORDER BY l.name)
       FROM zero_session.labels AS l
      WHERE l.ulid = s.ulid AND l.store_id = s.origin) AS labels,
    zero_session.iso(s.last_event_at_ms) AS last_event_at,
    s.cli_version,
    s.engine_base_url,
    s.cwd,
    s.meta,
    zero_session.iso(s.expires_at_ms) AS expires_at,
    s.pushed_at
FROM zero_session.sessions AS s
ORDER BY s.started_at_ms DESC, s.ulid DESC;

-- Every event with its session's ulid and origin store (own events only, as in the file).
CREATE VIEW zero_session.event_log AS
SELECT
    e.ulid,
    e.seq,
    zero_session.iso(e.at_ms) AS at,
    e.kind,
    e.text,
    e.data,
    s.origin
FROM zero_session.events AS e
JOIN zero_session.sessions AS s ON s.ulid = e.ulid;

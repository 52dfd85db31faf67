-- zero_session schema, version 1.
-- Applied in one transaction by zero_session/_schema.py, which also sets
-- PRAGMA user_version = 1 and the application_id.  Uses nothing newer than
-- SQLite 3.40 (Debian 12's sqlite3 shell) in tables, triggers and views.
-- Times are integer epoch milliseconds; the views show them as ISO-8601 UTC.

CREATE TABLE sessions (
    id               INTEGER PRIMARY KEY,
    ulid             TEXT    NOT NULL UNIQUE CHECK (length(ulid) = 26),
    parent_id        INTEGER REFERENCES sessions (id),
    fork_seq         INTEGER NOT NULL DEFAULT 0 CHECK (fork_seq >= 0),
    started_at_ms    INTEGER NOT NULL,
    ended_at_ms      INTEGER,
    -- last seq of the whole timeline: fork_seq + the session's own events
    last_seq         INTEGER NOT NULL DEFAULT 0 CHECK (last_seq >= fork_seq),
    last_event_at_ms INTEGER,
    cli_version      TEXT,
    engine_base_url  TEXT,
    cwd              TEXT,
    meta             TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(meta)),
    -- writer identity: the process that started or last resumed the session
    writer_host      TEXT,
    writer_pid       INTEGER,
    writer_token     TEXT,   -- boot id and process start time, to survive pid reuse
    archived_at_ms   INTEGER,
    expires_at_ms    INTEGER,
    CHECK (parent_id IS NOT NULL OR fork_seq = 0)
);

CREATE INDEX sessions_by_parent ON sessions (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX sessions_newest_first ON sessions (started_at_ms DESC, id DESC);
CREATE INDEX sessions_by_cwd ON sessions (cwd, started_at_ms DESC, id DESC);

CREATE TABLE events (
    session_id INTEGER NOT NULL REFERENCES sessions (id),
    seq        INTEGER NOT NULL CHECK (seq >= 1),
    at_ms      INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    text       TEXT    NOT NULL,
    data       TEXT,   -- JSON or NULL
    PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;

CREATE TABLE milestones (
    key   TEXT    PRIMARY KEY,
    value TEXT    NOT NULL,
    at_ms INTEGER NOT NULL
) WITHOUT ROWID;

-- Labels are milestones 'session.label.<name>' whose value is a session ulid;
-- this index answers "which labels point at this session" without a scan.
CREATE INDEX milestones_by_value ON milestones (value, key);

-- The only door through which events leave: the store inserts the session's id
-- here, deletes its events and its row, and removes the id again, all in one
-- transaction.  Without a row here the triggers below refuse.
CREATE TABLE purging_sessions (
    session_id INTEGER PRIMARY KEY
);

CREATE TRIGGER events_refuse_update
BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'zero_session: events are append-only (UPDATE refused)');
END;

CREATE TRIGGER events_refuse_delete
BEFORE DELETE ON events
WHEN NOT EXISTS (SELECT 1 FROM purging_sessions WHERE session_id = OLD.session_id)
BEGIN
    SELECT RAISE(ABORT, 'zero_session: events are append-only (DELETE refused)');
END;

CREATE TRIGGER events_refuse_out_of_range
BEFORE INSERT ON events
WHEN NOT EXISTS (
    SELECT 1 FROM sessions
    WHERE id = NEW.session_id AND NEW.seq > fork_seq AND NEW.seq <= last_seq
)
BEGIN
    SELECT RAISE(ABORT, 'zero_session: event seq outside the session''s reserved range');
END;

CREATE TRIGGER sessions_refuse_delete
BEFORE DELETE ON sessions
WHEN NOT EXISTS (SELECT 1 FROM purging_sessions WHERE session_id = OLD.id)
BEGIN
    SELECT RAISE(ABORT, 'zero_session: delete sessions through the zero_session API');
END;

CREATE TRIGGER sessions_refuse_identity_change
BEFORE UPDATE OF ulid, parent_id, fork_seq, started_at_ms ON sessions
BEGIN
    SELECT RAISE(ABORT, 'zero_session: a session''s ulid, parent, fork_seq and start are fixed');
END;

CREATE TRIGGER sessions_refuse_seq_rewind
BEFORE UPDATE OF last_seq ON sessions
WHEN NEW.last_seq < OLD.last_seq
BEGIN
    SELECT RAISE(ABORT, 'zero_session: last_seq never goes back');
END;

-- For people in the sqlite3 shell: one row per session, newest first.
CREATE VIEW session_list AS
SELECT
    s.ulid,
    strftime('%Y-%m-%dT%H:%M:%fZ', s.started_at_ms / 1000.0, 'unixepoch') AS started_at,
    strftime('%Y-%m-%dT%H:%M:%fZ', s.ended_at_ms / 1000.0, 'unixepoch') AS ended_at,
    CASE
        WHEN s.archived_at_ms IS NOT NULL THEN 'archived'
        WHEN s.ended_at_ms IS NOT NULL THEN 'ended'
        ELSE 'open'
    END AS state,
    s.last_seq - s.fork_seq AS n_events,
    s.last_seq AS timeline_events,
    p.ulid AS parent_ulid,
    s.fork_seq,
    (SELECT group_concat(substr(m.key, 15), ', ')
       FROM milestones AS m
      WHERE m.value = s.ulid
        AND m.key >= 'session.label.' AND m.key < 'session.label/') AS labels,
    strftime('%Y-%m-%dT%H:%M:%fZ', s.last_event_at_ms / 1000.0, 'unixepoch') AS last_event_at,
    s.cli_version,
    s.engine_base_url,
    s.cwd,
    s.meta,
    s.writer_host,
    s.writer_pid,
    strftime('%Y-%m-%dT%H:%M:%fZ', s.expires_at_ms / 1000.0, 'unixepoch') AS expires_at
FROM sessions AS s
LEFT JOIN sessions AS p ON p.id = s.parent_id
ORDER BY s.started_at_ms DESC, s.id DESC;

-- Every event with its session's ulid; a session's own events only (a fork's
-- inherited events are listed under its ancestors).
CREATE VIEW event_log AS
SELECT
    s.ulid,
    e.seq,
    strftime('%Y-%m-%dT%H:%M:%fZ', e.at_ms / 1000.0, 'unixepoch') AS at,
    e.kind,
    e.text,
    e.data
FROM events AS e
JOIN sessions AS s ON s.id = e.session_id
ORDER BY e.session_id, e.seq;

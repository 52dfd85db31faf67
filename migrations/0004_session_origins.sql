-- zero_session schema: each session's origin store (sessions pulled from a sync server).
-- Applied in one transaction by zero_session/_schema.py.  Uses nothing newer than
-- SQLite 3.40.
--
-- A session belongs to the store that created it, and only that store appends to it.
-- `origin_store_id` is NULL for this store's own sessions and the origin's store id for a
-- session pulled from the server (zero_session/_origins.py); `origin_labels` holds the
-- origin's labels of a pulled session as a JSON array: read-only metadata, never names in
-- this file's own label namespace (the `session.label.*` milestones).
--
-- The file refuses, also from the sqlite3 shell, every write that would continue a pulled
-- session (a new last_seq, which every append takes, or an end) and any change of a
-- session's origin.  Only a pull writes them: it lists the session's id in
-- `pulling_sessions` for the length of its transaction, the same door `purging_sessions`
-- opens for deletes.

ALTER TABLE sessions ADD COLUMN origin_store_id TEXT
    CHECK (origin_store_id IS NULL OR length(origin_store_id) = 26);
ALTER TABLE sessions ADD COLUMN origin_labels TEXT
    CHECK (origin_labels IS NULL OR json_valid(origin_labels));

CREATE TABLE pulling_sessions (
    session_id INTEGER PRIMARY KEY
);

CREATE TRIGGER sessions_refuse_foreign_write
BEFORE UPDATE OF last_seq, ended_at_ms, origin_labels ON sessions
WHEN OLD.origin_store_id IS NOT NULL
 AND NOT EXISTS (SELECT 1 FROM pulling_sessions WHERE session_id = OLD.id)
BEGIN
    SELECT RAISE(ABORT, 'zero_session: a pulled session belongs to its origin store; continue it in a local fork');
END;

CREATE TRIGGER sessions_refuse_origin_change
BEFORE UPDATE OF origin_store_id ON sessions
WHEN OLD.origin_store_id IS NOT NEW.origin_store_id
BEGIN
    SELECT RAISE(ABORT, 'zero_session: a session''s origin store is fixed');
END;

-- For people in the sqlite3 shell: version 1's columns, then the origin of pulled
-- sessions (NULL: this store's own) and the origin's labels.
DROP VIEW session_list;
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
    strftime('%Y-%m-%dT%H:%M:%fZ', s.expires_at_ms / 1000.0, 'unixepoch') AS expires_at,
    s.origin_store_id AS origin_store,
    (SELECT group_concat(j.value, ', ') FROM json_each(s.origin_labels) AS j) AS origin_labels
FROM sessions AS s
LEFT JOIN sessions AS p ON p.id = s.parent_id
ORDER BY s.started_at_ms DESC, s.id DESC;

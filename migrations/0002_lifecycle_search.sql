-- zero_session schema, version 2: full-text search over event text (FTS5).
-- Applied in one transaction by zero_session/_schema.py.  Uses nothing newer than
-- SQLite 3.40 (Debian 12's sqlite3 shell has FTS5 and the JSON functions built in).
--
-- The index is filled lazily, never by an append: appends only touch `sessions` and
-- `events`, exactly as in version 1.  `event_search_pending` lists the sessions that
-- may have events the index has not seen (every session from its start, and again
-- from the moment it is reopened); the next search, in any process, indexes their new
-- events, moves `indexed_seq` up, and drops the ended sessions it has caught up with.
-- See docs/lifecycle.md for the trade-off.

CREATE TABLE event_search_pending (
    session_id  INTEGER PRIMARY KEY REFERENCES sessions (id),
    indexed_seq INTEGER NOT NULL   -- events with seq <= indexed_seq are indexed
);

INSERT INTO event_search_pending (session_id, indexed_seq) SELECT id, fork_seq FROM sessions;

CREATE TRIGGER sessions_search_pending_on_start
AFTER INSERT ON sessions
BEGIN
    INSERT INTO event_search_pending (session_id, indexed_seq) VALUES (NEW.id, NEW.fork_seq);
END;

-- An ended session leaves the pending list only once fully indexed, and cannot gain
-- events until it is reopened; OR IGNORE keeps the older mark if it never left.
CREATE TRIGGER sessions_search_pending_on_reopen
AFTER UPDATE OF ended_at_ms ON sessions
WHEN NEW.ended_at_ms IS NULL
BEGIN
    INSERT OR IGNORE INTO event_search_pending (session_id, indexed_seq)
    VALUES (NEW.id, NEW.last_seq);
END;

-- events is WITHOUT ROWID and FTS5 needs an integer rowid per document: this table
-- gives each indexed event one.  search_id grows in the order events were indexed
-- (by event time within one catch-up), so "newest first" is "highest search_id first".
CREATE TABLE event_search_rows (
    search_id  INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL,
    seq        INTEGER NOT NULL
);

CREATE UNIQUE INDEX event_search_rows_by_event ON event_search_rows (session_id, seq);

-- The FTS5 external content: each indexed event's text, read through the map, so the
-- text is stored once (in events) and snippet() and highlight() still work.
CREATE VIEW event_search_source AS
SELECT r.search_id AS search_id, e.text AS text
  FROM event_search_rows AS r
  JOIN events AS e ON e.session_id = r.session_id AND e.seq = r.seq;

CREATE VIRTUAL TABLE event_search USING fts5 (
    text,
    content = 'event_search_source',
    content_rowid = 'search_id',
    columnsize = 0
);

-- For people in the sqlite3 shell, newest first:
--   SELECT l.ulid, l.seq, l.at, l.kind, snippet(event_search, 0, '[', ']', '...', 12)
--     FROM event_search JOIN event_search_log AS l ON l.search_id = event_search.rowid
--    WHERE event_search MATCH 'margin' ORDER BY event_search.rowid DESC LIMIT 20;
CREATE VIEW event_search_log AS
SELECT
    r.search_id,
    s.ulid,
    e.seq,
    strftime('%Y-%m-%dT%H:%M:%fZ', e.at_ms / 1000.0, 'unixepoch') AS at,
    e.kind,
    e.text
FROM event_search_rows AS r
JOIN sessions AS s ON s.id = r.session_id
JOIN events AS e ON e.session_id = r.session_id AND e.seq = r.seq;

-- zero_session schema, version 5: guards against SQL typed into the sqlite3 shell.
-- Applied in one transaction by zero_session/_schema.py.  Uses nothing newer than
-- SQLite 3.40 (Debian 12's sqlite3 shell).
--
-- Triggers, not CHECK constraints: SQLite cannot add a constraint to an existing table
-- without copying it (every event of an old file), and a copy would refuse the very rows
-- that predate the rules, which Store.check() must report instead.  A trigger guards
-- every write from now on and leaves old rows where they are.  The guards of the hot
-- path (an event's insert, the session's last_seq bump) keep their names and stay one
-- trigger each; their WHEN clause is cheap and their body runs only to name the refusal.
--
-- 1. REPLACE / INSERT OR REPLACE over an existing event or session deletes the old row
--    without firing a DELETE trigger.  For sessions (never on the append path) the insert
--    looks the key up.  For events, a lookup per row would cost ~10 % of a batch append,
--    so the session row answers instead: `sealed_seq` is the seq up to which its events
--    are stored for good, and an event is inserted only at a reserved seq, in
--    (sealed_seq, last_seq].  The API's reservation seals the seqs before the ones it
--    reserves; the event at last_seq of a range of several seals that range; the first
--    seq of a range is looked up (one lookup per append, which covers a single append's
--    range and a range raised by hand past it).  Reserved seqs are filled in increasing
--    order (every writer does: the API, import, bulk loaders).
-- 2. Lineage is a tree: a session's parent exists before it (a smaller internal id, so
--    no chain of parents can come back to where it started), and neither its id nor
--    its parent ever change.
-- 3. Integer columns hold integers: text or reals typed into them are refused.

ALTER TABLE sessions ADD COLUMN sealed_seq INTEGER;  -- NULL: nothing sealed (fork_seq)
UPDATE sessions SET sealed_seq = last_seq;

-- The hot path: one look at the session row per event.  Integers are tested by
-- comparing with their own CAST (cheaper than typeof(): no function call).  The body runs
-- only to name a refusal or to seal a range.
DROP TRIGGER IF EXISTS events_refuse_out_of_range;
CREATE TRIGGER events_refuse_out_of_range
BEFORE INSERT ON events
WHEN NEW.seq <> CAST(NEW.seq AS INTEGER) OR NEW.at_ms <> CAST(NEW.at_ms AS INTEGER)
  OR NOT EXISTS (
    SELECT 1 FROM sessions
     WHERE id = NEW.session_id AND NEW.seq > fork_seq AND NEW.seq <= last_seq
       AND (NEW.seq > sealed_seq OR sealed_seq IS NULL)
       AND CASE WHEN NEW.seq - 1 = ifnull(sealed_seq, fork_seq)  -- the first of its range
           THEN NOT EXISTS (
               SELECT 1 FROM events WHERE session_id = NEW.session_id AND seq = NEW.seq
           )
           ELSE NEW.seq < last_seq  -- the last of several seals them, in the body
       END
  )
BEGIN
    SELECT RAISE(ABORT, 'zero_session: events.seq must be an integer')
     WHERE NEW.seq <> CAST(NEW.seq AS INTEGER);
    SELECT RAISE(ABORT, 'zero_session: events.at_ms must be an integer')
     WHERE NEW.at_ms <> CAST(NEW.at_ms AS INTEGER);
    SELECT CASE
        WHEN s.id IS NULL OR NEW.seq <= s.fork_seq OR NEW.seq > s.last_seq
        THEN RAISE(ABORT, 'zero_session: event seq outside the session''s reserved range')
        WHEN NEW.seq <= s.sealed_seq OR EXISTS (
            SELECT 1 FROM events WHERE session_id = NEW.session_id AND seq = NEW.seq
        )
        THEN RAISE(ABORT, 'zero_session: events are append-only (REPLACE of a stored event refused)')
    END
    FROM (SELECT 1) LEFT JOIN sessions AS s ON s.id = NEW.session_id;
    -- Not refused: the last event of a range of several, which seals the range.
    UPDATE sessions SET sealed_seq = NEW.seq WHERE id = NEW.session_id;
END;

CREATE TRIGGER sessions_refuse_bad_insert
BEFORE INSERT ON sessions
BEGIN
    SELECT RAISE(ABORT, 'zero_session: sessions are never replaced (REPLACE refused)')
     WHERE EXISTS (SELECT 1 FROM sessions WHERE id = NEW.id OR ulid = NEW.ulid);
    SELECT RAISE(ABORT, 'zero_session: sessions.parent_id must be an integer or NULL')
     WHERE typeof(NEW.parent_id) NOT IN ('integer', 'null');
    SELECT RAISE(ABORT, 'zero_session: a session''s parent must exist before it')
     WHERE NEW.parent_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM sessions WHERE id = NEW.parent_id);
    SELECT RAISE(ABORT, 'zero_session: sessions.fork_seq must be an integer')
     WHERE typeof(NEW.fork_seq) <> 'integer';
    SELECT RAISE(ABORT, 'zero_session: sessions.started_at_ms must be an integer')
     WHERE typeof(NEW.started_at_ms) <> 'integer';
    SELECT RAISE(ABORT, 'zero_session: sessions.last_seq must be an integer')
     WHERE typeof(NEW.last_seq) <> 'integer';
    SELECT RAISE(ABORT, 'zero_session: sessions.ended_at_ms must be an integer or NULL')
     WHERE typeof(NEW.ended_at_ms) NOT IN ('integer', 'null');
    SELECT RAISE(ABORT, 'zero_session: sessions.last_event_at_ms must be an integer or NULL')
     WHERE typeof(NEW.last_event_at_ms) NOT IN ('integer', 'null');
    SELECT RAISE(ABORT, 'zero_session: sessions.archived_at_ms must be an integer or NULL')
     WHERE typeof(NEW.archived_at_ms) NOT IN ('integer', 'null');
    SELECT RAISE(ABORT, 'zero_session: sessions.expires_at_ms must be an integer or NULL')
     WHERE typeof(NEW.expires_at_ms) NOT IN ('integer', 'null');
    SELECT RAISE(ABORT, 'zero_session: sessions.writer_pid must be an integer or NULL')
     WHERE typeof(NEW.writer_pid) NOT IN ('integer', 'null');
END;

-- The new row's id is known only after the insert (it is usually chosen by SQLite).
CREATE TRIGGER sessions_refuse_later_parent
AFTER INSERT ON sessions
WHEN NEW.parent_id IS NOT NULL AND NEW.parent_id >= NEW.id
BEGIN
    SELECT RAISE(ABORT, 'zero_session: a session''s parent must exist before it');
END;

DROP TRIGGER IF EXISTS sessions_refuse_identity_change;
CREATE TRIGGER sessions_refuse_identity_change
BEFORE UPDATE OF id, ulid, parent_id, fork_seq, started_at_ms ON sessions
BEGIN
    SELECT RAISE(ABORT, 'zero_session: a session''s id, ulid, parent, fork_seq and start are fixed');
END;

-- Every append raises last_seq and last_event_at_ms: one trigger, with a short WHEN,
-- checks the rewind and their types; the columns other updates set are checked by
-- another.  (sealed_seq is left unguarded: lowering it by hand, like dropping a trigger,
-- is a deliberate way around the guards, and guarding it would tax every append.)
DROP TRIGGER IF EXISTS sessions_refuse_seq_rewind;
CREATE TRIGGER sessions_refuse_seq_rewind
BEFORE UPDATE OF last_seq, last_event_at_ms ON sessions
WHEN NEW.last_seq < OLD.last_seq
  OR NEW.last_seq <> CAST(NEW.last_seq AS INTEGER)
  OR NEW.last_event_at_ms <> CAST(NEW.last_event_at_ms AS INTEGER)
BEGIN
    SELECT RAISE(ABORT, 'zero_session: sessions.last_seq must be an integer')
     WHERE NEW.last_seq <> CAST(NEW.last_seq AS INTEGER);
    SELECT RAISE(ABORT, 'zero_session: last_seq never goes back')
     WHERE NEW.last_seq < OLD.last_seq;
    SELECT RAISE(ABORT, 'zero_session: sessions.last_event_at_ms must be an integer or NULL')
     WHERE NEW.last_event_at_ms <> CAST(NEW.last_event_at_ms AS INTEGER);
END;

CREATE TRIGGER sessions_refuse_wrong_type
BEFORE UPDATE OF ended_at_ms, archived_at_ms, expires_at_ms, writer_pid ON sessions
WHEN typeof(NEW.ended_at_ms) NOT IN ('integer', 'null')
  OR typeof(NEW.archived_at_ms) NOT IN ('integer', 'null')
  OR typeof(NEW.expires_at_ms) NOT IN ('integer', 'null')
  OR typeof(NEW.writer_pid) NOT IN ('integer', 'null')
BEGIN
    SELECT RAISE(ABORT, 'zero_session: sessions.ended_at_ms must be an integer or NULL')
     WHERE typeof(NEW.ended_at_ms) NOT IN ('integer', 'null');
    SELECT RAISE(ABORT, 'zero_session: sessions.archived_at_ms must be an integer or NULL')
     WHERE typeof(NEW.archived_at_ms) NOT IN ('integer', 'null');
    SELECT RAISE(ABORT, 'zero_session: sessions.expires_at_ms must be an integer or NULL')
     WHERE typeof(NEW.expires_at_ms) NOT IN ('integer', 'null');
    SELECT RAISE(ABORT, 'zero_session: sessions.writer_pid must be an integer or NULL')
     WHERE typeof(NEW.writer_pid) NOT IN ('integer', 'null');
END;

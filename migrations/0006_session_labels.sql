-- zero_session schema, version 6: each session's labels stored on its row.
-- Applied in one transaction by zero_session/_schema.py.  Uses nothing newer than
-- SQLite 3.40 (Debian 12's sqlite3 shell).
--
-- Labels are milestones 'session.label.<name>' whose value is a session ulid (the source
-- of truth, unchanged).  Every listing and lookup shows a session's labels; reading them
-- with a correlated lookup on milestones_by_value cost about a third of a listing's
-- SQLite time.  `sessions.labels` holds the same names joined by char(31) (U+001F), NULL
-- when there are none, and the triggers below keep it in step with the milestones in the
-- same statement, also for labels set, moved or removed in the sqlite3 shell.
-- Store.check() reports a row whose column differs from its milestones (triggers
-- dropped, or the column written by hand).
--
-- The recomputation is one indexed read of the session's label milestones; the same
-- expression is in every trigger.  INSERT OR REPLACE (or UPDATE OR REPLACE) over an
-- existing label deletes the old milestone without firing a DELETE trigger, so an
-- insert or a change also recomputes the sessions whose column still names the label:
-- one lookup in `sessions_by_labels` for a session with that one label, and a scan of
-- `sessions_with_several_labels` (only sessions with two labels or more) for the rest.

ALTER TABLE sessions ADD COLUMN labels TEXT;

UPDATE sessions SET labels = (
    SELECT group_concat(substr(m.key, 15), char(31)) FROM milestones AS m
     WHERE m.value = sessions.ulid AND m.key >= 'session.label.' AND m.key < 'session.label/'
)
WHERE ulid IN (
    SELECT value FROM milestones WHERE key >= 'session.label.' AND key < 'session.label/'
);

CREATE INDEX sessions_by_labels ON sessions (labels) WHERE labels IS NOT NULL;
CREATE INDEX sessions_with_several_labels ON sessions (labels)
    WHERE instr(labels, char(31)) > 0;

CREATE TRIGGER milestones_label_added
AFTER INSERT ON milestones
WHEN NEW.key >= 'session.label.' AND NEW.key < 'session.label/'
BEGIN
    UPDATE sessions SET labels = (
        SELECT group_concat(substr(m.key, 15), char(31)) FROM milestones AS m
         WHERE m.value = sessions.ulid AND m.key >= 'session.label.' AND m.key < 'session.label/'
    )
    WHERE ulid = NEW.value
       OR labels = substr(NEW.key, 15)
       OR (labels IS NOT NULL AND instr(labels, char(31)) > 0 AND instr(
           char(31) || labels || char(31), char(31) || substr(NEW.key, 15) || char(31)
       ) > 0);
END;

CREATE TRIGGER milestones_label_changed
AFTER UPDATE OF key, value ON milestones
WHEN (OLD.key >= 'session.label.' AND OLD.key < 'session.label/')
  OR (NEW.key >= 'session.label.' AND NEW.key < 'session.label/')
BEGIN
    UPDATE sessions SET labels = (
        SELECT group_concat(substr(m.key, 15), char(31)) FROM milestones AS m
         WHERE m.value = sessions.ulid AND m.key >= 'session.label.' AND m.key < 'session.label/'
    )
    WHERE ulid = OLD.value OR ulid = NEW.value
       OR labels = substr(NEW.key, 15)
       OR (labels IS NOT NULL AND instr(labels, char(31)) > 0 AND instr(
           char(31) || labels || char(31), char(31) || substr(NEW.key, 15) || char(31)
       ) > 0);
END;

CREATE TRIGGER milestones_label_removed
AFTER DELETE ON milestones
WHEN OLD.key >= 'session.label.' AND OLD.key < 'session.label/'
BEGIN
    UPDATE sessions SET labels = (
        SELECT group_concat(substr(m.key, 15), char(31)) FROM milestones AS m
         WHERE m.value = sessions.ulid AND m.key >= 'session.label.' AND m.key < 'session.label/'
    )
    WHERE ulid = OLD.value;
END;

-- A label may name a session before its row exists (an import, a pull, the shell).
CREATE TRIGGER sessions_label_on_insert
AFTER INSERT ON sessions
WHEN EXISTS (
    SELECT 1 FROM milestones
     WHERE value = NEW.ulid AND key >= 'session.label.' AND key < 'session.label/'
)
BEGIN
    UPDATE sessions SET labels = (
        SELECT group_concat(substr(m.key, 15), char(31)) FROM milestones AS m
         WHERE m.value = sessions.ulid AND m.key >= 'session.label.' AND m.key < 'session.label/'
    )
    WHERE id = NEW.id;
END;

-- zero_session schema, version 3: the full-text search objects are created on demand.
-- Applied in one transaction by zero_session/_schema.py.  Uses nothing newer than
-- SQLite 3.40.
--
-- Version 2 put the search objects in every file, and SQLite parses the whole schema
-- on the first statement of every new connection: they made every open of every store
-- slower (and every start() paid a trigger insert), although most stores never search.
-- From version 3 on they are created by the first search (zero_session/_search.py,
-- SEARCH_SCHEMA), which lists every session as pending, so it indexes all their events.
--
-- This drops them.  The index is only a cache of `events` (the text is stored once, in
-- `events`): nothing is lost, and the next search rebuilds it.  The pages it held stay
-- in the file for reuse (the rebuilt index reuses them); store.vacuum() gives them back.

DROP TRIGGER IF EXISTS sessions_search_pending_on_start;
DROP TRIGGER IF EXISTS sessions_search_pending_on_reopen;
DROP TABLE IF EXISTS event_search;
DROP VIEW IF EXISTS event_search_log;
DROP VIEW IF EXISTS event_search_source;
DROP INDEX IF EXISTS event_search_rows_by_event;
DROP TABLE IF EXISTS event_search_rows;
DROP TABLE IF EXISTS event_search_pending;

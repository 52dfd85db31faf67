"""Export and import of sessions as JSON Lines (``zero-session export`` / ``import``).

Format 1, one JSON object per line, each with a ``type``:

- first, ``{"type": "zero-session-export", "format": 1, "exported_at_ms": …}``;
- per session, ``{"type": "session", "ulid": …, "parent": ulid-or-null, …}`` with every
  column of its row (times in epoch ms, plus ISO-8601 UTC copies for people), followed
  at once by its own events ``{"type": "event", "session": ulid, "seq": …, "at_ms": …,
  "kind": …, "text": …, "data": …}`` in seq order.  Parents come before their forks.
  JSON the API did not write (other spacing, or not JSON, typed into the ``sqlite3``
  shell) travels verbatim as ``data_json`` / ``meta_json`` text instead, so that the
  import restores it byte for byte.
- last, ``{"type": "milestone", "key": …, "value": …, "at_ms": …}``: every milestone for
  a whole-store export, only the labels of the exported sessions otherwise.

Format 2 is format 1 plus, on the line of a session pulled from another store, its
``"origin"`` (the origin's store id) and ``"origin_labels"`` (a JSON array of names, when
it has any).  An export writes format 2 only when one of its sessions has an origin, so
every other export stays format 1 byte for byte; a version that knows only format 1
refuses such a file instead of making the pulled sessions its own.  Import reads both.
A session's origin comes back with it, so an imported pulled session still belongs to
its origin (``append`` raises ForeignSession) -- except in the origin store itself:
importing a session whose origin is the importing store's own id makes it that store's
own session again (no origin, no origin labels).  A session already in the store must
have the file's origin (after that rule) to gain events.

Import runs in one transaction: a bad line anywhere leaves the store as it was.  A new
session row is inserted with its final ``last_seq`` before its events, because the
append-only trigger ``events_refuse_out_of_range`` admits only seqs up to the session's
``last_seq``.  Import is idempotent: a session already present (same ulid) must have the
same parent, fork point and start; it keeps its own fields and only gains the events it
lacks, which must continue its timeline exactly; events it already has must be equal to
the file's.  A milestone is written when it is new or the file's copy is newer.

Import reads files from anywhere, so it caps what one line may cost before trusting it
(each breach is InvalidInput naming the line, and nothing is imported): a line holds at
most :func:`max_line_chars` characters (seven per byte of the store's
``max_event_bytes``, the worst escaping of an event, plus 64 KiB: 112 MiB by default),
read without ever holding more than that; JSON nests at most ``MAX_DATA_DEPTH`` + 1
levels (the line's object around data of at most ``MAX_DATA_DEPTH``, the API's own cap),
``data_json`` and ``meta_json`` included; integers fit SQLite's 64 bits; every field has
its type, and text is valid Unicode.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol

import apsw
import attrs

from . import _events, _milestones, _origins, _search
from ._events import MAX_DATA_DEPTH
from ._sessions import LABEL_PREFIX
from ._sql import LIMIT_SQL, fetch_all
from .errors import InvalidInput
from .ids import is_ulid
from .models import iso_utc

__all__ = ["FORMAT", "FORMAT_WITH_ORIGINS", "TransferCounts", "export_to", "import_from"]

FORMAT = 1
FORMAT_WITH_ORIGINS = 2
"""The format of an export that holds a pulled session (its origin and origin labels)."""
_KNOWN_FORMATS = (FORMAT, FORMAT_WITH_ORIGINS)
HEADER_TYPE = "zero-session-export"
_PAGE = 5_000

# Session columns exported as they are; ``parent`` (a ulid) stands for parent_id.
_INT_FIELDS = ("fork_seq", "started_at_ms", "last_seq")
_OPTIONAL_INT_FIELDS = (
    "ended_at_ms",
    "last_event_at_ms",
    "writer_pid",
    "archived_at_ms",
    "expires_at_ms",
)
_OPTIONAL_TEXT_FIELDS = ("cli_version", "engine_base_url", "cwd", "writer_host", "writer_token")
_COLUMNS = (
    "ulid",
    *_INT_FIELDS,
    *_OPTIONAL_INT_FIELDS,
    *_OPTIONAL_TEXT_FIELDS,
    "meta",
)
_ISO_COPIES = ("started_at_ms", "ended_at_ms", "last_event_at_ms")


class TextSink(Protocol):
    """Anything with ``write(str)``: an open text file, ``sys.stdout``, a StringIO."""

    def write(self, text: str, /) -> Any: ...


@attrs.frozen(slots=True)
class TransferCounts:
    """What an export wrote or an import changed: sessions, events and milestones."""

    sessions: int = 0
    events: int = 0
    milestones: int = 0


# Characters that str.splitlines() (and some editors) treat as line breaks but JSON
# leaves raw inside strings: escaped, so one record is always exactly one line.
_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def _line(obj: dict[str, Any]) -> str:
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return text.translate(_LINE_BREAKS) + "\n"


def _decode_json(raw: str | None) -> tuple[bool, Any]:
    """(exact, value): the parsed JSON when re-encoding it gives back ``raw`` exactly.

    Text the API wrote always qualifies; anything else (typed into the ``sqlite3`` shell
    with other spacing, or not JSON at all) is exported verbatim so import restores it.
    """
    if raw is None:
        return True, None
    try:
        value = json.loads(raw)
        exact = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:
        return False, raw
    return (True, value) if exact == raw else (False, raw)


def _selected_ids(conn: apsw.Connection, ulids: Sequence[str] | None) -> list[tuple[Any, ...]]:
    """(id, parent ulid) plus columns of the sessions to export, then their origin and
    origin labels, parents first."""
    columns = ", ".join(f"CAST(s.{c} AS BLOB)" if c == "meta" else f"s.{c}" for c in _COLUMNS)
    base = (
        f"SELECT s.id, p.ulid, {columns}, s.origin_store_id, s.origin_labels "
        "FROM sessions AS s LEFT JOIN sessions AS p ON p.id = s.parent_id"
    )
    if ulids is None:
        return fetch_all(conn, f"{base} ORDER BY s.id")
    # One JSON array, not a parameter per ulid: SQLite allows 32,766 parameters, and an
    # export may name more sessions than that.
    return fetch_all(
        conn,
        f"""WITH RECURSIVE wanted(id, parent_id) AS (
                SELECT id, parent_id FROM sessions
                 WHERE ulid IN (SELECT value FROM json_each(?))
                UNION
                SELECT p.id, p.parent_id FROM sessions AS p JOIN wanted AS w ON p.id = w.parent_id
            )
            {base} WHERE s.id IN (SELECT id FROM wanted) ORDER BY s.id""",
        (json.dumps(list(ulids)),),
    )


def _event_lines(conn: apsw.Connection, session_id: int, ulid: str, fork_seq: int) -> Iterator[str]:
    sql = (
        "SELECT seq, at_ms, kind, text, data FROM events "
        f"WHERE session_id = ? AND seq > ? ORDER BY seq {LIMIT_SQL}"
    )
    blob_sql = sql.replace(
        "kind, text, data", "CAST(kind AS BLOB), CAST(text AS BLOB), CAST(data AS BLOB)"
    )
    after = fork_seq
    while True:
        rows = fetch_all(conn, sql, (session_id, after, _PAGE), blob_sql=blob_sql)
        for seq, at_ms, kind, text, data in rows:
            valid, value = _decode_json(data)
            line: dict[str, Any] = {
                "type": "event",
                "session": ulid,
                "seq": seq,
                "at_ms": at_ms,
                "at": iso_utc(at_ms),
                "kind": kind,
                "text": text,
            }
            line["data" if valid else "data_json"] = value
            yield _line(line)
        if len(rows) < _PAGE:
            return
        after = rows[-1][0]


def export_to(
    conn: apsw.Connection, out: TextSink, ulids: Sequence[str] | None, now_ms: int
) -> TransferCounts:
    """Write the sessions ``ulids`` with their ancestors (None: the whole store) to ``out``.

    Call inside one read transaction so the export is a consistent snapshot.  The header
    says format 2 when a session has an origin (see the module's docstring), else 1.
    """
    rows = _selected_ids(conn, ulids)
    with_origins = any(row[-2] is not None for row in rows)
    out.write(
        _line(
            {
                "type": HEADER_TYPE,
                "format": FORMAT_WITH_ORIGINS if with_origins else FORMAT,
                "exported_at_ms": now_ms,
                "exported_at": iso_utc(now_ms),
            }
        )
    )
    n_sessions = n_events = 0
    exported: list[str] = []
    for row in rows:
        session_id, parent = row[0], row[1]
        origin, origin_labels = row[-2], row[-1]
        fields = dict(zip(_COLUMNS, row[2:-2], strict=True))
        raw_meta = fields.pop("meta")
        meta_text = raw_meta.decode("utf-8", "replace") if isinstance(raw_meta, bytes) else raw_meta
        record: dict[str, Any] = {"type": "session", "ulid": fields.pop("ulid"), "parent": parent}
        record.update(fields)
        valid, meta = _decode_json(meta_text)
        record["meta" if valid else "meta_json"] = meta
        if origin is not None:
            record["origin"] = origin
            if origin_labels is not None:
                record["origin_labels"] = list(_origins.decode_labels(origin_labels))
        for name in _ISO_COPIES:
            record[name.removesuffix("_ms")] = iso_utc(record[name])
        out.write(_line(record))
        n_sessions += 1
        exported.append(record["ulid"])
        for event_line in _event_lines(conn, session_id, record["ulid"], record["fork_seq"]):
            out.write(event_line)
            n_events += 1
    n_milestones = 0
    for milestone in _export_milestones(conn, exported if ulids is not None else None):
        out.write(
            _line(
                {
                    "type": "milestone",
                    "key": milestone[0],
                    "value": milestone[1],
                    "at_ms": milestone[2],
                    "at": iso_utc(milestone[2]),
                }
            )
        )
        n_milestones += 1
    return TransferCounts(n_sessions, n_events, n_milestones)


def _export_milestones(conn: apsw.Connection, ulids: list[str] | None) -> list[tuple[Any, ...]]:
    if ulids is None:
        found = _milestones.list_milestones(conn, "")
    else:
        wanted = set(ulids)
        found = [m for m in _milestones.list_milestones(conn, LABEL_PREFIX) if m.value in wanted]
    return [(m.key, m.value, m.at_ms) for m in found]


# ---------------------------------------------------------------------- import


_INT64 = range(-(2**63), 2**63)
_LINE_OVERHEAD_CHARS = 64 * 1024
# A lone surrogate can only come from a \uD800-\uDFFF escape (the file is UTF-8).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


def max_line_chars(max_event_bytes: int) -> int:
    """The longest line an import reads: an event of ``max_event_bytes`` whose every
    byte JSON escapes twice over (``\\u0001`` inside ``data_json``), plus the fields."""
    return 7 * max_event_bytes + _LINE_OVERHEAD_CHARS


def _checked(value: Any, name: str, kinds: type | tuple[type, ...], where: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise InvalidInput(f"{where}: field {name!r} has the wrong type ({value!r:.80})")
    if isinstance(value, int) and value not in _INT64:
        digits = len(str(abs(value)))
        raise InvalidInput(f"{where}: field {name!r} does not fit in 64 bits ({digits} digits)")
    return value


def _require(record: dict[str, Any], name: str, kinds: type | tuple[type, ...], where: str) -> Any:
    if name not in record:
        raise InvalidInput(f"{where}: missing field {name!r}")
    return _checked(record[name], name, kinds, where)


def _optional(record: dict[str, Any], name: str, kind: type, where: str) -> Any:
    value = record.get(name)
    if value is None:
        return None
    return _checked(value, name, kind, where)


def _json_text(record: dict[str, Any], name: str, where: str, *, must_parse: bool) -> str:
    """The verbatim JSON text field ``name`` (``data_json``, ``meta_json``), within the
    depth cap.  Text that is not JSON at all passes unless ``must_parse``: it is what
    the ``sqlite3`` shell left in the original store."""
    text: str = _require(record, name, str, where)
    try:
        value = json.loads(text)
    except RecursionError as exc:
        raise InvalidInput(f"{where}: {name} nests deeper than {MAX_DATA_DEPTH} levels") from exc
    except ValueError as exc:
        if must_parse:
            raise InvalidInput(f"{where}: {name} is not JSON") from exc
        return text
    if len(text) > 2 * MAX_DATA_DEPTH and _events.deeper_than(value, MAX_DATA_DEPTH):
        raise InvalidInput(f"{where}: {name} nests deeper than {MAX_DATA_DEPTH} levels")
    return text


@attrs.define
class _Open:
    """The session whose events are being read: what the next event must look like."""

    ulid: str
    session_id: int
    next_seq: int
    last_seq: int
    known_upto: int  # events up to this seq exist already and must match
    where: str


class _Importer:
    def __init__(self, conn: apsw.Connection, max_event_bytes: int) -> None:
        self.conn = conn
        self.max_event_bytes = max_event_bytes
        # Without a search index there is no pending list: the first search lists
        # every session, imported ones included.
        self.indexed = _search.has_index(conn)
        self.open: _Open | None = None
        self.batch: list[tuple[Any, ...]] = []
        self.sessions = self.events = self.milestones = 0
        self.labels: list[tuple[str, str]] = []
        # A session whose origin is this store is this store's own again.
        self.store_id = _origins.read_store_id(conn)

    def counts(self) -> TransferCounts:
        return TransferCounts(self.sessions, self.events, self.milestones)

    def flush(self) -> None:
        if self.batch:
            _events.insert_events(self.conn, self.batch)
            self.events += len(self.batch)
            self.batch = []

    def close_session(self) -> None:
        self.flush()
        current = self.open
        if current is not None and current.next_seq != current.last_seq + 1:
            raise InvalidInput(
                f"{current.where}: session {current.ulid} lacks events "
                f"{current.next_seq}..{current.last_seq}"
            )
        self.open = None

    def origin(self, record: dict[str, Any], where: str) -> tuple[str | None, str | None]:
        """The session's origin store id and origin labels (as the column's JSON text),
        both None for a session of this store.  Raises InvalidInput for an origin that is
        not a ulid, or labels that are not a JSON array of strings."""
        origin = _optional(record, "origin", str, where)
        labels = record.get("origin_labels")
        if origin is not None and not is_ulid(origin):
            raise InvalidInput(f"{where}: origin {origin!r:.80} is not a store id (a ulid)")
        if labels is not None:
            if not isinstance(labels, list) or not all(isinstance(n, str) for n in labels):
                raise InvalidInput(f"{where}: origin_labels must be a JSON array of strings")
            if origin is None:
                raise InvalidInput(f"{where}: origin_labels without an origin")
        if origin is None or origin == self.store_id:
            return None, None
        return origin, json.dumps(sorted(set(labels))) if labels else None

    def session(self, record: dict[str, Any], where: str) -> None:
        self.close_session()
        ulid = _require(record, "ulid", str, where)
        if not is_ulid(ulid):
            raise InvalidInput(f"{where}: {ulid!r} is not a session ulid")
        parent = _optional(record, "parent", str, where)
        ints = {name: _require(record, name, int, where) for name in _INT_FIELDS}
        optional = {name: _optional(record, name, int, where) for name in _OPTIONAL_INT_FIELDS}
        texts = {name: _optional(record, name, str, where) for name in _OPTIONAL_TEXT_FIELDS}
        if "meta_json" in record:
            meta_json = _json_text(record, "meta_json", where, must_parse=True)
        else:
            meta = record.get("meta", {})
            if not isinstance(meta, dict):
                raise InvalidInput(f"{where}: meta must be a JSON object")
            meta_json = _events.encode_data(meta, max_bytes=self.max_event_bytes) or "{}"
        origin, origin_labels = self.origin(record, where)
        fork_seq, last_seq = ints["fork_seq"], ints["last_seq"]
        if fork_seq < 0 or last_seq < fork_seq:
            raise InvalidInput(f"{where}: needs 0 <= fork_seq <= last_seq")
        parent_id = None
        if parent is None:
            if fork_seq != 0:
                raise InvalidInput(f"{where}: a session without parent has fork_seq 0")
        else:
            found = fetch_all(
                self.conn, "SELECT id, last_seq FROM sessions WHERE ulid = ?", (parent,)
            )
            if not found:
                raise InvalidInput(f"{where}: parent {parent} is neither in the file nor the store")
            parent_id, parent_last = found[0]
            if fork_seq > parent_last:
                raise InvalidInput(f"{where}: fork_seq {fork_seq} is past the parent's last seq")
        existing = fetch_all(
            self.conn,
            "SELECT id, parent_id, fork_seq, started_at_ms, last_seq, last_event_at_ms, "
            "origin_store_id FROM sessions WHERE ulid = ?",
            (ulid,),
        )
        if not existing:
            self.conn.execute(
                f"INSERT INTO sessions (parent_id, {', '.join(_COLUMNS)}, origin_store_id, "
                f"origin_labels) VALUES ({', '.join('?' * (len(_COLUMNS) + 3))})",
                (
                    parent_id,
                    ulid,
                    *ints.values(),
                    *optional.values(),
                    *texts.values(),
                    meta_json,
                    origin,
                    origin_labels,
                ),
            )
            session_id = self.conn.last_insert_rowid()
            known_upto = fork_seq
            self.sessions += 1
        else:
            session_id, old_parent, old_fork, old_start, old_last, old_event_at, old_origin = (
                existing[0]
            )
            if (old_parent, old_fork, old_start) != (parent_id, fork_seq, ints["started_at_ms"]):
                raise InvalidInput(
                    f"{where}: session {ulid} is in the store with another parent, fork "
                    "point or start time"
                )
            if old_origin != origin:
                owner = "this store" if old_origin is None else f"its origin store {old_origin}"
                claim = "the exporting store" if origin is None else f"store {origin}"
                raise InvalidInput(f"{where}: session {ulid} belongs to {owner} here, not {claim}")
            known_upto = min(old_last, last_seq)
            if last_seq > old_last:
                newest = max(old_event_at or 0, optional["last_event_at_ms"] or 0) or None
                # The file refuses to extend a pulled session except through the door a
                # pull opens (see _origins.py); its origin's events may come this way too.
                if origin is not None:
                    self.conn.execute(
                        "INSERT INTO pulling_sessions (session_id) VALUES (?)", (session_id,)
                    )
                self.conn.execute(
                    "UPDATE sessions SET last_seq = ?, last_event_at_ms = ? WHERE id = ?",
                    (last_seq, newest, session_id),
                )
                if origin is not None:
                    self.conn.execute(
                        "DELETE FROM pulling_sessions WHERE session_id = ?", (session_id,)
                    )
                # The search index catches up only with sessions listed as pending
                # (see _search.py); a session it had finished with gains events here.
                if self.indexed:
                    self.conn.execute(
                        "INSERT OR IGNORE INTO event_search_pending (session_id, indexed_seq) "
                        "VALUES (?, ?)",
                        (session_id, old_last),
                    )
                self.sessions += 1
        self.open = _Open(ulid, session_id, fork_seq + 1, last_seq, known_upto, where)

    def event(self, record: dict[str, Any], where: str) -> None:
        current = self.open
        ulid = _require(record, "session", str, where)
        if current is None or ulid != current.ulid:
            raise InvalidInput(f"{where}: an event of {ulid} must follow its session's line")
        seq = _require(record, "seq", int, where)
        if seq != current.next_seq or seq > current.last_seq:
            raise InvalidInput(
                f"{where}: expected seq {current.next_seq} of {ulid} "
                f"(last {current.last_seq}), got {seq}"
            )
        at_ms = _require(record, "at_ms", int, where)
        kind = _events.check_kind(_require(record, "kind", str, where))
        text = _require(record, "text", str, where)
        if "data_json" in record:
            data_json: str | None = _json_text(record, "data_json", where, must_parse=False)
        else:
            data_json = _events.encode_data(record.get("data"), max_bytes=self.max_event_bytes)
        _events.check_size(text, data_json, self.max_event_bytes)
        current.next_seq += 1
        row = (current.session_id, seq, at_ms, kind, text, data_json)
        if seq <= current.known_upto:
            stored = fetch_all(
                self.conn,
                "SELECT session_id, seq, at_ms, kind, text, data FROM events "
                "WHERE session_id = ? AND seq = ?",
                (current.session_id, seq),
            )
            if not stored or tuple(stored[0]) != row:
                raise InvalidInput(f"{where}: event {seq} of {ulid} differs from the store's")
            return
        self.batch.append(row)
        if len(self.batch) >= _PAGE:
            self.flush()

    def milestone(self, record: dict[str, Any], where: str) -> None:
        self.close_session()
        key = _milestones.check_key(_require(record, "key", str, where), allow_reserved=True)
        value = _require(record, "value", str, where)
        at_ms = _require(record, "at_ms", int, where)
        if key.startswith(_milestones.INTERNAL_PREFIX):
            return  # the file's own identity and sync cursors, never another file's
        if key.startswith(LABEL_PREFIX):
            _milestones.check_label(key[len(LABEL_PREFIX) :])
            self.labels.append((key, value))
        self.conn.execute(
            "INSERT INTO milestones (key, value, at_ms) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, at_ms = excluded.at_ms "
            "WHERE excluded.at_ms > milestones.at_ms",
            (key, value, at_ms),
        )
        self.milestones += self.conn.changes()

    def finish(self) -> None:
        self.close_session()
        for key, value in self.labels:
            if not fetch_all(self.conn, "SELECT 1 FROM sessions WHERE ulid = ?", (value,)):
                name = key[len(LABEL_PREFIX) :]
                raise InvalidInput(f"label {name!r} names a missing session {value}")


def _decoded(lines: Iterable[str], source: str, max_chars: int) -> Iterator[str]:
    """The lines, with a file that is not UTF-8 or a line longer than ``max_chars``
    reported as InvalidInput.  A file (anything with ``readline``) is read at most
    ``max_chars`` characters at a time, so a line of gigabytes never fills memory."""
    readline = getattr(lines, "readline", None)
    iterator = iter(lines) if readline is None else iter(lambda: readline(max_chars + 1), "")
    number = 0
    while True:
        number += 1
        try:
            line = next(iterator)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"{source}:{number}: not UTF-8 text ({exc.reason})") from exc
        if not isinstance(line, str):
            raise TypeError(f"{source}:{number}: lines must be str, not {type(line).__name__}")
        if len(line) > max_chars:
            raise InvalidInput(
                f"{source}:{number}: line longer than {max_chars:,} characters, the cap "
                "for this store's max_event_bytes"
            )
        yield line


def _parse(raw: str, where: str) -> dict[str, Any]:
    """One line's JSON object, within the depth cap and with valid Unicode text."""
    try:
        record = json.loads(raw)
    except RecursionError as exc:
        raise InvalidInput(f"{where}: JSON nests deeper than {MAX_DATA_DEPTH + 1} levels") from exc
    except ValueError as exc:
        raise InvalidInput(f"{where}: not JSON ({exc})") from exc
    if not isinstance(record, dict):
        raise InvalidInput(f"{where}: expected a JSON object")
    if len(raw) > 2 * (MAX_DATA_DEPTH + 1) and _events.deeper_than(record, MAX_DATA_DEPTH + 1):
        raise InvalidInput(f"{where}: JSON nests deeper than {MAX_DATA_DEPTH + 1} levels")
    if _SURROGATE_ESCAPE.search(raw):
        try:
            json.dumps(record, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidInput(f"{where}: text is not valid Unicode ({exc.reason})") from exc
    return record


_HANDLERS: dict[object, Callable[[_Importer, dict[str, Any], str], None]] = {
    "event": _Importer.event,
    "session": _Importer.session,
    "milestone": _Importer.milestone,
}


def import_from(
    conn: apsw.Connection, lines: Iterable[str], *, max_event_bytes: int, source: str
) -> TransferCounts:
    """Apply an export's lines; call inside one write transaction.  Raises InvalidInput."""
    importer = _Importer(conn, max_event_bytes)
    header_seen = False
    lines = _decoded(lines, source, max_line_chars(max_event_bytes))
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        where = f"{source}:{number}"
        record = _parse(raw, where)
        kind = record.get("type")
        if not header_seen:
            if kind != HEADER_TYPE:
                raise InvalidInput(f"{where}: not a zero-session export (no header line)")
            if record.get("format") not in _KNOWN_FORMATS:
                raise InvalidInput(
                    f"{where}: export format {record.get('format')!r:.80} is unknown"
                )
            header_seen = True
        else:
            handler = _HANDLERS.get(kind) if isinstance(kind, str) else None
            if handler is None:
                raise InvalidInput(f"{where}: unknown line type {kind!r:.80}")
            try:
                handler(importer, record, where)
            except InvalidInput as exc:
                if str(exc).startswith(where):
                    raise
                raise InvalidInput(f"{where}: {exc}") from exc
    if not header_seen:
        raise InvalidInput(f"{source}: empty file, not a zero-session export")
    importer.finish()
    return importer.counts()

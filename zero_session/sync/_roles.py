"""The SQL that sets the server up with an owner role and a least-privilege writer role.

``zero-session sync init --print-sql`` prints it; a superuser runs it once in the target
database (``psql -d DB -f roles.sql``).  The owner owns the schema and every object in it
(so only the owner, or a superuser, runs later migrations with ``sync init``); the
writer may read everything, insert events, sessions, labels, milestones and divergences,
and update only session metadata, labels and milestones: never update or delete an
event (it lacks the privilege, and the table's triggers refuse it to everyone).
"""

from __future__ import annotations

import re

from ._server_schema import known_server_version, load_server_migrations

__all__ = ["WRITER_GRANTS", "roles_sql"]

_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

WRITER_GRANTS = """\
GRANT USAGE ON SCHEMA zero_session TO {writer};
GRANT SELECT ON ALL TABLES IN SCHEMA zero_session TO {writer};
GRANT INSERT ON zero_session.stores, zero_session.sessions, zero_session.events,
    zero_session.labels, zero_session.milestones, zero_session.divergences TO {writer};
GRANT UPDATE (host, last_push_at) ON zero_session.stores TO {writer};
GRANT UPDATE (ended_at_ms, archived_at_ms, expires_at_ms, last_seq, last_event_at_ms,
    pushed_at) ON zero_session.sessions TO {writer};
GRANT UPDATE (ulid, at_ms), DELETE ON zero_session.labels TO {writer};
GRANT UPDATE (value, at_ms) ON zero_session.milestones TO {writer};
"""


def roles_sql(owner: str = "zero_session_owner", writer: str = "zero_session_writer") -> str:
    """The whole set-up script for the role names given (plain lower-case identifiers).

    Raises ValueError for a name that is not one.
    """
    for name in (owner, writer):
        if not _ROLE_NAME.fullmatch(name):
            raise ValueError(f"role name {name!r}: use lower-case letters, digits and _")
    steps = "\n".join(
        f"{step.sql.strip()}\n"
        "INSERT INTO zero_session.schema_migrations (version, name) "
        f"VALUES ({step.version}, '{step.name}');"
        for step in load_server_migrations()
    )
    return f"""\
-- zero_session on PostgreSQL: server schema version {known_server_version()}, an owner role
-- and a least-privilege writer role.  Run it once as a superuser in the target database:
--     psql -d DATABASE -v ON_ERROR_STOP=1 -f zero-session-roles.sql
-- then give the roles passwords (in psql: \\password {owner}  and  \\password {writer}),
-- push as {writer} (zero-session sync push), and run later upgrades as {owner}
-- (zero-session sync init).
BEGIN;
CREATE ROLE {owner} LOGIN;
CREATE ROLE {writer} LOGIN;
CREATE SCHEMA zero_session AUTHORIZATION {owner};
SET LOCAL ROLE {owner};
{steps}
-- What {writer} may do: read; insert events; insert and update session metadata,
-- labels and milestones.  Never UPDATE or DELETE an event.
{WRITER_GRANTS.format(writer=writer)}COMMIT;
"""

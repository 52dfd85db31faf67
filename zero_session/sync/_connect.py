"""Connecting to the server: where the DSN comes from, how a target is named without its
password, the timeouts that bound every fault, and psycopg's errors as ``SyncError``.

The DSN is the argument, else ``$ZERO_SESSION_PG``, else empty, which leaves everything
to libpq's own means (``PGSERVICE`` and service files, ``PG*`` variables, ``~/.pgpass``).
It is parsed only with psycopg's conninfo functions, never by hand, and never shown: a
target is named as ``user@host:port/dbname``.  Every message is also scrubbed of the
password the DSN or ``PGPASSWORD`` holds, and raised ``from None`` so that a traceback
does not carry psycopg's exception (or its connection string) along.

Bounds.  Connecting gives up after ``connect_timeout`` (10 s unless the DSN says
otherwise); TCP keepalives and ``tcp_user_timeout`` end a link the kernel sees die; and
every server round trip of a push runs under :class:`IoGuard`, which shuts the socket
down when the server has not answered in time, so a frozen link (one that accepts bytes
and never answers, where TCP sees nothing wrong) ends in a ``SyncError`` too.
"""

from __future__ import annotations

import getpass
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import conninfo as pg_conninfo

from ..errors import SyncError

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT_S",
    "DEFAULT_IO_TIMEOUT_S",
    "ENV_VAR",
    "IoGuard",
    "Target",
    "connect",
    "resolve",
]

ENV_VAR = "ZERO_SESSION_PG"
DEFAULT_CONNECT_TIMEOUT_S = 10
DEFAULT_IO_TIMEOUT_S = 60.0

# Connection options added unless the DSN sets them.
_DEFAULTS = {
    "keepalives": "1",
    "keepalives_idle": "10",
    "keepalives_interval": "5",
    "keepalives_count": "3",
    "tcp_user_timeout": "30000",
    "application_name": "zero-session sync",
}
# SQLSTATEs of a refused login or a missing right: "rejected", not "unreachable".
_REFUSED_STATES = {"28000", "28P01", "42501", "3D000"}
_REFUSED_WORDS = (
    "password authentication failed",
    "no password supplied",
    "pg_hba.conf",
    "does not exist",
    "permission denied",
    "authentication failed",
)


def resolve(dsn: str | None) -> str:
    """The DSN to use: ``dsn``, else ``$ZERO_SESSION_PG``, else "" (libpq's defaults)."""
    if dsn is None:
        return os.environ.get(ENV_VAR, "")
    if not isinstance(dsn, str):
        raise TypeError(f"dsn must be a str or None, not {type(dsn).__name__}")
    return dsn


class Target:
    """A parsed DSN: what to connect to, a name for messages, and the secrets to scrub."""

    def __init__(self, dsn: str) -> None:
        try:
            params: dict[str, Any] = pg_conninfo.conninfo_to_dict(dsn)
        except psycopg.Error:
            # libpq's parse error quotes the string around the mistake: never shown.
            raise SyncError(
                "the PostgreSQL connection string is malformed (not shown: it may hold a password)",
                "rejected",
            ) from None
        self._dsn = dsn
        self._params = params
        self._secrets = [
            s for s in (params.get("password"), os.environ.get("PGPASSWORD")) if s and len(s) > 0
        ]
        user = params.get("user") or os.environ.get("PGUSER") or _login_name()
        host = (
            params.get("host")
            or params.get("hostaddr")
            or os.environ.get("PGHOST")
            or "local socket"
        )
        port = params.get("port") or os.environ.get("PGPORT") or "5432"
        dbname = params.get("dbname") or os.environ.get("PGDATABASE") or user
        service = params.get("service") or os.environ.get("PGSERVICE")
        self.user = str(user)
        self.host = str(host)
        self.name = f"{user}@{host}:{port}/{dbname}"
        if service:
            self.name += f" (service {service})"

    def __repr__(self) -> str:
        return f"<Target {self.name}>"

    def scrub(self, text: str) -> str:
        """``text`` with every password this target knows replaced by ``***``."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def error(self, exc: BaseException, doing: str) -> SyncError:
        """psycopg's ``exc`` (raised while ``doing``) as a SyncError naming this target."""
        if isinstance(exc, SyncError):
            return exc
        detail = " ".join(str(exc).split()) or type(exc).__name__
        state = getattr(exc, "sqlstate", None)
        if state in _REFUSED_STATES or (
            isinstance(exc, psycopg.OperationalError)
            and any(word in detail for word in _REFUSED_WORDS)
        ):
            kind = "rejected"
        elif isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError | OSError):
            kind = "unreachable"
        else:
            kind = "rejected"
        return SyncError(self.scrub(f"{doing} {self.name}: {detail}"), kind)

    def connect(self, *, connect_timeout_s: float | None = None) -> psycopg.Connection[Any]:
        """An autocommit connection, with the timeouts and keepalives set.

        Raises SyncError: ``unreachable`` (no answer within the connect timeout, refused
        port, unknown host), ``rejected`` (bad password, unknown role or database).
        """
        options: dict[str, Any] = {k: v for k, v in _DEFAULTS.items() if k not in self._params}
        if connect_timeout_s is not None:
            options["connect_timeout"] = str(max(1, round(connect_timeout_s)))
        elif "connect_timeout" not in self._params:
            options["connect_timeout"] = str(DEFAULT_CONNECT_TIMEOUT_S)
        try:
            return psycopg.connect(self._dsn, autocommit=True, **options)
        except (psycopg.Error, OSError) as exc:
            raise self.error(exc, "cannot connect to") from None


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "?"


def connect(dsn: str | None, *, connect_timeout_s: float | None = None) -> tuple[Any, Target]:
    """Resolve ``dsn`` and connect; (connection, target)."""
    target = Target(resolve(dsn))
    return target.connect(connect_timeout_s=connect_timeout_s), target


_IDLE_S = 5.0


class IoGuard:
    """Bounds each server round trip: if one takes longer than ``timeout_s``, the
    connection's socket is shut down, so the blocked call fails at once instead of
    waiting on a link that will never answer.

    One watchdog thread per guard sleeps until the armed deadline; arming and disarming
    only touch a condition variable.  It starts on first use and ends after
    :data:`_IDLE_S` seconds without a round trip, or at :meth:`close`.
    """

    def __init__(self, conn: psycopg.Connection[Any], timeout_s: float) -> None:
        self._conn = conn
        self.timeout_s = timeout_s
        self.fired = False
        self._cond = threading.Condition()
        self._deadline: float | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._watch, name="zero-session sync guard", daemon=True
                )
                self._thread.start()
            self._deadline = time.monotonic() + self.timeout_s
            self._cond.notify()
        try:
            yield
        finally:
            with self._cond:
                self._deadline = None

    def close(self) -> None:
        """End the watchdog thread."""
        with self._cond:
            self._closed = True
            self._cond.notify()

    def _watch(self) -> None:
        with self._cond:
            while not self._closed:
                if self._deadline is None:
                    if not self._cond.wait(_IDLE_S) and self._deadline is None:
                        break  # idle: the next round trip starts a new thread
                    continue
                remaining = self._deadline - time.monotonic()
                if remaining > 0:
                    self._cond.wait(remaining)
                    continue
                self._deadline = None
                self.fired = True
                self._cut()
            self._thread = None

    def _cut(self) -> None:
        try:
            fd = self._conn.pgconn.socket
            sock = socket.socket(fileno=os.dup(fd))
        except (psycopg.Error, OSError):
            return
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        finally:
            sock.close()

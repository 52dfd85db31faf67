"""A real PostgreSQL server for the sync tests, started from Debian's ``postgresql`` package.

``PgServer.start()`` runs ``initdb`` in a temporary folder (password authentication with
scram-sha-256 over TCP on a free loopback port, nothing on a public interface) and
``pg_ctl start``.  As root, the server tools run as the ``postgres`` user through
``runuser`` (``initdb`` refuses root) and the folder is handed to that user.  The server
is tuned for tests (no fsync): it is thrown away at the end of the session.

Faults are real: :meth:`PgServer.kill` stops the server with ``pg_ctl -m immediate``
(like a crash), :class:`FreezableProxy` forwards a TCP link until told to stop
forwarding (a frozen network link).  ``database()`` makes a fresh database per test.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
from typing import Any

SUPERUSER = "zs_super"
_counter = itertools.count(1)


def find_bin_dir() -> str | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` that has ``initdb``, or None."""
    found = []
    for folder in glob.glob("/usr/lib/postgresql/*/bin"):
        match = re.search(r"/postgresql/(\d+)/bin$", folder)
        if match and os.path.exists(os.path.join(folder, "initdb")):
            found.append((int(match.group(1)), folder))
    return max(found)[1] if found else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dsn(**parts: Any) -> str:
    """A libpq key/value connection string (values quoted as libpq wants)."""
    from psycopg.conninfo import make_conninfo

    return make_conninfo("", **{k: v for k, v in parts.items() if v is not None})


class PgServer:
    """One throw-away PostgreSQL cluster on a loopback port."""

    def __init__(self, bin_dir: str) -> None:
        self.bin_dir = bin_dir
        self.root = tempfile.mkdtemp(prefix="zs-pg-")
        self.data = os.path.join(self.root, "data")
        self.log = os.path.join(self.root, "server.log")
        self.port = free_port()
        self.password = "pw-" + secrets.token_hex(12)
        self._as_root = os.geteuid() == 0
        self._free: list[str] = []

    # ------------------------------------------------------------------ tools

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [os.path.join(self.bin_dir, tool), *args]
        if self._as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(
            command, capture_output=True, text=True, check=check, timeout=120, cwd=self.root
        )

    def start(self) -> PgServer:
        """initdb (first time) and start the server; waits until it accepts connections."""
        if not os.path.exists(self.data):
            pwfile = os.path.join(self.root, "pw")
            with open(pwfile, "w", encoding="utf-8") as out:
                out.write(self.password + "\n")
            if self._as_root:
                entry = pwd.getpwnam("postgres")
                for path in (self.root, pwfile):
                    os.chown(path, entry.pw_uid, entry.pw_gid)
            self._run(
                "initdb",
                "-D",
                self.data,
                "-U",
                SUPERUSER,
                "--pwfile",
                pwfile,
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            )
            os.unlink(pwfile)
            with open(os.path.join(self.data, "postgresql.conf"), "a", encoding="utf-8") as conf:
                conf.write(
                    "\nlisten_addresses = '127.0.0.1'\n"
                    f"port = {self.port}\n"
                    f"unix_socket_directories = '{self.root}'\n"
                    "fsync = off\nfull_page_writes = off\n"
                    "max_connections = 200\n"
                )
        self._run("pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", "start")
        return self

    def kill(self) -> None:
        """Stop the server as a crash would (``pg_ctl -m immediate``)."""
        self._run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop", check=False)

    def stop(self) -> None:
        self._run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop", check=False)

    def destroy(self) -> None:
        """Stop (immediately: nothing here is worth a clean shutdown) and delete it all."""
        self.kill()
        shutil.rmtree(self.root, ignore_errors=True)

    # -------------------------------------------------------------- databases

    def dsn(self, dbname: str = "postgres", *, user: str = SUPERUSER, **extra: Any) -> str:
        """A connection string for ``dbname`` (the superuser's password unless given)."""
        extra.setdefault("password", self.password if user == SUPERUSER else None)
        extra.setdefault("port", self.port)
        return dsn(host="127.0.0.1", dbname=dbname, user=user, **extra)

    def execute(self, sql: str, params: Any = None, *, dbname: str = "postgres") -> list[Any]:
        """Run ``sql`` as the superuser (autocommit); the rows it returned, if any."""
        import psycopg

        with psycopg.connect(self.dsn(dbname), autocommit=True, connect_timeout=10) as conn:
            cur = conn.execute(sql, params)
            return cur.fetchall() if cur.description else []

    def database(self) -> str:
        """A new empty database; its name.  (About a second on a busy machine: tests
        that only need an empty one take it from :meth:`take_database`.)"""
        name = f"zs_test_{os.getpid()}_{next(_counter)}"
        self.execute(f'CREATE DATABASE "{name}" STRATEGY FILE_COPY')
        return name

    def take_database(self) -> str:
        """An empty database: one given back earlier and emptied, else a new one."""
        return self._free.pop() if self._free else self.database()

    def give_back(self, name: str) -> None:
        """Empty ``name`` (its zero_session schema dropped, its connections ended) for
        the next :meth:`take_database`; a database that cannot be emptied is left."""
        try:
            self.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            self.execute(
                "SET lock_timeout = '5s'; DROP SCHEMA IF EXISTS zero_session CASCADE",
                dbname=name,
            )
        except Exception:
            return
        self._free.append(name)

    def role(self, name: str, password: str) -> None:
        """Create a login role ``name`` (no other privilege)."""
        from psycopg import sql

        self.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(name), sql.Literal(password)
            )
        )


class FreezableProxy:
    """A TCP proxy on a loopback port that forwards to ``target_port`` until frozen.

    ``freeze()`` stops forwarding in both directions without closing anything: the
    client sees a link that accepts bytes and never answers, like a dead route.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = int(self.listener.getsockname()[1])
        self.frozen = threading.Event()
        self.closed = threading.Event()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            self._sockets += [client, server]
            for src, dst in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while not self.closed.is_set():
                chunk = src.recv(65536)
                if not chunk:
                    break
                while self.frozen.is_set() and not self.closed.is_set():
                    self.closed.wait(0.05)  # hold the bytes: the link is frozen
                if self.closed.is_set():
                    break
                dst.sendall(chunk)
        except OSError:
            pass

    def freeze(self) -> None:
        self.frozen.set()

    def close(self) -> None:
        self.closed.set()
        for sock in [self.listener, *self._sockets]:
            with contextlib.suppress(OSError):
                sock.close()


def dbname_of(conninfo: str) -> str:
    """The database name of a connection string."""
    from psycopg.conninfo import conninfo_to_dict

    return str(conninfo_to_dict(conninfo)["dbname"])

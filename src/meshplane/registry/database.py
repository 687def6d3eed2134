"""Open a registry database: engine set-up per dialect, sessions, the write lock, schema upgrades.

SQLite: WAL journal (readers never block the writer), a busy timeout, foreign keys on, and write
transactions started with ``BEGIN IMMEDIATE`` so two writers queue instead of failing on a stale
snapshot; meshplane's writers queue first at a write gate (`_WriteGate`), which hands the lock
over at once instead of SQLite's polling. PostgreSQL (psycopg 3): write transactions take one
advisory lock, so applies run one after the other and each plans against what the previous one
committed.

Every write is one transaction: `Registry.write()` yields a session whose work is committed when
the block ends and rolled back when it raises.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from meshplane.diagnostics import MeshplaneError
from meshplane.registry import migrate
from meshplane.registry.url import RegistryUrl, UrlSource, normalise_url, resolve_registry_url

SQLITE_BUSY_TIMEOUT_S = 30.0
SQLITE_CACHE_KIB = 16_384
"""Page cache of each SQLite connection (SQLite's default: 2 MB): lineage tables outgrow 2 MB fast."""
WRITE_LOCK_KEY = 0x6D657368_706C616E & 0x7FFFFFFFFFFFFFFF
"""PostgreSQL advisory-lock key held by every registry write transaction ("meshplan")."""

_BEGIN_OPTION = "meshplane_begin"


@dataclass(frozen=True)
class SchemaStatus:
    """Where a registry's schema stands against this meshplane's migrations."""

    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        """True when the database is at the newest migration."""
        return self.current == self.head


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy (the "begin" hook below) emit BEGIN, instead of pysqlite's own guesswork.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.execute("PRAGMA wal_autocheckpoint=10000")  # pages rewritten often: copied back once per 40 MB
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(_BEGIN_OPTION, "")
        connection.exec_driver_sql(f"BEGIN {mode}".strip())


class _WriteGate:
    """Where the writers of one SQLite file queue, in this process and across processes, before ``BEGIN IMMEDIATE``.

    SQLite makes a writer that finds the database locked poll for it, sleeping 1, 2, 5, 10, 15 ms...
    between tries: a commit waiting for another process's 10 ms transaction waits 18 ms, and
    every request behind it too. Here a thread waits on a lock of its process (woken the moment
    it is free), then for a `flock` of ``<file>.write.lock`` (polled every 0.1 to 2 ms). Writers
    that are not meshplane's (the sqlite3 shell) still meet SQLite's own lock and busy timeout.

    Waiting is bounded like SQLite's: after `SQLITE_BUSY_TIMEOUT_S` the write fails with the
    "database is locked" error SQLite would give (the API answers 503). A write opened inside
    another write of the same thread passes the gate (SQLite decides, as before); a lock file that
    cannot be opened or locked (read-only folder, a file system without locks) only costs the gate.
    """

    def __init__(self, lock_file: str) -> None:
        self.lock_file = lock_file
        self.lock = threading.Lock()
        self.owner: int | None = None
        self.handle: int | None = None

    @contextlib.contextmanager
    def hold(self, timeout: float = SQLITE_BUSY_TIMEOUT_S) -> Iterator[None]:
        """Hold the gate for one write transaction."""
        me = threading.get_ident()
        if self.owner == me:
            yield
            return
        deadline = time.monotonic() + timeout
        if not self.lock.acquire(timeout=timeout):
            raise _locked(f"another thread of this process kept the registry's write gate for {timeout:g} s")
        try:
            self.owner = me
            with self._file_lock(deadline):
                yield
        finally:
            self.owner = None
            self.lock.release()

    @contextlib.contextmanager
    def _file_lock(self, deadline: float) -> Iterator[None]:
        handle = self._open()
        if handle is None:
            yield
            return
        pid = os.getpid()
        try:
            if not self._acquire(handle, deadline):
                yield  # no locks on this file system: SQLite's own lock decides
                return
            self.handle = handle
            try:
                yield
            finally:
                self.handle = None
                if os.getpid() == pid:  # not in a child forked inside: the parent unlocks its own
                    # explicitly: a child forked meanwhile holds a copy of the descriptor
                    fcntl.flock(handle, fcntl.LOCK_UN)
        finally:
            if os.getpid() == pid:
                os.close(handle)

    def _open(self) -> int | None:
        for flags in (os.O_RDWR | os.O_CREAT, os.O_RDONLY):  # a lock file of another user: read-only is enough
            try:
                return os.open(self.lock_file, flags | os.O_CLOEXEC, 0o644)
            except OSError:
                continue
        return None

    def _acquire(self, handle: int, deadline: float) -> bool:
        """True once the flock is held; False when the file system has no locks; `OperationalError` at the deadline."""
        pause = 0.0001
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                pass
            except OSError:
                return False
            if time.monotonic() >= deadline:
                raise _locked(f"another process kept {self.lock_file} locked for {SQLITE_BUSY_TIMEOUT_S:g} s")
            time.sleep(pause)
            pause = min(pause * 2, 0.002)

    def reset_in_child(self) -> None:
        """After a fork: a fresh lock (the parent's holder is not here to let go), the inherited descriptor closed."""
        self.lock = threading.Lock()
        self.owner = None
        if self.handle is not None:
            with contextlib.suppress(OSError):
                os.close(self.handle)  # closing a copy leaves the parent's lock alone; unlocking would not
            self.handle = None


def _locked(detail: str) -> sa.exc.OperationalError:
    """The error a write that waited too long raises: SQLite's own, as SQLAlchemy wraps it."""
    return sa.exc.OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError(f"database is locked ({detail})"))


_gates: dict[str, _WriteGate] = {}
_gates_lock = threading.Lock()


def _write_gate(engine: Engine) -> _WriteGate | None:
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = str(Path(database).resolve())
    with _gates_lock:
        return _gates.setdefault(path, _WriteGate(f"{path}.write.lock"))


def _reset_gates() -> None:
    """In a forked child: a thread of the parent may have held a gate at the fork."""
    for gate in _gates.values():
        gate.reset_in_child()


os.register_at_fork(after_in_child=_reset_gates)


def create_registry_engine(url: str) -> Engine:
    """A SQLAlchemy engine for a normalised registry URL (creates the SQLite folder if needed)."""
    if url.startswith("sqlite"):
        resolved = RegistryUrl(url, UrlSource.DEFAULT)
        file = resolved.sqlite_file
        if file is not None:
            file.parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
        _configure_sqlite(engine)
        return engine
    try:
        import psycopg  # noqa: F401 - only to give an install hint
    except ImportError as exc:
        raise MeshplaneError("a PostgreSQL registry needs psycopg 3: pip install 'meshplane[postgres]'") from exc
    try:
        return sa.create_engine(url, pool_pre_ping=True)
    except (sa.exc.ArgumentError, ValueError) as exc:
        raise MeshplaneError(
            f"registry URL '{RegistryUrl(url, UrlSource.DEFAULT).display}' is not valid: {exc}"
        ) from exc


class Registry:
    """A registry database: sessions for reading, locked transactions for writing, migrations."""

    def __init__(self, url: RegistryUrl | str, *, auto_upgrade: bool = True) -> None:
        self.url = url if isinstance(url, RegistryUrl) else RegistryUrl(normalise_url(url), UrlSource.ENVIRONMENT)
        self.engine = create_registry_engine(self.url.url)
        self._gate = _write_gate(self.engine)
        self._schema_checked = False
        self.closed = False
        if auto_upgrade:
            self.ensure_schema()

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def close(self) -> None:
        """Release the connection pool (the object can still be used; `closed` tells background work to stop)."""
        self.closed = True
        self.engine.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- schema -----------------------------------------------------------------------------

    def status(self) -> SchemaStatus:
        """The current and the newest schema revision."""
        with self._connect() as connection:
            return SchemaStatus(migrate.current_revision(connection), migrate.head_revision())

    def upgrade(self) -> SchemaStatus:
        """Migrate to the newest schema in one locked transaction; returns the status before."""
        with self._locked_connection() as connection:
            before = SchemaStatus(migrate.current_revision(connection), migrate.head_revision())
            self._refuse_unknown(before)
            if not before.up_to_date:
                migrate.upgrade_connection(connection)
        self._schema_checked = True
        return before

    def ensure_schema(self) -> None:
        """Apply pending migrations on first use (a no-op once the schema is current)."""
        if self._schema_checked:
            return
        status = self.status()
        self._refuse_unknown(status)
        if not status.up_to_date:
            self.upgrade()
        self._schema_checked = True

    def _refuse_unknown(self, status: SchemaStatus) -> None:
        if status.current is not None and status.current not in migrate.known_revisions():
            raise MeshplaneError(
                f"the registry at {self.url.display} has schema revision {status.current}, which this meshplane "
                "does not know (it was written by a newer meshplane): upgrade meshplane"
            )

    # --- sessions ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _connect(self) -> Iterator[Connection]:
        try:
            connection = self.engine.connect()
        except sa.exc.OperationalError as exc:
            raise MeshplaneError(f"cannot open the registry at {self.url.display}: {exc.orig}") from exc
        with connection:
            yield connection

    @contextlib.contextmanager
    def _locked_connection(self) -> Iterator[Connection]:
        with self._gate.hold() if self._gate else contextlib.nullcontext(), self._connect() as connection:
            if self.dialect == "sqlite":
                connection.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
            with connection.begin():
                if self.dialect == "postgresql":
                    connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK_KEY})
                yield connection

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading (its transaction is rolled back at the end)."""
        self.ensure_schema()
        with self._connect() as connection, connection.begin(), Session(bind=connection) as session:
            yield session

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction holding the registry's write lock; committed when the block ends."""
        self.ensure_schema()
        with self._locked_connection() as connection, Session(bind=connection, autoflush=False) as session:
            yield session
            session.flush()


def open_mesh_registry(mesh_root: Path | None, mesh_registry: str | None = None) -> Registry:
    """Open the registry of a mesh (URL resolved by `resolve_registry_url`).

    `meshplane test` decides whether to record runs with `registry_configured` first, so that
    without a registry it never imports SQLAlchemy at all.
    """
    return Registry(resolve_registry_url(mesh_root, mesh_registry))


__all__ = ["Registry", "SchemaStatus", "create_registry_engine", "open_mesh_registry"]

"""The store: one registry database and the runtime state that belongs to it.

A `Registry` owns its SQLAlchemy engine, the schema check, `read()` sessions, `write()`
transactions, its caches (`StampedCache`: catalog index, consumer graph, port index, contract
shapes), its SQLite writer and its background worker (`meshplane.registry.worker`); `close()`
stops all of them. No state of a registry lives in a module global.

**SQLite** (WAL, one serving process per registry file): every write of the process goes through
one writer thread fed by a queue (datasette's pattern). The thread takes every task waiting and
runs them in one ``BEGIN IMMEDIATE`` transaction: that is the group commit, for synchronous
callers (`write`) and asynchronous ones (`write_async`) alike. A task that raises rolls its group
back, and the tasks of that group are then run one transaction each, so one caller's bad data
never fails another's. Other processes (a CLI ``apply`` while the server runs) meet SQLite's own
lock and busy timeout.

**PostgreSQL**: no writer thread and no global lock: each write runs in its caller's thread in its
own transaction. Only writes that must not interleave (apply, agreement transitions, token changes,
test-run publishing, migrations) pass ``exclusive=True`` and take one advisory transaction lock;
ingest and derivation rely on ``INSERT … ON CONFLICT DO NOTHING`` and claimed rows
(``FOR UPDATE SKIP LOCKED``), so several API workers and several workers run side by side.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from meshplane.diagnostics import MeshplaneError
from meshplane.registry import migrate
from meshplane.registry.unavailable import cannot_open, immutable, unwritable
from meshplane.registry.url import RegistryUrl, UrlSource, normalise_url

if TYPE_CHECKING:
    from meshplane.registry.worker import Worker

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_S = 30.0
SQLITE_CACHE_KIB = 16_384
"""Page cache of each SQLite connection (SQLite's default: 2 MB): lineage tables outgrow 2 MB fast."""
EXCLUSIVE_LOCK_KEY = 0x6D657368_706C616E & 0x7FFFFFFFFFFFFFFF
"""PostgreSQL advisory-lock key of exclusive writes ("meshplan"): apply, agreements, tokens, test runs."""
MAX_GROUP = 256
"""Most tasks the SQLite writer runs in one transaction."""

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


def create_registry_engine(url: str) -> Engine:
    """A SQLAlchemy engine for a normalised registry URL (creates the SQLite folder if needed)."""
    if url.startswith("sqlite"):
        resolved = RegistryUrl(url, UrlSource.DEFAULT)
        file = resolved.sqlite_file
        if file is not None:
            file.parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    try:
        import psycopg  # noqa: F401 - only to give an install hint
    except ImportError as exc:
        raise MeshplaneError("a PostgreSQL registry needs psycopg 3: pip install 'meshplane[postgres]'") from exc
    try:
        return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    except (sa.exc.ArgumentError, ValueError) as exc:
        raise MeshplaneError(
            f"registry URL '{RegistryUrl(url, UrlSource.DEFAULT).display}' is not valid: {exc}"
        ) from exc


class StampedCache:
    """Values built from the registry, reused while the stamp they were built at is unchanged.

    One per registry (`Registry.cache`): e.g. the catalog index keyed by ``"catalog"`` and
    stamped with the last audit entry. Bounded: the least recently used entries go first. One
    build per key at a time: a caller asking for a key that another thread is building (the
    worker refreshing the read models, `service.readmodels`) waits for that build instead of
    running a second one beside it.
    """

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._entries: OrderedDict[Hashable, tuple[Hashable, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[Hashable, tuple[threading.Lock, list[int]]] = {}
        """Key → (its build lock, [callers holding or waiting for it]); removed when the last one leaves."""
        self.generation = 0
        """How often the cache was cleared: what was derived from an older generation is stale."""

    def _fresh(self, key: Hashable, stamp: Hashable) -> tuple[bool, Any]:
        entry = self._entries.get(key)
        if entry is not None and entry[0] == stamp:
            self._entries.move_to_end(key)
            return True, entry[1]
        return False, None

    def peek(self, key: Hashable, stamp: Hashable) -> bool:
        """Whether `key` holds a value built at `stamp` (nothing is built)."""
        with self._lock:
            return self._fresh(key, stamp)[0]

    def get(self, key: Hashable, stamp: Hashable, build: Callable[[], T]) -> T:
        """The value of `key` built at `stamp`, built now (outside the cache's lock) when missing or stale."""
        with self._lock:
            found, value = self._fresh(key, stamp)
            if found:
                return cast(T, value)
            slot = self._building.get(key)
            if slot is None:
                slot = self._building[key] = (threading.Lock(), [0])
            slot[1][0] += 1
        try:
            with slot[0]:  # another thread building this key: wait for it, then use what it built
                with self._lock:
                    found, value = self._fresh(key, stamp)
                if found:
                    return cast(T, value)
                built = build()
                self.put(key, stamp, built)
                return built
        finally:
            with self._lock:
                slot[1][0] -= 1
                if not slot[1][0]:
                    self._building.pop(key, None)

    def put(self, key: Hashable, stamp: Hashable, value: Any) -> None:
        """Remember `value` for `key` at `stamp`."""
        with self._lock:
            self._entries[key] = (stamp, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget everything (a token revocation; benchmarks measure cold builds with it)."""
        with self._lock:
            self._entries.clear()
            self.generation += 1


@dataclass
class _Task:
    work: Callable[[Session], Any]
    future: Future[Any]


class _Stop:
    """The writer's end-of-queue marker."""


class SqliteWriter:
    """The one writer thread of a SQLite registry: tasks from a queue, each group in one transaction."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._queue: queue.SimpleQueue[_Task | _Stop] = queue.SimpleQueue()
        self._connection: Connection | None = None
        """The writer's own connection and session, kept open: no pool round trip or new session per transaction."""
        self._session: Session | None = None
        self._closing = threading.Lock()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="meshplane-writer", daemon=True)
        self._thread.start()

    @property
    def thread(self) -> threading.Thread:
        """The writer thread."""
        return self._thread

    def submit(self, work: Callable[[Session], T]) -> Future[T]:
        """Queue `work`; the future holds what it returned, or what it raised."""
        future: Future[T] = Future()
        with self._closing:
            if self._stopped:
                raise MeshplaneError(f"the registry at {self._registry.url.display} is closed")
            self._queue.put(_Task(work, future))
        return future

    def stop(self, timeout: float = 30.0) -> None:
        """Run what is queued, then end the thread (nothing can be queued from then on)."""
        with self._closing:
            if self._stopped:
                return
            self._stopped = True
            self._queue.put(_Stop())
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            if self._session is not None:
                self._session.close()
            if self._connection is not None:
                self._connection.close()
            while True:  # what was queued behind the end (a thread that died): never left waiting
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, _Task) and item.future.set_running_or_notify_cancel():
                    item.future.set_exception(MeshplaneError(f"the registry at {self._registry.url.display} is closed"))

    def _loop(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if isinstance(first, _Stop):
                return
            group = [first]
            while len(group) < MAX_GROUP:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, _Stop):
                    stopping = True
                    break
                group.append(item)
            self._execute([t for t in group if t.future.set_running_or_notify_cancel()])

    def _execute(self, group: list[_Task]) -> None:
        if not group:
            return
        try:
            results = self._transaction(group)
        except _TaskFailed as failed:
            if len(group) == 1:
                group[0].future.set_exception(failed.error)
                return
            for task in group:  # one task's failure must not fail the others: one transaction each
                self._execute_alone(task)
            return
        except BaseException as exc:  # the database itself (locked, read-only, disk full): every task hears it
            for task in group:
                task.future.set_exception(exc)
            return
        for task, result in zip(group, results, strict=True):
            task.future.set_result(result)

    def _execute_alone(self, task: _Task) -> None:
        try:
            result = self._transaction([task])[0]
        except _TaskFailed as failed:
            task.future.set_exception(failed.error)
        except BaseException as exc:
            task.future.set_exception(exc)
        else:
            task.future.set_result(result)

    def _transaction(self, group: list[_Task]) -> list[Any]:
        self._registry.check_writable_index()
        if self._connection is None or self._connection.closed or self._connection.invalidated:
            self._reset()
            self._connection = self._registry.writer_connection()
            self._session = Session(bind=self._connection, autoflush=False)
        connection, session = self._connection, self._session
        assert session is not None
        results = []
        try:
            with connection.begin():
                for task in group:
                    try:
                        results.append(task.work(session))
                        session.flush()
                    except Exception as exc:
                        if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
                            raise
                        raise _TaskFailed(exc) from exc
        except sa.exc.DBAPIError:
            self._reset()  # a broken connection is not used again
            raise
        finally:
            if self._session is not None:
                self._session.close()  # its objects are the callers' now (detached); the connection stays
        return results

    def _reset(self) -> None:
        if self._session is not None:
            self._session.close()
        if self._connection is not None:
            self._connection.close()
        self._connection = self._session = None


class _TaskFailed(Exception):
    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class Registry:
    """A registry database with its runtime state: engine, sessions, writer, caches, worker."""

    def __init__(self, url: RegistryUrl | str, *, auto_upgrade: bool = True) -> None:
        self.url = url if isinstance(url, RegistryUrl) else RegistryUrl(normalise_url(url), UrlSource.ENVIRONMENT)
        self.engine = create_registry_engine(self.url.url)
        self.cache = StampedCache()
        """Values built from this registry (catalog index, consumer graph, port index, contract shapes)."""
        self.worker: Worker | None = None
        """The background worker running in this process, when one was started (`meshplane.registry.worker`)."""
        self._writer: SqliteWriter | None = None
        self._writer_lock = threading.Lock()
        self._schema_checked = False
        file = self.url.sqlite_file
        self._shm = f"{file}-shm" if file is not None else None
        """SQLite's WAL index, mapped in memory: checked before each transaction (`check_writable_index`)."""
        self.closed = False
        if auto_upgrade:
            self.ensure_schema()

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def close(self) -> None:
        """Stop the worker and the writer (after what is queued), release the connection pool."""
        if self.closed:
            return
        self.closed = True
        try:
            if self.worker is not None:
                self.worker.stop()
            with self._writer_lock:
                writer, self._writer = self._writer, None
            if writer is not None:
                writer.stop()
        finally:
            self.cache.clear()
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
        """Migrate to the newest schema in one exclusive transaction; returns the status before.

        A registry that cannot take the migration (read-only, full) is `RegistryUnavailable`.
        """
        try:
            with self._connect() as connection:
                if self.dialect == "sqlite":
                    connection.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
                with connection.begin():
                    if self.dialect == "postgresql":
                        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": EXCLUSIVE_LOCK_KEY})
                    before = SchemaStatus(migrate.current_revision(connection), migrate.head_revision())
                    self._refuse_unknown(before)
                    if not before.up_to_date:
                        migrate.upgrade_connection(connection)
        except sa.exc.DBAPIError as exc:
            if (refusal := unwritable(self.url, exc)) is None:
                raise
            raise refusal from exc
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

    def check_writable_index(self) -> None:
        """Raise `RegistryUnavailable` when SQLite's mapped ``-shm`` file was made immutable (else a SIGBUS).

        Every transaction passes here before SQLite touches the mapping (`registry.unavailable.immutable`).
        """
        if self._shm is not None and (refusal := immutable(self.url, self._shm)) is not None:
            raise refusal

    @contextlib.contextmanager
    def _connect(self) -> Iterator[Connection]:
        if self.closed:
            raise MeshplaneError(f"the registry at {self.url.display} is closed")
        self.check_writable_index()
        try:
            connection = self.engine.connect()
        except sa.exc.OperationalError as exc:
            raise cannot_open(self.url, exc) from exc
        with connection:
            yield connection

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading (its transaction is rolled back at the end)."""
        self.ensure_schema()
        with self._connect() as connection, connection.begin(), Session(bind=connection) as session:
            yield session

    @contextlib.contextmanager
    def transaction(self, *, immediate: bool = False, exclusive: bool = False) -> Iterator[Session]:
        """One transaction in the calling thread, committed when the block ends (the writer's building block).

        Callers write through `write` / `write_async`: on SQLite only the writer thread opens these.
        `immediate` starts a SQLite transaction as a writer; `exclusive` takes PostgreSQL's advisory lock.
        """
        with self._connect() as connection:
            if immediate and self.dialect == "sqlite":
                connection.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
            with connection.begin():
                if exclusive and self.dialect == "postgresql":
                    connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": EXCLUSIVE_LOCK_KEY})
                with Session(bind=connection, autoflush=False) as session:
                    yield session
                    session.flush()

    def writer_connection(self) -> Connection:
        """A connection for the SQLite writer: its transactions start as a writer (``BEGIN IMMEDIATE``)."""
        try:
            connection = self.engine.connect()
        except sa.exc.OperationalError as exc:
            raise cannot_open(self.url, exc) from exc
        return connection.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})

    def _sqlite_writer(self) -> SqliteWriter:
        with self._writer_lock:
            if self.closed:
                raise MeshplaneError(f"the registry at {self.url.display} is closed")
            if self._writer is None:
                self._writer = SqliteWriter(self)
            return self._writer

    def submit(self, work: Callable[[Session], T], *, exclusive: bool = False) -> Future[T]:
        """Run `work(session)` in one write transaction, later; the future holds its result.

        SQLite: queued for the writer thread (group-committed with whatever else waits).
        PostgreSQL: run now, in the calling thread (the future is already done).
        """
        self.ensure_schema()
        if self.dialect == "sqlite":
            writer = self._sqlite_writer()
            if threading.current_thread() is writer.thread:
                raise RuntimeError("a registry write was started inside another write (the writer thread)")
            return writer.submit(work)
        future: Future[T] = Future()
        try:
            with self.transaction(exclusive=exclusive) as session:
                result = work(session)
        except BaseException as exc:
            future.set_exception(exc)
        else:
            future.set_result(result)
        return future

    def write(self, work: Callable[[Session], T], *, exclusive: bool = False) -> T:
        """Run `work(session)` in one write transaction and return its result (its exception propagates).

        `exclusive`: a write that must not interleave with another exclusive one (apply, agreement
        transitions, token changes, test runs); on SQLite every write is.
        """
        try:
            return self.submit(work, exclusive=exclusive).result()
        except sa.exc.DBAPIError as exc:  # read-only or full: one clear line (`registry.unavailable`)
            if (refusal := unwritable(self.url, exc)) is None:
                raise
            raise refusal from exc

    async def write_async(self, work: Callable[[Session], T], *, exclusive: bool = False) -> T:
        """`write` for an event loop: the loop waits without blocking (SQLite: on the writer's future)."""
        if self.dialect == "sqlite":
            self.ensure_schema()
            try:
                return await asyncio.wrap_future(self.submit(work))
            except sa.exc.DBAPIError as exc:
                if (refusal := unwritable(self.url, exc)) is None:
                    raise
                raise refusal from exc
        return await asyncio.to_thread(self.write, work, exclusive=exclusive)


__all__ = [
    "EXCLUSIVE_LOCK_KEY",
    "Registry",
    "SchemaStatus",
    "SqliteWriter",
    "StampedCache",
    "create_registry_engine",
]

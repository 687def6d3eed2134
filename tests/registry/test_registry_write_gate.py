"""The SQLite write gate: meshplane's writers of one file queue at ``<file>.write.lock`` before SQLite's lock.

What it must do: make a writer of another process wait (the gate, not only SQLite, is held), let
it through once the holder is done, survive a fork taken while a thread held it, let the writes of
many threads all land, and give up like SQLite's busy timeout ("database is locked") when held
too long.
"""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from meshplane.registry import Registry
from meshplane.registry.models import AuditEntry

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the gate's tests fork")


def _count(registry: Registry) -> int:
    with registry.read() as session:
        return int(session.execute(sa.select(sa.func.count()).select_from(AuditEntry)).scalar_one())


def _write_one(registry: Registry, note: str) -> None:
    with registry.write() as session:
        session.add(AuditEntry(at=datetime.now(UTC), actor="test", action="note", summary=note, details={}))


def _hold_file_lock(lock_file: str, held: multiprocessing.synchronize.Event, seconds: float) -> None:
    handle = os.open(lock_file, os.O_RDWR | os.O_CREAT)
    fcntl.flock(handle, fcntl.LOCK_EX)
    held.set()
    time.sleep(seconds)
    os.close(handle)


def _held_by_another_process(lock_file: str, seconds: float) -> multiprocessing.process.BaseProcess:
    """A forked process holding the gate's flock for `seconds` (started, and holding it, on return)."""
    context = multiprocessing.get_context("fork")
    held = context.Event()
    holder = context.Process(target=_hold_file_lock, args=(lock_file, held, seconds))
    holder.start()
    assert held.wait(10)
    return holder


def test_a_writer_waits_for_another_process_holding_the_gate(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    with Registry(url) as registry:
        holder = _held_by_another_process(f"{tmp_path / 'r.db'}.write.lock", 0.6)
        start = time.monotonic()
        _write_one(registry, "after the holder")  # SQLite itself is free: only the gate makes it wait
        waited = time.monotonic() - start
        holder.join(10)
        assert waited >= 0.3, f"the write did not wait for the gate ({waited:.3f} s)"
        assert waited < 5
        assert (tmp_path / "r.db.write.lock").exists()


def _held_by_a_thread(gate: Any) -> Callable[[], None]:
    """A thread of this process holds `gate` (outside any transaction) until the returned function is called."""
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with gate.hold():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    assert inside.wait(10)

    def let_go() -> None:
        release.set()
        thread.join(10)

    return let_go


def _write_in_child(url: str, done: multiprocessing.synchronize.Event) -> None:
    with Registry(url) as registry:
        _write_one(registry, "child")
    done.set()


def test_a_child_forked_while_a_thread_held_the_gate_can_write(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    with Registry(url) as registry:
        gate = registry._gate  # held outside a transaction: SQLite itself must not be forked mid-write
        assert gate is not None
        release = _held_by_a_thread(gate)
        context = multiprocessing.get_context("fork")
        done = context.Event()
        child = context.Process(target=_write_in_child, args=(url, done))
        child.start()  # forked while this process's gate (lock and flock) is held
        time.sleep(0.2)
        assert not done.is_set()  # it waits for the parent's holder...
        release()
        assert done.wait(20), "the child never got through the gate"  # ...and only for it
        child.join(10)
        assert child.exitcode == 0
        _write_one(registry, "parent again")  # the parent's lock was released, copies or not
        assert _count(registry) >= 2


def test_writes_of_threads_queue_and_all_land(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    with Registry(url) as registry:
        before = _count(registry)
        errors: list[BaseException] = []

        def work(n: int) -> None:
            try:
                for i in range(25):
                    _write_one(registry, f"{n}-{i}")
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors
        assert _count(registry) == before + 150


def test_waiting_for_the_gate_is_bounded_like_sqlites_busy_timeout(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    with Registry(url) as registry:
        gate = registry._gate
        assert gate is not None
        holder = _held_by_another_process(f"{tmp_path / 'r.db'}.write.lock", 3.0)
        start = time.monotonic()
        with pytest.raises(sa.exc.OperationalError, match="database is locked"), gate.hold(timeout=0.3):
            pass
        assert 0.25 <= time.monotonic() - start < 2
        holder.kill()
        holder.join(10)
        release = _held_by_a_thread(gate)
        with pytest.raises(sa.exc.OperationalError, match="another thread"), gate.hold(timeout=0.2):
            pass
        release()
        _write_one(registry, "free again")

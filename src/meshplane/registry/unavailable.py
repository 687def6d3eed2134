"""A registry that cannot be written (a read-only file or folder, a full disk), told in one line.

`Registry.write` / `write_async` and the opening of a connection pass the driver's error through
`unwritable` / `cannot_open`: a read-only or full registry becomes `RegistryUnavailable` ("the
registry at … is read-only"), which the CLI prints as one line (exit 1) and the API answers with
503, instead of a `sqlite3.OperationalError` traceback or a 500. Other errors are left as they are.

A SQLite file made immutable (``chattr +i``) while a process uses it is checked before each
transaction (`immutable`): SQLite maps its ``-shm`` file (the WAL index) into memory, and a write to
a mapped page of an immutable file is a SIGBUS, which kills the process without a word. The check
turns that into `RegistryUnavailable` (one log line, 503) before SQLite touches the mapping.
"""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa

from meshplane.diagnostics import MeshplaneError
from meshplane.errors import RegistryUnavailable
from meshplane.registry.url import RegistryUrl

_READ_ONLY_STATES = {"25006", "42501"}
"""PostgreSQL: read_only_sql_transaction (a standby, ``default_transaction_read_only``), insufficient_privilege."""
_FULL_STATES = {"53100", "53200"}
"""PostgreSQL: disk_full, out_of_memory."""


def _reason(exc: sa.exc.DBAPIError) -> str:
    text = str(exc.orig).strip().splitlines()[0] if exc.orig is not None and str(exc.orig).strip() else ""
    return text[:200]


def unwritable(url: RegistryUrl, exc: sa.exc.DBAPIError) -> RegistryUnavailable | None:
    """`RegistryUnavailable` when `exc` says the registry cannot take writes (read-only, full); else None."""
    reason = _reason(exc)
    lowered = reason.lower()
    state = getattr(exc.orig, "sqlstate", None)
    if "readonly database" in lowered or "read-only" in lowered or state in _READ_ONLY_STATES:
        return RegistryUnavailable(
            f"the registry at {url.display} is read-only; nothing was written ({reason})",
            public="the registry is read-only; nothing was written",
        )
    if "database or disk is full" in lowered or state in _FULL_STATES:
        return RegistryUnavailable(
            f"the registry at {url.display} is full; nothing was written ({reason})",
            public="the registry is full; nothing was written",
        )
    if "disk i/o error" in lowered:
        return RegistryUnavailable(
            f"the registry at {url.display} cannot be written; nothing was written ({reason})",
            public="the registry cannot be written; nothing was written",
        )
    return None


def immutable(url: RegistryUrl, shm: str) -> RegistryUnavailable | None:
    """`RegistryUnavailable` when `shm`, the ``-shm`` file of SQLite registry `url`, cannot be written; else None.

    SQLite maps the ``-shm`` file: once it cannot be written (``chattr +i``, even for root) the next
    write to a mapped page is a SIGBUS that kills the process without a line. An immutable database
    or ``-wal`` file is an I/O error SQLite reports itself (`unwritable`). The check is one
    ``access(2)`` call, well under a microsecond; it opens no descriptor of the file, since closing
    one would drop the POSIX locks SQLite holds on it in this process.
    """
    if os.access(shm, os.W_OK) or not Path(shm).exists():
        return None
    return RegistryUnavailable(
        f"the registry at {url.display} is read-only: {Path(shm).name} is immutable (chattr +i) or not writable; "
        "nothing was read or written",
        public="the registry is read-only; nothing was read or written",
    )


def cannot_open(url: RegistryUrl, exc: sa.exc.OperationalError) -> MeshplaneError:
    """The error of a registry that does not open: read-only when its SQLite file or folder is not writable."""
    file = url.sqlite_file
    if file is not None and file.exists() and not (os.access(file, os.W_OK) and os.access(file.parent, os.W_OK)):
        return RegistryUnavailable(
            f"the registry at {url.display} is read-only: SQLite needs to write the file and its folder "
            f"({_reason(exc) or 'unable to open'})",
            public="the registry is read-only and cannot be opened",
        )
    return MeshplaneError(f"cannot open the registry at {url.display}: {exc.orig}")


__all__ = ["cannot_open", "immutable", "unwritable"]

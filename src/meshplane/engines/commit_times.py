"""When a table or a folder of files last changed, from metadata only: never a row.

* Delta: the ``commitInfo.timestamp`` of the newest ``_delta_log/<version>.json`` (one small JSON
  file; its modification time when the commit carries none);
* Iceberg: the commit time (``timestamp-ms``) of the current snapshot in the newest
  ``metadata/*.metadata.json`` (``last-updated-ms`` without a snapshot);
* files: the newest modification time of the data files under a folder or matching a glob.

No engine is opened and no data file is read: the freshness evaluation of the worker
(`meshplane.service.freshness`) calls these every minute for every port.
"""

from __future__ import annotations

import glob
import json
import os
from datetime import UTC, datetime
from pathlib import Path

from meshplane.engines.arrow_tables import newest_iceberg_metadata

_HIDDEN = (".", "_")


def _from_ms(value: object) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC)
    return None


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def delta_commit_time(table: Path) -> datetime | None:
    """The time of the newest commit of the Delta table at `table` (None: no Delta log there)."""
    log = table / "_delta_log"
    if not log.is_dir():
        return None
    commits = [p for p in log.glob("*.json") if p.stem.isdigit()]
    if not commits:
        return None
    newest = max(commits, key=lambda p: int(p.stem))
    try:
        with newest.open(encoding="utf-8") as lines:
            for line in lines:
                action = json.loads(line) if line.strip() else {}
                stamp = _from_ms((action.get("commitInfo") or {}).get("timestamp"))
                if stamp is not None:
                    return stamp
    except (OSError, ValueError):
        pass
    return _mtime(newest)


def iceberg_commit_time(table: Path) -> datetime | None:
    """The commit time of the current snapshot of the Iceberg table at `table` (None: no metadata there)."""
    metadata = newest_iceberg_metadata(table) if (table / "metadata").is_dir() else None
    if metadata is None:
        return None
    try:
        document = json.loads(metadata.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return _mtime(metadata)
    current = document.get("current-snapshot-id")
    for snapshot in document.get("snapshots") or []:
        if snapshot.get("snapshot-id") == current:
            stamp = _from_ms(snapshot.get("timestamp-ms"))
            if stamp is not None:
                return stamp
    return _from_ms(document.get("last-updated-ms")) or _mtime(metadata)


def newest_file_time(location: Path) -> datetime | None:
    """The newest modification time of the data files at `location` (a file, a folder, or a glob pattern).

    Hidden files and folders (``.``, ``_`` prefixes: ``_SUCCESS``, ``.crc``) do not count.
    """
    text = str(location)
    if glob.has_magic(text):
        paths = [Path(p) for p in glob.glob(text, recursive=True)]  # noqa: PTH207 - the pattern may be absolute
        stamps = [p.stat().st_mtime for p in paths if p.is_file() and not p.name.startswith(_HIDDEN)]
        return datetime.fromtimestamp(max(stamps), UTC) if stamps else None
    if location.is_file():
        return _mtime(location)
    if not location.is_dir():
        return None
    newest: float | None = None
    for folder, dirs, files in os.walk(location):
        dirs[:] = [d for d in dirs if not d.startswith(_HIDDEN)]
        for name in files:
            if name.startswith(_HIDDEN):
                continue
            stamp = os.stat(os.path.join(folder, name)).st_mtime  # noqa: PTH116, PTH118 - the walk's fast path
            newest = stamp if newest is None or stamp > newest else newest
    return datetime.fromtimestamp(newest, UTC) if newest is not None else None


__all__ = ["delta_commit_time", "iceberg_commit_time", "newest_file_time"]

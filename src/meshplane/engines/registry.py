"""Which engines exist and which one serves a server.

Built-in engines are listed here by import path (one line per engine); `register` adds others
(plugins, tests). Nothing else in meshplane names an engine: the service asks `engine_for(server)`.
Engine modules import their heavy drivers lazily, so listing them here costs nothing.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import TYPE_CHECKING

from meshplane.diagnostics import MeshplaneError
from meshplane.engines.base import Engine

if TYPE_CHECKING:
    from meshplane.spec.odcs import Server

BUILTIN_ENGINES: tuple[str, ...] = (
    "meshplane.engines.duckdb:DuckDBEngine",
    "meshplane.engines.spark:SparkEngine",
    "meshplane.engines.postgres:PostgresEngine",
)
"""Import paths of the built-in engines, in order of preference when several serve a server."""

_extra: list[Engine] = []


def _load(path: str) -> Engine:
    module_name, _, class_name = path.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    engine = cls()
    if not isinstance(engine, Engine):
        raise TypeError(f"{path} is not an Engine")
    return engine


@cache
def _builtin() -> tuple[Engine, ...]:
    return tuple(_load(path) for path in BUILTIN_ENGINES)


def register(engine: Engine) -> None:
    """Add an engine (a plugin or a test double); it takes precedence over built-ins of the same name."""
    unregister(engine.name)
    _extra.insert(0, engine)


def unregister(name: str) -> None:
    """Remove an engine added with `register`."""
    _extra[:] = [e for e in _extra if e.name != name]


def all_engines() -> list[Engine]:
    """Every registered engine, added ones first, then built-ins in order of preference."""
    names = {e.name for e in _extra}
    return [*_extra, *(e for e in _builtin() if e.name not in names)]


def engine_names() -> list[str]:
    """Names of the registered engines."""
    return [e.name for e in all_engines()]


def engine_named(name: str) -> Engine:
    """The engine called `name`; a clear error listing the known ones otherwise."""
    for engine in all_engines():
        if engine.name == name.lower():
            return engine
    raise MeshplaneError(f"unknown engine '{name}': known engines are {', '.join(engine_names())}")


def engines_serving(server: Server) -> list[Engine]:
    """The engines that can serve this server, the preferred one for its type first."""
    serving = [e for e in all_engines() if e.serves(server)]
    kind = server.type.lower()
    return sorted(serving, key=lambda e: 0 if kind in e.preferred_for else 1)


def engine_for(server: Server, requested: str | None = None, default: str | None = None) -> Engine:
    """The engine to run checks against `server`.

    `requested` (``--engine``) must serve the server, else it is an error. Without it, `default`
    (settings or mesh.yaml) is used when it serves the server, else the engine preferred for the
    server type. Raises `MeshplaneError` when no engine can serve the server.
    """
    serving = engines_serving(server)
    if requested:
        engine = engine_named(requested)
        if engine not in serving:
            raise MeshplaneError(
                f"engine '{engine.name}' cannot serve server '{server.server}' of type '{server.type}'"
                + (f"; use {', '.join(e.name for e in serving)}" if serving else "")
            )
        chosen = engine
    elif not serving:
        raise MeshplaneError(
            f"no engine can test server '{server.server}' of type '{server.type}' "
            f"(engines: {', '.join(engine_names())})"
        )
    else:
        by_default = [e for e in serving if default and e.name == default.lower()]
        chosen = by_default[0] if by_default else serving[0]
    problem = chosen.missing_requirement()
    if problem:
        raise MeshplaneError(f"engine '{chosen.name}' is not usable here: {problem}")
    return chosen


def can_serve(server: Server) -> bool:
    """Whether any registered engine serves this server type."""
    return bool(engines_serving(server))

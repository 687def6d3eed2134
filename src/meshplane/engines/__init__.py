"""Query engines behind one small interface (`Engine`, `Session`), chosen through `registry`.

Adding an engine is one module under `engines/` plus one line in `registry.BUILTIN_ENGINES`.
"""

from __future__ import annotations

from meshplane.engines.base import (
    Column,
    Dataset,
    DatasetNotFound,
    DatasetRequest,
    Engine,
    EngineError,
    QueryError,
    QueryResult,
    Session,
)
from meshplane.engines.registry import all_engines, engine_for, engine_named, engine_names, register, unregister

__all__ = [
    "Column",
    "Dataset",
    "DatasetNotFound",
    "DatasetRequest",
    "Engine",
    "EngineError",
    "QueryError",
    "QueryResult",
    "Session",
    "all_engines",
    "engine_for",
    "engine_named",
    "engine_names",
    "register",
    "unregister",
]

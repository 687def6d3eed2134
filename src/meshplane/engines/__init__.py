"""Query engines behind one small interface (`Engine`, `Session`), chosen through `registry`.

Adding an engine is one module under `engines/` plus one line in `registry.BUILTIN_ENGINES`.
The names below load on first use, so that importing a light module of the package
(`meshplane.engines.types`) costs neither sqlglot nor any engine.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    from meshplane.engines.registry import (
        all_engines,
        engine_for,
        engine_named,
        engine_names,
        register,
        unregister,
    )

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

# classes live in `base`, functions in `registry`
_HOME = {name: f"meshplane.engines.{'registry' if name[0].islower() else 'base'}" for name in __all__}


def __getattr__(name: str) -> Any:
    """Load an exported name from its module on first use (PEP 562)."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value

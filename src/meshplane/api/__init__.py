"""The meshplane REST API (FastAPI): catalog, contracts, test runs, usage agreements, apply, tokens.

Public names are listed here; `create_app` builds the application, `security` holds what a new
route module needs to declare its writes. Names are imported on first use (PEP 562), so the web
cockpit, which the application mounts, can import `meshplane.api.context` and `meshplane.api.security`
without importing the application first.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from meshplane.api.app import create_app
    from meshplane.api.security import Ownership, read_access, write_access, writes

_MODULES = {
    "create_app": "app",
    "Ownership": "security",
    "read_access": "security",
    "write_access": "security",
    "writes": "security",
}


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use."""
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = ["Ownership", "create_app", "read_access", "write_access", "writes"]

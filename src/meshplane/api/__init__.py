"""The meshplane REST API (FastAPI): catalog, contracts, test runs, usage agreements, apply, tokens.

Public names are listed here; `create_app` builds the application, `security` holds what a new
route module needs to declare its writes. Names are imported on first use (PEP 562), so the web
cockpit, which the application mounts, can import `meshplane.api.context` and `meshplane.api.security`
without importing the application first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from meshplane.lazy import lazy_names

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


__getattr__ = lazy_names(__name__, _MODULES, globals())


__all__ = ["Ownership", "create_app", "read_access", "write_access", "writes"]

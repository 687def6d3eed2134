"""The registry: SQLAlchemy models and Alembic migrations of what a mesh has published.

Public names are listed here; the modules behind them are implementation. Names are imported on
first use (PEP 562), so `meshplane.registry.url` — deciding whether a registry is configured at
all — costs no SQLAlchemy import (`meshplane test` without a registry never loads it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from meshplane.lazy import lazy_names

if TYPE_CHECKING:
    from meshplane.registry.database import Registry, SchemaStatus
    from meshplane.registry.testruns import TestRunSummary, list_test_runs, record_test_run, store_test_run
    from meshplane.registry.url import (
        RegistryUrl,
        UrlSource,
        mask_password,
        normalise_url,
        registry_configured,
        resolve_registry_url,
    )

_MODULES = {
    "Registry": "database",
    "SchemaStatus": "database",
    "TestRunSummary": "testruns",
    "list_test_runs": "testruns",
    "record_test_run": "testruns",
    "store_test_run": "testruns",
    "RegistryUrl": "url",
    "UrlSource": "url",
    "mask_password": "url",
    "normalise_url": "url",
    "registry_configured": "url",
    "resolve_registry_url": "url",
}


__getattr__ = lazy_names(__name__, _MODULES, globals())


__all__ = [
    "Registry",
    "RegistryUrl",
    "SchemaStatus",
    "TestRunSummary",
    "UrlSource",
    "list_test_runs",
    "mask_password",
    "normalise_url",
    "record_test_run",
    "registry_configured",
    "resolve_registry_url",
    "store_test_run",
]

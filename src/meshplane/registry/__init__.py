"""The registry: SQLAlchemy models and Alembic migrations of what a mesh has published.

Public names are listed here; the modules behind them are implementation.
"""

from __future__ import annotations

from meshplane.registry.database import Registry, SchemaStatus, open_mesh_registry
from meshplane.registry.testruns import TestRunSummary, list_test_runs, record_test_run
from meshplane.registry.url import (
    RegistryUrl,
    UrlSource,
    mask_password,
    normalise_url,
    registry_configured,
    resolve_registry_url,
)

__all__ = [
    "Registry",
    "RegistryUrl",
    "SchemaStatus",
    "TestRunSummary",
    "UrlSource",
    "list_test_runs",
    "mask_password",
    "normalise_url",
    "open_mesh_registry",
    "record_test_run",
    "registry_configured",
    "resolve_registry_url",
]

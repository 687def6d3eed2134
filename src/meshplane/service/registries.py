"""Opening the registry of a mesh: the one place every command and the server resolve it.

The URL comes from ``MESHPLANE_DATABASE_URL``, else the ``registry`` of the mesh's mesh.yaml,
else the mesh's own SQLite file (`meshplane.registry.resolve_registry_url`). The mesh is the
folder given, or the one holding the working directory.

No registry is ever created by accident: opening one that does not exist (a SQLite file that is
not there, a database without meshplane's schema) is refused with a message saying where meshplane
looked and how to point at the shared registry, unless the caller creates it deliberately
(``create=True``: `meshplane db init`, `meshplane apply --init`). A fresh checkout of a mesh
repository (as in CI) therefore never plans against an empty registry of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from meshplane.diagnostics import MeshplaneError
from meshplane.mesh.repository import MESH_FILE, display_path, find_mesh_root
from meshplane.spec.loader import load_mesh_config

if TYPE_CHECKING:
    from meshplane.registry import Registry, RegistryUrl

POINT_AT_REGISTRY = (
    "point at the shared registry with MESHPLANE_DATABASE_URL or `registry:` in mesh.yaml "
    "(plan and apply also take --server-url or MESHPLANE_SERVER_URL), "
    "or create a registry here with `meshplane db init` (or `meshplane apply --init`)"
)
"""How to get out of a missing registry: the tail of every refusal."""


class NoRegistry(MeshplaneError):
    """The registry a command would read does not exist, and the command does not create one (exit 2)."""


def mesh_root_of(mesh: Path | None) -> Path | None:
    """The mesh folder: the one holding `mesh` (an error when it holds none), else the working directory's."""
    root = find_mesh_root(mesh or Path.cwd())
    if mesh is not None and root is None:
        raise MeshplaneError(f"{mesh} is not a mesh: it has no mesh.yaml")
    return root


def configured_registry(root: Path | None) -> str | None:
    """The ``registry`` of the mesh's mesh.yaml (None without a mesh or without the key)."""
    if root is None or not (root / MESH_FILE).is_file():
        return None
    config = load_mesh_config(root / MESH_FILE).model
    return config.registry if config else None


def mesh_registry_url(mesh: Path | None) -> RegistryUrl:
    """Where the registry of the mesh at `mesh` (or the working directory's) is."""
    from meshplane.registry import resolve_registry_url

    root = mesh_root_of(mesh)
    return resolve_registry_url(root, configured_registry(root))


def _where(url: RegistryUrl) -> str:
    from meshplane.registry import UrlSource

    if url.source is UrlSource.DEFAULT:
        file = url.sqlite_file
        if file is None:
            return f"the registry {url.display} does not exist"
        mesh_file = display_path(file.parent.parent / MESH_FILE)  # <mesh>/.meshplane/registry.db
        return (
            f"MESHPLANE_DATABASE_URL is not set, {mesh_file} has no `registry:`, "
            f"and the mesh's default registry {display_path(file)} does not exist"
        )
    return f"the registry {url.display} (from {url.source.value}) does not exist"


def missing_registry(url: RegistryUrl) -> NoRegistry | None:
    """Why `url` names no registry to read (None when its SQLite file exists, or it is not SQLite)."""
    file = url.sqlite_file
    if url.dialect == "sqlite" and (file is None or not file.is_file()):
        what = "an in-memory database is always empty" if file is None else _where(url)
        return NoRegistry(f"no registry: {what}; nothing was created: {POINT_AT_REGISTRY}")
    return None


def open_mesh_registry(mesh: Path | None = None, *, auto_upgrade: bool = True, create: bool = False) -> Registry:
    """Open the registry of the mesh at `mesh` (or the working directory's).

    Without `create`, a registry that does not exist (no SQLite file, or a database without
    meshplane's schema) raises `NoRegistry` and nothing is written; with it, the registry is
    created and migrated.
    """
    from meshplane.registry import Registry

    url = mesh_registry_url(mesh)
    if not create:
        refusal = missing_registry(url)
        if refusal is not None:
            raise refusal
    registry = Registry(url, auto_upgrade=False)
    try:
        if not create and registry.status().current is None:
            raise NoRegistry(
                f"no registry: {url.display} (from {url.source.value}) holds no meshplane schema; "
                f"nothing was created: {POINT_AT_REGISTRY}"
            )
        if auto_upgrade or create:
            registry.ensure_schema()
    except BaseException:
        registry.close()
        raise
    return registry


__all__ = [
    "POINT_AT_REGISTRY",
    "NoRegistry",
    "configured_registry",
    "mesh_registry_url",
    "mesh_root_of",
    "missing_registry",
    "open_mesh_registry",
]

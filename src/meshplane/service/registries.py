"""Opening the registry of a mesh: the one place every command and the server resolve it.

The URL comes from ``MESHPLANE_DATABASE_URL``, else the ``registry`` of the mesh's mesh.yaml,
else the mesh's own SQLite file (`meshplane.registry.resolve_registry_url`). The mesh is the
folder given, or the one holding the working directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from meshplane.diagnostics import MeshplaneError
from meshplane.mesh.repository import MESH_FILE, find_mesh_root
from meshplane.spec.loader import load_mesh_config

if TYPE_CHECKING:
    from meshplane.registry import Registry, RegistryUrl


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


def open_mesh_registry(mesh: Path | None = None, *, auto_upgrade: bool = True) -> Registry:
    """Open the registry of the mesh at `mesh` (or the working directory's)."""
    from meshplane.registry import Registry

    return Registry(mesh_registry_url(mesh), auto_upgrade=auto_upgrade)


__all__ = ["configured_registry", "mesh_registry_url", "mesh_root_of", "open_mesh_registry"]

"""The mesh repository: every domain, product and contract of a mesh folder, and what crosses files."""

from __future__ import annotations

from meshplane.mesh.repository import (
    ContractEntry,
    DomainEntry,
    MeshRepository,
    ProductEntry,
    find_mesh_root,
    load_mesh,
)

__all__ = ["ContractEntry", "DomainEntry", "MeshRepository", "ProductEntry", "find_mesh_root", "load_mesh"]

"""The lineage port index, rebuilt by every apply that writes, inside its transaction.

Apply (`meshplane.service.gitops.apply_mesh`) builds it from the repository it has just linted
and planned (`prepare`, before its write: the writer is not held while the index is computed) and
stores it with the applied rows (`PortIndexBuild.store`): the index of dataset identities → output
ports (`meshplane.lineage.resolve.build_port_index`), the job-namespace and owner mappings of
mesh.yaml, and the lake roots. Lineage resolves against exactly what was applied; nothing is
loaded again from disk.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from meshplane.lineage.identity import identity_from_uri
from meshplane.lineage.resolve import build_port_index, owner_directory
from meshplane.mesh.repository import MeshRepository
from meshplane.registry.lineage import replace_index


@dataclass(frozen=True)
class PortIndexBuild:
    """A port index computed from a repository, ready to be stored."""

    rows: list[dict[str, str]]
    job_namespaces: Mapping[str, str]
    owners: Mapping[str, str]
    lake_roots: list[str]
    notes: list[str]
    mesh_root: str
    mesh_settings: dict[str, Any] | None = None
    """mesh.yaml's settings as applied (`mesh_settings`): who may change them is decided against these."""

    @classmethod
    def prepare(cls, repo: MeshRepository) -> PortIndexBuild:
        """The index of `repo` (its contracts' servers, mesh.yaml's mappings, its lake root)."""
        index = build_port_index(repo)
        lake = repo.lake_root
        roots = [str(identity_from_uri(str(lake.absolute())))]
        if lake.exists():
            roots.append(str(identity_from_uri(str(lake.resolve()))))
        namespaces = repo.config.lineage.job_namespaces if repo.config else {}
        notes = [str(n) for n in index.notes]
        rows, owners = index.to_rows(), owner_directory(repo)
        return cls(rows, namespaces, owners, roots, notes, str(repo.root), mesh_settings(repo))

    def store(self, session: Session, *, audit_id: int | None, now: datetime) -> int:
        """Replace the stored index with this one (in the caller's transaction); the new index version."""
        return replace_index(
            session,
            self.rows,
            job_namespaces=self.job_namespaces,
            owners=self.owners,
            lake_roots=self.lake_roots,
            notes=self.notes,
            now=now,
            audit_id=audit_id,
            mesh_root=self.mesh_root,
            mesh_settings=self.mesh_settings,
        )


def mesh_settings(repo: MeshRepository) -> dict[str, Any] | None:
    """Every setting of the repository's mesh.yaml, defaults included (None: no valid mesh.yaml)."""
    return repo.config.model_dump(by_alias=True, mode="json") if repo.config is not None else None


__all__ = ["PortIndexBuild", "mesh_settings"]

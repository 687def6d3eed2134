"""The lineage port index, rebuilt by every apply that writes, inside its transaction.

Apply (`meshplane.service.gitops.apply_mesh`) calls `index_applied_mesh` with the repository it
has just linted and planned: the index of dataset identities → output ports
(`meshplane.lineage.resolve.build_port_index`), the job-namespace and owner mappings of mesh.yaml,
and the lake roots are written with the applied rows, so lineage resolves against exactly what
was applied. Nothing is loaded again from disk.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from meshplane.lineage.identity import identity_from_uri
from meshplane.lineage.resolve import build_port_index, owner_directory
from meshplane.mesh.repository import MeshRepository
from meshplane.registry.lineage import replace_index


def index_applied_mesh(session: Session, repo: MeshRepository, *, audit_id: int | None, now: datetime) -> int:
    """Replace the port index with the one of `repo` (in the caller's transaction); the new index version."""
    index = build_port_index(repo)
    lake = repo.lake_root
    roots = [str(identity_from_uri(str(lake.absolute())))]
    if lake.exists():
        roots.append(str(identity_from_uri(str(lake.resolve()))))
    return replace_index(
        session,
        index.to_rows(),
        job_namespaces=repo.config.lineage.job_namespaces if repo.config else {},
        owners=owner_directory(repo),
        lake_roots=roots,
        notes=[str(n) for n in index.notes],
        now=now,
        audit_id=audit_id,
        mesh_root=str(repo.root),
    )


__all__ = ["index_applied_mesh"]

"""The dbt bridge: record which relations of a consumer's dbt project are which lake data.

``meshplane dbt link MANIFEST --product P`` reads the manifest (`meshplane.lineage.dbt`) on the
caller's side and hands its relations to `link_product`, here or through the server (the
product's maintainer, or an admin). The links are checked against the mesh as applied: what a
source reads or an ``external`` model writes must lie in the lake (otherwise nothing is stored and
the error names the manifest and the node), and a plain relation is kept when it is a contract
server's table. The product's links are then replaced in one transaction
(`meshplane.registry.dbtlinks`); the provider's contract is never touched. From the next derived
event on, the port index follows the links (`meshplane.lineage.PortIndex.linked`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from meshplane.access import Principal
from meshplane.diagnostics import MeshplaneError
from meshplane.errors import Conflict, NotFound
from meshplane.lineage import DatasetIdentity, PortIndex
from meshplane.lineage.dbt import LinkKind, ManifestLinks, RelationLink
from meshplane.registry import Registry, dbtlinks
from meshplane.registry import lineage as store
from meshplane.registry import models as m


@dataclass(frozen=True)
class LinkedRelation:
    """One relation as linked: what it stands for and the port that is (None: lake data of no port)."""

    link: RelationLink
    target: DatasetIdentity
    port: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "node": self.link.node,
            "kind": self.link.kind,
            "relation": f"{self.link.scheme}:{self.link.name}",
            "target": str(self.target),
            "function": self.link.function,
            "port": self.port,
        }


@dataclass(frozen=True)
class LinkReport:
    """What `link_product` recorded for a product."""

    product: str
    manifest: str
    project: str
    version: int
    linked: tuple[LinkedRelation, ...]
    skipped: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the CLI's and the API's answer)."""
        return {
            "product": self.product,
            "manifest": self.manifest,
            "project": self.project,
            "version": self.version,
            "links": [r.to_dict() for r in self.linked],
            "skippedRelations": self.skipped,
        }


def _product_domain(session: Session, product: str) -> str:
    domain = session.execute(sa.select(m.Product.domain_id).where(m.Product.id == product)).scalar_one_or_none()
    if domain is None:
        raise NotFound(f"product {product} is not in the registry (apply the mesh first)")
    return str(domain)


def _in_lake(identity: DatasetIdentity, roots: tuple[DatasetIdentity, ...]) -> bool:
    return any(
        identity.namespace == root.namespace and (identity.name + "/").startswith(root.name.rstrip("/") + "/")
        for root in roots
    )


def plan_links(session: Session, product: str, links: ManifestLinks) -> tuple[list[LinkedRelation], int]:
    """The links to record for `product` (checked against the applied mesh) and how many relations are left out.

    Raises `MeshplaneError` (exit 2) naming the manifest and the node when a source or an
    ``external`` model points outside the lake.
    """
    stored = store.load_index(session)
    index = PortIndex.from_rows(stored.rows)
    roots = tuple(DatasetIdentity.parse(root) for root in stored.lake_roots)
    tables: dict[tuple[str, str], DatasetIdentity] = {}
    for row in index.rows:
        identity = row.identity
        if not identity.is_path:
            tables.setdefault((identity.scheme, identity.name), identity)
    out: list[LinkedRelation] = []
    skipped = 0
    for link in links.relations:
        target = link.target
        if link.kind == LinkKind.RELATION:
            target = tables.get((link.scheme, link.name))
            if target is None:
                skipped += 1  # a relation of the consumer's own warehouse
                continue
        elif target is None or not _in_lake(target, roots):
            where = link.location or (str(target) if target else "nothing")
            lake = ", ".join(root.name for root in roots) or "(no lake: apply the mesh first)"
            raise MeshplaneError(
                f"{links.manifest}: node {link.node}: {where} is outside the lake ({lake}); "
                "a dbt link records lake data only",
                exit_code=2,
            )
        match = index.resolve(target)
        out.append(LinkedRelation(link, target, f"{match.product}/{match.port}" if match else None))
    return out, skipped


def link_product(registry: Registry, principal: Principal, product: str, links: ManifestLinks) -> LinkReport:
    """Replace the dbt links of `product` by those of `links` (the product's maintainers and admins)."""
    with registry.read() as session:
        domain = _product_domain(session, product)
    principal.require_maintainer([domain], f"link a dbt project to {product}")

    def write(session: Session) -> LinkReport:
        linked, skipped = plan_links(session, product, links)
        # a relation another product links to other lake data stays theirs: the same relation to the same data
        # (a source of this project that is another product's model) is fine
        others = {(r.scheme, r.name): r for r in dbtlinks.load_links(session) if r.product != product}
        taken = sorted(
            f"{r.link.scheme}:{r.link.name} ({other.product})"
            for r in linked
            if (other := others.get((r.link.scheme, r.link.name))) is not None
            and (other.target_namespace, other.target_name) != (r.target.namespace, r.target.name)
        )
        if taken:
            raise Conflict(
                f"relation(s) already linked by another product to other data: {', '.join(taken[:5])}; only that "
                "product's maintainers can link them elsewhere"
            )
        rows = [
            dbtlinks.LinkRow(
                product,
                r.link.node,
                r.link.kind,
                r.link.scheme,
                r.link.name,
                r.target.namespace,
                r.target.name,
                r.link.function,
            )
            for r in linked
        ]
        version = dbtlinks.replace_links(
            session,
            product,
            rows,
            manifest=links.manifest,
            project=links.project,
            dbt_version=links.dbt_version,
            schema_version=links.schema_version,
            at=datetime.now(UTC),
            by=principal.actor,
        )
        return LinkReport(product, links.manifest, links.project, version, tuple(linked), skipped)

    return registry.write(write, exclusive=True)


def product_links(registry: Registry, product: str) -> dict[str, Any]:
    """The current dbt link of `product`: where it came from and its links."""
    with registry.read() as session:
        _product_domain(session, product)
        sets = dbtlinks.current_sets(session, product)
        links = [link for link in dbtlinks.load_links(session) if link.product == product]
    current = sets[0] if sets else None
    return {
        "product": product,
        "manifest": current.manifest if current else None,
        "project": current.project if current else None,
        "dbtVersion": current.dbt_version if current else None,
        "linkedAt": current.linked_at.isoformat() if current else None,
        "linkedBy": current.linked_by if current else None,
        "links": [
            {
                "node": link.node,
                "kind": link.kind,
                "relation": f"{link.scheme}:{link.name}",
                "target": str(DatasetIdentity(link.target_namespace, link.target_name)),
                "function": link.function,
            }
            for link in links
        ],
    }


__all__ = ["LinkReport", "LinkedRelation", "link_product", "plan_links", "product_links"]

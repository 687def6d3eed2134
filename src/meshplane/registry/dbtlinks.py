"""dbt links: which relations of a consumer's dbt project are which lake data (``meshplane dbt link``).

Tables (created by migration ``0010``):

* ``dbt_link_sets``: one row per link of a product (the manifest it was read from, dbt's version
  and the manifest's schema version, who linked it and when). A relink adds a row and replaces the
  product's links; rows are never deleted, so the newest id is the version of all links (lineage
  caches the index with it).
* ``dbt_links``: the current links, one per dbt node: the relation as events name it (scheme and
  canonical name), the identity it stands for, and the table function reading it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from meshplane.registry.models import ID, NAME, Base


class DbtLinkSet(Base):
    """One link of a product's dbt project (the newest per product is current)."""

    __tablename__ = "dbt_link_sets"

    id: Mapped[int] = mapped_column(primary_key=True)
    product: Mapped[str] = mapped_column(ID, index=True)
    manifest: Mapped[str] = mapped_column(sa.Text)
    project: Mapped[str] = mapped_column(NAME)
    dbt_version: Mapped[str] = mapped_column(sa.String(64))
    schema_version: Mapped[str] = mapped_column(sa.String(16))
    links: Mapped[int]
    linked_at: Mapped[datetime]
    linked_by: Mapped[str] = mapped_column(NAME)


class DbtLink(Base):
    """A relation of a dbt project standing for other data (a lake folder, a contract's table)."""

    __tablename__ = "dbt_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    set_id: Mapped[int] = mapped_column(sa.ForeignKey("dbt_link_sets.id"))
    product: Mapped[str] = mapped_column(ID, index=True)
    node: Mapped[str] = mapped_column(sa.Text)
    kind: Mapped[str] = mapped_column(sa.String(16))
    scheme: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.Text)
    target_namespace: Mapped[str] = mapped_column(sa.Text)
    target_name: Mapped[str] = mapped_column(sa.Text)
    function: Mapped[str | None] = mapped_column(sa.String(64))


@dataclass(frozen=True)
class LinkRow:
    """A link as stored (`DbtLink` without its keys)."""

    product: str
    node: str
    kind: str
    scheme: str
    name: str
    target_namespace: str
    target_name: str
    function: str | None = None


@dataclass(frozen=True)
class LinkSetRow:
    """A product's current link: where it came from and how many relations it links."""

    id: int
    product: str
    manifest: str
    project: str
    dbt_version: str
    schema_version: str
    links: int
    linked_at: datetime
    linked_by: str


_VERSION = sa.select(sa.func.max(DbtLinkSet.id))


def links_version(session: Session) -> int | None:
    """The id of the newest link set (None: nothing was ever linked)."""
    value: int | None = session.connection().execute(_VERSION).scalar_one_or_none()
    return value


def load_links(session: Session) -> list[LinkRow]:
    """Every current link, by product and node."""
    query = sa.select(
        DbtLink.product,
        DbtLink.node,
        DbtLink.kind,
        DbtLink.scheme,
        DbtLink.name,
        DbtLink.target_namespace,
        DbtLink.target_name,
        DbtLink.function,
    ).order_by(DbtLink.product, DbtLink.node)
    return [LinkRow(*row) for row in session.execute(query)]


def current_sets(session: Session, product: str | None = None) -> list[LinkSetRow]:
    """The current link set of each product (of `product` only when given)."""
    newest = sa.select(DbtLinkSet.product, sa.func.max(DbtLinkSet.id).label("id")).group_by(DbtLinkSet.product)
    if product is not None:
        newest = newest.where(DbtLinkSet.product == product)
    ids = newest.subquery()
    query = sa.select(DbtLinkSet).join(ids, ids.c.id == DbtLinkSet.id).order_by(DbtLinkSet.product)
    return [
        LinkSetRow(
            s.id, s.product, s.manifest, s.project, s.dbt_version, s.schema_version, s.links, s.linked_at, s.linked_by
        )
        for s in session.execute(query).scalars()
    ]


def replace_links(
    session: Session,
    product: str,
    links: Sequence[LinkRow],
    *,
    manifest: str,
    project: str,
    dbt_version: str,
    schema_version: str,
    at: datetime,
    by: str,
) -> int:
    """Replace the links of `product` (inside the caller's transaction); the new link set's id."""
    link_set = DbtLinkSet(
        product=product,
        manifest=manifest,
        project=project,
        dbt_version=dbt_version,
        schema_version=schema_version,
        links=len(links),
        linked_at=at,
        linked_by=by,
    )
    session.add(link_set)
    session.flush()
    session.execute(sa.delete(DbtLink).where(DbtLink.product == product))
    if links:
        session.execute(
            sa.insert(DbtLink),
            [{"set_id": link_set.id, **{k: getattr(link, k) for k in LinkRow.__dataclass_fields__}} for link in links],
        )
    return link_set.id


__all__ = [
    "DbtLink",
    "DbtLinkSet",
    "LinkRow",
    "LinkSetRow",
    "current_sets",
    "links_version",
    "load_links",
    "replace_links",
]

"""The consumer graph: who reads which contract major version, transitively, across domains.

An edge goes from a product publishing an output port on (contract id, major) to every *other*
product with an input port on the same (contract id, major). Downstream of a contract are its
direct consumers (depth 1), then the consumers of their output ports (depth 2), and so on. Each
product is reported once, on its shortest path (breadth-first), so cycles terminate.

The graph is loaded with one query (no N+1) or built from a plan's after-state; `cached_graph`
keeps it between calls while the registry is unchanged (checked with one small query per call).
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from meshplane.registry import models as m
from meshplane.registry.database import StampedCache


@dataclass(frozen=True)
class ProductNode:
    """A product as the graph needs it."""

    id: str
    domain: str
    team: str | None


class DownstreamConsumer(NamedTuple):
    """A product downstream of a contract.

    `path` is the chain of product ids from the providing product (when known) to this one;
    `contract_id`/`major`/`input_port` say what this product reads on the last hop.
    """

    product: str
    domain: str
    team: str | None
    depth: int
    path: tuple[str, ...]
    contract_id: str
    major: int | None
    input_port: str


@dataclass
class ConsumerGraph:
    """Products, and who consumes which (contract id, major)."""

    products: dict[str, ProductNode] = field(default_factory=dict)
    consumers: dict[tuple[str, int | None], list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    outputs: dict[str, list[tuple[str, int | None]]] = field(default_factory=lambda: defaultdict(list))
    providers: dict[tuple[str, int | None], list[str]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def build(
        cls,
        products: Iterable[tuple[str, str, str | None]],
        outputs: Iterable[tuple[str, str | None, int | None]],
        inputs: Iterable[tuple[str, str, str, int | None]],
    ) -> ConsumerGraph:
        """From (id, domain, team), (product, contract, major) outputs and (product, port, contract, major) inputs."""
        graph = cls()
        for pid, domain, team in products:
            graph.products[pid] = ProductNode(pid, domain, team)
        for pid, contract, major in outputs:
            if contract:
                graph.outputs[pid].append((contract, major))
                graph.providers[(contract, major)].append(pid)
        for pid, port, contract, major in inputs:
            graph.consumers[(contract, major)].append((pid, port))
        return graph

    @classmethod
    def load(cls, session: Session) -> ConsumerGraph:
        """The graph of everything active in the registry, in one query.

        Each row is one consumer input port with its provider (NULL when no active output port
        serves that contract major version) and the consumer's domain and team. Output ports
        nobody consumes are not needed: they lead nowhere.
        """
        inp, out, prod, team = (m.InputPort.__table__, m.OutputPort.__table__, m.Product.__table__, m.Team.__table__)
        query = (
            sa.select(
                out.c.product_id,
                inp.c.contract_id,
                inp.c.major,
                inp.c.product_id,
                inp.c.name,
                prod.c.domain_id,
                team.c.name,
            )
            .select_from(inp)
            .join(prod, prod.c.id == inp.c.product_id)
            .outerjoin(team, team.c.id == prod.c.team_id)
            .outerjoin(
                out,
                sa.and_(out.c.contract_id == inp.c.contract_id, out.c.major == inp.c.major, out.c.retired_at.is_(None)),
            )
            .where(inp.c.retired_at.is_(None), prod.c.retired_at.is_(None))
            .order_by(inp.c.product_id, inp.c.name, inp.c.version, out.c.product_id)
        )
        rows = session.connection().execute(query).all()
        graph = cls()
        products = graph.products
        for row in rows:
            consumer = row[3]
            if consumer not in products:
                products[consumer] = ProductNode(consumer, row[5], row[6])
        # A consumer appears once per provider of its (contract, major): dedupe with dict keys.
        for contract, major, consumer, port in dict.fromkeys((r[1], r[2], r[3], r[4]) for r in rows):
            graph.consumers[(contract, major)].append((consumer, port))
        for provider, contract, major in dict.fromkeys((r[0], r[1], r[2]) for r in rows if r[0] is not None):
            graph.outputs[provider].append((contract, major))
            graph.providers[(contract, major)].append(provider)
        return graph

    @property
    def edge_count(self) -> int:
        """Number of (provider product → consumer input port) edges."""
        return sum(len(self.providers.get(key, ())) * len(cons) for key, cons in self.consumers.items())

    def downstream(self, contract_id: str, major: int | None, provider: str | None = None) -> list[DownstreamConsumer]:
        """Every product downstream of (contract, major), breadth-first, each once with its shortest path.

        `provider` is the product owning the contract (the path's first element); by default the
        first product publishing an output port on it.
        """
        if provider is None:
            owners = self.providers.get((contract_id, major), [])
            provider = owners[0] if owners else None
        root: tuple[str, ...] = (provider,) if provider else ()
        seen: set[str] = set(root)
        out: list[DownstreamConsumer] = []
        queue: deque[tuple[str, int | None, tuple[str, ...]]] = deque([(contract_id, major, root)])
        while queue:
            contract, contract_major, path = queue.popleft()
            for consumer, port in self.consumers.get((contract, contract_major), ()):
                if consumer in seen:
                    continue
                seen.add(consumer)
                node = self.products.get(consumer) or ProductNode(consumer, "?", None)
                here = (*path, consumer)
                out.append(
                    DownstreamConsumer(
                        consumer, node.domain, node.team, len(here) - len(root), here, contract, contract_major, port
                    )
                )
                for next_contract, next_major in self.outputs.get(consumer, ()):
                    queue.append((next_contract, next_major, here))
        return out


def registry_stamp(session: Session) -> tuple[Any, ...]:
    """What changes whenever the registry's ports can have changed: the last audit entry and port counts.

    Every write of ports goes through an apply, which adds an audit entry.
    """
    audit = sa.select(sa.func.max(m.AuditEntry.id)).scalar_subquery()
    outputs = sa.select(sa.func.count()).select_from(m.OutputPort).scalar_subquery()
    inputs = sa.select(sa.func.count()).select_from(m.InputPort).scalar_subquery()
    return tuple(session.execute(sa.select(audit, outputs, inputs)).one())


def cached_graph(session: Session, cache: StampedCache) -> ConsumerGraph:
    """The consumer graph, reused from the registry's `cache` while `registry_stamp` is unchanged.

    The stamp is read before the graph, so a concurrent apply can only make the cached graph
    newer than its stamp (and the next call reload it), never older.
    """
    return cache.get("consumer-graph", registry_stamp(session), lambda: ConsumerGraph.load(session))

"""The consumer graph: who reads which contract major version, transitively, across domains.

An edge goes from a product publishing an output port on (contract id, major) to every *other*
product with an input port on the same (contract id, major). Downstream of a contract are its
direct consumers (depth 1), then the consumers of their output ports (depth 2), and so on. Each
product is reported once, on its shortest path (breadth-first), so cycles terminate.

The graph is loaded with one query per port table (no N+1) or built from a plan's after-state.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from meshplane.registry import models as m


@dataclass(frozen=True)
class ProductNode:
    """A product as the graph needs it."""

    id: str
    domain: str
    team: str | None


@dataclass(frozen=True)
class DownstreamConsumer:
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
        """The graph of everything active in the registry (three queries)."""
        team = aliased(m.Team)
        products = session.execute(
            sa.select(m.Product.id, m.Product.domain_id, team.name)
            .outerjoin(team, team.id == m.Product.team_id)
            .where(m.Product.retired_at.is_(None))
        ).all()
        outputs = session.execute(
            sa.select(m.OutputPort.product_id, m.OutputPort.contract_id, m.OutputPort.major).where(
                m.OutputPort.retired_at.is_(None)
            )
        ).all()
        inputs = session.execute(
            sa.select(m.InputPort.product_id, m.InputPort.name, m.InputPort.contract_id, m.InputPort.major).where(
                m.InputPort.retired_at.is_(None)
            )
        ).all()
        return cls.build(
            ((r[0], r[1], r[2]) for r in products),
            ((r[0], r[1], r[2]) for r in outputs),
            ((r[0], r[1], r[2], r[3]) for r in inputs),
        )

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

"""Inter-domain data movement: flows between products and domains, their governance flags, the lineage graph.

A *flow* is data moving between products and domains, aggregated from the run datasets the
receiver stored (`meshplane.service.lineage`, tables in `meshplane.registry.lineage`):

* a **read** of a product's output port by a job of another product (or of a domain whose job
  writes no product): from the provider to the consumer;
* a **write** into a product's output port by a job of another domain: from the writer's domain to
  the port's owner;
* a read or write of **lake data that belongs to no product**.

Per flow: runs, rows and bytes (the latest statistics of each run and dataset — never those of
RUNNING and COMPLETE events added up — summed over runs), last seen, who sent the runs, the usage
agreement's state and the runs it covered when they read, whether the consumer declared an input
port on the contract's major version, and the governance flags of `meshplane.service.flags`
(judged as of the read, or as of a past day). `movements` lists flows of a period (also per day)
with a domain x domain matrix and the flags of the ports they touch; `governance_flags` lists every
flag of flows and ports with what to look at; `lineage_graph` walks product-level edges upstream
and downstream.
"""

from __future__ import annotations

import enum
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from meshplane.errors import NotFound
from meshplane.registry import Registry
from meshplane.registry import lineage as store
from meshplane.registry import models as m
from meshplane.service.flags import (
    DEPRECATED_STATUSES,
    FLAG_RULES,
    FLAG_SEVERITY,
    Flag,
    PortFlag,
    PortSchema,
    drift_text,
    judge_flows,
    latest_port_schemas,
    port_flags,
)
from meshplane.service.flags import iso as _iso


@dataclass
class Flow:
    """Data moving between products and domains, aggregated over runs (and per day when asked)."""

    kind: str
    """``read`` (of a port or of unowned lake data) or ``write`` (into another domain's port, or unowned)."""
    from_domain: str | None
    to_domain: str | None
    from_product: str | None
    to_product: str | None
    port: str | None
    day: str | None = None
    contract_id: str | None = None
    contract_version: str | None = None
    """The contract version of the latest read or write (`versions`: every one seen in the period)."""
    versions: set[str] = field(default_factory=set)
    runs: set[str] = field(default_factory=set)
    rows: int | None = None
    bytes: int | None = None
    last_seen: datetime | None = None
    agreement: str = "none"
    declared: bool = False
    flags: list[str] = field(default_factory=list)
    datasets: set[str] = field(default_factory=set)
    senders: set[str] = field(default_factory=set)
    """Who sent the runs' events (`Principal.actor` of each token)."""
    mismatches: set[str] = field(default_factory=set)
    """``sender-mismatch`` of its runs or datasets: what a sender claimed and may not."""
    evidence: bool = False
    """A write seen from a sender who may report it (a trusted token, or the port's own domain)."""
    read_times: dict[str, datetime] = field(default_factory=dict)
    """Run → when it read (the first event of the run naming the dataset): agreement coverage is judged then."""
    runs_covered: int | None = None
    """Of a read: runs an agreement covered when they read (all of them inside one domain); None: a write."""
    runs_not_covered: int | None = None

    def add(self, row: store.RunDatasetRow) -> None:
        """Count one run dataset in."""
        self.runs.add(row.run_key)
        if row.received_by:
            self.senders.update(row.received_by.split("; "))
        self.mismatches.update(m for m in (row.run_mismatch, row.mismatch) if m)
        self.evidence = self.evidence or row.mismatch is None
        read_at = row.first_seen or row.last_seen
        self.read_times[row.run_key] = min(self.read_times.get(row.run_key, read_at), read_at)
        if row.row_count is not None:
            self.rows = (self.rows or 0) + row.row_count
        if row.byte_count is not None:
            self.bytes = (self.bytes or 0) + row.byte_count
        if self.last_seen is None or row.last_seen >= self.last_seen:
            self.last_seen = row.last_seen
            self.contract_version = row.contract_version or self.contract_version
        self.contract_id = self.contract_id or row.contract_id
        if row.contract_version:
            self.versions.add(row.contract_version)
        if row.product is None:
            self.datasets.add(f"{row.namespace}#{row.name}")

    @property
    def covered(self) -> bool:
        """No governance flag."""
        return not self.flags

    @property
    def owner_port(self) -> tuple[str, str] | None:
        """(product, port) of the port the flow reads or writes; None: lake data of no port."""
        product = self.to_product if self.kind == "write" else self.from_product
        return (product, self.port) if product and self.port else None

    def to_dict(self) -> dict[str, Any]:
        """The `movements --format json` shape of a flow."""
        out: dict[str, Any] = {
            "fromDomain": self.from_domain,
            "toDomain": self.to_domain,
            "fromProduct": self.from_product,
            "toProduct": self.to_product,
            "port": self.port,
            "runs": len(self.runs),
            "runsCovered": self.runs_covered,
            "runsNotCovered": self.runs_not_covered,
            "rows": self.rows,
            "bytes": self.bytes,
            "lastSeen": _iso(self.last_seen),
            "agreement": self.agreement,
            "declared": self.declared,
            "flags": list(self.flags),
            "receivedBy": sorted(self.senders),
        }
        if self.day is not None:
            out["day"] = self.day
        return out


FlowKey = tuple[str, str | None, str | None, str | None, str | None, str | None, str | None]


def _or_none(values: Sequence[str]) -> list[str | None]:
    return [*values] if values else [None]


def _run_flows(rows: Sequence[store.RunDatasetRow], by_day: bool) -> Iterable[tuple[FlowKey, store.RunDatasetRow]]:
    """The flows one run takes part in (rows: all datasets of one run)."""
    run_domain = rows[0].run_domain
    day = rows[0].day if by_day else None
    inputs = [r for r in rows if r.role == "input"]
    outputs = [r for r in rows if r.role == "output"]
    own = sorted({o.product for o in outputs if o.product and (run_domain is None or o.domain == run_domain)})
    for i in inputs:
        if i.product is not None:
            consumers = [c for c in own if c != i.product]
            if not consumers and i.product in own:
                continue  # a product reading its own port is no movement
            for consumer in _or_none(consumers):
                yield ("read", i.domain, run_domain, i.product, consumer, i.port, day), i
        elif i.in_lake:
            for consumer in _or_none(own):
                yield ("read", None, run_domain, None, consumer, None, day), i
    for o in outputs:
        if o.product is not None and run_domain is not None and o.domain != run_domain:
            for writer in _or_none(own):
                yield ("write", run_domain, o.domain, writer, o.product, o.port, day), o
        elif o.product is None and o.in_lake:
            for writer in _or_none(own):
                yield ("write", run_domain, None, writer, None, None, day), o


def compute_flows(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    by_day: bool = False,
    kinds: Sequence[str] = ("run",),
    moment: datetime | None = None,
) -> list[Flow]:
    """Every flow of the runs (and, with ``kinds=("run", "job")``, of JobEvents' static lineage), judged as of
    `moment` (default: now; the runs are those seen before it)."""
    at = moment or datetime.now(UTC)
    flows: dict[FlowKey, Flow] = {}
    current: list[store.RunDatasetRow] = []

    def close() -> None:
        for key, row in _run_flows(current, by_day):
            flow = flows.get(key)
            if flow is None:
                flow = flows[key] = Flow(*key)
            flow.add(row)

    end = until if moment is None else (min(until, moment) if until is not None else moment)
    for row in store.run_dataset_rows(session, since=since, until=end, kinds=kinds):
        if current and current[0].run_key != row.run_key:
            close()
            current = []
        current.append(row)
    if current:
        close()
    out = sorted(flows.values(), key=_flow_order)
    judge_flows(session, out, moment=at)
    return out


def _flow_order(flow: Flow) -> tuple[str, ...]:
    return tuple(v or "" for v in (flow.day, flow.from_domain, flow.to_domain, flow.from_product, flow.to_product,
                                   flow.port, flow.kind))  # fmt: skip


def _start_of(day: date | datetime | None) -> datetime | None:
    if day is None or isinstance(day, datetime):
        return day.astimezone(UTC) if isinstance(day, datetime) and day.tzinfo else day
    return datetime.combine(day, time(), tzinfo=UTC)


def end_of_day(day: date) -> datetime:
    """The first instant after `day` (UTC): what ``--as-of DAY`` judges at."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)


@dataclass(frozen=True)
class MovementReport:
    """Flows in a period, optionally per day, with the flags of the ports they read or write."""

    since: datetime | None
    until: datetime | None
    flows: tuple[Flow, ...]
    port_flags: tuple[PortFlag, ...] = ()
    as_of: date | None = None

    def matrix(self) -> list[dict[str, Any]]:
        """Domain x domain: flows, runs, rows, bytes, covered and flagged flows, last seen."""
        cells: dict[tuple[str | None, str | None], dict[str, Any]] = {}
        for flow in self.flows:
            cell = cells.setdefault(
                (flow.from_domain, flow.to_domain),
                {"fromDomain": flow.from_domain, "toDomain": flow.to_domain, "flows": 0, "runs": set(), "rows": None,
                 "bytes": None, "covered": 0, "flagged": 0, "lastSeen": None},
            )  # fmt: skip
            cell["flows"] += 1
            cell["runs"] |= flow.runs
            for name, value in (("rows", flow.rows), ("bytes", flow.bytes)):
                if value is not None:
                    cell[name] = (cell[name] or 0) + value
            cell["covered" if flow.covered else "flagged"] += 1
            cell["lastSeen"] = max(filter(None, (cell["lastSeen"], flow.last_seen)), default=None)
        out = []
        for key in sorted(cells, key=lambda k: (k[0] or "", k[1] or "")):
            cell = cells[key]
            out.append(cell | {"runs": len(cell["runs"]), "lastSeen": _iso(cell["lastSeen"])})
        return out

    @property
    def flagged(self) -> bool:
        """True when a flow, or a port one of them reads or writes, has a flag (`movements --fail-on-flags`)."""
        return any(f.flags for f in self.flows) or bool(self.port_flags)

    def to_dict(self) -> dict[str, Any]:
        """``{"flows": [...], "portFlags": [...]}`` (the CLI's JSON); the API adds the period and the matrix."""
        return {"flows": [f.to_dict() for f in self.flows], "portFlags": [p.to_dict() for p in self.port_flags]}


def movements(
    registry: Registry,
    *,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    by_day: bool = False,
    as_of: date | None = None,
) -> MovementReport:
    """The `meshplane movements` use case: flows between products and domains in [since, until).

    With `as_of`, the answer of the end of that day (UTC): runs seen until then, agreements, input
    ports and port schemas as they stood then.
    """
    start, end = _start_of(since), _start_of(until)
    moment = end_of_day(as_of) if as_of is not None else None
    with registry.read() as session:
        flows = compute_flows(session, since=start, until=end, by_day=by_day, moment=moment)
        ports = {f.owner_port for f in flows} - {None}
        limit = end if moment is None else min(end or moment, moment)
        flagged = [p for p in port_flags(session, since=start, until=limit) if (p.product, p.port) in ports]
    return MovementReport(start, end, tuple(flows), tuple(flagged), as_of)


@dataclass(frozen=True)
class FlagFinding:
    """One flag on one flow or port, with what to look at."""

    flag: str
    flow: Flow | None
    detail: str
    port: PortFlag | None = None

    @property
    def severity(self) -> str:
        """``error`` for a read after sunset (`FLAG_SEVERITY`), else ``warning``."""
        return FLAG_SEVERITY.get(Flag(self.flag), "warning")

    def to_dict(self) -> dict[str, Any]:
        """JSON shape (``port``: product/port and who sent the evidence, for a port flag)."""
        out: dict[str, Any] = {
            "flag": self.flag,
            "severity": self.severity,
            "detail": self.detail,
            "flow": self.flow.to_dict() if self.flow else None,
        }
        if self.port is not None:
            out["port"] = self.port.to_dict()
        return out


def governance_flags(
    registry: Registry, *, since: date | datetime | None = None, as_of: date | None = None
) -> list[FlagFinding]:
    """Every flag raised in the period (as of the end of day `as_of`): one finding per flow and flag, then
    the flags of ports no flow finding already names (drift with its columns, foreign writes, mismatches)."""
    start = _start_of(since)
    moment = end_of_day(as_of) if as_of is not None else None
    with registry.read() as session:
        flows = compute_flows(session, since=start, moment=moment)
        schemas = latest_port_schemas(session, until=moment)
        ports = port_flags(session, since=start, until=moment)
    out = []
    reported: set[tuple[str, str, str]] = set()
    for flow in flows:
        for flag in flow.flags:
            out.append(FlagFinding(flag, flow, _detail(flag, flow, schemas)))
            if flow.owner_port is not None:
                reported.add((*flow.owner_port, flag))
    out += [FlagFinding(p.flag, None, p.detail, p) for p in ports if (p.product, p.port, p.flag) not in reported]
    return out


def _detail(flag: str, flow: Flow, schemas: Mapping[tuple[str, str], PortSchema]) -> str:
    if flag == Flag.SCHEMA_DRIFT.value:
        owner = flow.to_product if flow.kind == "write" else flow.from_product
        schema = schemas.get((owner or "", flow.port or ""))
        if schema is not None:
            return drift_text(owner, flow.port, schema)
    if flag == Flag.UNOWNED_DATA.value:
        return "lake data of no product: " + ", ".join(sorted(flow.datasets)[:5])
    if flag == Flag.SENDER_MISMATCH.value:
        return "; ".join(sorted(flow.mismatches)[:3])
    if flag == Flag.NO_AGREEMENT.value and flow.runs_not_covered is not None:
        return (f"{flow.runs_not_covered} of {len(flow.runs)} run(s) read {flow.from_product}/{flow.port} when no "
                f"agreement of {flow.to_product or 'the reading job'} was active")  # fmt: skip
    return FLAG_RULES[Flag(flag)]


# --- the lineage graph ------------------------------------------------------------------------------


class Direction(enum.StrEnum):
    """Which way to walk the graph from a product."""

    UPSTREAM = "upstream"
    DOWNSTREAM = "downstream"
    BOTH = "both"


@dataclass(frozen=True)
class LineageGraph:
    """Products (or domains) around one product (or domain), with the edges between them."""

    level: str
    """``product`` or ``domain``."""
    root: str
    direction: Direction
    depth: int
    nodes: tuple[dict[str, Any], ...]
    edges: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON shape of `meshplane lineage --format json` and of the API."""
        return {
            self.level: self.root,
            "direction": self.direction.value,
            "depth": self.depth,
            "nodes": list(self.nodes),
            "edges": list(self.edges),
        }


EdgeKey = tuple[str, ...]


def _merge_edges(flows: Iterable[Flow], key: Callable[[Flow], EdgeKey | None]) -> dict[EdgeKey, Flow]:
    edges: dict[EdgeKey, Flow] = {}
    for flow in flows:
        k = key(flow)
        if k is None:
            continue
        merged = edges.get(k)
        if merged is None:
            edges[k] = Flow(
                **{**vars(flow), "runs": set(flow.runs), "versions": set(flow.versions), "flags": list(flow.flags),
                   "senders": set(flow.senders), "mismatches": set(flow.mismatches),
                   "read_times": dict(flow.read_times)}
            )  # fmt: skip
            continue
        merged.runs |= flow.runs
        merged.versions |= flow.versions
        merged.flags = sorted(set(merged.flags) | set(flow.flags))
        merged.last_seen = max(filter(None, (merged.last_seen, flow.last_seen)), default=None)
        for name in ("rows", "bytes"):
            value = getattr(flow, name)
            if value is not None:
                setattr(merged, name, (getattr(merged, name) or 0) + value)
    return edges


def _walk(edges: Iterable[EdgeKey], root: str, direction: Direction, depth: int) -> tuple[dict[str, int], set[EdgeKey]]:
    """Breadth-first from `root` along edges (from = key[0], to = key[1]): node distances and edges kept."""
    down: dict[str, list[EdgeKey]] = defaultdict(list)
    up: dict[str, list[EdgeKey]] = defaultdict(list)
    for key in edges:
        down[key[0]].append(key)
        up[key[1]].append(key)
    walks = {Direction.DOWNSTREAM: [(down, 1)], Direction.UPSTREAM: [(up, 0)], Direction.BOTH: [(down, 1), (up, 0)]}
    distance = {root: 0}
    kept: set[EdgeKey] = set()
    for adjacency, far in walks[direction]:
        queue: deque[tuple[str, int]] = deque([(root, 0)])
        visited = {root}
        while queue:
            node, hops = queue.popleft()
            if hops >= depth:
                continue
            for key in adjacency.get(node, ()):
                kept.add(key)
                nxt = key[far]
                if nxt not in visited:
                    visited.add(nxt)
                    distance[nxt] = min(distance.get(nxt, hops + 1), hops + 1)
                    queue.append((nxt, hops + 1))
    return distance, kept


def _edge_dict(flow: Flow) -> dict[str, Any]:
    return {
        "kind": flow.kind,
        "runs": len(flow.runs),
        "rows": flow.rows,
        "bytes": flow.bytes,
        "lastSeen": _iso(flow.last_seen),
        "flags": list(flow.flags),
    }


def lineage_graph(
    registry: Registry, product: str, *, direction: Direction = Direction.BOTH, depth: int = 3
) -> LineageGraph:
    """Products upstream and/or downstream of `product`, up to `depth` hops, from observed lineage.

    Edges come from runs and from JobEvents' declared inputs and outputs: a read of a port by
    another product's job (provider → consumer), and a write into another domain's port.
    """
    with registry.read() as session:
        if session.get(m.Product, product) is None:
            raise NotFound(f"product '{product}' is not registered")
        flows = compute_flows(session, kinds=("run", "job"))
        edges = _merge_edges(
            flows, lambda f: (f.from_product, f.to_product, f.port or "") if f.from_product and f.to_product else None
        )
        distance, kept = _walk(edges, product, direction, depth)
        named = sorted(set(distance) | {p for k in kept for p in k[:2]})  # the domains of the graph's products only
        domains: dict[str, str] = {}
        for start in range(0, len(named), 500):
            query = sa.select(m.Product.id, m.Product.domain_id).where(m.Product.id.in_(named[start : start + 500]))
            domains.update((row[0], row[1]) for row in session.execute(query))
    nodes = tuple(
        {"product": p, "domain": domains.get(p), "distance": d}
        for p, d in sorted(distance.items(), key=lambda x: (x[1], x[0]))
    )
    out = tuple(
        {"fromProduct": k[0], "toProduct": k[1], "fromDomain": domains.get(k[0]), "toDomain": domains.get(k[1]),
         "port": k[2]} | _edge_dict(edges[k])
        for k in sorted(kept)
    )  # fmt: skip
    return LineageGraph("product", product, direction, depth, nodes, out)


def domain_graph(
    registry: Registry, domain: str, *, direction: Direction = Direction.BOTH, depth: int = 3
) -> LineageGraph:
    """Domains upstream and/or downstream of `domain`: every movement between two known domains."""
    with registry.read() as session:
        if session.get(m.Domain, domain) is None:
            raise NotFound(f"domain '{domain}' is not registered")
        flows = compute_flows(session, kinds=("run", "job"))
    edges = _merge_edges(
        flows,
        lambda f: (
            (f.from_domain, f.to_domain) if f.from_domain and f.to_domain and f.from_domain != f.to_domain else None
        ),
    )
    distance, kept = _walk(edges, domain, direction, depth)
    nodes = tuple({"domain": d, "distance": n} for d, n in sorted(distance.items(), key=lambda x: (x[1], x[0])))
    out = tuple({"fromDomain": k[0], "toDomain": k[1]} | _edge_dict(edges[k]) for k in sorted(kept))
    return LineageGraph("domain", domain, direction, depth, nodes, out)


__all__ = [
    "DEPRECATED_STATUSES",
    "FLAG_RULES",
    "Direction",
    "Flag",
    "FlagFinding",
    "Flow",
    "LineageGraph",
    "MovementReport",
    "PortFlag",
    "PortSchema",
    "compute_flows",
    "domain_graph",
    "end_of_day",
    "governance_flags",
    "latest_port_schemas",
    "lineage_graph",
    "movements",
]

"""Governance flags: how a flow or a port is judged, as of the moment asked about.

A flag is raised on a **flow** (`meshplane.service.movements.Flow`: data moving between products
and domains) or on a **port** (what the runs say about an output port itself). `FLAG_RULES` says
when each is raised (docs/lineage.md has the same table).

**As of the read.** Agreement coverage is judged per run, at the time of the run's read, against
the agreement history (`meshplane.service.agreements.agreement_history`: active from approval to
revocation, expiry or end date): revoking an agreement never rewrites the past, and a later
agreement never covers earlier reads. A flow counts the runs covered and not covered; it is
flagged ``no-agreement`` while any run read without cover. Judging *as of* a past moment (``movements
--as-of DATE``) shows what was known then: the runs up to that moment, the agreement state then,
the input ports not retired by then, the schema written by then.

**Schema drift only from what a facet states** (`schema_drift`): a stated column of a conflicting
type, or a stated column the contract lacks, is drift; a contract column the facet does not list is
drift only when the facet is *complete* (`facet_is_complete`): every field typed, and not from dbt,
whose facet lists the columns documented in ``schema.yml`` (a subset, often without types).

**Port flags** (`port_flags`): the latest schema of a port drifts from its contract, a job of
another domain wrote it (``foreign-write``), or a maintainer of another domain reported it
(``sender-mismatch``, `meshplane.service.senders`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from meshplane.engines.types import type_family
from meshplane.mesh.deprecation import Deprecation, port_deprecations
from meshplane.registry import lineage as store
from meshplane.registry import models as m
from meshplane.registry.versions import major_of
from meshplane.service.agreements import agreement_history

if TYPE_CHECKING:
    from meshplane.service.movements import Flow


class Flag(enum.StrEnum):
    """A governance flag on a flow or a port."""

    NO_AGREEMENT = "no-agreement"
    UNDECLARED_INPUT = "undeclared-input"
    DEPRECATED_CONTRACT = "deprecated-contract"
    FOREIGN_WRITE = "foreign-write"
    UNOWNED_DATA = "unowned-data"
    SCHEMA_DRIFT = "schema-drift"
    UNATTRIBUTED_JOB = "unattributed-job"
    SENDER_MISMATCH = "sender-mismatch"
    DEPRECATED_READ = "deprecated-read"
    SUNSET_READ = "sunset-read"


FLAG_RULES: dict[Flag, str] = {
    Flag.NO_AGREEMENT: "a job of one domain read another domain's output port when no usage agreement between "
    "the consumer product and that port was active (judged per run, at the time of its read)",
    Flag.UNDECLARED_INPUT: "a product reads an output port whose contract (same major version) it has not declared "
    "as an input port (or the reading job writes no product)",
    Flag.DEPRECATED_CONTRACT: "the port read is bound to a contract version whose status is deprecated or retired",
    Flag.FOREIGN_WRITE: "a job of one domain writes into another domain's output port",
    Flag.UNOWNED_DATA: "a job reads or writes data in the lake that belongs to no output port",
    Flag.SCHEMA_DRIFT: "the latest schema facet written to the port disagrees with its contract (a stated column "
    "of another type or not in the contract; a contract column missing from a complete facet)",
    Flag.UNATTRIBUTED_JOB: "no rule could tell the domain of the job (job namespace, ownership, parent run, "
    "output ports)",
    Flag.SENDER_MISMATCH: "a maintainer's token sent a job the rules attribute to another domain (the run is "
    "attributed to the sender's domain), or reported a write or schema of another domain's port (not evidence: "
    "no foreign-write or schema-drift from it)",
    Flag.DEPRECATED_READ: "a job of another domain read an output port its product marks deprecated "
    "(customProperties deprecated / sunsetDate), before the sunset date",
    Flag.SUNSET_READ: "a job of another domain read a deprecated output port after its sunset date (error severity)",
}
"""Every flag and when it is raised (docs/lineage.md lists the same table)."""

FLAG_SEVERITY: dict[Flag, str] = {Flag.SUNSET_READ: "error"}
"""Flags more severe than the default ``warning``."""

DEPRECATED_STATUSES = frozenset({"deprecated", "retired"})
PORT_FLAGS = (Flag.SCHEMA_DRIFT, Flag.FOREIGN_WRITE, Flag.SENDER_MISMATCH)
"""Flags a port itself can carry (`port_flags`)."""


# --- schema drift -----------------------------------------------------------------------------------

PARTIAL_PRODUCERS = ("/integration/dbt", "openlineage-dbt", "dbt-ol")
"""Producers whose schema facet lists a subset of the columns (dbt: those documented in ``schema.yml``)."""

_COMPATIBLE = {"number": {"number", "integer"}, "date": {"date", "timestamp"}, "timestamp": {"timestamp", "date"}}


def facet_is_complete(producer: str | None, fields: Sequence[tuple[str, str | None]]) -> bool:
    """True when a ``schema`` facet lists every column of the dataset: each field typed, and not from dbt.

    Spark, Flink and the plain clients describe the written dataset's whole schema, with types; dbt
    lists the columns a model's ``schema.yml`` documents, usually without types. A facet with an
    untyped field is taken as partial whoever sent it.
    """
    if producer and any(mark in producer.lower() for mark in PARTIAL_PRODUCERS):
        return False
    return bool(fields) and all(kind for _, kind in fields)


def schema_drift(
    fields: Sequence[tuple[str, str | None]], columns: Mapping[str, str | None], *, complete: bool = True
) -> list[dict[str, str]]:
    """How a ``schema`` facet's top-level fields differ from a contract object's columns.

    ``extra``: stated, not in the contract; ``type``: both known, and the stated type is not one the
    contract's logical type allows; ``missing``: in the contract, not in the facet — only when the
    facet is `complete` (a partial facet is no evidence that the others are missing).
    """
    facet = {name.lower(): kind for name, kind in fields}
    drift = []
    if complete:
        drift += [
            {"kind": "missing", "column": c, "detail": "in the contract, not in the data"}
            for c in columns
            if c not in facet
        ]
    drift += [
        {"kind": "extra", "column": c, "detail": "in the data, not in the contract"} for c in facet if c not in columns
    ]
    for column, logical in columns.items():
        family = type_family(facet.get(column)) if column in facet else None
        if logical and family and family not in _COMPATIBLE.get(logical, {logical}):
            drift.append({"kind": "type", "column": column, "detail": f"contract {logical}, data {facet[column]}"})
    return drift


@dataclass(frozen=True)
class PortSchema:
    """The latest schema a job reported for an output port, and how it drifts from the contract."""

    product: str
    port: str
    domain: str | None
    seen_at: datetime
    drift: list[Any]
    namespace: str
    name: str
    job: str


def latest_port_schemas(session: Session, *, until: datetime | None = None) -> dict[tuple[str, str], PortSchema]:
    """(product, port) → the newest schema written to it before `until` (outputs and DatasetEvents).

    Only evidence counts: a schema a sender may not report (`meshplane.service.senders`) was never compared.
    """
    d, r = store.RunDataset, store.LineageRun
    query = (
        sa.select(d.product, d.port, d.domain, d.schema_at, d.drift, d.namespace, d.name, r.job_namespace, r.job_name)
        .outerjoin(r, r.run_key == d.run_key)
        .where(d.schema_at.is_not(None), d.product.is_not(None), d.role.in_(("output", "static")))
        .order_by(d.schema_at, d.id)
    )
    if until is not None:
        query = query.where(d.schema_at < until)
    out: dict[tuple[str, str], PortSchema] = {}
    for row in session.execute(query):
        job = f"{row.job_namespace}/{row.job_name}" if row.job_namespace else "(dataset event)"
        out[(row.product, row.port)] = PortSchema(
            row.product, row.port, row.domain, row.schema_at, list(row.drift or []), row.namespace, row.name, job
        )
    return out


def drift_text(product: str | None, port: str | None, schema: PortSchema) -> str:
    """What drifts, in one line: the port, the job, when, each column."""
    items = "; ".join(f"{d['kind']} {d['column']}" + (f" ({d['detail']})" if d["kind"] == "type" else "")
                      for d in schema.drift)  # fmt: skip
    return f"{product}/{port} written by {schema.job} at {iso(schema.seen_at)}: {items}"


def iso(moment: datetime | None) -> str | None:
    """An instant as ISO 8601 UTC with ``Z``."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


# --- judging flows --------------------------------------------------------------------------------


def judge_flows(session: Session, flows: Sequence[Flow], *, moment: datetime) -> None:
    """Set agreement, coverage, declared and flags of every flow, as of `moment`."""
    if not flows:
        return
    history = agreement_history(session)
    port = m.InputPort
    inputs = {
        (p, c, major)
        for p, c, major in session.execute(
            sa.select(port.product_id, port.contract_id, port.major).where(
                sa.or_(port.retired_at.is_(None), port.retired_at > moment)
            )
        )
    }
    statuses = {(c, v): s for c, v, s in session.execute(sa.select(
        m.ContractVersion.contract_id, m.ContractVersion.version, m.ContractVersion.status))}  # fmt: skip
    drifted = {key for key, schema in latest_port_schemas(session, until=moment).items() if schema.drift}
    sunsets = _deprecated_ports(session, {f.from_product for f in flows if f.kind == "read" and f.from_product})
    for flow in flows:
        flags: list[Flag] = []
        if flow.port is None:
            flags.append(Flag.UNOWNED_DATA)
        elif flow.kind == "write":
            if flow.evidence:  # a maintainer's report of another domain's port is a sender-mismatch instead
                flags.append(Flag.FOREIGN_WRITE)
            if (flow.to_product, flow.port) in drifted:
                flags.append(Flag.SCHEMA_DRIFT)
        else:
            cross = flow.from_domain != flow.to_domain
            key = (flow.to_product or "", flow.from_product or "", flow.port)
            state = history.state_at(key, moment)
            flow.agreement = state or ("none" if cross or flow.to_product is None else "not-required")
            covered = {
                run
                for run in flow.runs
                if not cross or (flow.to_product and history.covering(key, flow.read_times.get(run, moment)))
            }
            flow.runs_covered, flow.runs_not_covered = len(covered), len(flow.runs) - len(covered)
            if cross and flow.runs_not_covered:
                flags.append(Flag.NO_AGREEMENT)
            flow.declared = (flow.to_product, flow.contract_id, major_of(flow.contract_version)) in inputs
            if not flow.declared:
                flags.append(Flag.UNDECLARED_INPUT)
            read = {statuses.get((flow.contract_id or "", v), "").lower() for v in flow.versions}
            if read & DEPRECATED_STATUSES:
                flags.append(Flag.DEPRECATED_CONTRACT)
            if (flow.from_product, flow.port) in drifted:
                flags.append(Flag.SCHEMA_DRIFT)
            if cross:
                flags += _deprecation_flags(flow, sunsets, moment)
        if (flow.to_domain if flow.kind == "read" else flow.from_domain) is None:
            flags.append(Flag.UNATTRIBUTED_JOB)
        if flow.mismatches:
            flags.append(Flag.SENDER_MISMATCH)
        flow.flags = [f.value for f in flags]


def _deprecated_ports(session: Session, products: set[str]) -> dict[tuple[str, str, str], Deprecation]:
    """(product, port, version) -> deprecation, from the current descriptors of `products`."""
    if not products:
        return {}
    rows = session.execute(
        sa.select(m.Product.id, m.ProductDescriptor.document)
        .join(
            m.ProductDescriptor,
            sa.and_(m.ProductDescriptor.product_id == m.Product.id, m.ProductDescriptor.revision == m.Product.revision),
        )
        .where(m.Product.id.in_(products))
    )
    return {(pid, name, version): dep for pid, doc in rows for (name, version), dep in port_deprecations(doc).items()}


def _deprecation_flags(flow: Flow, sunsets: Mapping[tuple[str, str, str], Deprecation], moment: datetime) -> list[Flag]:
    """``sunset-read`` when a run read a deprecated port after its sunset date, else ``deprecated-read``."""
    found = [sunsets[key] for v in flow.versions if (key := (flow.from_product or "", flow.port or "", v)) in sunsets]
    if not found:
        return []
    reads = [flow.read_times.get(run, moment) for run in flow.runs] or [moment]
    if any(dep.is_past(read.astimezone(UTC).date()) for dep in found for read in reads):
        return [Flag.SUNSET_READ]
    return [Flag.DEPRECATED_READ]


# --- port flags -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PortFlag:
    """A flag on an output port itself: what the runs say about the port, with who said it."""

    product: str
    port: str
    domain: str | None
    flag: str
    detail: str
    last_seen: datetime | None
    received_by: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON shape (`meshplane flags --format json`, `movements --format json` ``portFlags``)."""
        return {
            "product": self.product,
            "port": self.port,
            "domain": self.domain,
            "flag": self.flag,
            "detail": self.detail,
            "lastSeen": iso(self.last_seen),
            "receivedBy": list(self.received_by),
        }


def port_flags(session: Session, *, since: datetime | None = None, until: datetime | None = None) -> list[PortFlag]:
    """Every port flag seen in [since, until): drift of the latest schema, foreign writes, sender mismatches (of
    writes, schemas and test results)."""
    out: list[PortFlag] = []
    for (product, port), schema in sorted(latest_port_schemas(session, until=until).items()):
        if schema.drift and (since is None or schema.seen_at >= since):
            out.append(
                PortFlag(product, port, schema.domain, Flag.SCHEMA_DRIFT.value, drift_text(product, port, schema),
                         schema.seen_at)
            )  # fmt: skip
    d, r = store.RunDataset, store.LineageRun
    query = (
        sa.select(d.product, d.port, d.domain, d.mismatch, d.last_seen, r.domain.label("run_domain"), r.received_by,
                  r.job_namespace, r.job_name)
        .outerjoin(r, r.run_key == d.run_key)
        .where(d.product.is_not(None),
               sa.or_(sa.and_(d.role.in_(("output", "static")),
                              sa.or_(d.mismatch.is_not(None), sa.and_(r.domain.is_not(None), r.domain != d.domain))),
                      sa.and_(d.role == "input", d.mismatch.is_not(None))))  # test results sent about another's port
        .order_by(d.product, d.port, d.last_seen)
    )  # fmt: skip
    if since is not None:
        query = query.where(d.last_seen >= since)
    if until is not None:
        query = query.where(d.last_seen < until)
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in session.execute(query):
        kind = Flag.SENDER_MISMATCH if row.mismatch else Flag.FOREIGN_WRITE
        entry = found.setdefault(
            (row.product, row.port, kind.value),
            {"domain": row.domain, "details": set(), "senders": set(), "last": None},
        )
        job = f"{row.job_namespace}/{row.job_name}" if row.job_namespace else "(dataset event)"
        entry["details"].add(row.mismatch or f"written by {job} of domain {row.run_domain}")
        entry["senders"].update(row.received_by.split("; ") if row.received_by else ())
        entry["last"] = max(filter(None, (entry["last"], row.last_seen)), default=None)
    for (product, port, flag), entry in sorted(found.items()):
        details = sorted(entry["details"])
        more = f"; and {len(details) - 3} more" if len(details) > 3 else ""
        out.append(
            PortFlag(product, port, entry["domain"], flag, "; ".join(details[:3]) + more, entry["last"],
                     tuple(sorted(entry["senders"])))
        )  # fmt: skip
    return sorted(out, key=lambda f: (f.product, f.port, f.flag))


__all__ = [
    "DEPRECATED_STATUSES",
    "FLAG_RULES",
    "FLAG_SEVERITY",
    "PARTIAL_PRODUCERS",
    "PORT_FLAGS",
    "Flag",
    "PortFlag",
    "PortSchema",
    "drift_text",
    "facet_is_complete",
    "iso",
    "judge_flows",
    "latest_port_schemas",
    "port_flags",
    "schema_drift",
]

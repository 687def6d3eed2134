"""The runs behind a flow: what the mesh map's edges and matrix cells click through to.

`movements` aggregates run datasets into flows (`meshplane.service.movements`); `flow_runs` takes
the flows of a period that a `FlowSelector` picks (one edge of the map, or every flow of one
domain x domain cell) and lists each flow's runs: when the run read or wrote, its job, the rows and
bytes of its datasets in the flow, whether a usage agreement covered the read at the time it read
(the same history `service.flags` judges by: a later agreement never covers an earlier read), and
the flags that hold for that run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from meshplane.registry import Registry
from meshplane.registry import lineage as store
from meshplane.service.agreements import agreement_history
from meshplane.service.flags import Flag
from meshplane.service.movements import Flow, FlowKey, _run_flows, compute_flows

NONE = "-"
"""How a selector names an absent domain, product or port (lake data, a job of no domain)."""

PER_RUN = {Flag.NO_AGREEMENT.value, Flag.SENDER_MISMATCH.value}
"""Flags judged per run; the others hold for every run of the flow."""


@dataclass(frozen=True)
class FlowSelector:
    """Which flows: every given field must be equal (`NONE` for an absent one; None: any)."""

    kind: str | None = None
    from_domain: str | None = None
    to_domain: str | None = None
    from_product: str | None = None
    to_product: str | None = None
    port: str | None = None

    def picks(self, flow: Flow) -> bool:
        """True when `flow` has every given field."""
        for name in ("kind", "from_domain", "to_domain", "from_product", "to_product", "port"):
            wanted = getattr(self, name)
            if wanted is not None and (getattr(flow, name) or NONE) != wanted:
                return False
        return True

    @property
    def empty(self) -> bool:
        """No field given (every flow)."""
        return all(getattr(self, name) is None for name in self.__dataclass_fields__)

    @classmethod
    def of(cls, flow: Flow) -> FlowSelector:
        """The selector of exactly `flow` (its link on the map)."""
        return cls(flow.kind, *(v or NONE for v in (flow.from_domain, flow.to_domain, flow.from_product,
                                                     flow.to_product, flow.port)))  # fmt: skip

    def params(self) -> dict[str, str]:
        """The given fields as query parameters (``from_product=…``)."""
        return {name: value for name in self.__dataclass_fields__ if (value := getattr(self, name)) is not None}


@dataclass
class FlowRun:
    """One run of a flow."""

    run: str
    job: str
    read_at: datetime
    last_seen: datetime
    rows: int | None = None
    bytes: int | None = None
    covered: bool | None = None
    """Of a read: a usage agreement covered it when it read (or none was needed); None: a write."""
    senders: set[str] = field(default_factory=set)
    mismatch: bool = False
    flags: list[str] = field(default_factory=list)

    def add(self, row: store.RunDatasetRow) -> None:
        """Count one dataset of the run in."""
        self.read_at = min(self.read_at, row.first_seen or row.last_seen)
        self.last_seen = max(self.last_seen, row.last_seen)
        if row.row_count is not None:
            self.rows = (self.rows or 0) + row.row_count
        if row.byte_count is not None:
            self.bytes = (self.bytes or 0) + row.byte_count
        if row.received_by:
            self.senders.update(row.received_by.split("; "))
        self.mismatch = self.mismatch or bool(row.run_mismatch or row.mismatch)


@dataclass(frozen=True)
class FlowRuns:
    """A flow and its runs, newest first."""

    flow: Flow
    runs: tuple[FlowRun, ...]


def _by_run(rows: Iterator[store.RunDatasetRow]) -> Iterator[list[store.RunDatasetRow]]:
    current: list[store.RunDatasetRow] = []
    for row in rows:
        if current and current[0].run_key != row.run_key:
            yield current
            current = []
        current.append(row)
    if current:
        yield current


def _key(flow: Flow) -> FlowKey:
    return (flow.kind, flow.from_domain, flow.to_domain, flow.from_product, flow.to_product, flow.port, None)


def flow_runs(
    registry: Registry, selector: FlowSelector, *, since: datetime | None = None, until: datetime | None = None
) -> list[FlowRuns]:
    """The flows of [since, until) that `selector` picks, each with its runs (as `movements` judges now)."""
    with registry.read() as session:
        flows = [f for f in compute_flows(session, since=since, until=until) if selector.picks(f)]
        if not flows:
            return []
        wanted = {_key(f): f for f in flows}
        runs: dict[FlowKey, dict[str, FlowRun]] = {key: {} for key in wanted}
        for rows in _by_run(store.run_dataset_rows(session, since=since, until=until)):
            for key, row in _run_flows(rows, False):
                if key not in runs:
                    continue
                job = f"{row.job_namespace}/{row.job_name}"
                seen = runs[key].setdefault(row.run_key, FlowRun(row.run_key, job, row.last_seen, row.last_seen))
                seen.add(row)
        history = agreement_history(session)
    out = []
    for key, flow in wanted.items():
        cross = flow.kind == "read" and flow.from_domain != flow.to_domain
        agreement = (flow.to_product or "", flow.from_product or "", flow.port or "")
        shared = [f for f in flow.flags if f not in PER_RUN]
        for run in runs[key].values():
            if flow.kind == "read":
                read_at = flow.read_times.get(run.run, run.read_at)
                run.covered = not cross or bool(flow.to_product and history.covering(agreement, read_at))
            run.flags = shared + ([Flag.NO_AGREEMENT.value] if run.covered is False else [])
            run.flags += [Flag.SENDER_MISMATCH.value] if run.mismatch else []
        ordered = sorted(runs[key].values(), key=lambda r: (r.read_at, r.run), reverse=True)
        out.append(FlowRuns(flow, tuple(ordered)))
    return out


__all__ = ["NONE", "FlowRun", "FlowRuns", "FlowSelector", "flow_runs"]

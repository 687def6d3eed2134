"""Datasets that lineage events named and no output port claims: nothing unresolved is silent.

`unresolved` lists, per canonical dataset identity that resolved to no port, how many runs (and
their events) named it, as input or output, which jobs, when it was last seen, whether it lies in
the lake (then movements flag it ``unowned-data`` too), and a suggestion where one is likely:

* the identity resolves **now** (the index or a dbt link changed after its events were derived):
  reindexing joins them to the flows;
* a **dbt job** (job namespace ``dbt``, or a parent run of job ``dbt-run-…``/``dbt-build-…``,
  as ``dbt-ol`` sends): ``meshplane dbt link`` tells which relations are which lake data;
* a port whose table or folder is a **near match** (same last name, or a close spelling).

Datasets of a **known external system** (mesh.yaml ``lineage.externalSystems``,
`meshplane.lineage.external`: a Kafka cluster, a SaaS API, an operational database) are not
unresolved: they are listed apart, each with ``external: <description>``. They are classified
when read, against the settings of the mesh.yaml applied last, so a change of the setting shows at
once, for every stored event (nothing is derived again).

`summary` gives the counts `meshplane movements` prints instead of "no movements observed".
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from meshplane.lineage import DatasetIdentity, PortIndex, PortIndexRow
from meshplane.lineage.external import ExternalSystem, external_system, external_systems
from meshplane.registry import Registry, dbtlinks
from meshplane.registry import lineage as store
from meshplane.service.derivation import dataset_link

DBT_JOB_NAMESPACE = "dbt"
"""The job namespace ``dbt-ol`` sends without ``OPENLINEAGE_NAMESPACE``."""
DBT_PARENT_PREFIXES = ("dbt-run-", "dbt-build-", "dbt-test-", "dbt-seed-", "dbt-snapshot-")
"""How ``dbt-ol`` names the job of a whole invocation (the parent of every model's run)."""
MAX_JOBS = 10
"""Jobs listed per dataset (the count says how many there are)."""
MAX_EXTERNAL = 100
"""Datasets of known external systems listed (most runs first)."""


@dataclass
class UnresolvedDataset:
    """A dataset identity events named that resolved to no output port."""

    namespace: str
    name: str
    roles: set[str] = field(default_factory=set)
    runs: int = 0
    events: int = 0
    jobs: set[tuple[str, str]] = field(default_factory=set)
    last_seen: datetime | None = None
    in_lake: bool = False
    dbt: bool = False
    suggestion: str | None = None
    external: str | None = None
    """The known external system it lies in (its description), for the datasets listed as external."""

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        jobs = sorted(self.jobs)
        return {
            "namespace": self.namespace,
            "name": self.name,
            "roles": sorted(self.roles),
            "runs": self.runs,
            "events": self.events,
            "jobs": [f"{ns}/{name}" for ns, name in jobs[:MAX_JOBS]],
            "jobCount": len(jobs),
            "lastSeen": self.last_seen.astimezone(UTC).isoformat().replace("+00:00", "Z") if self.last_seen else None,
            "inLake": self.in_lake,
            "dbtJob": self.dbt,
            "suggestion": self.suggestion,
        } | ({"external": self.external} if self.external is not None else {})


@dataclass(frozen=True)
class UnresolvedReport:
    """Every unresolved dataset, most runs first, and the totals."""

    datasets: tuple[UnresolvedDataset, ...]
    runs: int
    events: int
    external: tuple[UnresolvedDataset, ...] = ()
    """Datasets of known external systems (not unresolved), most runs first."""

    def summary(self) -> dict[str, int]:
        """Datasets, runs and events that stayed unresolved."""
        return {"datasets": len(self.datasets), "runs": self.runs, "events": self.events}

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the CLI's and the API's answer)."""
        return {
            "summary": self.summary(),
            "datasets": [d.to_dict() for d in self.datasets],
            "external": [d.to_dict() for d in self.external],
        }


def _is_dbt(job_namespace: str, job_name: str, parent_job: str | None) -> bool:
    return (
        job_namespace == DBT_JOB_NAMESPACE
        or job_name.startswith(DBT_PARENT_PREFIXES)
        or (parent_job or "").startswith(DBT_PARENT_PREFIXES)
    )


def _last_part(identity: DatasetIdentity) -> str:
    text = identity.name.rstrip("/")
    last = text.rsplit("/", 1)[-1] if identity.is_path else text.rsplit(".", 1)[-1]
    return last.strip('"').lower()


class _NearMatch:
    """Ports whose table or folder name is close to a dataset's."""

    def __init__(self, index: PortIndex) -> None:
        self.by_last: dict[str, list[PortIndexRow]] = defaultdict(list)
        for row in index.rows:
            self.by_last[_last_part(row.identity)].append(row)

    def __call__(self, identity: DatasetIdentity) -> PortIndexRow | None:
        key = _last_part(identity)
        close = difflib.get_close_matches(key, list(self.by_last), n=1, cutoff=0.8)
        if not close:
            return None
        rows = self.by_last[close[0]]
        return next((r for r in rows if r.namespace == identity.namespace), rows[0])


def _suggestion(item: UnresolvedDataset, index: PortIndex, near: _NearMatch) -> str | None:
    identity = DatasetIdentity(item.namespace, item.name)
    now = index.resolve(identity)
    if now is not None:
        return (
            f"resolves now to {now.product}/{now.port} (the index or a dbt link changed after these events were "
            "derived): run `meshplane lineage reindex`"
        )
    if item.dbt:
        return (
            "a dbt job names this relation: run `meshplane dbt link target/manifest.json --product <consumer>` "
            "to say which lake data it is"
        )
    row = near(identity)
    if row is not None:
        return f"near {row.product}/{row.port} at {row.identity}: check the contract's server or the job's names"
    return None


def _systems(session: Session) -> tuple[ExternalSystem, ...]:
    return external_systems(store.stored_mesh_settings(session))


def _in_systems(systems: tuple[ExternalSystem, ...], dialect: str) -> Any:
    """SQL: the run dataset lies in one of `systems` (names by glob: GLOB on SQLite, LIKE on PostgreSQL, both
    case-sensitive as `ExternalSystem.matches`); None without systems."""
    d = store.RunDataset
    parts = []
    for system in systems:
        condition = d.namespace == system.namespace
        if system.name is not None:
            glob = d.name.op("GLOB")(system.name) if dialect == "sqlite" else d.name.like(system.like(), escape="\\")
            condition = sa.and_(condition, glob)
        parts.append(condition)
    return sa.or_(*parts) if parts else None


def _unresolved_where(session: Session, systems: tuple[ExternalSystem, ...]) -> list[Any]:
    """The conditions of an unresolved run dataset: no port, and no known external system."""
    inside = _in_systems(systems, session.get_bind().dialect.name)
    return [store.RunDataset.product.is_(None)] + ([sa.not_(inside)] if inside is not None else [])


def _aggregated(session: Session, conditions: list[Any], since: datetime | None) -> list[Any]:
    r, d = store.LineageRun, store.RunDataset
    parent = sa.orm.aliased(store.LineageRun)
    query = (
        sa.select(
            d.namespace,
            d.name,
            d.role,
            sa.func.max(sa.case((d.in_lake, 1), else_=0)).label("in_lake"),
            sa.func.max(d.last_seen).label("last_seen"),
            r.job_namespace,
            r.job_name,
            parent.job_name.label("parent_job"),
            sa.func.count().label("runs"),
            sa.func.sum(r.events).label("events"),
        )
        .join(r, r.run_key == d.run_key)
        .outerjoin(parent, parent.run_key == r.parent_run_id)
        .where(*conditions)
        .group_by(d.namespace, d.name, d.role, r.job_namespace, r.job_name, parent.job_name)
    )
    if since is not None:
        query = query.where(d.last_seen >= since)
    return list(session.execute(query).all())


def _gathered(rows: list[Any]) -> list[UnresolvedDataset]:
    found: dict[tuple[str, str], UnresolvedDataset] = {}
    for row in rows:
        item = found.setdefault((row.namespace, row.name), UnresolvedDataset(row.namespace, row.name))
        item.roles.add(row.role)
        item.runs += int(row.runs)
        item.events += int(row.events or 0)
        item.jobs.add((row.job_namespace, row.job_name))
        item.last_seen = max(filter(None, (item.last_seen, row.last_seen)), default=None)
        item.in_lake |= bool(row.in_lake)
        item.dbt |= _is_dbt(row.job_namespace, row.job_name, row.parent_job)
    return sorted(found.values(), key=lambda i: (-i.runs, i.namespace, i.name))


def unresolved(registry: Registry, *, since: datetime | None = None, limit: int | None = None) -> UnresolvedReport:
    """Dataset identities of runs (last seen from `since`) that resolved to no port and lie in no known external
    system, most runs first; and, apart, those of known external systems."""
    d = store.RunDataset
    with registry.read() as session:
        systems = _systems(session)
        where = _unresolved_where(session, systems)
        rows = _aggregated(session, where, since)
        external = _external(session, systems, since)
        index = _current_index(session)
        runs = _count(session, sa.select(sa.func.count(sa.distinct(d.run_key))).where(*where), since)
        events = _unresolved_events(session, since, where)
    near = _NearMatch(index)
    ordered = _gathered(rows)
    if limit is not None:
        ordered = ordered[:limit]
    for item in ordered:
        item.suggestion = _suggestion(item, index, near)
    return UnresolvedReport(tuple(ordered), runs, events, tuple(external))


def _external(session: Session, systems: tuple[ExternalSystem, ...], since: datetime | None) -> list[UnresolvedDataset]:
    inside = _in_systems(systems, session.get_bind().dialect.name)
    if inside is None:
        return []
    items = _gathered(_aggregated(session, [store.RunDataset.product.is_(None), inside], since))[:MAX_EXTERNAL]
    for item in items:
        system = external_system(systems, DatasetIdentity(item.namespace, item.name))
        item.external = system.label if system is not None else None
    return items


def external_datasets(registry: Registry, *, since: datetime | None = None) -> list[UnresolvedDataset]:
    """Datasets of known external systems (last seen from `since`), most runs first, each with its system."""
    with registry.read() as session:
        return _external(session, _systems(session), since)


def _count(session: Session, query: Any, since: datetime | None) -> int:
    if since is not None:
        query = query.where(store.RunDataset.last_seen >= since)
    return int(session.execute(query).scalar_one() or 0)


def _unresolved_events(session: Session, since: datetime | None, where: list[Any]) -> int:
    """Events of the runs that named an unresolved dataset."""
    d = store.RunDataset
    keys = sa.select(d.run_key).where(*where)
    if since is not None:
        keys = keys.where(d.last_seen >= since)
    query = sa.select(sa.func.sum(store.LineageRun.events)).where(store.LineageRun.run_key.in_(keys.distinct()))
    return int(session.execute(query).scalar_one() or 0)


def _current_index(session: Session) -> PortIndex:
    stored = store.load_index(session)
    return PortIndex.from_rows(stored.rows, [dataset_link(row) for row in dbtlinks.load_links(session)])


def unresolved_summary(registry: Registry, *, since: datetime | None = None) -> dict[str, int]:
    """Datasets, runs and events that stayed unresolved (from `since`)."""
    d = store.RunDataset
    with registry.read() as session:
        where = _unresolved_where(session, _systems(session))
        datasets = sa.select(d.namespace, d.name).where(*where)
        if since is not None:
            datasets = datasets.where(d.last_seen >= since)
        count = sa.select(sa.func.count()).select_from(datasets.distinct().subquery())
        return {
            "datasets": int(session.execute(count).scalar_one() or 0),
            "runs": _count(session, sa.select(sa.func.count(sa.distinct(d.run_key))).where(*where), since),
            "events": _unresolved_events(session, since, where),
        }


__all__ = [
    "DBT_JOB_NAMESPACE",
    "UnresolvedDataset",
    "UnresolvedReport",
    "external_datasets",
    "unresolved",
    "unresolved_summary",
]

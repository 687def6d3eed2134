"""Run compiled checks against an engine session: per object, ONE aggregate scan.

For each schema object: open its dataset (metadata only), plan every check, merge the aggregate
expressions of all `Aggregates` plans into one SELECT (identical expressions computed once, e.g.
the shared ``COUNT(*)``), run it, judge each check from its values; run the `OwnQuery` plans;
fetch samples for failed checks. If the merged SELECT fails (a rule's expression the engine
rejects), each check's aggregates run on their own, so an error belongs to its check only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlglot import exp

from meshplane.checks.kinds.schema import ObjectExistsSpec
from meshplane.checks.model import CheckResult, CheckSpec, DatasetInfo, Outcome, Status
from meshplane.checks.plan import (
    Aggregates,
    ColumnMissing,
    Immediate,
    NotSupported,
    ObjectTarget,
    OwnQuery,
    Plan,
    query_failed,
)
from meshplane.checks.registry import check_type_of
from meshplane.checks.samples import fetch_all_samples
from meshplane.engines.base import (
    Dataset,
    DatasetNotFound,
    DatasetRequest,
    Engine,
    EngineError,
    QueryError,
    Session,
)
from meshplane.spec.odcs import Contract, SchemaObject


@dataclass(frozen=True)
class ObjectDone:
    """Progress: one schema object has been checked."""

    contract: str
    object: str
    index: int
    total: int
    results: list[CheckResult]


ProgressCallback = Callable[[ObjectDone], None]


@dataclass
class ChecksOutcome:
    """Results of every check, the datasets read, and the objects that could not be opened."""

    results: list[CheckResult]
    datasets: list[DatasetInfo] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)


def _judged(judge: Callable[[Any], Outcome], values: Any) -> Outcome:
    try:
        return judge(values)
    except (TypeError, ValueError, ArithmeticError) as exc:
        return Outcome.error(f"cannot judge the observed value: {exc}")


class ObjectRun:
    """The checks of one schema object against its opened dataset."""

    def __init__(self, session: Session, target: ObjectTarget, sample_rows: int) -> None:
        self.session = session
        self.target = target
        self.sample_rows = sample_rows

    def plan(self, spec: CheckSpec) -> Plan:
        try:
            return check_type_of(spec).plan(spec, self.target)
        except ColumnMissing as exc:
            return Immediate(Outcome.skipped(f"not run: column {exc} is missing (see schema.property)"))
        except NotSupported as exc:
            return Immediate(Outcome.skipped(str(exc)))

    def run(self, specs: list[CheckSpec]) -> dict[str, CheckResult]:
        plans = {spec.id: self.plan(spec) for spec in specs}
        outcomes: dict[str, Outcome] = {}
        aggregates = {sid: p for sid, p in plans.items() if isinstance(p, Aggregates)}
        outcomes.update(self._scan(aggregates))
        for sid, plan in plans.items():
            if isinstance(plan, Immediate):
                outcomes[sid] = plan.outcome
            elif isinstance(plan, OwnQuery):
                try:
                    outcomes[sid] = _judged(plan.judge, self.session.execute(plan.query))
                except QueryError as exc:
                    outcomes[sid] = query_failed(exc, plan.sensitive)
        results = {spec.id: CheckResult.from_outcome(spec, outcomes[spec.id]) for spec in specs}
        offending = {
            sid: plan.violations
            for sid, plan in plans.items()
            if results[sid].status in (Status.FAILED, Status.WARNING)
            and isinstance(plan, Aggregates)
            and plan.violations is not None
        }
        # one pass over the data for the samples of every failed check
        for sid, samples in fetch_all_samples(self.session, self.target, offending, self.sample_rows).items():
            results[sid] = dataclasses.replace(results[sid], samples=samples)
        return results

    def _scan(self, plans: Mapping[str, Aggregates]) -> dict[str, Outcome]:
        """Evaluate every aggregate of the object in one SELECT; isolate failures per check."""
        if not plans:
            return {}
        engine = self.target.engine
        aliases: dict[str, str] = {}
        columns: list[exp.Expr] = []
        bindings: dict[str, dict[str, str]] = {}
        for sid, plan in plans.items():
            binding = {}
            for local, expression in plan.expressions.items():
                key = engine.render(expression)
                if key not in aliases:
                    aliases[key] = f"m{len(aliases)}"
                    columns.append(exp.alias_(expression.copy(), aliases[key], quoted=True))
                binding[local] = aliases[key]
            bindings[sid] = binding
        try:
            row = self._select(columns)
        except QueryError:
            return {sid: self._alone(plan) for sid, plan in plans.items()}
        return {
            sid: _judged(plan.judge, {local: row[alias] for local, alias in bindings[sid].items()})
            for sid, plan in plans.items()
        }

    def _select(self, columns: list[exp.Expr]) -> dict[str, Any]:
        result = self.session.execute(exp.select(*columns).from_(self.target.table.copy()))
        values = result.rows[0] if result.rows else tuple(None for _ in result.columns)
        return dict(zip(result.columns, values, strict=True))

    def _alone(self, plan: Aggregates) -> Outcome:
        names = list(plan.expressions)
        columns: list[exp.Expr] = [
            exp.alias_(plan.expressions[n].copy(), f"m{i}", quoted=True) for i, n in enumerate(names)
        ]
        try:
            row = self._select(columns)
        except QueryError as exc:
            return query_failed(exc, plan.sensitive)
        return _judged(plan.judge, {n: row[f"m{i}"] for i, n in enumerate(names)})


def dataset_request(obj: SchemaObject) -> DatasetRequest:
    """What a session opens for a schema object (declared strings and logical types for the readers)."""
    text = tuple(p.column for p in obj.properties or [] if p.logical_type == "string")
    logical = {p.column: p.logical_type for p in obj.properties or [] if p.logical_type}
    return DatasetRequest(obj.name, obj.table, text, logical)


class OpenedObjects:
    """The datasets of a contract's objects opened in one session, each once: a relationship check
    reads the object it references, which may be opened before its own turn."""

    def __init__(self, session: Session, contract: Contract) -> None:
        self.session = session
        self.contract = contract
        self.datasets: dict[str, Dataset] = {}

    def open(self, obj: SchemaObject) -> Dataset:
        """The object's dataset (raises as `Session.open` does)."""
        if obj.name not in self.datasets:
            self.datasets[obj.name] = self.session.open(dataset_request(obj))
        return self.datasets[obj.name]

    def reference(self, name: str) -> Dataset:
        """The dataset of the schema object named `name` (logical or physical name)."""
        obj = self.contract.object_named(name)
        if obj is None:
            raise DatasetNotFound(f"the contract has no schema object {name}")
        return self.open(obj)


def run_checks(
    contract: Contract,
    specs: list[CheckSpec],
    session: Session,
    *,
    engine: Engine,
    now: datetime,
    sample_rows: int = 5,
    progress: ProgressCallback | None = None,
) -> ChecksOutcome:
    """Run `specs` (compiled from `contract`) through an open session."""
    by_object: dict[str, list[CheckSpec]] = {}
    results: dict[str, CheckResult] = {}
    names = {obj.name for obj in contract.objects}
    for spec in specs:
        if spec.object is not None and spec.object in names:
            by_object.setdefault(spec.object, []).append(spec)
        else:
            results[spec.id] = CheckResult.from_outcome(spec, check_type_of(spec).detached(spec))
    outcome = ChecksOutcome([])
    objects = contract.objects
    opened = OpenedObjects(session, contract)
    for index, obj in enumerate(objects):
        object_specs = by_object.get(obj.name, [])
        object_results = _run_object(
            session, engine, obj, object_specs, now=now, sample_rows=sample_rows, outcome=outcome, opened=opened
        )
        results.update(object_results)
        if progress is not None:
            done = [object_results[s.id] for s in object_specs]
            progress(ObjectDone(contract.id, obj.name, index + 1, len(objects), done))
    outcome.results = [results[spec.id] for spec in specs]
    return outcome


def _run_object(
    session: Session,
    engine: Engine,
    obj: SchemaObject,
    specs: list[CheckSpec],
    *,
    now: datetime,
    sample_rows: int,
    outcome: ChecksOutcome,
    opened: OpenedObjects,
) -> dict[str, CheckResult]:
    try:
        dataset = opened.open(obj)
    except (DatasetNotFound, QueryError, EngineError) as exc:
        missing = isinstance(exc, DatasetNotFound)
        outcome.unavailable[obj.name] = str(exc)
        status = Outcome.failed if missing else Outcome.error
        out = {}
        for spec in specs:
            if isinstance(spec, ObjectExistsSpec):
                out[spec.id] = CheckResult.from_outcome(spec, status(str(exc)))
            else:
                reason = "dataset not found" if missing else "dataset cannot be read"
                out[spec.id] = CheckResult.from_outcome(spec, Outcome.skipped(f"not run: {reason}"))
        return out
    outcome.datasets.append(DatasetInfo(obj.name, dataset.location, dataset.format, dataset.snapshot))
    target = ObjectTarget(engine, dataset, obj, now, reference=opened.reference)
    return ObjectRun(session, target, sample_rows).run(specs)

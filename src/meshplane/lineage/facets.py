"""What meshplane reads from the standard OpenLineage facets it interprets: typed values and their readers.

`READERS` maps a facet (where it sits, its key) to the function reading its JSON, once the facet
has passed its schema (`meshplane.lineage.schemas.FACET_SCHEMAS`); `meshplane.lineage.events`
calls them while it reads an event. The values are immutable.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from meshplane.lineage.identity import DatasetIdentity, canonical_identity

# --- values --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SchemaField:
    """A field of a ``schema`` facet; ``fields`` are the nested fields of a struct."""

    name: str
    type: str | None = None
    description: str | None = None
    fields: tuple[SchemaField, ...] = ()

    def walk(self, prefix: str = "") -> Iterator[tuple[str, SchemaField]]:
        """This field and every nested one, with dotted paths (``address.city``)."""
        here = f"{prefix}{self.name}"
        yield here, self
        for child in self.fields:
            yield from child.walk(f"{here}.")


@dataclass(frozen=True, slots=True)
class Transformation:
    """How an input field becomes an output field (``DIRECT``/``INDIRECT``, ``IDENTITY``, ``AGGREGATION``...)."""

    type: str
    subtype: str | None = None
    description: str | None = None
    masking: bool | None = None


@dataclass(frozen=True, slots=True)
class InputField:
    """A column of an input dataset that a column of an output depends on."""

    namespace: str
    name: str
    field: str
    transformations: tuple[Transformation, ...] = ()

    @property
    def identity(self) -> DatasetIdentity:
        """The canonical identity of the input dataset."""
        return canonical_identity(self.namespace, self.name)


@dataclass(frozen=True, slots=True)
class ColumnLineage:
    """The ``columnLineage`` facet: output column → the input columns it is computed from.

    ``fields`` is sorted by output column (JSON objects have no order). ``dataset`` lists input
    columns that affect the whole output (filters, joins, grouping).
    """

    fields: tuple[tuple[str, tuple[InputField, ...]], ...]
    dataset: tuple[InputField, ...] = ()

    def as_dict(self) -> dict[str, tuple[InputField, ...]]:
        """Output column → input columns."""
        return dict(self.fields)

    def inputs_of(self, column: str) -> tuple[InputField, ...]:
        """The input columns one output column is computed from (empty when not described)."""
        return self.as_dict().get(column, ())


@dataclass(frozen=True, slots=True)
class DatasetStatistics:
    """Rows, bytes and files from ``outputStatistics`` (written) or ``inputStatistics`` (read)."""

    row_count: int | None = None
    bytes: int | None = None
    file_count: int | None = None


@dataclass(frozen=True, slots=True)
class Owner:
    """An entry of an ``ownership`` facet (``name`` such as ``team:retail``; ``type`` such as ``MAINTAINER``)."""

    name: str
    type: str | None = None


@dataclass(frozen=True, slots=True)
class SymlinkIdentifier:
    """Another name of the same dataset (``symlinks`` facet), e.g. the Hive table of a file path."""

    namespace: str
    name: str
    type: str

    @property
    def identity(self) -> DatasetIdentity:
        """The canonical identity of this alternative name."""
        return canonical_identity(self.namespace, self.name)


@dataclass(frozen=True, slots=True)
class DataSource:
    """The ``dataSource`` facet."""

    name: str | None = None
    uri: str | None = None


@dataclass(frozen=True, slots=True)
class LifecycleChange:
    """The ``lifecycleStateChange`` facet (``CREATE``, ``DROP``, ``RENAME`` ... with the previous name)."""

    state: str
    previous_namespace: str | None = None
    previous_name: str | None = None


@dataclass(frozen=True, slots=True)
class JobType:
    """The ``jobType`` job facet (``BATCH``/``STREAMING``, the integration, the job type)."""

    processing_type: str | None = None
    integration: str | None = None
    job_type: str | None = None


@dataclass(frozen=True, slots=True)
class ParentRun:
    """The ``parent`` run facet: the run (and job) that started this run, and the root of the chain.

    ``run_id`` is None only in partial mode (the facet schema requires it).
    """

    run_id: str | None
    job_namespace: str
    job_name: str
    root_run_id: str | None = None
    root_job_namespace: str | None = None
    root_job_name: str | None = None


@dataclass(frozen=True, slots=True)
class Assertion:
    """One entry of a ``dataQualityAssertions`` facet: a test run on the dataset (or one of its columns)."""

    assertion: str
    success: bool
    column: str | None = None
    name: str | None = None
    severity: str | None = None
    description: str | None = None
    expected: str | None = None
    actual: str | None = None


# --- readers ---


def _schema_field(raw: Mapping[str, Any]) -> SchemaField:
    nested = tuple(_schema_field(f) for f in raw.get("fields", ()))
    return SchemaField(raw.get("name", ""), raw.get("type"), raw.get("description"), nested)


def _schema(raw: Mapping[str, Any]) -> tuple[SchemaField, ...] | None:
    return tuple(_schema_field(f) for f in raw.get("fields", ())) if raw else None


STATISTICS_FIELDS = ("rowCount", "size", "fileCount")
"""The numbers of ``inputStatistics``/``outputStatistics`` that meshplane keeps (`DatasetStatistics`)."""
MAX_STATISTIC = 2**63 - 1
"""The largest count meshplane keeps (a 64-bit signed integer column); counts are never negative."""


def statistic_problem(value: Any) -> str | None:
    """Why a count of a statistics facet cannot be kept (None when it can): not in 0..`MAX_STATISTIC`.

    The facet schema says "integer", which a JSON number such as ``1e20`` also is.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"must be an integer, got {value!r}"
    if isinstance(value, float) and not value.is_integer():
        return f"must be an integer, got {value!r}"
    if not 0 <= value <= MAX_STATISTIC:
        return f"must be an integer from 0 to {MAX_STATISTIC} (2**63-1), got {value!r}"
    return None


def _count(value: Any) -> int | None:
    return int(value) if isinstance(value, float) else value


def _statistics(raw: Mapping[str, Any]) -> DatasetStatistics | None:
    if not raw:
        return None
    return DatasetStatistics(_count(raw.get("rowCount")), _count(raw.get("size")), _count(raw.get("fileCount")))


def _input_field(raw: Mapping[str, Any]) -> InputField:
    return InputField(
        raw.get("namespace", ""),
        raw.get("name", ""),
        raw.get("field", ""),
        tuple(
            Transformation(t.get("type", ""), t.get("subtype"), t.get("description"), t.get("masking"))
            for t in raw.get("transformations", ())
        ),
    )


def _column_lineage(raw: Mapping[str, Any]) -> ColumnLineage | None:
    if not raw:
        return None
    fields = tuple(
        (column, tuple(_input_field(i) for i in spec.get("inputFields", ())))
        for column, spec in sorted((raw.get("fields") or {}).items())
    )
    return ColumnLineage(fields, tuple(_input_field(i) for i in raw.get("dataset", ())))


def _owners(raw: Mapping[str, Any] | None) -> tuple[Owner, ...]:
    return tuple(Owner(o.get("name", ""), o.get("type")) for o in (raw or {}).get("owners", ()))


def _symlinks(raw: Mapping[str, Any]) -> tuple[SymlinkIdentifier, ...]:
    return tuple(
        SymlinkIdentifier(i.get("namespace", ""), i.get("name", ""), i.get("type", ""))
        for i in raw.get("identifiers", ())
    )


def _data_source(raw: Mapping[str, Any]) -> DataSource | None:
    return DataSource(raw.get("name"), raw.get("uri")) if raw else None


def _lifecycle(raw: Mapping[str, Any]) -> LifecycleChange | None:
    if not raw:
        return None
    previous = raw.get("previousIdentifier") or {}
    return LifecycleChange(raw.get("lifecycleStateChange", ""), previous.get("namespace"), previous.get("name"))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _assertions(raw: Mapping[str, Any]) -> tuple[Assertion, ...]:
    return tuple(
        Assertion(
            str(a.get("assertion") or ""),
            a.get("success") is True,
            _text(a.get("column")),
            _text(a.get("name")),
            _text(a.get("severity")),
            _text(a.get("description")),
            _text(a.get("expected")),
            _text(a.get("actual")),
        )
        for a in raw.get("assertions") or ()
        if isinstance(a, Mapping) and a.get("assertion")
    )


def _job_type(raw: Mapping[str, Any]) -> JobType | None:
    return JobType(raw.get("processingType"), raw.get("integration"), raw.get("jobType")) if raw else None


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def canonical_uuid(value: Any) -> str | None:
    """A UUID in lower-case hyphenated form; None when ``value`` is not one."""
    if not isinstance(value, str):
        return None
    if type(value) is str and _CANONICAL_UUID.fullmatch(value):
        return value  # already the form str(uuid.UUID(value)) gives
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def _parent(raw: Mapping[str, Any] | None) -> ParentRun | None:
    if not raw:
        return None
    run, job, root = raw.get("run") or {}, raw.get("job") or {}, raw.get("root") or {}
    root_run, root_job = root.get("run") or {}, root.get("job") or {}
    return ParentRun(  # run_id, job_namespace, job_name, root_run_id, root_job_namespace, root_job_name
        canonical_uuid(run.get("runId")) or run.get("runId"), job.get("namespace", ""), job.get("name", ""),
        canonical_uuid(root_run.get("runId")) or root_run.get("runId"), root_job.get("namespace"), root_job.get("name"),
    )  # fmt: skip


READERS: dict[tuple[str, str], Callable[[dict[str, Any]], Any]] = {
    ("run", "parent"): _parent, ("job", "ownership"): _owners, ("job", "jobType"): _job_type,
    ("dataset", "schema"): _schema, ("dataset", "columnLineage"): _column_lineage, ("dataset", "ownership"): _owners,
    ("dataset", "symlinks"): _symlinks, ("dataset", "dataSource"): _data_source,
    ("dataset", "lifecycleStateChange"): _lifecycle, ("dataset", "dataQualityAssertions"): _assertions,
    ("input", "dataQualityAssertions"): _assertions,
    ("input", "inputStatistics"): _statistics, ("output", "outputStatistics"): _statistics,
}  # fmt: skip
"""What meshplane reads from each standard facet it interprets (`FACET_SCHEMAS`) that passed its schema."""


__all__ = [
    "MAX_STATISTIC",
    "READERS",
    "STATISTICS_FIELDS",
    "Assertion",
    "ColumnLineage",
    "DataSource",
    "DatasetStatistics",
    "InputField",
    "JobType",
    "LifecycleChange",
    "Owner",
    "ParentRun",
    "SchemaField",
    "SymlinkIdentifier",
    "Transformation",
    "canonical_uuid",
    "statistic_problem",
]

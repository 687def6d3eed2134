"""OpenLineage events: parse and validate one event into an immutable `LineageEvent`.

The official OpenLineage JSON Schema (vendored in ``schemas/``, draft 2020-12; validation in
`meshplane.lineage.schemas`) is the judge of an event's validity, with a short list of tolerances
made in code (never in the files), each for events that real producers send (docs/lineage.md,
"Validation"):

- a facet without ``_producer``/``_schemaURL`` is accepted (integrations often leave them out);
- an event without ``schemaURL`` is accepted (its spec version is then unknown);
- ``format`` is not asserted by the schema (draft 2020-12 treats it as an annotation); instead
  meshplane checks what it relies on: ``eventTime`` is an ISO 8601 date-time (without an offset
  it is read as UTC) and a RunEvent's ``run.runId`` is a UUID;
- a standard facet meshplane interprets (`FACET_SCHEMAS`) that fails its own facet schema does not
  reject the event: it is kept verbatim, not interpreted, and named in `LineageEvent.warnings`.

``partial=True`` reads OpenLineage integration-test *matchers* (expected events with fields left
out and placeholders such as ``${json-unit.any-string}``): placeholders are dropped, and the
required fields of the event, run, job, datasets and facets become optional.

Unknown facets are always kept verbatim. A malformed event raises `InvalidEventError` naming the
field (as a JSON path) and the reason.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Never

import orjson

from meshplane.canonical import CanonicalJSONError, canonical_bytes, canonical_bytes_of_decoded
from meshplane.diagnostics import MeshplaneError, json_type, render_json_path
from meshplane.lineage.facets import (
    READERS,
    STATISTICS_FIELDS,
    Assertion,
    ColumnLineage,
    DatasetStatistics,
    DataSource,
    JobType,
    LifecycleChange,
    Owner,
    ParentRun,
    SchemaField,
    SymlinkIdentifier,
    canonical_uuid,
    statistic_problem,
)
from meshplane.lineage.identity import DatasetIdentity, canonical_identity
from meshplane.lineage.schemas import FACET_SCHEMAS, EventIssue, is_valid, validate


class EventKind(enum.StrEnum):
    """The three kinds of OpenLineage event (spec 2.x; a 1.x event is always a RunEvent)."""

    RUN = "RunEvent"
    DATASET = "DatasetEvent"
    JOB = "JobEvent"


class EventType(enum.StrEnum):
    """A RunEvent's transition of the run state."""

    START = "START"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    ABORT = "ABORT"
    FAIL = "FAIL"
    OTHER = "OTHER"


TERMINAL_EVENT_TYPES = frozenset({EventType.COMPLETE, EventType.ABORT, EventType.FAIL})
"""Event types that end a run."""


class DatasetRole(enum.StrEnum):
    """Where a dataset appears in its event."""

    INPUT = "input"
    OUTPUT = "output"
    STATIC = "static"
    """The ``dataset`` of a DatasetEvent."""


class InvalidEventError(MeshplaneError):
    """A malformed OpenLineage event. The API answers it with 400 and `issues`.

    ``path`` and ``reason`` are those of the first issue; ``index`` is the item's position when
    the event came in a batch.
    """

    def __init__(self, issues: Sequence[EventIssue], index: int | None = None) -> None:
        first = issues[0]
        where = f"event {index}: " if index is not None else ""
        more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
        super().__init__(f"invalid OpenLineage event: {where}{first}{more}")
        self.issues = tuple(issues)
        self.path = first.path
        self.reason = first.reason
        self.index = index


# --- the event ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventDataset:
    """A dataset of an event: its names, what meshplane reads from its facets, and the facets verbatim.

    ``facets``, ``input_facets`` and ``output_facets`` hand out read-only views of the JSON as
    received, unknown facets included.
    """

    role: DatasetRole
    namespace: str
    name: str
    identity: DatasetIdentity
    schema: tuple[SchemaField, ...] | None = None
    column_lineage: ColumnLineage | None = None
    statistics: DatasetStatistics | None = None
    ownership: tuple[Owner, ...] = ()
    symlinks: tuple[SymlinkIdentifier, ...] = ()
    data_source: DataSource | None = None
    lifecycle: LifecycleChange | None = None
    assertions: tuple[Assertion, ...] = ()
    """The ``dataQualityAssertions`` facet of an input (its ``inputFacets``, else its dataset ``facets``)."""
    _source: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def facets(self) -> Mapping[str, Any]:
        """All dataset facets, verbatim (read-only)."""
        return _freeze(self._source.get("facets") or {})  # type: ignore[no-any-return]

    @property
    def input_facets(self) -> Mapping[str, Any]:
        """The ``inputFacets`` of an input, verbatim (read-only)."""
        return _freeze(self._source.get("inputFacets") or {})  # type: ignore[no-any-return]

    @property
    def output_facets(self) -> Mapping[str, Any]:
        """The ``outputFacets`` of an output, verbatim (read-only)."""
        return _freeze(self._source.get("outputFacets") or {})  # type: ignore[no-any-return]

    @property
    def identities(self) -> tuple[DatasetIdentity, ...]:
        """The canonical identity first, then those of its symlinks (without repeats; linear in their number)."""
        return tuple(dict.fromkeys((self.identity, *(link.identity for link in self.symlinks))))


@dataclass(frozen=True, slots=True)
class LineageEvent:
    """One OpenLineage event, validated and read.

    Immutable: the typed fields are frozen, and ``raw``, ``run_facets`` and ``job_facets`` hand
    out read-only views of the JSON as received (unknown facets included). ``canonical_json`` is
    the text to store; ``fingerprint`` its sha256. ``event_time`` is in UTC. Fields a kind does not
    have are None or empty (a DatasetEvent has no run or job; a JobEvent no run). In partial mode
    any field may be missing. The event keeps the parsed JSON: do not modify a mapping after
    passing it to `parse_event`.
    """

    kind: EventKind
    event_type: EventType | None
    event_time: datetime | None
    producer: str | None
    schema_url: str | None
    spec_version: str | None
    run_id: str | None
    parent: ParentRun | None
    job_namespace: str | None
    job_name: str | None
    inputs: tuple[EventDataset, ...]
    outputs: tuple[EventDataset, ...]
    dataset: EventDataset | None
    job_ownership: tuple[Owner, ...]
    job_type: JobType | None
    fingerprint: str
    canonical_json: str
    warnings: tuple[EventIssue, ...] = ()
    _document: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def raw(self) -> Mapping[str, Any]:
        """The whole event as received (read-only)."""
        return _freeze(self._document)  # type: ignore[no-any-return]

    @property
    def run_facets(self) -> Mapping[str, Any]:
        """The run's facets, verbatim (read-only); empty unless a RunEvent."""
        run = self._document.get("run") if self.kind is EventKind.RUN else None
        return _freeze((run or {}).get("facets") or {})  # type: ignore[no-any-return]

    @property
    def job_facets(self) -> Mapping[str, Any]:
        """The job's facets, verbatim (read-only); empty for a DatasetEvent."""
        job = self._document.get("job") if self.kind is not EventKind.DATASET else None
        return _freeze((job or {}).get("facets") or {})  # type: ignore[no-any-return]

    @property
    def spec_major(self) -> int | None:
        """1 or 2 (from ``schemaURL``), None when unknown."""
        return int(self.spec_version.split(".", 1)[0]) if self.spec_version else None

    @property
    def datasets(self) -> tuple[EventDataset, ...]:
        """Inputs, outputs and the DatasetEvent's dataset."""
        return (*self.inputs, *self.outputs, *((self.dataset,) if self.dataset else ()))

    @property
    def is_terminal(self) -> bool:
        """True for COMPLETE, ABORT and FAIL."""
        return self.event_type in TERMINAL_EVENT_TYPES

    def to_dict(self) -> dict[str, Any]:
        """The event as received (a fresh, mutable copy; keys in canonical order)."""
        document: dict[str, Any] = orjson.loads(self.canonical_json)
        return document


@dataclass(frozen=True, slots=True)
class ReceivedEvent:
    """A valid event as the receiver keeps it (`check_event`): what is stored, and the warnings for the sender.

    The same values as the `LineageEvent` that `parse_event` gives for the same input, without
    the datasets and facets read (derivation parses the stored event again for those).
    """

    kind: EventKind
    event_type: EventType | None
    event_time: datetime | None
    run_id: str | None
    job_namespace: str | None
    job_name: str | None
    fingerprint: str
    canonical_json: str
    warnings: tuple[EventIssue, ...] = ()


# --- JSON: orjson reads every event, and writes its canonical text (`meshplane.canonical`) ------------
#
# What orjson would refuse or change is an `InvalidEventError` (a 400), naming the field when the
# text can be read at all: it reads an integer beyond 64 bits as a float (so one is refused), and
# refuses lone surrogate escapes, numbers beyond the float range, NaN and nesting deeper than 1024
# levels; it writes no more than 254. The stdlib json module reads a refused text once more, only
# to say where the problem is.

_BOM = b"\xef\xbb\xbf"
_FLOAT_BEYOND_INT64 = b"e+"
"""In canonical text wherever orjson read an integer beyond 64 bits (as a float: it writes 1e16 and up as 1e+16).

Only a hint (a float such as 1e+20, or a string, has it too): the text is then read once more
to find integers beyond 64 bits (`_big_integer_paths`).
"""
_LONG_DIGITS = re.compile(rb"[0-9]{19}")
"""Nineteen digits in a row: where an integer beyond 64 bits may be in text written from a Python value."""


def event_fingerprint(event: Mapping[str, Any] | bytes | bytearray | str) -> str:
    """sha256 (hex) of the canonical JSON of an event (a mapping, or JSON text), as `parse_event` gives it.

    Equal for re-sent events, whatever the key order, formatting or spelling of numbers.
    Raises `InvalidEventError` for what `parse_event` refuses as JSON.
    """
    document, text = _read_one(event)
    if not isinstance(document, dict):
        raise InvalidEventError([EventIssue("$", f"an event must be a JSON object, got {json_type(document)}")])
    return hashlib.sha256(text).hexdigest()


def _read_one(data: Any) -> tuple[Any, bytes]:
    """The JSON value of one event (text or Python value) and its canonical text."""
    if not isinstance(data, bytes | bytearray | str):
        return _from_python(data)
    if data[:3] == _BOM:  # a UTF-8 byte order mark in bytes is tolerated, as before (json.loads)
        data = data[3:]
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        _explain_refusal(data, exc)
    try:
        encoded = canonical_bytes_of_decoded(value)
    except CanonicalJSONError as exc:
        raise _refused(exc) from None
    if _FLOAT_BEYOND_INT64 in encoded:
        _refuse_big_integers(data)
    return value, encoded


def _from_python(data: Any) -> tuple[Any, bytes]:
    """A Python value taken as the JSON orjson writes for it (a mapping passed in, an item of a batch)."""
    if isinstance(data, Mapping) and not isinstance(data, dict):
        data = dict(data)
    try:
        text = canonical_bytes(data)
    except CanonicalJSONError as exc:
        raise _refused(exc) from None
    if _LONG_DIGITS.search(text):
        _refuse_big_integers(text)
    return orjson.loads(text), text


MAX_JSON_DEPTH = 1024
"""The deepest nesting of a JSON body orjson reads (an event itself may nest at most `canonical.MAX_DEPTH`)."""


def _not_json(exc: orjson.JSONDecodeError) -> InvalidEventError:
    """The error of a body that is not JSON; a nesting too deep names the limit (and where it was passed)."""
    if str(exc).startswith("depth limit exceeded"):
        reason = f"nested deeper than {MAX_JSON_DEPTH} levels, the limit of a JSON body (at char {exc.pos})"
        return InvalidEventError([EventIssue("$", reason)])
    return InvalidEventError([EventIssue("$", f"not valid JSON: {exc}")])


def _refused(exc: CanonicalJSONError) -> InvalidEventError:
    return InvalidEventError([EventIssue(render_json_path(exc.path), exc.reason)])


def _explain_refusal(data: bytes | bytearray | str, exc: orjson.JSONDecodeError) -> Never:
    """Raise the `InvalidEventError` of a text orjson refuses: where a JSON reader finds the problem, if it can."""
    try:
        value = json.loads(data, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise _not_json(exc) from None
    _from_python(value)  # names a lone surrogate, a number out of range, a nesting too deep
    raise InvalidEventError([EventIssue("$", f"not valid JSON: {exc}")])  # (not reached for what json reads)


class _BigInteger(int):
    """An integer literal beyond 64 bits, as the json module reads it while looking for one."""


def _parse_int(digits: str) -> int:
    value = int(digits)
    return value if -(2**63) <= value < 2**64 else _BigInteger(value)


def _refuse_big_integers(data: bytes | bytearray | str) -> None:
    """`InvalidEventError` at the first integer beyond 64 bits in JSON text (orjson would read it as a float)."""
    paths = _big_integer_paths(data)
    if paths:
        raise InvalidEventError([EventIssue(render_json_path(paths[0]), _BIG_INTEGER)])


_BIG_INTEGER = "an integer beyond 64 bits (-2**63 to 2**64-1) is not supported"


def _big_integer_paths(data: bytes | bytearray | str) -> list[tuple[str | int, ...]]:
    """Where integers beyond 64 bits are in JSON text (keys and indexes), in document order."""
    try:
        value = json.loads(data, parse_int=_parse_int)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return []
    found: list[tuple[str | int, ...]] = []
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, _BigInteger):
            found.append(path)
        if isinstance(node, dict):
            stack.extend((item, (*path, key)) for key, item in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend((item, (*path, i)) for i, item in reversed(list(enumerate(node))))
    return found


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


# --- reading events -----------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"^(\$\{json-unit\.[^}]*\}.*|\{\{.*\}\})$", re.DOTALL)
_SPEC_VERSION = re.compile(r"/spec/(\d+)-(\d+)-(\d+)/OpenLineage\.json")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _drop_placeholders(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _drop_placeholders(v) for k, v in value.items() if not (isinstance(v, str) and _PLACEHOLDER.match(v))
        }
    if isinstance(value, list):
        return [_drop_placeholders(v) for v in value if not (isinstance(v, str) and _PLACEHOLDER.match(v))]
    return value


def _drop_nulls(value: Any) -> Any:
    """``null`` read as absent (serialisers of optional fields write it; the facet schemas do not allow it)."""
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


_TIME_RANGE = "the times meshplane can keep (0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z, in UTC)"


def parse_event_time(text: str) -> datetime | None:
    """An ISO 8601 date-time as an aware UTC datetime (no offset: UTC); None when it is not one.

    Raises `OverflowError` for a date-time whose UTC time is before year 1 or after year 9999
    (``9999-12-31T23:59:59-14:00``).
    """
    if not _DATETIME.match(text):
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("t", "T", 1))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed if parsed.tzinfo is UTC else parsed.astimezone(UTC)


def spec_version_of(schema_url: str | None) -> str | None:
    """``2.0.2`` from ``https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent``."""
    match = _SPEC_VERSION.search(schema_url or "")
    return ".".join(match.groups()) if match else None


_spec_version = lru_cache(maxsize=64)(spec_version_of)
_EVENT_TYPES = {t.value: t for t in EventType}


def _event_type(value: str) -> EventType:
    return _EVENT_TYPES.get(value) or EventType(value)


def classify(document: Mapping[str, Any], *, partial: bool = False) -> EventKind:
    """Tell the kinds apart as the spec's ``oneOf`` does.

    ``run`` + ``job`` → RunEvent; ``dataset`` without both → DatasetEvent; ``job`` without ``run``
    → JobEvent. An event with ``run`` or ``eventType`` but no ``job`` is read as a RunEvent, so
    validation names the missing field. In partial mode (matchers leave ``run`` out) an
    ``eventType`` makes a RunEvent, and so does an event with none of the three.
    """
    has_run, has_job, has_dataset = "run" in document, "job" in document, "dataset" in document
    if has_run and has_job:
        return EventKind.RUN
    if has_dataset:
        if has_job:
            reason = "ambiguous: with 'dataset' and 'job' but no 'run' it is both a DatasetEvent and a JobEvent"
            raise InvalidEventError([EventIssue("$", reason)])
        return EventKind.DATASET
    if has_job and not (partial and "eventType" in document):
        return EventKind.JOB
    if has_run or "eventType" in document or partial:
        return EventKind.RUN
    reason = (
        "not an OpenLineage event: expected 'run' and 'job' (RunEvent), 'dataset' (DatasetEvent) or 'job' (JobEvent)"
    )
    raise InvalidEventError([EventIssue("$", reason)])


_DATASET_FACETS = ("schema", "columnLineage", "ownership", "symlinks", "dataSource", "lifecycleStateChange")
"""The dataset facets meshplane reads, in the order their warnings are reported."""
_ASSERTIONS = "dataQualityAssertions"
"""Read from an input's ``inputFacets`` (where the spec puts it), else from its dataset ``facets``."""
_NO_FACETS: Mapping[str, Any] = MappingProxyType({})
_INVALID = object()
"""What `_read_facet_text` answers for a facet that fails its schema."""


class _Reader:
    """Reads one validated event; collects warnings about facets it cannot interpret."""

    def __init__(self, partial: bool) -> None:
        self.partial = partial
        self.warnings: list[EventIssue] = []

    def facet(self, container: Any, where: str, key: str, path: tuple[str | int, ...], group: str) -> Any:
        """What `READERS` reads from a standard facet; None when absent, deleted or malformed (with a warning).

        ``container`` is the ``group`` (``facets``, ``inputFacets``...) at ``path``. A facet that
        repeats from run to run (`_REPEATING`) is read once per distinct text.
        """
        value = container.get(key) if isinstance(container, dict) else None
        if not isinstance(value, dict) or value.get("_deleted") is True:
            return None
        which = (where, key)
        if which in _REPEATING:
            text = orjson.dumps(value)
            read = _read_facet_text(where, key, self.partial, text) if len(text) <= _CACHED_TEXT else _INVALID
            if read is not _INVALID:
                return read
        schema = FACET_SCHEMAS[which]
        if not is_valid(value, schema, partial=self.partial):
            value = _drop_nulls(value)
            issues = validate(value, schema, partial=self.partial, prefix=(*path, group, key))
            if issues:
                self.warnings.extend(EventIssue(i.path, f"{i.reason} (facet '{key}' kept, not read)") for i in issues)
                return None
        return READERS[which](value)

    def datasets(self, raws: Any, role: DatasetRole, key: str) -> tuple[EventDataset, ...]:
        """The datasets of a validated ``inputs`` or ``outputs`` list (None: no datasets)."""
        return tuple([self.dataset(raw, role, (key, i)) for i, raw in enumerate(raws or ())])

    def dataset(self, raw: dict[str, Any], role: DatasetRole, path: tuple[str | int, ...]) -> EventDataset:
        namespace, name = raw.get("namespace", ""), raw.get("name", "")
        read, stats, assertions = self._facets(raw, role, path)
        return EventDataset(  # positional, in field order (faster than by keyword)
            role, namespace, name, _identity(namespace, name, path), read.get("schema"), read.get("columnLineage"),
            stats, read.get("ownership") or (), read.get("symlinks") or (), read.get("dataSource"),
            read.get("lifecycleStateChange"), assertions, raw,
        )  # fmt: skip

    def check_datasets(self, raws: Any, role: DatasetRole, key: str) -> None:
        """The warnings `datasets` gives, without building the datasets."""
        for i, raw in enumerate(raws or ()):
            self.check_dataset(raw, role, (key, i))

    def check_dataset(self, raw: dict[str, Any], role: DatasetRole, path: tuple[str | int, ...]) -> None:
        """The warnings (and the error) `dataset` gives, without building the dataset."""
        self._facets(raw, role, path)
        namespace = raw.get("namespace", "")
        if "#" in namespace:  # the one way to have no canonical identity (canonicalising never adds a '#')
            _identity(namespace, raw.get("name", ""), path)

    def _facets(
        self, raw: dict[str, Any], role: DatasetRole, path: tuple[str | int, ...]
    ) -> tuple[Any, Any, tuple[Assertion, ...]]:
        read: Mapping[str, Any] = _NO_FACETS
        facets = raw.get("facets")
        if isinstance(facets, dict) and facets:
            read = {key: self.facet(facets, "dataset", key, path, "facets") for key in _DATASET_FACETS if key in facets}
        stats, assertions = None, ()
        if role is DatasetRole.INPUT and "inputFacets" in raw:
            stats = self.facet(raw["inputFacets"], "input", "inputStatistics", path, "inputFacets")
            if stats is not None:
                _check_statistics(raw["inputFacets"]["inputStatistics"], (*path, "inputFacets", "inputStatistics"))
            assertions = self.facet(raw["inputFacets"], "input", _ASSERTIONS, path, "inputFacets") or ()
        elif role is DatasetRole.OUTPUT and "outputFacets" in raw:
            stats = self.facet(raw["outputFacets"], "output", "outputStatistics", path, "outputFacets")
            if stats is not None:
                _check_statistics(raw["outputFacets"]["outputStatistics"], (*path, "outputFacets", "outputStatistics"))
        if role is DatasetRole.INPUT and not assertions and isinstance(facets, dict) and _ASSERTIONS in facets:
            assertions = self.facet(facets, "dataset", _ASSERTIONS, path, "facets") or ()  # where dbt-ol also puts it
        return read, stats, assertions


def _check_statistics(facet: Mapping[str, Any], path: tuple[str | int, ...]) -> None:
    """`InvalidEventError` at the first count of a statistics facet that cannot be kept (negative, beyond 64 bits).

    Checked at the receiver, so that an event is refused (400) rather than acknowledged and then
    failing its derivation.
    """
    issues = [
        EventIssue(render_json_path((*path, key)), problem)
        for key in STATISTICS_FIELDS
        if (problem := statistic_problem(facet.get(key))) is not None
    ]
    if issues:
        raise InvalidEventError(issues)


_REPEATING = frozenset({("dataset", "schema"), ("dataset", "columnLineage")})
"""Facets that producers repeat unchanged from run to run, and that are costly to read."""
_CACHED_TEXT = 16_384
"""Larger facets are read each time (the cache holds at most 1024 texts of this size)."""


def _identity(namespace: str, name: str, path: tuple[str | int, ...]) -> DatasetIdentity:
    """The canonical identity of a dataset; `InvalidEventError` at its namespace when it has none."""
    try:
        return canonical_identity(namespace, name)
    except ValueError as exc:  # e.g. a '#' in a namespace that is not a URI
        raise InvalidEventError([EventIssue(render_json_path((*path, "namespace")), str(exc))]) from None


@lru_cache(maxsize=1024)
def _read_facet_text(where: str, key: str, partial: bool, text: bytes) -> Any:
    """`READERS` of the facet whose JSON (orjson) is ``text``, or `_INVALID` when it fails its schema.

    What is read is immutable, so events with the same facet share it.
    """
    value = orjson.loads(text)
    if not is_valid(value, FACET_SCHEMAS[(where, key)], partial=partial):
        return _INVALID
    return READERS[(where, key)](value)


def parse_event(data: Mapping[str, Any] | bytes | bytearray | str, *, partial: bool = False) -> LineageEvent:
    """Parse, validate and read one OpenLineage event (a mapping, or JSON text/bytes).

    Raises `InvalidEventError` naming the field and the reason. ``partial=True`` reads
    integration-test matchers (see the module docstring); the receiver never sets it.
    """
    document, text = _read_one(data)
    event = _parse(document, text, partial, build=True)
    assert isinstance(event, LineageEvent)
    return event


def check_event(data: Mapping[str, Any] | bytes | bytearray | str) -> ReceivedEvent:
    """Validate one event as `parse_event` does (the same errors and warnings) and keep what is stored.

    What the receiver needs: it leaves reading the datasets (identities, schemas, column
    lineage) to the derivation of the stored event, and so answers in a fraction of the time.
    """
    document, text = _read_one(data)
    event = _parse(document, text, False, build=False)
    assert isinstance(event, ReceivedEvent)
    return event


def _parse(document: Any, encoded: bytes, partial: bool, *, build: bool) -> LineageEvent | ReceivedEvent:
    """Validate and read one decoded event whose canonical JSON is ``encoded``."""
    if not isinstance(document, dict):
        raise InvalidEventError([EventIssue("$", f"an event must be a JSON object, got {json_type(document)}")])
    text = encoded.decode("utf-8")
    view = _drop_placeholders(document) if partial else document
    kind = classify(view, partial=partial)
    issues = validate(view, kind.value, partial=partial)
    event_time, run_id = None, None
    time_text = view.get("eventTime")
    if isinstance(time_text, str):
        try:
            event_time = parse_event_time(time_text)
        except OverflowError:
            issues.append(EventIssue("$.eventTime", f"{time_text!r} is outside {_TIME_RANGE}"))
        else:
            if event_time is None and not partial:
                issues.append(EventIssue("$.eventTime", f"not an ISO 8601 date-time: {time_text!r}"))
    run: dict[str, Any] = (view.get("run") or {}) if kind is EventKind.RUN else {}
    job: dict[str, Any] = (view.get("job") or {}) if kind is not EventKind.DATASET else {}
    if isinstance(run, dict) and isinstance(run.get("runId"), str):
        run_id = canonical_uuid(run["runId"])
        if run_id is None and not partial:
            issues.append(EventIssue("$.run.runId", f"not a UUID: {run['runId']!r}"))
        run_id = run_id or run["runId"]
    if issues:
        raise InvalidEventError(sorted(issues, key=lambda i: i.path))
    reader = _Reader(partial)
    event_type = _event_type(view["eventType"]) if kind is EventKind.RUN and "eventType" in view else None
    if kind is EventKind.JOB and "eventType" in view:
        reason = "ignored: a JobEvent (a 'job' without 'run') has no eventType"
        reader.warnings.append(EventIssue("$.eventType", reason))
    inputs: tuple[EventDataset, ...] = ()
    outputs: tuple[EventDataset, ...] = ()
    static = None
    if not build:
        if kind is EventKind.DATASET:
            reader.check_dataset(view["dataset"], DatasetRole.STATIC, ("dataset",))
        else:
            reader.check_datasets(view.get("inputs"), DatasetRole.INPUT, "inputs")
            reader.check_datasets(view.get("outputs"), DatasetRole.OUTPUT, "outputs")
    elif kind is EventKind.DATASET:
        static = reader.dataset(view["dataset"], DatasetRole.STATIC, ("dataset",))
    else:
        inputs = reader.datasets(view.get("inputs"), DatasetRole.INPUT, "inputs")
        outputs = reader.datasets(view.get("outputs"), DatasetRole.OUTPUT, "outputs")
    run_facets, job_facets = run.get("facets"), job.get("facets")
    parent = reader.facet(run_facets, "run", "parent", ("run",), "facets") if run_facets else None
    job_type = reader.facet(job_facets, "job", "jobType", ("job",), "facets") if job_facets else None
    job_ownership = (reader.facet(job_facets, "job", "ownership", ("job",), "facets") if job_facets else None) or ()
    schema_url = view.get("schemaURL")
    fingerprint = hashlib.sha256(encoded).hexdigest()
    if not build:
        return ReceivedEvent(
            kind, event_type, event_time, run_id, job.get("namespace"), job.get("name"), fingerprint, text,
            tuple(reader.warnings),
        )  # fmt: skip
    return LineageEvent(  # positional, in field order (faster than by keyword)
        kind, event_type, event_time, view.get("producer"), schema_url, _spec_version(schema_url), run_id, parent,
        job.get("namespace"), job.get("name"), inputs, outputs, static, job_ownership, job_type,
        fingerprint, text, tuple(reader.warnings), view,
    )  # fmt: skip


def parse_batch(
    data: Sequence[Any] | bytes | bytearray | str, *, partial: bool = False
) -> list[LineageEvent | InvalidEventError]:
    """Parse a batch (a JSON array of events): one result per item, in order.

    A malformed item gives its `InvalidEventError` (with ``index``) in its place and spoils
    nothing else; only a body that is not an array raises.
    """
    return _batch(data, partial, build=True)  # type: ignore[return-value]


def check_batch(data: Sequence[Any] | bytes | bytearray | str) -> list[ReceivedEvent | InvalidEventError]:
    """`check_event` for each item of a batch, as `parse_batch` reports them."""
    return _batch(data, False, build=False)  # type: ignore[return-value]


def _batch(data: Any, partial: bool, *, build: bool) -> list[LineageEvent | ReceivedEvent | InvalidEventError]:
    out: list[LineageEvent | ReceivedEvent | InvalidEventError] = []
    for index, item in enumerate(_batch_items(data)):
        try:
            if isinstance(item, InvalidEventError):
                raise item
            out.append(_parse(*item, partial, build=build))
        except InvalidEventError as exc:
            out.append(InvalidEventError(exc.issues, index=index))
    return out


def _batch_items(data: Any) -> list[tuple[Any, bytes] | InvalidEventError]:
    """Each item of a batch as (value, canonical text), or the error that refuses it.

    A body orjson refuses as a whole is read by the json module, so that one item it cannot take
    (a lone surrogate, a number out of range) spoils only itself.
    """
    items: Any = data
    decoded = False
    if isinstance(data, bytes | bytearray | str):
        text = data[3:] if data[:3] == _BOM else data
        try:
            items, decoded = orjson.loads(text), True
        except orjson.JSONDecodeError as exc:
            try:
                items = json.loads(text, parse_constant=_refuse_constant)
            except (ValueError, UnicodeDecodeError, RecursionError):
                raise _not_json(exc) from None
    if not isinstance(items, list | tuple):
        raise InvalidEventError([EventIssue("$", f"a batch must be a JSON array of events, got {json_type(items)}")])
    out: list[tuple[Any, bytes] | InvalidEventError] = []
    for item in items:
        try:
            out.append((item, canonical_bytes_of_decoded(item)) if decoded else _from_python(item))
        except CanonicalJSONError as exc:
            out.append(_refused(exc))
        except InvalidEventError as exc:
            out.append(exc)
    if decoded and any(_FLOAT_BEYOND_INT64 in item[1] for item in out if isinstance(item, tuple)):
        for path in reversed(_big_integer_paths(text)):  # the first of an item last, so that it stays
            out[int(path[0])] = InvalidEventError([EventIssue(render_json_path(path[1:]), _BIG_INTEGER)])
    return out

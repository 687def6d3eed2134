"""The vendored OpenLineage JSON Schemas, meshplane's tolerances on top of them, and validation.

The files next to this module are unchanged copies of the official schemas (see SOURCE.md).
`schema_documents` loads them and applies, in code, the tolerances docs/lineage.md lists:

- ``BaseFacet``: ``_producer`` and ``_schemaURL`` are not required;
- ``BaseEvent``: ``schemaURL`` is not required (``eventTime`` and ``producer`` still are);
- partial mode (integration-test matchers): no event, run, job, dataset or facet field is required.

`validate` answers with `EventIssue` objects (JSON path and reason). A fast yes/no answers first
(most events are valid): jsonschema-rs (the same Draft 2020-12 semantics, in Rust) for a *plain*
document, else a compiled Python predicate; jsonschema (Draft 2020-12, as the files declare) is the
judge that names the problems, and tests hold all three to the same answers.

A document is plain when it holds only ``dict``, ``list``, ``str``, ``int`` within 64 bits,
``bool`` and ``None`` (exact types; `plain_types_only` checks the types): what JSON decoding gives
for a document without numbers in floating-point form. Only there is the Rust validator known to
see what python-jsonschema sees (it reads a tuple as an array, for one); the caller says so
(``plain=True``).
"""

from __future__ import annotations

import copy
import gc
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import jsonschema_rs

if TYPE_CHECKING:  # python-jsonschema loads only to name the problems of an invalid document
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

from meshplane.diagnostics import json_type, render_json_path

CORE_SCHEMA_ID = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
"""``$id`` of the vendored core schema (``schemas/OpenLineage.json``)."""

FACET_SCHEMAS: dict[tuple[str, str], str] = {
    ("run", "parent"): "ParentRunFacet",
    ("job", "ownership"): "OwnershipJobFacet",
    ("job", "jobType"): "JobTypeJobFacet",
    ("dataset", "schema"): "SchemaDatasetFacet",
    ("dataset", "columnLineage"): "ColumnLineageDatasetFacet",
    ("dataset", "ownership"): "OwnershipDatasetFacet",
    ("dataset", "symlinks"): "SymlinksDatasetFacet",
    ("dataset", "dataSource"): "DatasourceDatasetFacet",
    ("dataset", "lifecycleStateChange"): "LifecycleStateChangeDatasetFacet",
    ("input", "inputStatistics"): "InputStatisticsInputDatasetFacet",
    ("output", "outputStatistics"): "OutputStatisticsOutputDatasetFacet",
}
"""Standard facets meshplane interprets: (where, facet key) → facet schema (``schemas/facets/<name>.json``)."""

EVENT_KINDS = frozenset({"RunEvent", "DatasetEvent", "JobEvent"})
"""The event definitions of the core schema (``#/$defs/<kind>``)."""


@dataclass(frozen=True, slots=True)
class EventIssue:
    """One problem found in an event: where (JSON path such as ``$.run.runId``) and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


_PLAIN_TYPES = frozenset({dict, list, str, int, bool, type(None)})


def plain_types_only(value: Any) -> bool:
    """True when ``value`` and all in it (dict keys too) are dict, list, str, int, bool or None (exact types).

    `gc.get_referents` hands out, level by level, the values of dicts (their keys too unless all are
    exact str) and the items of lists. Only for a tree of bounded depth (decoded JSON, or a value
    orjson has just encoded: it refuses cycles and deep nesting).
    """
    if type(value) not in _PLAIN_TYPES:
        return False
    level = gc.get_referents(value)
    while level:
        if not _PLAIN_TYPES.issuperset(map(type, level)):
            return False
        level = gc.get_referents(*level)
    return True


def _read_schema(relative: str) -> dict[str, Any]:
    text = resources.files("meshplane.lineage.schemas").joinpath(*relative.split("/")).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _strip_required(node: Any) -> None:
    if isinstance(node, dict):
        node.pop("required", None)
        for value in node.values():
            _strip_required(value)
    elif isinstance(node, list):
        for value in node:
            _strip_required(value)


@cache
def schema_documents(partial: bool = False) -> dict[str, dict[str, Any]]:
    """The vendored schemas by ``$id``, with meshplane's tolerances applied (see module docstring)."""
    core = copy.deepcopy(_read_schema("OpenLineage.json"))
    defs = core["$defs"]
    defs["BaseFacet"].pop("required")
    defs["BaseEvent"]["required"] = [] if partial else ["eventTime", "producer"]
    if partial:
        for name in ("Run", "Job", "Dataset"):
            defs[name].pop("required")
        defs["RunEvent"]["allOf"][1].pop("required")
    docs = {CORE_SCHEMA_ID: core}
    for facet in sorted(set(FACET_SCHEMAS.values())):
        doc = copy.deepcopy(_read_schema(f"facets/{facet}.json"))
        if partial:
            _strip_required(doc)
        docs[doc["$id"]] = doc
    return docs


def _facet_schema_id(facet: str) -> str:
    for doc_id in schema_documents(False):
        if doc_id.endswith(f"/{facet}.json"):
            return doc_id
    raise KeyError(facet)


@cache
def _reference_validator(target: str, partial: bool) -> Draft202012Validator:
    """The jsonschema validator (the judge) for ``target``, an absolute ``$ref``."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    registry: Registry[Any] = Registry().with_resources(
        (doc_id, Resource.from_contents(doc)) for doc_id, doc in schema_documents(partial).items()
    )
    return Draft202012Validator({"$ref": target}, registry=registry)


_Check = Callable[[Any], bool]
_ANNOTATIONS = frozenset(
    {"$schema", "$id", "$defs", "description", "example", "examples", "format", "deprecated", "documentation", "title"}
)
_OBJECT_KEYWORDS = frozenset({"properties", "required", "additionalProperties"})


def _always(value: Any) -> bool:
    return True


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, float) and value.is_integer())


_TYPE_PREDICATES: dict[str, _Check] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": _is_number,
    "integer": _is_integer,
}


def _type_check(names: Sequence[str]) -> _Check:
    if len(names) == 1:
        return _TYPE_PREDICATES[names[0]]
    alternatives = tuple(_TYPE_PREDICATES[n] for n in names)
    return lambda v: any(a(v) for a in alternatives)


def _all_of(checks: Sequence[_Check]) -> _Check:
    checks = tuple(c for c in checks if c is not _always)
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda v: first(v) and second(v)

    def check(value: Any) -> bool:
        return all(c(value) for c in checks)

    return check


class _SchemaCompiler:
    """Compiles the vendored schemas into plain Python predicates: a fast yes/no.

    jsonschema stays the judge: it runs only when the fast check says no, to name the problem,
    and tests hold both to the same answers on every example and on mutated events. Only the
    keywords the vendored files use are supported; any other keyword fails at compile time.
    """

    def __init__(self, documents: Mapping[str, Mapping[str, Any]]) -> None:
        self._documents = documents
        self._compiled: dict[str, _Check | None] = {}

    def ref(self, base: str, ref: str) -> _Check:
        doc_id, _, pointer = ref.partition("#")
        key = f"{doc_id or base}#{pointer}"
        if key not in self._compiled:
            self._compiled[key] = None  # being compiled: a recursive reference gets an indirection
            node: Any = self._documents[doc_id or base]
            for part in filter(None, pointer.split("/")):
                node = node[part.replace("~1", "/").replace("~0", "~")]
            self._compiled[key] = self.compile(node, doc_id or base)
        done = self._compiled[key]
        if done is not None:
            return done
        compiled = self._compiled

        def deferred(value: Any) -> bool:  # a recursive schema, finished by the time it runs
            check = compiled[key]
            return check(value) if check is not None else True

        return deferred

    def compile(self, node: Mapping[str, Any], base: str) -> _Check:
        checks: list[_Check] = []
        for key, value in node.items():
            if key in _ANNOTATIONS or key in _OBJECT_KEYWORDS:
                continue
            checks.append(self._keyword(key, value, base))
        if _OBJECT_KEYWORDS & node.keys():
            checks.append(self._object(node, base))
        return _all_of(checks)

    def _object(self, node: Mapping[str, Any], base: str) -> _Check:
        props = {name: self.compile(sub, base) for name, sub in node.get("properties", {}).items()}
        props = {name: c for name, c in props.items() if c is not _always}
        required = tuple(node.get("required", ()))
        extra = node.get("additionalProperties", True)
        known = frozenset(node.get("properties", {}))
        others: _Check | None = None
        if extra is False:
            others = lambda v: False  # noqa: E731
        elif extra is not True:
            others = self.compile(extra, base)

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            for name in required:
                if name not in value:
                    return False
            if props:
                for name, sub in props.items():
                    if name in value and not sub(value[name]):
                        return False
            if others is not None:
                for name, item in value.items():
                    if name not in known and not others(item):
                        return False
            return True

        return check

    def _keyword(self, key: str, value: Any, base: str) -> _Check:
        if key == "$ref":
            return self.ref(base, value)
        if key == "type":
            return _type_check([value] if isinstance(value, str) else list(value))
        if key == "items":
            item = self.compile(value, base)

            def items(v: Any) -> bool:
                if isinstance(v, list):
                    for x in v:
                        if not item(x):
                            return False
                return True

            return items
        if key in ("allOf", "anyOf", "oneOf"):
            subs = tuple(self.compile(sub, base) for sub in value)
            if key == "allOf" or len(subs) == 1:
                return _all_of(subs)
            if key == "anyOf":
                return lambda v: any(s(v) for s in subs)
            return lambda v: sum(1 for s in subs if s(v)) == 1
        if key == "not":
            negated = self.compile(value, base)
            return lambda v: not negated(v)
        if key == "enum" and all(isinstance(e, str) for e in value):
            allowed = frozenset(value)
            return lambda v: isinstance(v, str) and v in allowed
        if key == "minimum":
            return lambda v: isinstance(v, bool) or not isinstance(v, int | float) or v >= value
        raise ValueError(f"JSON Schema keyword {key!r} is not supported by the compiled checker")


@cache
def _fast_check(target: str, partial: bool) -> _Check:
    """The compiled yes/no check for an absolute ``$ref`` target."""
    compiler = _SchemaCompiler(schema_documents(partial))
    doc_id, _, pointer = target.partition("#")
    return compiler.ref(doc_id, f"#{pointer}")


def _no_retrieval(uri: str) -> Any:
    raise ValueError(f"the vendored OpenLineage schemas do not include {uri}")


@cache
def _rust_validator(target: str, partial: bool) -> jsonschema_rs.Validator:
    """The jsonschema-rs validator for ``target``, an absolute ``$ref``: the fast yes/no for plain documents.

    Formats are annotations (draft 2020-12, as in python-jsonschema); every ``$ref`` resolves
    within the vendored files (nothing is fetched).
    """
    registry = jsonschema_rs.Registry(list(schema_documents(partial).items()), retriever=_no_retrieval)
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$ref": target}
    return jsonschema_rs.Draft202012Validator(
        schema, validate_formats=False, registry=registry, retriever=_no_retrieval
    )


@cache
def _target(kind_or_facet: str) -> str:
    if kind_or_facet in EVENT_KINDS:
        return f"{CORE_SCHEMA_ID}#/$defs/{kind_or_facet}"
    return f"{_facet_schema_id(kind_or_facet)}#/$defs/{kind_or_facet}"


_REQUIRED = re.compile(r"^'(.+)' is a required property$")


def _issue(error: ValidationError, prefix: tuple[str | int, ...]) -> EventIssue:
    from jsonschema.exceptions import best_match

    while error.validator in ("anyOf", "oneOf") and error.context:
        error = best_match(error.context)
    path: tuple[str | int, ...] = (*prefix, *error.absolute_path)
    instance: Any = error.instance
    expected: Any = error.validator_value
    if error.validator == "required":
        match = _REQUIRED.match(error.message)
        if match:
            return EventIssue(render_json_path((*path, match.group(1))), "required field is missing")
    if error.validator == "type":
        wanted = expected if isinstance(expected, str) else "/".join(str(t) for t in expected)
        return EventIssue(render_json_path(path), f"expected {wanted}, got {json_type(instance)}")
    if error.validator == "enum":
        allowed = ", ".join(str(v) for v in expected)
        return EventIssue(render_json_path(path), f"{instance!r} is not one of {allowed}")
    return EventIssue(render_json_path(path), error.message)


@cache
def fast_check(target: str, partial: bool = False, plain: bool = False) -> Callable[[Any], bool]:
    """The fast yes/no of `is_valid` for one event kind or facet schema, to call on many documents."""
    ref = _target(target)
    if plain:
        check: Callable[[Any], bool] = _rust_validator(ref, partial).is_valid
        return check
    return _fast_check(ref, partial)


def is_valid(document: Any, target: str, *, partial: bool = False, plain: bool = False) -> bool:
    """The fast answer: does ``document`` pass an event kind or facet schema (``SchemaDatasetFacet``...)?

    ``plain=True`` promises a plain document (module docstring): jsonschema-rs answers, else the
    compiled predicate.
    """
    return fast_check(target, partial, plain)(document)


def validate(
    document: Any,
    target: str,
    *,
    partial: bool = False,
    prefix: tuple[str | int, ...] = (),
    plain: bool = False,
) -> list[EventIssue]:
    """Issues of ``document`` against an event kind (``RunEvent``...) or a facet schema (``SchemaDatasetFacet``...).

    Empty when valid. The fast answer first (`is_valid`), then jsonschema to name the problems.
    """
    if is_valid(document, target, partial=partial, plain=plain):
        return []
    ref = _target(target)
    errors = sorted(_reference_validator(ref, partial).iter_errors(document), key=lambda e: list(e.absolute_path))
    return [_issue(error, prefix) for error in errors]

"""The vendored OpenLineage JSON Schemas, meshplane's tolerances on top of them, and validation.

The files next to this module are unchanged copies of the official schemas (see SOURCE.md).
`schema_documents` loads them and applies, in code, the tolerances docs/lineage.md lists:

- ``BaseFacet``: ``_producer`` and ``_schemaURL`` are not required;
- ``BaseEvent``: ``schemaURL`` is not required (``eventTime`` and ``producer`` still are);
- partial mode (integration-test matchers): no event, run, job, dataset or facet field is required.

`validate` answers with `EventIssue` objects (JSON path and reason), as `meshplane.spec.validation`
does for mesh files: jsonschema-rs (Draft 2020-12, formats as annotations, every ``$ref`` within the
vendored files) gives every verdict; python-jsonschema (the same draft, as the files declare) is
imported only to name the problems of a document that fails. Both read the same values: what
orjson decodes (`meshplane.lineage.events` reads every event through it).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import jsonschema_rs
import orjson

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
    ("dataset", "dataQualityAssertions"): "DataQualityAssertionsDatasetFacet",
    ("input", "dataQualityAssertions"): "DataQualityAssertionsDatasetFacet",
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


def _read_schema(relative: str) -> dict[str, Any]:
    text = resources.files("meshplane.lineage.schemas").joinpath(*relative.split("/")).read_text(encoding="utf-8")
    schema: dict[str, Any] = orjson.loads(text)
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


def _no_retrieval(uri: str) -> Any:
    raise ValueError(f"the vendored OpenLineage schemas do not include {uri}")


@cache
def _rust_validator(target: str, partial: bool) -> jsonschema_rs.Validator:
    """The jsonschema-rs validator for ``target``, an absolute ``$ref``: it gives every verdict.

    Formats are annotations (draft 2020-12, as in python-jsonschema); every ``$ref`` resolves
    within the vendored files (nothing is fetched).
    """
    registry = jsonschema_rs.Registry(list(schema_documents(partial).items()), retriever=_no_retrieval)
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$ref": target}
    return jsonschema_rs.Draft202012Validator(
        schema, validate_formats=False, registry=registry, retriever=_no_retrieval
    )


@cache
def _checker(target: str, partial: bool) -> Callable[[Any], bool]:
    """The jsonschema-rs yes/no of an event kind or facet schema (the bound ``is_valid`` of its validator)."""
    check: Callable[[Any], bool] = _rust_validator(_target(target), partial).is_valid
    return check


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


def is_valid(document: Any, target: str, *, partial: bool = False) -> bool:
    """The verdict: does ``document`` pass an event kind (``RunEvent``...) or facet schema (``SchemaDatasetFacet``)?"""
    return _checker(target, partial)(document)


def validate(
    document: Any, target: str, *, partial: bool = False, prefix: tuple[str | int, ...] = ()
) -> list[EventIssue]:
    """Issues of ``document`` against an event kind or a facet schema; empty when valid.

    jsonschema-rs gives the verdict (`is_valid`); python-jsonschema names the problems of an
    invalid document, each as a path under ``prefix`` and a reason.
    """
    if is_valid(document, target, partial=partial):
        return []
    ref = _target(target)
    errors = sorted(_reference_validator(ref, partial).iter_errors(document), key=lambda e: list(e.absolute_path))
    return [_issue(error, prefix) for error in errors]

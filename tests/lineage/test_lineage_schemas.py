"""The vendored OpenLineage schemas: unchanged copies, and jsonschema-rs (the verdict) agrees with jsonschema (the explainer)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator
from lineage_support import OPENLINEAGE, example_events, mutants, require_standards, run_event

from meshplane.lineage.schemas import (
    CORE_SCHEMA_ID,
    EVENT_KINDS,
    FACET_SCHEMAS,
    _reference_validator,
    _target,
    is_valid,
    schema_documents,
    validate,
)

VENDORED = Path(str(resources.files("meshplane.lineage.schemas")))


@pytest.fixture(autouse=True)
def _standards() -> None:
    require_standards()


def test_vendored_files_are_unchanged_copies() -> None:
    copies = ["OpenLineage.json", *(f"facets/{name}.json" for name in sorted(set(FACET_SCHEMAS.values())))]
    for relative in copies:
        assert (VENDORED / relative).read_bytes() == (OPENLINEAGE / "spec" / relative).read_bytes(), relative
    for legal in ("LICENSE", "NOTICE.txt"):
        assert (VENDORED / legal).read_bytes() == (OPENLINEAGE / legal).read_bytes()


def test_schemas_declare_draft_2020_12_and_are_valid_schemas() -> None:
    for path in [VENDORED / "OpenLineage.json", *sorted((VENDORED / "facets").glob("*.json"))]:
        schema = json.loads(path.read_text(encoding="utf-8"))
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema", path.name
        Draft202012Validator.check_schema(schema)
    assert json.loads((VENDORED / "OpenLineage.json").read_text())["$id"] == CORE_SCHEMA_ID


def test_tolerances_are_exactly_the_documented_ones() -> None:
    official = json.loads((VENDORED / "OpenLineage.json").read_text(encoding="utf-8"))["$defs"]
    strict = schema_documents(False)[CORE_SCHEMA_ID]["$defs"]
    assert official["BaseFacet"]["required"] == ["_producer", "_schemaURL"] and "required" not in strict["BaseFacet"]
    assert official["BaseEvent"]["required"] == ["eventTime", "producer", "schemaURL"]
    assert strict["BaseEvent"]["required"] == ["eventTime", "producer"]
    changed = {name for name in official if official[name] != strict[name]}
    assert changed == {"BaseFacet", "BaseEvent"}
    partial = schema_documents(True)[CORE_SCHEMA_ID]["$defs"]
    assert partial["Run"].get("required") is None and partial["Job"].get("required") is None


# --- jsonschema-rs gives jsonschema's verdicts ---------------------------------------------------
#
# jsonschema-rs answers valid/invalid for every document; jsonschema only explains a failure. Both
# see what orjson decodes (events are read through it): the documents here go through it first.


def _judge(document: Any, target: str, partial: bool) -> bool:
    return not list(_reference_validator(_target(target), partial).iter_errors(document))


def _disagreements(document: Any, target: str, partial: bool) -> tuple[int, int]:
    """(checks made, checks where jsonschema-rs disagrees with jsonschema) on the JSON of ``document``."""
    try:
        document = orjson.loads(orjson.dumps(document))
    except TypeError:  # (an integer beyond 64 bits: events with one are refused before validation)
        return 0, 0
    return 1, int(is_valid(document, target, partial=partial) != _judge(document, target, partial))


REPLACEMENTS: list[Any] = [None, True, 0, 1.5, "", "x", [], {}, [1], {"a": 1}, "START", -1, 2.0, 2**64, "\u2028"]


def _mutants(document: dict[str, Any], seed: int, count: int) -> list[Any]:
    return mutants(document, seed, count, REPLACEMENTS)


def _kind(document: dict[str, Any]) -> str:
    if "dataset" in document:
        return "DatasetEvent"
    return "RunEvent" if "run" in document or "eventType" in document else "JobEvent"


@pytest.mark.parametrize("partial", [False, True], ids=["strict", "partial"])
def test_jsonschema_rs_agrees_with_jsonschema_on_examples_and_mutants(partial: bool) -> None:
    documents = [e.document for e in example_events() if isinstance(e.document, dict)] + [run_event()]
    checked = disagreements = 0
    for seed, document in enumerate(documents):
        for candidate in [document, *_mutants(document, seed, 40)]:
            for kind in EVENT_KINDS:
                made, wrong = _disagreements(candidate, kind, partial)
                checked, disagreements = checked + made, disagreements + wrong
    assert checked > 3000
    assert disagreements == 0


def test_jsonschema_rs_agrees_with_jsonschema_on_facet_examples_and_mutants() -> None:
    root = OPENLINEAGE / "facet-examples"
    checked = 0
    for name in sorted(set(FACET_SCHEMAS.values())):
        folder = root / name
        key_files = sorted(folder.glob("*.json")) if folder.is_dir() else []
        for seed, path in enumerate(key_files):
            (facet,) = json.loads(path.read_text(encoding="utf-8")).values()
            assert is_valid(facet, name) and _judge(facet, name, False), path
            for mutant in _mutants(facet, seed, 60):
                for partial in (False, True):
                    made, wrong = _disagreements(mutant, name, partial)
                    checked += made
                    assert not wrong, (path, mutant)
    assert checked > 500


def test_validate_names_the_problem() -> None:
    assert validate(run_event(), "RunEvent") == []
    (issue,) = validate({"rowCount": "x"}, "OutputStatisticsOutputDatasetFacet", prefix=("outputs", 0))
    assert (issue.path, issue.reason) == ("$.outputs[0].rowCount", "expected integer, got string")


def test_the_rust_validators_resolve_every_reference_within_the_vendored_files() -> None:
    """Building checks every $ref; a reference outside the vendored files would fail, never be fetched."""
    from meshplane.lineage.schemas import _rust_validator

    for partial in (False, True):
        for target in sorted(EVENT_KINDS | set(FACET_SCHEMAS.values())):
            assert _rust_validator(_target(target), partial).is_valid({}) in (True, False)
    with pytest.raises(Exception, match="vendored OpenLineage schemas do not include"):
        _rust_validator("https://example.org/elsewhere.json#/$defs/X", False)

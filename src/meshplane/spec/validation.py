"""JSON Schema validation of mesh files against the vendored official schemas.

The official ODCS/ODPS JSON Schemas (Draft 2019-09) decide validity; meshplane never guesses.
Each jsonschema error becomes a diagnostic with file, line:column, JSON path and a plain message;
all errors of a file are reported at once.

Speed: a compiled validator (jsonschema-rs, the same Draft 2019-09 semantics) answers "valid?"
first; python-jsonschema only runs on documents that fail, to explain every error with its path.
A test holds the two to the same verdict on every official example and every corpus file.

Version rules for contracts: a document is validated against the schema of the apiVersion it
declares. If that fails (for another reason than a missing top-level field) but the document is
valid against a newer supported version, it only uses newer fields than it declares (several
official examples do) and gets a warning naming the oldest version that accepts it.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Iterator
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import jsonschema_rs

if TYPE_CHECKING:  # python-jsonschema is imported only to explain a failure (it costs ~35 ms)
    from jsonschema import Draft201909Validator
    from jsonschema.exceptions import ValidationError

from meshplane.diagnostics import Diagnostic, JsonPath, Severity, json_type, render_json_path
from meshplane.spec.odcs import OPEN_VERSIONS
from meshplane.spec.yamlsource import YamlDocument

ODCS_SCHEMAS: dict[str, str] = {
    "v3.0.0": "odcs-json-schema-v3.0.0.json",
    "v3.0.1": "odcs-json-schema-v3.0.1.json",
    "v3.0.2": "odcs-json-schema-v3.0.2.json",
    "v3.1.0": "odcs-json-schema-v3.1.0.json",
    "v3.2.0": "odcs-json-schema-v3.2.0.json",
}
"""Supported ODCS apiVersions and their official schema files, oldest first (the order in which a
document that uses newer fields than it declares is tried against the newer versions)."""
ODCS_LATEST = "v3.2.0"
ODCS_OPEN_VERSIONS = OPEN_VERSIONS
"""ODCS versions whose schema leaves its objects open (`spec.odcs.OPEN_VERSIONS`)."""

_ODCS_VERSIONS_BY_FILE = {filename: version for version, filename in ODCS_SCHEMAS.items()}

ODPS_SCHEMAS: dict[str, str] = {
    "v1.0.0": "odps-json-schema-v1.0.0.json",
    # The v1.0.0 schema itself admits v0.9.0 documents (its apiVersion enum lists both).
    "v0.9.0": "odps-json-schema-v1.0.0.json",
}
"""Supported ODPS apiVersions and their official schema files."""

DOMAIN_SCHEMA = "meshplane-domain-v1.json"
MESH_SCHEMA = "meshplane-mesh-v1.json"
OPERATOR_KEYS = (
    "mustBe",
    "mustNotBe",
    "mustBeGreaterThan",
    "mustBeGreaterOrEqualTo",
    "mustBeLessThan",
    "mustBeLessOrEqualTo",
    "mustBeBetween",
    "mustNotBeBetween",
)


@cache
def load_schema(filename: str) -> dict[str, Any]:
    """A vendored JSON Schema, read from package data."""
    text = resources.files("meshplane.spec").joinpath("schemas", filename).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator(filename: str) -> Draft201909Validator:
    from jsonschema import Draft201909Validator

    schema = load_schema(filename)
    Draft201909Validator.check_schema(schema)
    return Draft201909Validator(schema, format_checker=Draft201909Validator.FORMAT_CHECKER)


@cache
def _fast_validator(filename: str) -> jsonschema_rs.Draft201909Validator:
    return jsonschema_rs.Draft201909Validator(load_schema(filename), validate_formats=True)


def is_valid_against(data: Any, schema_file: str) -> bool:
    """The fast yes/no verdict: is `data` valid against the vendored schema?"""
    return bool(_fast_validator(schema_file).is_valid(data))


@cache
def _field_names(filename: str) -> frozenset[str]:
    """Every property name the schema defines anywhere (for 'did you mean' hints)."""
    names: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            props = node.get("properties")
            if isinstance(props, dict):
                names.update(props)
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(load_schema(filename))
    return frozenset(names)


_UNEXPECTED = re.compile(r"\((.*) (?:was|were) unexpected\)")
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")
_REQUIRED = re.compile(r"^'(.+)' is a required property$")


def _branch_score(errors: list[ValidationError], depth: int) -> tuple[int, int, int]:
    """How badly an alternative of a oneOf/anyOf failed; lower is the one the author meant.

    An alternative whose root type or required keys do not fit the value is a worse match than
    one that fits in shape but has a wrong value deeper down.
    """
    root = [e for e in errors if len(e.absolute_path) == depth]
    wrong_type = any(e.validator in ("type", "const", "enum") for e in root)
    missing = sum(1 for e in root if e.validator == "required")
    return (int(wrong_type), missing, len(errors))


def _leaf_errors(error: ValidationError) -> Iterator[ValidationError]:
    """Descend into oneOf/anyOf to the alternative that came closest, and report all its errors."""
    if error.validator not in ("oneOf", "anyOf") or not error.context:
        yield error
        return
    branches: dict[int, list[ValidationError]] = {}
    for sub in error.context:
        index = sub.relative_schema_path[0] if sub.relative_schema_path else 0
        branches.setdefault(int(index), []).append(sub)
    depth = len(error.absolute_path)
    best = min(branches.values(), key=lambda errs: _branch_score(errs, depth))
    for sub in best:
        yield from _leaf_errors(sub)


_YAML_WORDS = {"array": "list", "object": "mapping"}


def _type_name(value: Any) -> str:
    """A value's type in the words of a YAML author (list, mapping) rather than JSON's."""
    name = json_type(value)
    return _YAML_WORDS.get(name, name)


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _diagnostics_for(error: ValidationError, doc: YamlDocument, schema_file: str) -> list[Diagnostic]:
    path: JsonPath = tuple(error.absolute_path)
    kind = error.validator
    instance = error.instance
    if kind in ("additionalProperties", "unevaluatedProperties"):
        match = _UNEXPECTED.search(error.message)
        names = _QUOTED.findall(match.group(1)) if match else []
        out = []
        standard = _ODCS_VERSIONS_BY_FILE.get(schema_file)
        for name in names or ["?"]:
            candidates = sorted(_field_names(schema_file) - {name})
            close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.75)
            hint = f"did you mean '{close[0]}'?" if close else None
            message = f"unknown field '{name}'" + (f" (did you mean '{close[0]}'?)" if close else "")
            if standard is not None:
                # a field another tool writes (a `delimiter` on a `local` server): say how to keep it
                message += f": not part of ODCS {standard}; remove it or use customProperties"
                hint = hint or f"customProperties: [{{property: {name}, value: ...}}]"
            out.append(doc.diagnostic((*path, name), message, code="schema-unknown-field", key=True, hint=hint))
        return out
    if kind == "required":
        found = _REQUIRED.match(error.message)
        name = found.group(1) if found else str(error.validator_value)
        where = f"in {render_json_path(path)}" if path else "at the top level"
        return [doc.diagnostic(path, f"missing required field '{name}' {where}", code="schema-required")]
    if kind == "type":
        expected = error.validator_value
        expected_text = " or ".join(expected) if isinstance(expected, list) else str(expected)
        message = f"expected {expected_text}, found {_type_name(instance)} {_short(instance)}"
        return [doc.diagnostic(path, message, code="schema-type")]
    if kind == "enum":
        options = error.validator_value if isinstance(error.validator_value, list) else []
        allowed = ", ".join(str(v) for v in options)
        return [
            doc.diagnostic(
                path, f"{_short(instance)} is not allowed here; expected one of: {allowed}", code="schema-enum"
            )
        ]
    if kind == "const":
        return [
            doc.diagnostic(
                path,
                f"{_short(instance)} is not allowed here; expected {_short(error.validator_value)}",
                code="schema-enum",
            )
        ]
    if kind == "pattern":
        return [
            doc.diagnostic(
                path, f"{_short(instance)} does not match the pattern {error.validator_value}", code="schema-pattern"
            )
        ]
    if kind == "format":
        return [
            doc.diagnostic(path, f"{_short(instance)} is not a valid {error.validator_value}", code="schema-format")
        ]
    if kind == "oneOf" and isinstance(instance, dict):
        operators = [k for k in OPERATOR_KEYS if k in instance]
        if len(operators) > 1:
            message = f"a quality rule takes exactly one comparison operator; found {', '.join(operators)}"
            return [doc.diagnostic(path, message, code="schema-operator")]
    return [doc.diagnostic(path, error.message, code=f"schema-{kind}")]


_UNKNOWN_KEY_VALIDATORS = ("additionalProperties", "unevaluatedProperties")


def _without_artifacts(error: ValidationError, schema_file: str) -> ValidationError | None:
    """Drop keys that are reported unknown only because a sibling keyword failed.

    Under Draft 2019-09, a failing `oneOf` (e.g. a quality rule with two operators) discards the
    properties it evaluated, so `unevaluatedProperties` then calls valid keys such as `metric`
    unknown. When the same object has another error, keep only keys the schema defines nowhere.
    """
    from jsonschema.exceptions import ValidationError

    match = _UNEXPECTED.search(error.message)
    names = _QUOTED.findall(match.group(1)) if match else []
    real = [n for n in names if n not in _field_names(schema_file)]
    if not real:
        return None
    listed = ", ".join(repr(n) for n in real)
    verb = "was" if len(real) == 1 else "were"
    return ValidationError(
        f"Unevaluated properties are not allowed ({listed} {verb} unexpected)",
        validator=error.validator,
        path=error.absolute_path,
        instance=error.instance,
    )


def validate_against(doc: YamlDocument, schema_file: str) -> list[Diagnostic]:
    """All schema errors of `doc` against one vendored schema, in document order."""
    if is_valid_against(doc.data, schema_file):
        return []
    validator = _validator(schema_file)
    out: list[Diagnostic] = []
    seen: set[tuple[str | None, str]] = set()
    errors = list(validator.iter_errors(doc.data))
    failed_at = [tuple(e.absolute_path) for e in errors if e.validator not in _UNKNOWN_KEY_VALIDATORS]
    for raw in errors:
        error: ValidationError | None = raw
        here = tuple(raw.absolute_path)
        if raw.validator in _UNKNOWN_KEY_VALIDATORS and any(p[: len(here)] == here for p in failed_at):
            error = _without_artifacts(raw, schema_file)
        if error is None:
            continue
        for leaf in _leaf_errors(error):
            for diag in _diagnostics_for(leaf, doc, schema_file):
                key = (diag.path, diag.message)
                if key not in seen:
                    seen.add(key)
                    out.append(diag)
    return sorted(out, key=lambda d: (d.line or 0, d.column or 0))


def _api_version(doc: YamlDocument) -> Any:
    return doc.data.get("apiVersion") if isinstance(doc.data, dict) else None


def _unsupported(doc: YamlDocument, standard: str, declared: Any, supported: Iterable[str]) -> Diagnostic:
    allowed = ", ".join(supported)
    return doc.diagnostic(
        ("apiVersion",),
        f"{standard} apiVersion {_short(declared)} is not supported; supported: {allowed}",
        code="unsupported-api-version",
    )


def _not_a_string_version(doc: YamlDocument, declared: Any, supported: Iterable[str]) -> Diagnostic:
    allowed = ", ".join(supported)
    return doc.diagnostic(
        ("apiVersion",),
        f"apiVersion must be a string such as v3.1.0, found {_type_name(declared)} {_short(declared)}; "
        f"supported: {allowed}",
        code="unsupported-api-version",
        hint="quote it and write the full version, e.g. apiVersion: v3.1.0",
    )


def validate_contract(doc: YamlDocument) -> list[Diagnostic]:
    """Validate an ODCS contract against the schema of its declared apiVersion (see module doc)."""
    declared = _api_version(doc)
    if declared is None:
        return validate_against(doc, ODCS_SCHEMAS[ODCS_LATEST])
    if not isinstance(declared, str):
        return [_not_a_string_version(doc, declared, ODCS_SCHEMAS)]
    if declared not in ODCS_SCHEMAS:
        return [_unsupported(doc, "ODCS", declared, ODCS_SCHEMAS)]
    declared_errors = validate_against(doc, ODCS_SCHEMAS[declared])
    if not declared_errors or declared == ODCS_LATEST:
        return declared_errors
    # a missing top-level field is not a newer field (v3.2 no longer requires `status`; v3.1 does)
    missing = any(d.code == "schema-required" and d.path in (None, "$") for d in declared_errors)
    newer_versions = [] if missing else list(ODCS_SCHEMAS)[list(ODCS_SCHEMAS).index(declared) + 1 :]
    for version in newer_versions:
        if is_valid_against(doc.data, ODCS_SCHEMAS[version]):
            newer = ", ".join(sorted({d.path or "$" for d in declared_errors})[:3])
            return [
                doc.diagnostic(
                    ("apiVersion",),
                    f"declares ODCS {declared} but uses fields that need ODCS {version} ({newer}); "
                    f"declare apiVersion: {version}",
                    code="api-version-too-old",
                    severity=Severity.WARNING,
                )
            ]
    if missing:
        return declared_errors
    latest_errors = validate_against(doc, ODCS_SCHEMAS[ODCS_LATEST])
    return latest_errors if len(latest_errors) < len(declared_errors) else declared_errors


def admits_unknown_fields(doc: YamlDocument) -> bool:
    """Whether a contract declares a version whose schema admits fields the standard does not name."""
    return _api_version(doc) in ODCS_OPEN_VERSIONS


def validate_product(doc: YamlDocument) -> list[Diagnostic]:
    """Validate an ODPS product descriptor against the official v1.0.0 schema."""
    declared = _api_version(doc)
    if declared is not None and not isinstance(declared, str):
        return [_not_a_string_version(doc, declared, ["v1.0.0", "v0.9.0"])]
    if isinstance(declared, str) and declared not in ODPS_SCHEMAS:
        return [_unsupported(doc, "ODPS", declared, ["v1.0.0", "v0.9.0"])]
    return validate_against(doc, ODPS_SCHEMAS["v1.0.0"])


def validate_domain(doc: YamlDocument) -> list[Diagnostic]:
    """Validate a domain.yaml against meshplane's domain schema."""
    return validate_against(doc, DOMAIN_SCHEMA)


def validate_mesh(doc: YamlDocument) -> list[Diagnostic]:
    """Validate a mesh.yaml against meshplane's mesh schema."""
    return validate_against(doc, MESH_SCHEMA)

"""The rule table is well-formed, and docs/diff-rules.md documents exactly its rules."""

from __future__ import annotations

import re
from pathlib import Path

from meshplane.diff import ALL_RULES, RULES, UNCLASSIFIED, Perspective, Severity, Shift, rule_by_id, rule_for
from meshplane.diff.aspects import Aspect
from meshplane.diff.reference import BEGIN, generated_part, render_rules_markdown, splice

DOC = Path(__file__).resolve().parents[2] / "docs" / "diff-rules.md"
PLACEHOLDERS = {"subject", "field", "old", "new", "detail", "shift"}


def test_at_least_thirty_rules_with_unique_kebab_case_ids() -> None:
    ids = [r.id for r in ALL_RULES]
    assert len(RULES) >= 30
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+(-[a-z]+)*", i) for i in ids), ids
    assert ALL_RULES[-1] is UNCLASSIFIED


def test_every_rule_is_complete() -> None:
    for rule in ALL_RULES:
        assert rule.when, rule.id
        assert rule.what.strip() and rule.why.strip() and rule.message.strip(), rule.id
        assert isinstance(rule.consumer, Severity) and isinstance(rule.producer, Severity)
        assert set(re.findall(r"\{(\w+)\}", rule.message)) <= PLACEHOLDERS, rule.id
        assert "|" not in rule.what, "the summary table would break"


def test_each_aspect_and_shift_has_at_most_one_rule() -> None:
    claimed: dict[tuple[Aspect, Shift], str] = {}
    for rule in ALL_RULES:
        for pair in rule.when:
            assert pair not in claimed, f"{rule.id} and {claimed[pair]} both claim {pair}"
            claimed[pair] = rule.id
            assert rule_for(*pair) is rule


def test_unknown_pairs_fall_to_the_catch_all() -> None:
    assert rule_for("no.such.aspect", Shift.CHANGED) is UNCLASSIFIED
    assert rule_for(Aspect.REQUIRED, Shift.RESTATED) is UNCLASSIFIED


def test_documentation_is_never_more_than_info_and_loosening_breaks_consumers() -> None:
    for rule in RULES:
        shifts = {shift for _, shift in rule.when}
        if {aspect for aspect, _ in rule.when} <= {Aspect.DOCUMENTATION, Aspect.CUSTOM_PROPERTIES}:
            assert rule.consumer is rule.producer is Severity.INFO
        if shifts == {Shift.LOOSENED}:
            assert rule.severity(Perspective.CONSUMER) is Severity.BREAKING, rule.id
            assert rule.severity(Perspective.PRODUCER) is Severity.NON_BREAKING, rule.id
        if shifts == {Shift.TIGHTENED}:
            assert rule.severity(Perspective.CONSUMER) is Severity.NON_BREAKING, rule.id
            assert rule.severity(Perspective.PRODUCER) is Severity.BREAKING, rule.id


def test_rule_by_id() -> None:
    assert rule_by_id("property-removed").consumer is Severity.BREAKING


# --- docs/diff-rules.md ------------------------------------------------------------------------


def test_doc_reference_is_generated_from_the_table() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert generated_part(text) == render_rules_markdown(), (
        "docs/diff-rules.md is out of date: run `python -m meshplane.diff.reference docs/diff-rules.md`"
    )


def test_doc_documents_every_rule_and_no_stale_one() -> None:
    text = DOC.read_text(encoding="utf-8")
    documented = re.findall(r"^### ([a-z-]+)$", text, flags=re.MULTILINE)
    assert sorted(documented) == sorted(r.id for r in ALL_RULES)
    mentioned = set(re.findall(r"`([a-z]+(?:-[a-z]+)+)`", text))
    rule_like = {m for m in mentioned if m.split("-")[0] in {r.id.split("-")[0] for r in ALL_RULES}}
    stale = rule_like - {r.id for r in ALL_RULES}
    assert not stale, f"the doc names rules the table does not have: {sorted(stale)}"


def test_doc_explains_perspectives_and_semver() -> None:
    text = DOC.read_text(encoding="utf-8")
    for heading in ("## Perspectives", "## Semver policy", "### Paths", "### Matching elements across versions"):
        assert heading in text
    assert "Pre-1.0" in text and "Unparsable" in text


def test_splice_replaces_only_the_generated_part() -> None:
    document = f"intro\n{BEGIN}\nold\n<!-- rules:end -->\noutro\n"
    assert splice(document, "new\n") == f"intro\n{BEGIN}\nnew\n<!-- rules:end -->\noutro\n"


# --- every field of the models is compared by a named handler ---------------------------------


def _aliases(model: type) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}  # type: ignore[attr-defined]


def test_every_modelled_field_has_a_handler() -> None:
    """So the catch-all only ever fires for fields the models do not know (yet)."""
    from meshplane.diff import detect_contract, detect_quality, detect_schema
    from meshplane.spec import odcs

    tables = [
        (odcs.Contract, detect_contract.CONTRACT_FIELDS),
        (odcs.ContractDescription, detect_contract._DESCRIPTION_FIELDS),
        (odcs.Server, detect_contract.SERVER_FIELDS),
        (odcs.Role, detect_contract.ROLE_FIELDS),
        (odcs.SlaProperty, detect_contract.SLA_FIELDS),
        (odcs.SchemaObject, detect_schema._OBJECT_FIELDS),
        (odcs.SchemaProperty, detect_schema._PROPERTY_FIELDS),
        (odcs.SchemaProperty, detect_schema._ITEMS_FIELDS),
        (odcs.Relationship, detect_schema._RELATIONSHIP_FIELDS),
        (odcs.DataQuality, detect_quality._RULE_FIELDS),
    ]
    for model, table in tables:
        missing = _aliases(model) - set(table)
        assert not missing, f"{model.__name__}: no handler for {sorted(missing)}"
        stale = set(table) - _aliases(model)
        assert not stale, f"{model.__name__}: handlers for unknown keys {sorted(stale)}"


def test_every_logical_type_option_of_the_standard_has_a_handler() -> None:
    import json

    from meshplane.diff import detect_schema

    schema_file = Path(__file__).resolve().parents[2] / "src/meshplane/spec/schemas/odcs-json-schema-v3.1.0.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    options: set[str] = set()
    for branch in schema["$defs"]["SchemaBaseProperty"]["allOf"]:
        then = branch.get("then", {}).get("properties", {}).get("logicalTypeOptions", {})
        options |= set(then.get("properties", {}))
    assert options
    assert options <= set(detect_schema._OPTION_FIELDS)

"""How the diff behaves beyond single rules: matching, paths, nesting, perspectives, the JSON shape,
official examples, and determinism."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml
from diff_support import Doc, base, build, diff_docs, drop_prop, edited, obj, prop, quality, sla

from meshplane.diff import (
    Bump,
    Change,
    ContractDiff,
    Level,
    Perspective,
    Severity,
    classify_changes,
    detect_changes,
    diff_contracts,
)
from meshplane.diff.collect import segment
from meshplane.spec.loader import load_contract

ODCS_EXAMPLES = sorted(
    (Path(__file__).resolve().parents[3] / "shared" / "standards" / "odcs" / "examples").rglob("*.odcs.yaml")
)


def rules(diff: ContractDiff) -> list[str]:
    return [c.rule for c in diff.changes]


# --- matching ---------------------------------------------------------------------------------


def test_rename_under_the_same_id_is_a_rename_not_remove_and_add() -> None:
    after = base()
    prop(after, "orders", "order_id")["name"] = "order_number"
    diff = diff_docs(base(), after)
    assert set(rules(diff)) == {"property-renamed", "property-physical-name-changed"}
    renamed = next(c for c in diff.changes if c.rule == "property-renamed")
    assert renamed.path == "$.schema[orders].properties[order_id].name"
    assert renamed.property == "order_id"  # the old name: what consumers read today


def test_without_ids_a_rename_is_remove_and_add() -> None:
    after = base()
    prop(after, "orders", "note")["name"] = "remark"
    assert sorted(rules(diff_docs(base(), after))) == ["property-added-optional", "property-removed"]


def test_a_different_id_under_the_same_name_is_another_element() -> None:
    after = base()
    prop(after, "orders", "order_id")["id"] = "order_id_prop_v2"
    diff = diff_docs(base(), after)
    # the old order_id left the key and another element called order_id joined it
    assert sorted(rules(diff)) == [
        "property-added-required",
        "property-primary-key-changed",
        "property-primary-key-changed",
        "property-removed",
    ]


def test_object_rename_under_the_same_id() -> None:
    after = base()
    obj(after, "orders")["name"] = "sales_orders"
    diff = diff_docs(base(), after)
    assert rules(diff) == ["object-renamed"]  # physicalName unchanged
    assert diff.changes[0].object == "orders"


def test_quality_rules_pair_by_what_they_measure() -> None:
    before, after = base(), base()
    # reorder the object's rules and relax one: still one threshold change, no remove/add
    after_rules = obj(after, "orders")["quality"]
    after_rules.reverse()
    after_rules[1]["mustBeGreaterThan"] = 50
    assert rules(diff_docs(before, after)) == ["quality-threshold-relaxed"]


def test_properties_are_matched_by_name_not_position() -> None:
    after = base()
    obj(after, "orders")["properties"].reverse()
    assert diff_docs(base(), after).changes == []


# --- nesting and paths ------------------------------------------------------------------------


def test_nested_property_reports_top_level_column() -> None:
    after = base()
    address = prop(after, "orders", "address")
    address["properties"] = [p for p in address["properties"] if p["name"] != "zip"]
    diff = diff_docs(base(), after)
    [change] = diff.changes
    assert change.rule == "property-removed"
    assert change.path == "$.schema[orders].properties[address].properties[zip]"
    assert (change.object, change.property) == ("orders", "address")
    assert "orders.address.zip" in change.message


def test_nested_required_and_items_changes() -> None:
    after = base()
    prop(after, "orders", "address", "city")["required"] = True
    prop(after, "orders", "tags")["items"]["physicalType"] = "INTEGER"
    diff = diff_docs(base(), after)
    by_rule = {c.rule: c for c in diff.changes}
    assert set(by_rule) == {"property-required-tightened", "items-type-changed"}
    assert by_rule["items-type-changed"].path == "$.schema[orders].properties[tags].items.physicalType"
    assert by_rule["items-type-changed"].property == "tags"
    assert diff.level is Level.BREAKING


def test_array_items_declared_and_dropped() -> None:
    without = base()
    del prop(without, "orders", "tags")["items"]
    assert rules(diff_docs(without, base())) == ["property-type-declared"]
    assert rules(diff_docs(base(), without)) == ["property-type-dropped"]


def test_paths_are_readable_and_quoted_when_needed() -> None:
    assert segment("orders") == "[orders]"
    assert segment("odd]name") == "['odd]name']"
    assert segment("it's") == "['it\\'s']"
    assert segment("") == "['']"
    before, after = base(), base()
    drop_prop(after, "orders", "note")
    sla(after, "latency")["value"] = 2
    quality(obj(after, "orders"), 1)["mustBeLessThan"] = 20
    paths = {c.rule: c.path for c in diff_docs(before, after).changes}
    assert paths == {
        "property-removed": "$.schema[orders].properties[note]",
        "sla-relaxed": "$.slaProperties[latency].value",
        "quality-threshold-relaxed": "$.schema[orders].quality[recent].mustBeLessThan",
    }


def test_server_settings_outside_the_standard_keys_are_its_location() -> None:
    after = base()
    after["servers"][0]["format"] = "csv"  # a type-specific setting (not a key every server has)
    [change] = diff_docs(base(), after).changes
    assert (change.rule, change.path) == ("server-location-changed", "$.servers[lake].format")


def test_physical_types_compare_case_insensitively() -> None:
    after = base()
    prop(after, "orders", "amount")["physicalType"] = "decimal(10, 2)"
    assert diff_docs(base(), after).changes == []


def test_defaults_are_not_changes() -> None:
    after = base()
    prop(after, "orders", "note").update(required=False, unique=False, primaryKey=False, partitioned=False)
    prop(after, "orders", "tags")["logicalTypeOptions"].update(minItems=0, uniqueItems=False)
    quality(prop(after, "orders", "amount"))["severity"] = "error"  # the default severity
    assert diff_docs(base(), after).changes == []


# --- perspectives -----------------------------------------------------------------------------


def test_producer_sees_tightening_as_breaking() -> None:
    after = base()
    prop(after, "orders", "note")["required"] = True
    sla(after, "latency").update(value=6, unit="h")
    consumer = diff_docs(base(), after)
    producer = diff_docs(base(), after, Perspective.PRODUCER)
    assert consumer.level is Level.NON_BREAKING and consumer.required_bump is Bump.MINOR
    assert producer.level is Level.BREAKING and producer.required_bump is Bump.MAJOR
    assert {c.rule for c in consumer.changes} == {c.rule for c in producer.changes}


def test_producer_sees_loosening_as_non_breaking() -> None:
    after = base()
    drop_prop(after, "orders", "note")
    prop(after, "orders", "customer_id")["required"] = False
    producer = diff_docs(base(), after, "producer")  # type: ignore[arg-type]
    assert producer.level is Level.NON_BREAKING
    assert producer.perspective is Perspective.PRODUCER


def test_adding_a_required_property_depends_on_the_perspective() -> None:
    after = base()
    obj(after, "orders")["properties"].append({"name": "currency", "logicalType": "string", "required": True})
    assert diff_docs(base(), after).level is Level.NON_BREAKING
    assert diff_docs(base(), after, Perspective.PRODUCER).level is Level.BREAKING


def test_documentation_only_is_a_patch() -> None:
    after = base()
    after["description"]["purpose"] = "All orders of the shop."
    prop(after, "orders", "note")["description"] = "Anything"
    after["tags"] = ["sales", "orders"]
    after["version"] = "1.0.1"
    diff = diff_docs(base(), after)
    assert diff.level is Level.INFO and diff.required_bump is Bump.PATCH and diff.semver_ok


# --- result shape -----------------------------------------------------------------------------


def test_to_dict_is_the_architecture_shape() -> None:
    after = base()
    drop_prop(after, "orders", "note")
    after["version"] = "2.0.0"
    data = diff_docs(base(), after).to_dict()
    assert list(data) == ["from", "to", "level", "requiredBump", "semverOk", "changes"]
    assert data["from"] == "1.0.0" and data["to"] == "2.0.0"
    assert data["level"] == "breaking" and data["requiredBump"] == "major" and data["semverOk"] is True
    [change] = data["changes"]
    assert {"rule", "severity", "path", "message"} <= set(change)
    assert change["object"] == "orders" and change["property"] == "note"


def test_semver_ok_false_without_the_major_bump() -> None:
    after = base()
    drop_prop(after, "orders", "note")
    after["version"] = "1.1.0"
    diff = diff_docs(base(), after)
    assert not diff.semver_ok
    assert "major" in diff.semver_reason
    assert [c.rule for c in diff.breaking_changes()] == ["property-removed"]


def test_unparsable_version_fails_semver_with_a_message() -> None:
    after = base()
    drop_prop(after, "orders", "note")
    after["version"] = "next"
    diff = diff_docs(base(), after)
    assert not diff.semver_ok
    assert "'next' is not a semantic version" in diff.semver_reason


def test_no_changes_needs_no_bump() -> None:
    diff = diff_docs(base(), base())
    assert (diff.level, diff.required_bump, diff.semver_ok, diff.changes) == (Level.NONE, Bump.NONE, True, [])
    assert diff.breaking_changes() == []


def test_classify_changes_is_usable_on_its_own() -> None:
    after = base()
    drop_prop(after, "orders", "note")
    raw = detect_changes(build(base()), build(after))
    [change] = classify_changes(raw, Perspective.PRODUCER)
    assert change == Change(
        "property-removed",
        Severity.NON_BREAKING,
        "$.schema[orders].properties[note]",
        "property orders.note was removed",
        "orders",
        "note",
    )


# --- official examples and the example mesh ---------------------------------------------------


@pytest.mark.parametrize("path", ODCS_EXAMPLES, ids=[p.name for p in ODCS_EXAMPLES])
def test_official_example_against_itself_is_none(path: Path) -> None:
    loaded = load_contract(path)
    assert loaded.model is not None
    again = load_contract(path)
    assert again.model is not None
    diff = diff_contracts(loaded.model, again.model)
    assert diff.level is Level.NONE and diff.changes == [] and diff.semver_ok


def test_official_examples_are_found() -> None:
    assert len(ODCS_EXAMPLES) >= 10


# --- determinism ------------------------------------------------------------------------------


UNORDERED_LISTS = frozenset({
    "schema", "properties", "quality", "relationships", "servers", "roles", "slaProperties", "support",
    "members", "tags", "authoritativeDefinitions", "transformSourceObjects", "customProperties",
})  # fmt: skip


def _shuffled(doc: Doc, seed: int) -> Doc:
    """The same contract with every list whose order carries no meaning shuffled, at any depth,
    and the keys of every mapping reordered."""
    rng = random.Random(seed)

    def visit(node: object) -> object:
        if isinstance(node, dict):
            keys = list(node)
            rng.shuffle(keys)
            return {k: visit(node[k]) if k in UNORDERED_LISTS or isinstance(node[k], dict) else node[k] for k in keys}
        if isinstance(node, list):
            items = [visit(item) for item in node]
            rng.shuffle(items)
            return items
        return node

    shuffled = visit(yaml.safe_load(yaml.safe_dump(doc)))
    assert isinstance(shuffled, dict)
    return shuffled


def _with_lists(doc: Doc) -> Doc:
    doc["team"]["members"].append({"username": "bob", "role": "steward"})
    doc["tags"] = ["sales", "orders", "gold"]
    prop(doc, "orders", "note").update(tags=["free-text", "pii-free"], transformSourceObjects=["raw.a", "raw.b"])
    doc["customProperties"].append({"property": "tier", "value": "gold"})
    return doc


def _many_changes() -> tuple[Doc, Doc]:
    before, after = _with_lists(base()), _with_lists(base())
    drop_prop(after, "orders", "note")
    prop(after, "orders", "customer_id")["classification"] = "public"
    prop(after, "orders", "address", "city")["logicalType"] = "integer"
    prop(after, "orders", "status")["quality"][0]["arguments"]["validValues"] = ["placed", "lost"]
    obj(after, "orders")["quality"][0]["mustBeGreaterThan"] = 1
    sla(after, "latency")["value"] = 3
    after["servers"][0]["path"] = "elsewhere/*.parquet"
    after["roles"] = []
    after["description"]["purpose"] = "Other words."
    return before, after


def test_same_input_gives_the_same_output() -> None:
    before, after = _many_changes()
    first = diff_docs(before, after).to_dict()
    for _ in range(3):
        assert diff_docs(before, after).to_dict() == first
    assert len(first["changes"]) >= 9


@pytest.mark.parametrize("seed", range(5))
def test_reordered_inputs_give_the_same_output(seed: int) -> None:
    before, after = _many_changes()
    expected = diff_docs(before, after).to_dict()
    assert diff_docs(_shuffled(before, seed), _shuffled(after, seed + 100)).to_dict() == expected


def test_changes_are_ordered_most_severe_first_then_by_path() -> None:
    before, after = _many_changes()
    changes = diff_docs(before, after).changes
    assert changes == sorted(changes, key=Change.sort_key)
    ranks = [list(Severity).index(c.severity) for c in changes]
    assert ranks == sorted(ranks)


# --- primary keys are judged on the whole key -------------------------------------------------


def _key(doc: Doc, *names: str) -> Doc:
    for column in obj(doc, "orders")["properties"]:
        column.pop("primaryKey", None)
        column.pop("primaryKeyPosition", None)
    for position, name in enumerate(names, start=1):
        prop(doc, "orders", name).update(primaryKey=True, primaryKeyPosition=position)
    return doc


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (("order_id",), (), {"property-primary-key-dropped": ["order_id"]}),
        (("order_id",), ("order_id", "customer_id"), {"property-primary-key-dropped": ["customer_id"]}),
        ((), ("order_id",), {"property-primary-key-tightened": ["order_id"]}),
        (("order_id", "customer_id"), ("order_id",), {"property-primary-key-tightened": ["customer_id"]}),
        (("order_id", "customer_id"), ("order_id", "note"), {"property-primary-key-changed": ["customer_id", "note"]}),
        (
            ("order_id", "customer_id"),
            ("customer_id", "order_id"),
            {"property-primary-key-reordered": ["customer_id", "order_id"]},
        ),
    ],
)
def test_primary_key_changes(before: tuple[str, ...], after: tuple[str, ...], expected: dict[str, list[str]]) -> None:
    diff = diff_docs(_key(base(), *before), _key(base(), *after))
    found: dict[str, list[str]] = {}
    for change in diff.changes:
        found.setdefault(change.rule, []).append(change.property or "")
    assert {rule: sorted(columns) for rule, columns in found.items()} == expected


def test_removing_a_column_of_a_composite_key_narrows_the_key() -> None:
    before = _key(base(), "order_id", "note")
    after = _key(base(), "order_id")
    drop_prop(after, "orders", "note")
    producer = diff_docs(before, after, Perspective.PRODUCER)
    assert sorted(rules(producer)) == ["property-primary-key-tightened", "property-removed"]
    assert producer.level is Level.BREAKING  # (order_id) alone must now be unique


# --- duality: the producer's view of A → B is the consumer's view of B → A --------------------

NOT_DUAL = {
    # lifecycle, identity, access and layout are not constraints on the data: see docs/diff-rules.md
    "contract-status-retired",
    "contract-status-withdrawn",
    "role-removed",
    "server-environment-changed",
    "property-partitioning-changed",
    "property-primary-key-reordered",
    "element-id-changed",
    "element-id-assigned",
}


def test_consumer_view_of_a_change_is_the_producer_view_of_its_reverse() -> None:
    from test_diff_rule_fixtures import CASES

    checked = 0
    for case in CASES:
        if case.patch is not None or case.rule in NOT_DUAL:
            continue
        a, b = edited(case.before), edited(case.after)
        forward = diff_docs(a, b, Perspective.CONSUMER)
        backward = diff_docs(b, a, Perspective.PRODUCER)
        assert forward.level is backward.level, case.rule
        checked += 1
    assert checked >= 70


# --- the example contracts: diff is stable under reordering -------------------------------------

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_CONTRACTS = sorted((REPO / "examples").rglob("*.odcs.yaml")) + ODCS_EXAMPLES


@pytest.mark.parametrize("path", EXAMPLE_CONTRACTS, ids=[p.name for p in EXAMPLE_CONTRACTS])
def test_example_contract_reordered_is_no_change(path: Path) -> None:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    original = build(document, path.name)
    for seed in range(3):
        reordered = build(_shuffled(document, seed), path.name)
        assert diff_contracts(original, reordered).changes == [], path
        assert diff_contracts(reordered, original, Perspective.PRODUCER).changes == [], path


def test_public_api() -> None:
    import inspect

    import meshplane.diff as api

    assert all(hasattr(api, name) for name in api.__all__)
    for name in ("diff_contracts", "ContractDiff", "Change", "Perspective", "required_bump_satisfied"):
        assert name in api.__all__
    params = inspect.signature(api.diff_contracts).parameters
    assert list(params) == ["old", "new", "perspective"]
    assert params["perspective"].default is Perspective.CONSUMER
    assert list(inspect.signature(api.required_bump_satisfied).parameters) == ["old_version", "new_version", "bump"]

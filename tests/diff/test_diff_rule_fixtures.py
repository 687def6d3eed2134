"""One before/after fixture per rule of the table: the rule fires, with its severity in both
perspectives, and nothing else fires.

Each case edits the base contract of ``diff_support`` (before and/or after) and states the
expected severities independently of the table, so a change to the table must be deliberate.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from diff_support import Doc, diff_docs, drop_prop, edited, obj, prop, quality, setter, sla

from meshplane.diff import ALL_RULES, Perspective
from meshplane.diff import detect_schema as detect_schema_module

SEVERITY = {"B": "breaking", "N": "non-breaking", "I": "info"}
PLACEHOLDER = re.compile(r"\{(subject|field|old|new|detail|shift)\}")


@dataclass(frozen=True)
class Case:
    """A fixture pair for one rule: expected severities as ``"consumer/producer"`` (B, N, I)."""

    rule: str
    severities: str
    after: Callable[[Doc], Any]
    before: Callable[[Doc], Any] | None = None
    patch: Callable[[pytest.MonkeyPatch], None] | None = None

    @property
    def consumer(self) -> str:
        return SEVERITY[self.severities.split("/")[0]]

    @property
    def producer(self) -> str:
        return SEVERITY[self.severities.split("/")[1]]


def _set(node_of: Callable[[Doc], Doc], **values: Any) -> Callable[[Doc], None]:
    return lambda doc: node_of(doc).update(values)


def _pop(node_of: Callable[[Doc], Doc], *keys: str) -> Callable[[Doc], None]:
    def edit(doc: Doc) -> None:
        node = node_of(doc)
        for key in keys:
            node.pop(key, None)

    return edit


def _append(node_of: Callable[[Doc], Doc], key: str, value: Any) -> Callable[[Doc], None]:
    return lambda doc: node_of(doc).setdefault(key, []).append(value)


def _orders(doc: Doc) -> Doc:
    return obj(doc, "orders")


def _p(*names: str) -> Callable[[Doc], Doc]:
    return lambda doc: prop(doc, "orders", *names)


def _opts(*names: str) -> Callable[[Doc], Doc]:
    return lambda doc: prop(doc, "orders", *names).setdefault("logicalTypeOptions", {})


def _status_rule(doc: Doc) -> Doc:
    return quality(prop(doc, "orders", "status"))


def _row_count(doc: Doc) -> Doc:
    return quality(obj(doc, "orders"), 0)


def _recent(doc: Doc) -> Doc:
    return quality(obj(doc, "orders"), 1)


def _valid_values(values: list[str]) -> Callable[[Doc], None]:
    return lambda doc: _status_rule(doc)["arguments"].update(validValues=values)


def _sla(name: str) -> Callable[[Doc], Doc]:
    return lambda doc: sla(doc, name)


def _lake(doc: Doc) -> Doc:
    return doc["servers"][0]


def _unclaim_encrypted_name(mp: pytest.MonkeyPatch) -> None:
    # simulate a field no detector knows: drop its entry from the property field table
    mp.delitem(detect_schema_module._PROPERTY_FIELDS, "encryptedName")


def _composite_key(*members: tuple[str, int]) -> Callable[[Doc], None]:
    """Make the orders key exactly these (column, position) pairs."""

    def edit(doc: Doc) -> None:
        for column in obj(doc, "orders")["properties"]:
            column.pop("primaryKey", None)
            column.pop("primaryKeyPosition", None)
        for name, position in members:
            prop(doc, "orders", name).update(primaryKey=True, primaryKeyPosition=position)

    return edit


def _threshold_changed(doc: Doc) -> None:
    # mustBeGreaterThan 100 → mustBeBetween [50, 1000]: overlapping, neither contains the other
    rule = _row_count(doc)
    del rule["mustBeGreaterThan"]
    rule["mustBeBetween"] = [50, 1000]


def _range_narrowed(doc: Doc) -> None:
    # minimum 0 → exclusiveMinimum 0
    options = prop(doc, "orders", "amount")["logicalTypeOptions"]
    options["exclusiveMinimum"] = options.pop("minimum")


CASES: list[Case] = [
    # contract
    Case("contract-id-changed", "B/B", setter(id="shop.orders.v2")),
    Case("contract-status-retired", "B/N", setter(status="retired")),
    Case("contract-status-deprecated", "N/N", setter(status="deprecated")),
    Case("contract-status-withdrawn", "B/N", setter(status="draft")),
    Case("contract-status-changed", "N/N", setter(status="active"), before=setter(status="draft")),
    Case("contract-api-version-changed", "I/I", setter(apiVersion="v3.1.0"), before=setter(apiVersion="v3.0.2")),
    Case("contract-metadata-changed", "I/I", setter(domain="retail")),
    Case("team-changed", "I/I", lambda d: d["team"]["members"].append({"username": "bob", "role": "steward"})),
    Case("support-changed", "I/I", lambda d: d["support"].append({"channel": "sales@shop.example", "tool": "email"})),
    Case("price-changed", "N/N", lambda d: d["price"].update(priceAmount=2)),
    Case("role-removed", "B/N", setter(roles=[])),
    Case("role-added", "N/N", lambda d: d["roles"].append({"role": "auditor", "access": "read"})),
    Case("role-changed", "N/N", lambda d: d["roles"][0].update(access="write")),
    # servers
    Case("server-removed", "B/N", setter(servers=[])),
    Case(
        "server-added",
        "N/B",
        lambda d: d["servers"].append(
            {"server": "warehouse", "type": "postgres", "host": "db", "port": 5432, "database": "shop", "schema": "s"}
        ),
    ),
    Case("server-location-changed", "B/B", _set(_lake, path="sales/orders_v2/*.parquet")),
    Case("server-environment-changed", "B/N", _set(_lake, environment="dev")),
    # objects
    Case("object-removed", "B/N", lambda d: d["schema"].pop(1)),
    Case(
        "object-added",
        "N/B",
        lambda d: d["schema"].append(
            {"name": "returns", "physicalType": "table", "properties": [{"name": "order_id", "logicalType": "string"}]}
        ),
    ),
    Case("object-renamed", "B/B", _set(_orders, name="sales_orders")),
    Case("object-physical-name-changed", "B/B", _set(_orders, physicalName="orders_v2")),
    Case("object-physical-type-changed", "B/B", _set(_orders, physicalType="view")),
    Case("object-granularity-changed", "N/N", _set(_orders, dataGranularityDescription="One row per order line")),
    # properties
    Case("property-removed", "B/N", lambda d: drop_prop(d, "orders", "note")),
    Case(
        "property-added-optional", "N/B", _append(_orders, "properties", {"name": "discount", "logicalType": "number"})
    ),
    Case(
        "property-added-required",
        "N/B",
        _append(_orders, "properties", {"name": "currency", "logicalType": "string", "required": True}),
    ),
    Case("property-renamed", "B/B", _set(_p("order_id"), name="order_number", physicalName="order_id")),
    Case("property-physical-name-changed", "B/B", _set(_p("customer_id"), physicalName="cust_id")),
    Case("property-logical-type-changed", "B/B", _set(_p("note"), logicalType="integer")),
    Case("property-physical-type-changed", "B/B", _set(_p("note"), physicalType="TEXT")),
    Case("items-type-changed", "B/B", _set(_p("tags"), items={"logicalType": "integer", "physicalType": "VARCHAR"})),
    Case(
        "map-type-changed",
        "B/B",
        _set(
            _p("note"), logicalType="map", map={"key": {"logicalType": "string"}, "value": {"logicalType": "integer"}}
        ),
        before=_set(
            _p("note"), logicalType="map", map={"key": {"logicalType": "string"}, "value": {"logicalType": "string"}}
        ),
    ),
    Case("property-type-declared", "N/B", lambda d: None, before=_pop(_p("note"), "physicalType")),
    Case("property-type-dropped", "B/N", _pop(_p("note"), "physicalType")),
    Case("property-required-relaxed", "B/N", _set(_p("customer_id"), required=False)),
    Case("property-required-tightened", "N/B", _set(_p("note"), required=True)),
    Case("property-unique-dropped", "B/N", _pop(_p("order_id"), "unique")),
    Case("property-unique-added", "N/B", _set(_p("customer_id"), unique=True)),
    Case("property-primary-key-dropped", "B/N", _set(_p("order_id"), primaryKey=False)),
    Case(
        "property-primary-key-tightened",
        "N/B",
        lambda d: None,
        before=_pop(_p("order_id"), "primaryKey", "primaryKeyPosition"),
    ),
    Case(
        "property-primary-key-changed",
        "B/B",
        _composite_key(("customer_id", 1), ("note", 2)),
        before=_composite_key(("order_id", 1), ("customer_id", 2)),
    ),
    Case(
        "property-primary-key-reordered",
        "B/N",
        _composite_key(("customer_id", 1), ("order_id", 2)),
        before=_composite_key(("order_id", 1), ("customer_id", 2)),
    ),
    Case("property-classification-lowered", "B/N", _set(_p("customer_id"), classification="internal")),
    Case("property-classification-raised", "N/B", _set(_p("customer_id"), classification="restricted")),
    Case(
        "property-classification-changed",
        "B/B",
        _set(_p("note"), classification="class-3"),
        before=_set(_p("note"), classification="class-2"),
    ),
    Case("property-range-widened", "B/N", _set(_opts("amount"), maximum=5000)),
    Case("property-range-narrowed", "N/B", _range_narrowed),
    Case(
        "property-range-changed",
        "B/B",
        _set(_opts("placed_at"), minimum="2020-01-01T00:00:00+01:00"),
        before=_set(_opts("placed_at"), minimum="2020-01-01 00:00:00"),
    ),
    Case("property-length-widened", "B/N", _set(_opts("order_id"), maxLength=12)),
    Case("property-length-narrowed", "N/B", _set(_opts("tags"), maxItems=3)),
    Case("property-pattern-changed", "B/B", _set(_opts("order_id"), pattern="^ORD-[0-9A-F]{6}$")),
    Case("property-pattern-removed", "B/N", _pop(_opts("order_id"), "pattern")),
    Case("property-pattern-added", "N/B", _set(_opts("customer_id"), pattern="^C[0-9]+$")),
    Case("property-format-changed", "B/B", _set(_opts("placed_at"), format="yyyy-MM-dd'T'HH:mm:ss")),
    Case("property-format-removed", "B/N", _pop(_opts("placed_at"), "format")),
    Case("property-format-added", "N/B", _set(_opts("customer_id"), format="uuid")),
    Case("property-option-loosened", "B/N", _set(_opts("amount"), multipleOf=0.001)),
    Case("property-option-tightened", "N/B", _set(_opts("tags"), uniqueItems=True)),
    Case("property-option-changed", "B/B", _set(_opts("placed_at"), timezone=False)),
    Case("property-partitioning-changed", "N/B", _set(_p("placed_at"), partitioned=True, partitionKeyPosition=1)),
    Case(
        "property-encrypted-name-changed",
        "B/B",
        _set(_p("customer_id"), encryptedName="customer_id_encrypted"),
        before=_set(_p("customer_id"), encryptedName="customer_id_enc"),
    ),
    Case(
        "property-encrypted-name-removed",
        "B/N",
        lambda d: None,
        before=_set(_p("customer_id"), encryptedName="customer_id_enc"),
    ),
    Case("property-encrypted-name-added", "N/B", _set(_p("customer_id"), encryptedName="customer_id_enc")),
    Case("property-transform-changed", "N/N", _set(_p("note"), transformLogic="trim(note)")),
    Case("property-critical-flag-changed", "N/N", _set(_p("order_id"), criticalDataElement=True)),
    Case("relationship-removed", "B/N", _pop(_p("customer_id"), "relationships")),
    Case("relationship-added", "N/B", _append(_p("order_id"), "relationships", {"to": "invoices.order_id"})),
    # quality
    Case("quality-rule-removed", "B/N", lambda d: _orders(d)["quality"].pop(0)),
    Case("quality-rule-added", "N/B", _append(_p("customer_id"), "quality", {"metric": "nullValues", "mustBe": 0})),
    Case(
        "quality-rule-changed",
        "B/B",
        _set(
            lambda d: quality(prop(d, "orders", "amount")), query="SELECT COUNT(*) FROM {object} WHERE {property} <= 0"
        ),
    ),
    Case("quality-threshold-relaxed", "B/N", _set(_row_count, mustBeGreaterThan=10)),
    Case("quality-threshold-tightened", "N/B", _set(_recent, mustBeLessThan=5)),
    Case("quality-threshold-changed", "B/B", _threshold_changed),
    Case("quality-severity-lowered", "B/N", _set(_status_rule, severity="warning")),
    Case("quality-severity-raised", "N/B", lambda d: None, before=_set(_status_rule, severity="warning")),
    Case("allowed-values-added", "B/N", _valid_values(["placed", "shipped", "cancelled"])),
    Case("allowed-values-removed", "N/B", _valid_values(["placed"])),
    Case("check-schedule-changed", "N/N", _set(_recent, schedule="0 7 * * *")),
    # service levels
    Case("sla-removed", "B/N", lambda d: d["slaProperties"].pop(1)),
    Case("sla-added", "N/B", _append(lambda d: d, "slaProperties", {"property": "freshness", "value": 2, "unit": "h"})),
    Case("sla-relaxed", "B/N", _set(_sla("latency"), value=3)),
    Case("sla-tightened", "N/B", _set(_sla("latency"), value=12, unit="h")),
    Case("sla-changed", "B/B", _set(_sla("latency"), unit="sprints")),
    Case("sla-restated", "I/I", _set(_sla("latency"), value=24, unit="hours")),
    Case("sla-element-changed", "B/B", setter(slaDefaultElement="orders.order_id")),
    # any element
    Case("element-id-changed", "B/B", _pop(_p("order_id"), "id")),
    Case("element-id-assigned", "I/I", _set(_p("customer_id"), id="customer_id_prop")),
    Case("element-deprecated", "N/N", _set(_p("note"), deprecated=True)),
    Case("element-undeprecated", "N/N", _set(_p("note"), deprecated=False), before=_set(_p("note"), deprecated=True)),
    Case("documentation-changed", "I/I", _set(_p("note"), description="Free text entered by the customer.")),
    Case("custom-properties-changed", "I/I", setter(customProperties=[{"property": "costCenter", "value": "43"}])),
    Case(
        "unclassified-change",
        "B/B",
        _set(_p("customer_id"), encryptedName="customer_id_enc"),
        patch=_unclaim_encrypted_name,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.rule for c in CASES])
@pytest.mark.parametrize("perspective", list(Perspective), ids=[p.value for p in Perspective])
def test_rule_fires_alone_with_its_severity(
    case: Case, perspective: Perspective, monkeypatch: pytest.MonkeyPatch
) -> None:
    if case.patch is not None:
        case.patch(monkeypatch)
    diff = diff_docs(edited(case.before), edited(case.after), perspective)
    fired = {c.rule for c in diff.changes}
    assert fired == {case.rule}, [c.to_dict() for c in diff.changes]
    expected = case.consumer if perspective is Perspective.CONSUMER else case.producer
    assert {c.severity.value for c in diff.changes} == {expected}
    assert diff.level.value == expected
    for change in diff.changes:
        assert change.path.startswith("$")
        assert change.message
        assert not PLACEHOLDER.search(change.message), change.message


def test_every_rule_has_a_fixture_pair() -> None:
    covered = [c.rule for c in CASES]
    assert len(covered) == len(set(covered)), "one case per rule"
    assert set(covered) == {r.id for r in ALL_RULES}


def test_before_fixtures_diff_to_nothing() -> None:
    for case in CASES:
        doc = edited(case.before)
        assert diff_docs(doc, doc).changes == [], case.rule

"""The typed views other layers use: helpers on contracts, rules, servers and teams."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from meshplane.spec.loader import load_text
from meshplane.spec.meshfiles import Domain
from meshplane.spec.odcs import Contract, DataQuality

CONTRACT = """\
apiVersion: v3.1.0
kind: DataContract
id: sales.orders.orders
version: 1.0.0
status: active
servers:
  - server: lake
    type: local
    path: sales/orders/*.parquet
    format: parquet
team:
  name: Sales
  members:
    - username: ana
      role: owner
schema:
  - name: orders
    physicalName: orders_v1
    properties:
      - name: order_id
        physicalName: id
        logicalType: string
      - name: address
        logicalType: object
        properties:
          - name: city
            logicalType: string
      - name: tags
        logicalType: array
        items:
          name: tag
          logicalType: string
    quality:
      - metric: rowCount
        mustBeGreaterThan: 0
      - type: sql
        query: SELECT COUNT(*) FROM orders
        mustBe: 0
      - type: sql
        query: SELECT 1
        mustBeBetween: [0, 1]
slaProperties:
  - property: Freshness
    value: 1
    unit: d
"""


def _contract(text: str = CONTRACT) -> Contract:
    loaded = load_text(text, "c.odcs.yaml")
    assert loaded.ok, [str(d) for d in loaded.diagnostics]
    assert isinstance(loaded.model, Contract)
    return loaded.model


def test_contract_lookups() -> None:
    contract = _contract()
    orders = contract.object_named("orders")
    assert orders is not None and contract.object_named("orders_v1") is orders
    assert orders.table == "orders_v1"
    assert contract.object_named("nope") is None
    prop = orders.property_named("id")
    assert prop is not None and prop.name == "order_id" and prop.column == "id"
    assert contract.sla("freshness") is not None and contract.sla("latency") is None
    server = contract.server_named("lake")
    assert server is not None and server.setting("format") == "parquet" and server.setting("host") is None
    assert [m.username for m in contract.team_members()] == ["ana"]


def test_team_members_of_the_deprecated_list_form() -> None:
    text = CONTRACT.replace(
        "team:\n  name: Sales\n  members:\n    - username: ana\n      role: owner\n", "team:\n  - username: bo\n"
    )
    assert [m.username for m in _contract(text).team_members()] == ["bo"]


def test_nested_properties_walk_with_dotted_names() -> None:
    orders = _contract().objects[0]
    names = [name for prop in orders.properties or [] for name, _ in prop.walk()]
    assert names == ["order_id", "address", "address.city", "tags", "tags[].tag"]


def test_quality_rule_kind_and_operator() -> None:
    rules = _contract().objects[0].quality or []
    assert [r.kind for r in rules] == ["library", "sql", "sql"]
    assert [r.operator() for r in rules] == [("mustBeGreaterThan", 0), ("mustBe", 0), ("mustBeBetween", [0, 1])]
    assert DataQuality(type="text", description="free text").operator() is None


def test_models_are_strict() -> None:
    with pytest.raises(ValidationError):
        DataQuality.model_validate({"metric": "rowCount", "unknownThing": 1})
    with pytest.raises(ValidationError):
        DataQuality.model_validate({"tags": "not-a-list"})


def test_domain_owners() -> None:
    text = (
        "apiVersion: meshplane/v1\nkind: Domain\nid: sales\nteam:\n  name: S\n  members:\n"
        "    - username: a\n      role: ' Owner '\n    - username: b\n      role: engineer\n    - username: c\n"
    )
    loaded = load_text(text, "domain.yaml")
    assert isinstance(loaded.model, Domain)
    assert [m.username for m in loaded.model.team.owners()] == ["a"]

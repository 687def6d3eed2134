"""References inside one contract: SLA elements, relationships, rule arguments."""

from __future__ import annotations

import pytest

from meshplane.diagnostics import Severity
from meshplane.mesh.references import check_references, resolve_element
from meshplane.spec.loader import LoadedFile, load_text
from meshplane.spec.odcs import Contract

CONTRACT = """\
apiVersion: v3.1.0
kind: DataContract
id: c
version: 1.0.0
status: active
schema:
  - name: orders
    id: orders_obj
    physicalName: orders_v1
    properties:
      - name: order_id
        id: order_id_prop
        physicalName: id
        logicalType: string
      - name: address
        logicalType: object
        properties:
          - name: city
            logicalType: string
      - name: lines
        logicalType: array
        items:
          logicalType: object
          properties:
            - name: sku
              logicalType: string
  - name: customers
    properties:
      - name: customer_id
        logicalType: string
"""


def _load(text: str) -> LoadedFile[Contract]:
    loaded = load_text(text, "c.odcs.yaml")
    assert loaded.ok, [str(d) for d in loaded.diagnostics]
    return loaded


@pytest.mark.parametrize(
    ("element", "resolves"),
    [
        ("orders", True),
        ("orders_v1", True),
        ("orders_obj", True),
        ("orders.order_id", True),
        ("orders.id", True),
        ("orders.order_id_prop", True),
        ("orders.address.city", True),
        ("orders.lines.sku", True),
        (" customers.customer_id ", True),
        ("orders.city", False),
        ("orders.address.zip", False),
        ("customers.order_id", False),
        ("invoices", False),
        ("", False),
    ],
)
def test_resolve_element(element: str, resolves: bool) -> None:
    contract = _load(CONTRACT).model
    assert contract is not None
    assert resolve_element(contract, element) is resolves


def test_sla_elements_each_name_in_a_list_is_checked() -> None:
    text = CONTRACT + (
        "slaDefaultElement: orders.nope\n"
        "slaProperties:\n"
        "  - property: latency\n    value: 1\n    element: orders.order_id, customers.missing\n"
        "  - property: retention\n    value: 1\n    element: orders\n"
    )
    loaded = _load(text)
    assert loaded.model is not None
    diags = check_references(loaded.model, loaded.document)
    assert [(d.code, d.line, d.path) for d in diags] == [
        ("unresolved-element", 35, "$.slaProperties[0].element"),
        ("unresolved-element", 31, "$.slaDefaultElement"),
    ]
    assert "'customers.missing'" in diags[0].message
    assert all(d.severity is Severity.ERROR for d in diags)


def test_schema_level_relationships_check_both_sides() -> None:
    text = CONTRACT + "    relationships:\n      - from: customers.customer_id\n        to: orders.customer\n"
    loaded = _load(text)
    assert loaded.model is not None
    diags = check_references(loaded.model, loaded.document, Severity.WARNING)
    assert [(d.code, d.severity, d.line, d.path) for d in diags] == [
        ("unresolved-relationship", Severity.WARNING, 33, "$.schema[1].relationships[0].to")
    ]
    assert "'orders.customer'" in diags[0].message


def test_fully_qualified_and_external_references_are_left_alone() -> None:
    text = CONTRACT.replace(
        "        physicalName: id\n",
        "        physicalName: id\n        relationships:\n          - to: other.yaml#/schema/orders/properties/order_id\n",
    )
    loaded = _load(text)
    assert loaded.model is not None
    assert check_references(loaded.model, loaded.document) == []


def test_rule_arguments_name_properties_of_their_object() -> None:
    text = CONTRACT + (
        "    quality:\n"
        "      - metric: duplicateValues\n        arguments:\n          properties: [customer_id, email]\n        mustBe: 0\n"
    )
    loaded = _load(text)
    assert loaded.model is not None
    diags = check_references(loaded.model, loaded.document)
    assert [(d.code, d.line, d.path) for d in diags] == [
        ("unresolved-rule-property", 34, "$.schema[1].quality[0].arguments.properties")
    ]
    assert "'email'" in diags[0].message and "'customers'" in diags[0].message


def test_without_a_document_the_finding_has_no_position() -> None:
    loaded = _load(CONTRACT + "slaDefaultElement: nowhere\n")
    assert loaded.model is not None
    (diag,) = check_references(loaded.model, None)
    assert (diag.code, diag.line, diag.file) == ("unresolved-element", None, None)

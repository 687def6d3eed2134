"""Relationships (ODCS v3.1 foreign keys): one missing-reference count per relationship."""

from __future__ import annotations

import pyarrow as pa
from checks_support import check, contract_doc, run_doc

ORDERS = pa.table(
    {
        "id": pa.array([1, 2, 3, 4, 5], pa.int64()),
        "customer_id": pa.array([10, 11, 99, None, 10], pa.int64()),
        "country": pa.array(["fr", "de", "fr", "fr", "it"], pa.string()),
        "parent": pa.array([None, 1, 1, 7, None], pa.int64()),
        "shop": pa.array(["10", "11", "12", None, "10"], pa.string()),
    }
)
CUSTOMERS = pa.table({"id": pa.array([10, 11, 12], pa.int64()), "country": pa.array(["fr", "de", "fr"], pa.string())})


def _orders(*extra: dict, relationships: list | None = None, **by_property: list) -> dict:
    names = ("id", "customer_id", "country", "parent", "shop")
    props = [{"name": n, **({"relationships": by_property[n]} if n in by_property else {})} for n in names]
    obj: dict = {"name": "orders", "properties": props}
    if relationships:
        obj["relationships"] = relationships
    return obj


CUSTOMERS_OBJECT = {"name": "customers", "physicalName": "customers",
                    "properties": [{"id": "cust_id", "name": "id"}, {"name": "country"}], "id": "cust"}  # fmt: skip


def test_a_dangling_reference_fails_with_its_count(tmp_path) -> None:
    doc = contract_doc([_orders(customer_id=[{"to": "customers.id"}]), CUSTOMERS_OBJECT])
    run = run_doc(tmp_path, doc, {"orders": ORDERS, "customers": CUSTOMERS})
    result = check(run, "orders.customer_id.relationship")
    assert (result.status.value, result.observed, result.threshold) == ("failed", 1, "= 0")
    assert result.message == "1 row(s) reference a missing customers.id"
    assert result.spec.kind == "relationship"
    assert run.result.value == "failed"


def test_references_that_all_match_pass_nulls_reference_nothing(tmp_path) -> None:
    doc = contract_doc([_orders(parent=[{"to": "orders.id"}], shop=[{"to": "schema/cust/properties/cust_id"}]),
                        CUSTOMERS_OBJECT])  # fmt: skip
    run = run_doc(tmp_path, doc, {"orders": ORDERS, "customers": CUSTOMERS})
    assert check(run, "orders.parent.relationship").observed == 1  # 7 is no order id (self-reference)
    # text against integers: compared as text, fully qualified reference by ids
    shop = check(run, "orders.shop.relationship")
    assert (shop.status.value, shop.observed) == ("passed", 0), shop.message


def test_a_composite_schema_level_relationship(tmp_path) -> None:
    rel = {"from": ["orders.customer_id", "orders.country"], "to": ["customers.id", "customers.country"]}
    doc = contract_doc([_orders(relationships=[rel]), CUSTOMERS_OBJECT])
    result = check(run_doc(tmp_path, doc, {"orders": ORDERS, "customers": CUSTOMERS}), "orders.relationship")
    assert (result.status.value, result.observed) == ("failed", 2)  # (99, fr) and (10, it)
    assert result.spec.property == "customer_id, country"


def test_a_reference_outside_the_contract_is_skipped_with_the_reason(tmp_path) -> None:
    doc = contract_doc([_orders(customer_id=[{"to": "crm_customers.id"}, {"to": "crm.yaml#/schema/c/properties/id"}])])
    run = run_doc(tmp_path, doc, {"orders": ORDERS})
    for check_id in ("orders.customer_id.relationship", "orders.customer_id.relationship#2"):
        result = check(run, check_id)
        assert result.status.value == "skipped"
        assert "relationships across contracts and servers are not checked" in result.message
    assert run.result.value == "passed"


def test_relationships_that_cannot_be_read_are_errors(tmp_path) -> None:
    rels = [
        {"from": ["customers.id"], "to": ["customers.id"]},  # `from` outside the object
        {"from": ["orders.customer_id", "orders.country"], "to": ["customers.id"]},  # lengths differ
    ]
    doc = contract_doc([_orders(relationships=rels, customer_id=[{"to": "customers.nope"}]), CUSTOMERS_OBJECT])
    run = run_doc(tmp_path, doc, {"orders": ORDERS, "customers": CUSTOMERS})
    assert "must name properties of orders" in check(run, "orders.relationship").message
    assert "2 column(s) reference 1" in check(run, "orders.relationship#2").message
    missing_column = check(run, "orders.customer_id.relationship")
    assert "customers has no column nope" in missing_column.message
    assert {check(run, i).status.value for i in ("orders.relationship", "orders.relationship#2")} == {"error"}
    assert missing_column.status.value == "error"


def test_a_missing_referenced_dataset_skips_the_check(tmp_path) -> None:
    doc = contract_doc([_orders(customer_id=[{"to": "customers.id"}]), CUSTOMERS_OBJECT])
    run = run_doc(tmp_path, doc, {"orders": ORDERS})
    result = check(run, "orders.customer_id.relationship")
    assert result.status.value == "skipped" and "the referenced object customers is missing" in result.message
    assert check(run, "customers.schema.object").status.value == "failed"

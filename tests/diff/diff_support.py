"""Builders for diff tests: a small but complete base contract, and helpers to edit it.

Every contract a test builds goes through the real loader (official JSON Schema + models), so the
fixtures stay valid ODCS.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

import yaml

from meshplane.diff import ContractDiff, Perspective, diff_contracts
from meshplane.spec.loader import load_text
from meshplane.spec.odcs import Contract

BASE_YAML = """
apiVersion: v3.1.0
kind: DataContract
id: shop.orders
name: Orders
version: 1.0.0
status: active
domain: sales
dataProduct: orders
tenant: shop
description:
  purpose: Orders of the shop.
tags: [sales]
servers:
  - server: lake
    type: local
    environment: prod
    path: sales/orders/*.parquet
    format: parquet
    roles:
      - role: lake_reader
        access: read
schema:
  - id: orders_obj
    name: orders
    physicalName: orders_v1
    physicalType: table
    description: One row per order.
    dataGranularityDescription: One row per order
    properties:
      - id: order_id_prop
        name: order_id
        logicalType: string
        physicalType: VARCHAR
        primaryKey: true
        primaryKeyPosition: 1
        required: true
        unique: true
        classification: internal
        logicalTypeOptions:
          pattern: '^ORD-[0-9]{6}$'
          minLength: 10
          maxLength: 10
      - name: customer_id
        logicalType: string
        physicalType: VARCHAR
        required: true
        classification: confidential
        relationships:
          - to: customers.customer_id
      - name: status
        logicalType: string
        physicalType: VARCHAR
        required: true
        quality:
          - metric: invalidValues
            arguments:
              validValues: [placed, shipped]
            mustBe: 0
            severity: error
      - name: amount
        logicalType: number
        physicalType: DECIMAL(10,2)
        logicalTypeOptions:
          minimum: 0
          maximum: 1000
          multipleOf: 0.01
        quality:
          - type: sql
            query: SELECT COUNT(*) FROM {object} WHERE {property} < 0
            mustBe: 0
      - name: placed_at
        logicalType: timestamp
        physicalType: TIMESTAMP
        logicalTypeOptions:
          format: yyyy-MM-dd HH:mm:ss
          timezone: true
      - name: note
        logicalType: string
        physicalType: VARCHAR
        description: Free text.
      - name: tags
        logicalType: array
        physicalType: ARRAY<VARCHAR>
        logicalTypeOptions:
          maxItems: 5
        items:
          logicalType: string
          physicalType: VARCHAR
      - name: address
        logicalType: object
        physicalType: STRUCT
        properties:
          - name: city
            logicalType: string
            physicalType: VARCHAR
          - name: zip
            logicalType: string
            physicalType: VARCHAR
    quality:
      - metric: rowCount
        mustBeGreaterThan: 100
        severity: error
      - name: recent
        type: sql
        query: SELECT COUNT(*) FROM {object} WHERE placed_at < now() - interval 2 day
        mustBeLessThan: 10
        schedule: "0 6 * * *"
        scheduler: cron
  - name: customers
    physicalType: table
    properties:
      - name: customer_id
        logicalType: string
        physicalType: VARCHAR
        required: true
slaDefaultElement: orders.placed_at
slaProperties:
  - property: latency
    value: 1
    unit: d
  - property: retention
    value: 3
    unit: y
  - property: timeOfAvailability
    value: "09:00"
roles:
  - role: analyst
    access: read
    firstLevelApprovers: Sales lead
team:
  name: Sales data
  members:
    - username: ann
      role: owner
support:
  - channel: "#sales-data"
    tool: slack
price:
  priceAmount: 1
  priceCurrency: EUR
  priceUnit: month
customProperties:
  - property: costCenter
    value: "42"
"""

Doc = dict[str, Any]
Edit = Callable[[Doc], Any]


def base() -> Doc:
    """A fresh copy of the base contract document."""
    return copy.deepcopy(_BASE)


_BASE: Doc = yaml.safe_load(BASE_YAML)


def build(doc: Doc, name: str = "contract.odcs.yaml") -> Contract:
    """A contract through the real loader; fails the test when the document is not valid ODCS."""
    return _load(yaml.safe_dump(doc, sort_keys=False), name)


@functools.lru_cache(maxsize=512)
def _load(text: str, name: str) -> Contract:
    loaded = load_text(text, name)
    assert loaded.ok, "\n".join(str(d) for d in loaded.diagnostics)
    assert loaded.model is not None
    return loaded.model


def edited(*edits: Edit | None) -> Doc:
    """The base document with edits applied in order."""
    doc = base()
    for edit in edits:
        if edit is not None:
            edit(doc)
    return doc


def diff_docs(before: Doc, after: Doc, perspective: Perspective = Perspective.CONSUMER) -> ContractDiff:
    """Diff two documents (each loaded through the real loader)."""
    return diff_contracts(build(before), build(after), perspective)


# --- navigation ------------------------------------------------------------------------------


def obj(doc: Doc, name: str) -> Doc:
    """The schema object called ``name``."""
    return next(o for o in doc["schema"] if o["name"] == name)


def prop(doc: Doc, object_name: str, *names: str) -> Doc:
    """A property by its path of names (``prop(doc, "orders", "address", "city")``)."""
    node = obj(doc, object_name)
    for name in names:
        node = next(p for p in node["properties"] if p["name"] == name)
    return node


def drop_prop(doc: Doc, object_name: str, name: str) -> None:
    """Remove a top-level property."""
    o = obj(doc, object_name)
    o["properties"] = [p for p in o["properties"] if p["name"] != name]


def sla(doc: Doc, name: str) -> Doc:
    """The SLA property called ``name``."""
    return next(s for s in doc["slaProperties"] if s["property"] == name)


def quality(node: Doc, index: int = 0) -> Doc:
    """The ``index``-th quality rule of an object or property."""
    rule: Doc = node["quality"][index]
    return rule


def setter(**values: Any) -> Callable[[Doc], None]:
    """An edit setting top-level keys."""
    return lambda doc: doc.update(values)

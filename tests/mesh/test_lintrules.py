"""Lint warnings: each rule fires where it should, points at the right place, and only warns."""

from __future__ import annotations

import pytest

from meshplane.diagnostics import Diagnostic, Severity
from meshplane.mesh.lintrules import PII_NAME, ContractLint, ProductLint, lint_contract, lint_product
from meshplane.spec.loader import load_text
from meshplane.spec.meshfiles import Domain
from meshplane.spec.odcs import Contract
from meshplane.spec.odps import DataProduct

CLEAN_CONTRACT = """\
apiVersion: v3.1.0
kind: DataContract
id: crm.customers.customers
version: 1.0.0
status: active
description:
  purpose: Customers.
schema:
  - name: customers
    description: One row per customer.
    properties:
      - name: customer_id
        description: Customer identifier.
        logicalType: string
      - name: email
        description: Contact address.
        logicalType: string
        classification: restricted
    quality:
      - metric: rowCount
        mustBeGreaterThan: 0
slaProperties:
  - property: latency
    value: 1
    unit: d
"""

CLEAN_PRODUCT = """\
apiVersion: v1.0.0
kind: DataProduct
id: crm.customers
status: active
description:
  purpose: Customers.
outputPorts:
  - name: customers
    description: One row per customer.
    version: 1.0.0
    contractId: crm.customers.customers
support:
  - channel: "#crm"
    url: https://chat.example.com/crm
"""


def contract_warnings(text: str, *, is_output_port: bool = True) -> list[Diagnostic]:
    loaded = load_text(text, "c.odcs.yaml")
    assert loaded.ok, [str(d) for d in loaded.diagnostics]
    assert isinstance(loaded.model, Contract)
    return lint_contract(ContractLint(loaded.model, loaded.document, "c.odcs.yaml", is_output_port))


def product_warnings(text: str, domain: Domain | None = None) -> list[Diagnostic]:
    loaded = load_text(text, "p.odps.yaml")
    assert loaded.ok, [str(d) for d in loaded.diagnostics]
    assert isinstance(loaded.model, DataProduct)
    return lint_product(ProductLint(loaded.model, loaded.document, "p.odps.yaml", domain))


def where(diags: list[Diagnostic]) -> list[tuple[str, int | None, str | None]]:
    assert all(d.severity is Severity.WARNING for d in diags)
    return [(d.code, d.line, d.path) for d in diags]


def test_clean_contract_and_product_have_no_warnings() -> None:
    assert contract_warnings(CLEAN_CONTRACT) == []
    assert product_warnings(CLEAN_PRODUCT) == []


def test_missing_descriptions_at_each_level() -> None:
    text = (
        CLEAN_CONTRACT.replace("description:\n  purpose: Customers.\n", "")
        .replace("    description: One row per customer.\n", "")
        .replace("        description: Contact address.\n", "")
    )
    diags = contract_warnings(text)
    assert where(diags) == [
        ("missing-description", 1, "$"),
        ("missing-description", 7, "$.schema[0]"),
        ("missing-description", 12, "$.schema[0].properties[1]"),
    ]
    assert "property 'customers.email' has no description" in diags[2].message


def test_no_freshness_sla_only_for_output_ports() -> None:
    text = CLEAN_CONTRACT.replace("  - property: latency\n", "  - property: retention\n")
    assert where(contract_warnings(text)) == [("no-freshness-sla", 1, "$")]
    assert contract_warnings(text, is_output_port=False) == []
    assert contract_warnings(CLEAN_CONTRACT.replace("property: latency", "property: Freshness")) == []


@pytest.mark.parametrize(
    "name",
    [
        "email",
        "customer_email",
        "e_mail",
        "phone",
        "mobile_number",
        "iban",
        "ssn",
        "birth_date",
        "date_of_birth",
        "dob",
        "street_address",
        "postcode",
        "zip_code",
        "first_name",
        "lastname",
        "ip_address",
        "EMAIL",
    ],
)
def test_pii_looking_names(name: str) -> None:
    assert PII_NAME.search(name)


@pytest.mark.parametrize(
    "name", ["customer_id", "emailed_at", "addresses_count", "zipper", "phoneme", "order_date", "name"]
)
def test_names_that_are_not_pii(name: str) -> None:
    assert not PII_NAME.search(name)


def test_unclassified_pii_points_at_the_property_including_nested_ones() -> None:
    text = CLEAN_CONTRACT.replace("        classification: restricted\n", "").replace(
        "      - name: customer_id\n",
        "      - name: home\n        description: Home.\n        logicalType: object\n        properties:\n"
        "          - name: phone\n            description: Phone.\n            logicalType: string\n"
        "      - name: customer_id\n",
    )
    diags = contract_warnings(text)
    assert where(diags) == [
        ("pii-unclassified", 16, "$.schema[0].properties[0].properties[0]"),
        ("pii-unclassified", 22, "$.schema[0].properties[2]"),
    ]
    assert "'customers.home.phone'" in diags[0].message


def test_quality_rules_on_a_property_count() -> None:
    no_rules = CLEAN_CONTRACT.replace("    quality:\n      - metric: rowCount\n        mustBeGreaterThan: 0\n", "")
    assert where(contract_warnings(no_rules)) == [("no-quality-rules", 1, "$")]
    assert contract_warnings(no_rules, is_output_port=False) == []
    on_property = no_rules.replace(
        "        logicalType: string\n        classification",
        "        logicalType: string\n        quality:\n          - metric: nullValues\n            mustBe: 0\n        classification",
    )
    assert contract_warnings(on_property) == []


def test_product_description_and_output_port_description() -> None:
    text = CLEAN_PRODUCT.replace("description:\n  purpose: Customers.\n", "").replace(
        "    description: One row per customer.\n", ""
    )
    assert where(product_warnings(text)) == [
        ("missing-description", 1, "$"),
        ("missing-description", 6, "$.outputPorts[0]"),
    ]


def test_support_channel_of_the_product_or_its_domain() -> None:
    text = CLEAN_PRODUCT.replace('support:\n  - channel: "#crm"\n    url: https://chat.example.com/crm\n', "")
    assert where(product_warnings(text)) == [("no-support-channel", 1, "$")]
    domain = Domain.model_validate(
        {
            "apiVersion": "meshplane/v1",
            "kind": "Domain",
            "id": "crm",
            "team": {"name": "CRM", "members": [{"username": "bo", "role": "owner"}]},
            "support": [{"channel": "#crm", "url": "https://chat.example.com/crm"}],
        },
        by_alias=True,
    )
    assert product_warnings(text, domain) == []

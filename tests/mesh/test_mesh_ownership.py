"""The prefix rule of ids: which domain owns an id."""

from __future__ import annotations

import pytest

from meshplane.mesh.ownership import contract_prefix, is_under, owning_domain, product_prefix

DOMAINS = ("retail", "retail-eu", "finance")


@pytest.mark.parametrize(
    ("identifier", "owner"),
    [
        ("retail.sales", "retail"),
        ("retail.sales.returns", "retail"),
        ("retail-eu.sales", "retail-eu"),
        ("retail.export", "retail"),
        ("retailer.sales", None),  # a prefix ends at a dot
        ("retail", None),
        ("finance.ledger.entries", "finance"),
        ("crm.customers", None),
    ],
)
def test_owning_domain(identifier: str, owner: str | None) -> None:
    assert owning_domain(identifier, DOMAINS) == owner


def test_prefixes() -> None:
    assert product_prefix("retail") == "retail."
    assert contract_prefix("retail.sales") == "retail.sales."
    assert is_under("retail.sales", "retail.")
    assert not is_under("retail.", "retail.")
    assert not is_under("finance.ledger", "retail.")

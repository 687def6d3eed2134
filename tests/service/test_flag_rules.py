"""The rules of `meshplane.service.flags` as data: when a schema facet is complete, what drift it shows, and what
agreement history covers a moment (approval to revocation, never past the end date)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from meshplane.service.agreements import ActivePeriod, AgreementHistory
from meshplane.service.flags import facet_is_complete, schema_drift

DBT = "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/integration/dbt"
SPARK = "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/integration/spark"
COLUMNS = {"order_id": "string", "amount": "number", "ordered_at": "timestamp"}


@pytest.mark.parametrize(
    ("producer", "fields", "complete"),
    [
        (SPARK, [("order_id", "string"), ("amount", "double")], True),
        (None, [("order_id", "VARCHAR")], True),
        (SPARK, [("order_id", "string"), ("amount", None)], False),  # an untyped field: partial, whoever sent it
        (DBT, [("order_id", "varchar"), ("amount", "double")], False),  # dbt lists documented columns only
        ("pip install dbt-ol", [("order_id", "varchar")], False),
        (SPARK, [], False),
    ],
)
def test_a_facet_is_complete_when_typed_and_not_from_dbt(
    producer: str | None, fields: list[tuple[str, str | None]], complete: bool
) -> None:
    assert facet_is_complete(producer, fields) is complete


@pytest.mark.parametrize(
    ("fields", "complete", "expected"),
    [
        ([("order_id", "VARCHAR")], False, []),
        ([("order_id", "VARCHAR")], True, [("missing", "amount"), ("missing", "ordered_at")]),
        ([("order_id", None), ("coupon", None)], False, [("extra", "coupon")]),
        ([("amount", "VARCHAR")], False, [("type", "amount")]),
        ([("ORDER_ID", "BIGINT")], False, [("type", "order_id")]),
    ],
)
def test_only_what_a_facet_states_is_drift(
    fields: list[tuple[str, str | None]], complete: bool, expected: list[tuple[str, str]]
) -> None:
    assert [(d["kind"], d["column"]) for d in schema_drift(fields, COLUMNS, complete=complete)] == expected


def _at(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


KEY = ("finance.ledger", "retail.sales", "orders")


def test_the_history_answers_per_moment() -> None:
    history = AgreementHistory(
        periods={KEY: [ActivePeriod(1, _at(10), _at(12)), ActivePeriod(2, _at(15), None)]},
        transitions={
            KEY: [
                (_at(9), 1, "requested", None), (_at(10), 1, "approved", None), (_at(10), 1, "active", None),
                (_at(12), 1, "revoked", None), (_at(14), 2, "requested", date(2026, 11, 20)),
                (_at(15), 2, "approved", date(2026, 11, 20)), (_at(15), 2, "active", date(2026, 11, 20)),
            ]
        },
    )  # fmt: skip
    assert history.state_at(KEY, _at(8)) is None
    assert history.state_at(KEY, _at(9, 12)) == "requested"
    assert history.covering(KEY, _at(9, 12)) is None
    assert history.covering(KEY, _at(11)) is not None and history.state_at(KEY, _at(11)) == "active"
    assert history.covering(KEY, _at(12)) is None and history.state_at(KEY, _at(12)) == "revoked"
    assert history.state_at(KEY, _at(14, 1)) == "requested"  # the open request wins over the revoked one
    assert history.state_at(KEY, _at(20, 23)) == "active"
    assert history.state_at(KEY, _at(21, 1)) == "expired"  # past its end date
    assert history.covering(("x", "y", "z"), _at(11)) is None

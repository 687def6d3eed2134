"""SQL rules: placeholders, the read-only guard, folding into the object's scan."""

from __future__ import annotations

import pytest
from sqlglot import exp

from meshplane.checks.sqltext import RuleSqlError, fold_into_scan, parse_read_only, substitute

ORDERS = exp.Table(this=exp.to_identifier("orders", quoted=True))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SELECT COUNT(*) FROM {object}", 'SELECT COUNT(*) FROM "orders"'),
        ("SELECT COUNT(*) FROM ${object}", 'SELECT COUNT(*) FROM "orders"'),
        ("SELECT COUNT(*) FROM ${table} WHERE ${column} IS NULL", 'SELECT COUNT(*) FROM "orders" WHERE "v" IS NULL'),
        ("SELECT COUNT(*) FROM {model} WHERE {property} < 0", 'SELECT COUNT(*) FROM "orders" WHERE "v" < 0'),
        ("SELECT COUNT(*) FROM {table} WHERE {column} = ${property}", 'SELECT COUNT(*) FROM "orders" WHERE "v" = "v"'),
    ],
)
def test_placeholders(query, expected) -> None:
    assert substitute(query, '"orders"', '"v"') == expected


def test_property_placeholder_needs_a_property() -> None:
    with pytest.raises(RuleSqlError, match="not on a property"):
        substitute("SELECT COUNT({property}) FROM {object}", '"orders"', None)


@pytest.mark.parametrize(
    "query",
    [
        "DELETE FROM orders",
        "INSERT INTO orders VALUES (1)",
        "UPDATE orders SET v = 1",
        "DROP TABLE orders",
        "CREATE TABLE x AS SELECT 1",
        "ATTACH 'other.db'",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET threads = 1",
        "PRAGMA version",
        "COPY orders TO 'out.csv'",
        "CALL pragma_version()",
        "SELECT 1; SELECT 2",
        "SELECT 1; DELETE FROM orders",
        "WITH gone AS (DELETE FROM orders RETURNING *) SELECT COUNT(*) FROM gone",
        "SELEC 1",
        "",
    ],
)
def test_only_one_read_only_select(query) -> None:
    with pytest.raises(RuleSqlError):
        parse_read_only(query, "duckdb")


@pytest.mark.parametrize(
    "query",
    [
        "SELECT COUNT(*) FROM orders",
        "WITH x AS (SELECT v FROM orders) SELECT COUNT(*) FROM x",
        "SELECT COUNT(*) FROM orders UNION ALL SELECT 1",
        "select count(*) from orders where v in (select v from orders where v > 1)",
    ],
)
def test_read_only_queries_are_accepted(query) -> None:
    assert isinstance(parse_read_only(query, "duckdb"), exp.Query)


@pytest.mark.parametrize(
    ("query", "folded"),
    [
        ("SELECT COUNT(*) FROM orders WHERE v < 0", "COUNT_IF(v < 0)"),
        ('SELECT COUNT(*) FROM "orders" WHERE orders.v < 0', "COUNT_IF(v < 0)"),
        ("SELECT SUM(v) / COUNT(*) FROM orders", "SUM(v) / COUNT(*)"),
        ("SELECT MAX(v) AS m FROM orders", "MAX(v)"),
        ("SELECT COUNT(*) * 100.0 / COUNT(*) FROM orders WHERE v IS NULL",
         "COUNT_IF(v IS NULL) * 100.0 / COUNT_IF(v IS NULL)"),
        ("SELECT COUNT(DISTINCT v) FROM orders WHERE w = 'x'", "COUNT(DISTINCT v) FILTER(WHERE w = 'x')"),
        ("SELECT COUNT(*) FROM ORDERS", "COUNT(*)"),
    ],
)  # fmt: skip
def test_folding(query, folded) -> None:
    result = fold_into_scan(parse_read_only(query, "duckdb"), ORDERS, {"orders"})
    assert result is not None
    # COUNT(*) FILTER (WHERE p) and COUNT_IF(p) are the same aggregate; accept either rendering
    rendered = result.sql("duckdb").replace("COUNT(*) FILTER(WHERE ", "COUNT_IF(")
    assert rendered == folded


@pytest.mark.parametrize(
    "query",
    [
        "SELECT COUNT(*) FROM other WHERE v < 0",
        "SELECT COUNT(*) FROM orders o WHERE o.v < 0",
        "SELECT COUNT(*) FROM orders JOIN other ON true",
        "SELECT COUNT(*) FROM orders GROUP BY v",
        "SELECT COUNT(*), MAX(v) FROM orders",
        "SELECT v FROM orders",
        "SELECT COUNT(*) FROM orders WHERE v IN (SELECT v FROM other)",
        "SELECT COUNT(*) FROM (SELECT * FROM orders)",
        "SELECT DISTINCT COUNT(*) FROM orders",
        "SELECT COUNT(*) FROM orders LIMIT 1",
        "SELECT ROW_NUMBER() OVER () FROM orders",
        "SELECT COUNT(*) FROM other.orders",
        "WITH x AS (SELECT 1) SELECT COUNT(*) FROM orders",
    ],
)
def test_not_folded(query) -> None:
    assert fold_into_scan(parse_read_only(query, "duckdb"), ORDERS, {"orders"}) is None

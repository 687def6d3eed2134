"""The demo lake generator: placement, formats, types, determinism, contract conformance, violations.

Contract conformance is verified here with pyarrow only (required, unique, keys, patterns, lengths,
ranges, valid values, duplicates, row counts, freshness/latency/retention SLAs), independently of
meshplane's own checks; the SQL rules are left to the engine tests.
"""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import yaml
from pyiceberg.table import StaticTable

from meshplane.demo import lakedata
from meshplane.demo.lakegen import (
    CONTRACT_IDS,
    VIOLATING_CONTRACT,
    ContractTarget,
    LakeSummary,
    arrow_type,
    data_location,
    generate_lake,
    load_targets,
)

REPO = Path(__file__).resolve().parents[2]
MESH = REPO / "examples" / "holding"
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
UNITS = {"d": timedelta(days=1), "h": timedelta(hours=1), "y": timedelta(days=365)}
VIOLATION_COUNTS = {
    "duplicate_response_ids": 3,
    "null_campaign_ids": 5,
    "invalid_emails": 4,
    "invalid_response_types": 2,
}


def _contracts(mesh: Path = MESH) -> dict[str, dict[str, Any]]:
    docs = [yaml.safe_load(p.read_text()) for p in sorted(mesh.glob("domains/*/products/*/contracts/*.odcs.yaml"))]
    return {doc["id"]: doc for doc in docs}


def _copy_mesh(tmp_path: Path) -> Path:
    return Path(shutil.copytree(MESH, tmp_path / "mesh", ignore=shutil.ignore_patterns("lake", ".meshplane")))


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> LakeSummary:
    return generate_lake(MESH, tmp_path_factory.mktemp("lake"), rows=1000, seed=7, now=NOW)


def _newest_metadata(location: Path) -> Path:
    return sorted((location / "metadata").glob("*.metadata.json"))[-1]


def read_dataset(lake_root: Path, contract: dict[str, Any]) -> pa.Table:
    """Read a contract's data the way a consumer would: from the server path, resolved on the lake root."""
    server = contract["servers"][0]
    if server["format"] == "iceberg":
        table = StaticTable.from_metadata(str(_newest_metadata(lake_root / server["path"]))).scan().to_arrow()
        return table.cast(
            pa.schema(
                [f.with_type(pa.string()) if f.type == pa.large_string() else f for f in table.schema]
            ).remove_metadata()
        )
    files = sorted(lake_root.glob(server["path"]))
    assert files, f"no data at {server['path']}"
    if server["format"] == "csv":
        schema = ContractTarget(contract["id"], server["path"], "csv", _columns(contract)).schema
        options = pacsv.ConvertOptions(column_types=schema)
        return pa.concat_tables([pacsv.read_csv(f, convert_options=options) for f in files])
    return pa.concat_tables([pq.read_table(f) for f in files])


def _columns(contract: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple((p["name"], p["physicalType"]) for p in contract["schema"][0]["properties"])


# ---------------------------------------------------------------- a small contract checker (pyarrow)


def _judge(value: float, rule: dict[str, Any]) -> bool:
    if "mustBe" in rule:
        return value == rule["mustBe"]
    if "mustBeGreaterThan" in rule:
        return value > rule["mustBeGreaterThan"]
    if "mustBeGreaterOrEqualTo" in rule:
        return value >= rule["mustBeGreaterOrEqualTo"]
    if "mustBeLessThan" in rule:
        return value < rule["mustBeLessThan"]
    if "mustBeLessOrEqualTo" in rule:
        return value <= rule["mustBeLessOrEqualTo"]
    low, high = rule["mustBeBetween"]
    return bool(low <= value <= high)


def _metric(table: pa.Table, rule: dict[str, Any], column: str | None) -> float:
    n = table.num_rows
    args = rule.get("arguments", {})
    col = table.column(column) if column else None
    if rule["metric"] == "rowCount":
        return n
    if rule["metric"] == "nullValues":
        value = col.null_count
    elif rule["metric"] == "missingValues":
        present = [v for v in args["missingValues"] if v is not None]
        value = col.null_count + int(pc.sum(pc.is_in(col, pa.array(present, col.type))).as_py() or 0)
    elif rule["metric"] == "invalidValues":
        valid = pa.array(args["validValues"], col.type)
        value = int(pc.sum(pc.invert(pc.is_in(col, valid))).as_py() or 0)  # nulls are not invalid
    else:  # duplicateValues
        keys = args.get("properties") or [column]
        value = n - table.group_by(keys).aggregate([]).num_rows
    return 100.0 * value / n if rule.get("unit") == "percent" else value


def _bound(prop: dict[str, Any], key: str) -> Any:
    value = prop["logicalTypeOptions"][key]
    return date.fromisoformat(value) if prop["logicalType"] == "date" else Decimal(str(value))


def check_contract(table: pa.Table, contract: dict[str, Any], now: datetime) -> list[str]:
    """Names of the contract rules the data breaks (empty when it conforms)."""
    failures: list[str] = []
    obj = contract["schema"][0]
    props = obj["properties"]
    if table.column_names != [p["name"] for p in props]:
        failures.append("columns")
    for prop in props:
        name, col = prop["name"], table.column(prop["name"])
        present = pc.drop_null(col)
        opts = prop.get("logicalTypeOptions", {})
        if prop.get("required") and col.null_count:
            failures.append(f"{name}:required")
        if prop.get("unique") and pc.count_distinct(present).as_py() != len(present):
            failures.append(f"{name}:unique")
        if "pattern" in opts and not pc.all(pc.match_substring_regex(present, opts["pattern"])).as_py():
            failures.append(f"{name}:pattern")
        if (
            opts.get("format") == "email"
            and not pc.all(pc.match_substring_regex(present, r"^[^@\s]+@[^@\s]+\.[^@\s]+$")).as_py()
        ):
            failures.append(f"{name}:format")
        if "minLength" in opts and pc.min(pc.utf8_length(present)).as_py() < opts["minLength"]:
            failures.append(f"{name}:minLength")
        if "maxLength" in opts and pc.max(pc.utf8_length(present)).as_py() > opts["maxLength"]:
            failures.append(f"{name}:maxLength")
        if prop["logicalType"] in ("number", "integer", "date") and len(present):
            low, high = pc.min(present).as_py(), pc.max(present).as_py()
            if prop["logicalType"] != "date":
                low, high = Decimal(str(low)), Decimal(str(high))
            if "minimum" in opts and low < _bound(prop, "minimum"):
                failures.append(f"{name}:minimum")
            if "exclusiveMinimum" in opts and low <= _bound(prop, "exclusiveMinimum"):
                failures.append(f"{name}:exclusiveMinimum")
            if "maximum" in opts and high > _bound(prop, "maximum"):
                failures.append(f"{name}:maximum")
        for rule in prop.get("quality", []):
            if rule.get("type") != "sql" and not _judge(_metric(table, rule, name), rule):
                failures.append(f"{name}:{rule['metric']}")
    keys = [p["name"] for p in sorted(props, key=lambda p: p.get("primaryKeyPosition", -1)) if p.get("primaryKey")]
    if keys and table.group_by(keys).aggregate([]).num_rows != table.num_rows:
        failures.append("primaryKey")
    for rule in obj.get("quality", []):
        if rule.get("type") != "sql" and not _judge(_metric(table, rule, None), rule):
            failures.append(f"{obj['name']}:{rule['metric']}")
    for sla in contract.get("slaProperties", []):
        if sla["property"] not in ("freshness", "latency", "retention"):
            continue
        column = table.column(sla["element"].split(".")[1])
        limit = UNITS[sla["unit"]] * sla["value"]
        newest, oldest = pc.max(column).as_py(), pc.min(column).as_py()
        if isinstance(newest, date) and not isinstance(newest, datetime):
            newest = datetime.combine(newest, datetime.min.time(), UTC)
            oldest = datetime.combine(oldest, datetime.min.time(), UTC)
        if sla["property"] == "retention" and oldest < now - limit:
            failures.append("sla:retention")
        if sla["property"] != "retention" and (newest < now - limit or newest > now):
            failures.append(f"sla:{sla['property']}")
    return failures


# ---------------------------------------------------------------- placement, formats, types


def test_every_contract_of_the_mesh_gets_data_at_its_server_path(lake: LakeSummary) -> None:
    contracts = _contracts()
    assert sorted(contracts) == sorted(CONTRACT_IDS)
    assert sorted(t.contract_id for t in lake.tables) == sorted(contracts)
    assert lake.skipped == ()
    for contract_id, contract in contracts.items():
        server = contract["servers"][0]
        written = lake.table(contract_id)
        assert written.format == server["format"]
        if server["format"] == "iceberg":
            assert written.path == lake.lake_root / server["path"]
            assert _newest_metadata(written.path).exists()
        else:
            assert sorted(lake.lake_root.glob(server["path"])) == [written.path]
        assert read_dataset(lake.lake_root, contract).num_rows == written.rows > 0


def test_formats_are_parquet_csv_and_iceberg(lake: LakeSummary) -> None:
    formats = {t.contract_id: t.format for t in lake.tables}
    assert formats["retail.catalog.products"] == "csv"
    assert formats["finance.ledger.ledger_entries"] == "iceberg"
    assert set(formats.values()) == {"parquet", "csv", "iceberg"}
    products = lake.table("retail.catalog.products").path
    assert products.read_text().splitlines()[0].startswith('"sku","product_name"')
    pq.read_metadata(lake.table("retail.sales.orders").path)  # a real Parquet file


def test_parquet_schemas_are_exactly_the_contract_types(lake: LakeSummary) -> None:
    for contract_id, contract in _contracts().items():
        if contract["servers"][0]["format"] != "parquet":
            continue
        schema = pq.read_schema(lake.table(contract_id).path).remove_metadata()
        expected = pa.schema([pa.field(n, arrow_type(t)) for n, t in _columns(contract)])
        assert schema.equals(expected), contract_id


def test_csv_columns_and_inferred_types_match_the_contract(lake: LakeSummary) -> None:
    contract = _contracts()["retail.catalog.products"]
    inferred = pacsv.read_csv(lake.table("retail.catalog.products").path).schema
    assert inferred.names == [n for n, _ in _columns(contract)]
    for (name, physical), field in zip(_columns(contract), inferred, strict=True):
        expected = arrow_type(physical)
        if pa.types.is_timestamp(expected):
            assert pa.types.is_timestamp(field.type) and field.type.tz == expected.tz, name
        else:
            assert field.type == expected, name


def test_iceberg_table_is_readable_with_static_table(lake: LakeSummary) -> None:
    contract = _contracts()["finance.ledger.ledger_entries"]
    written = lake.table("finance.ledger.ledger_entries")
    table = StaticTable.from_metadata(str(_newest_metadata(written.path)))
    assert table.location().removeprefix("file://") == str(written.path)
    data = table.scan().to_arrow()
    assert data.num_rows == written.rows
    assert data.schema.names == [n for n, _ in _columns(contract)]
    for (name, physical), field in zip(_columns(contract), data.schema, strict=True):
        expected = arrow_type(physical)
        assert field.type == expected or (expected == pa.string() and field.type == pa.large_string()), name
    assert (lake.lake_root / "_catalog" / "iceberg.db").is_file()


def test_rows_is_the_size_of_the_largest_fact_table(lake: LakeSummary) -> None:
    assert lake.table("retail.sales.order_lines").rows == 1000
    assert max(t.rows for t in lake.tables) == 1000
    assert lake.total_rows == sum(t.rows for t in lake.tables)
    assert lake.now == NOW and lake.seed == 7 and lake.rows == 1000
    with pytest.raises(KeyError):
        lake.table("no.such.contract")


# ---------------------------------------------------------------- contract conformance


@pytest.mark.parametrize("contract_id", sorted(set(CONTRACT_IDS) - {VIOLATING_CONTRACT}))
def test_clean_products_satisfy_their_contracts(lake: LakeSummary, contract_id: str) -> None:
    contract = _contracts()[contract_id]
    assert check_contract(read_dataset(lake.lake_root, contract), contract, NOW) == []


@pytest.mark.parametrize(("rows", "seed"), [(100, 1), (3_000, 2), (30_000, 3)])
def test_clean_products_satisfy_their_contracts_at_other_sizes(tmp_path: Path, rows: int, seed: int) -> None:
    now = datetime(2025, 12, 31, 23, 59, tzinfo=UTC)
    summary = generate_lake(MESH, tmp_path / "lake", rows=rows, seed=seed, now=now)
    assert summary.table("retail.sales.order_lines").rows == rows
    for contract_id, contract in _contracts().items():
        failures = check_contract(read_dataset(summary.lake_root, contract), contract, now)
        assert (failures != []) == (contract_id == VIOLATING_CONTRACT), (contract_id, failures)


def test_the_checker_catches_a_broken_table(lake: LakeSummary) -> None:
    contract = _contracts()["retail.sales.orders"]
    table = read_dataset(lake.lake_root, contract)
    broken = pa.concat_tables([table, table.slice(0, 1)])
    assert {"order_id:unique", "primaryKey"} <= set(check_contract(broken, contract, NOW))
    assert "sla:freshness" in check_contract(table, contract, NOW + timedelta(days=2))


def test_the_violating_product_has_exactly_the_planned_violations(lake: LakeSummary) -> None:
    contract = _contracts()[VIOLATING_CONTRACT]
    table = read_dataset(lake.lake_root, contract)
    n = table.num_rows
    assert n == 250
    ids = table.column("response_id")
    assert n - pc.count_distinct(ids).as_py() == VIOLATION_COUNTS["duplicate_response_ids"]
    assert table.column("campaign_id").null_count == VIOLATION_COUNTS["null_campaign_ids"]
    email_ok = pc.match_substring_regex(table.column("email"), r"^[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$")
    assert n - pc.sum(email_ok).as_py() == VIOLATION_COUNTS["invalid_emails"]
    valid_types = pa.array(["opened", "clicked", "converted", "unsubscribed"])
    assert n - pc.sum(pc.is_in(table.column("response_type"), valid_types)).as_py() == 2
    newest = pc.max(table.column("updated_at")).as_py()
    assert NOW - timedelta(days=4) < newest < NOW - timedelta(days=3)
    assert lakedata.VIOLATIONS == VIOLATION_COUNTS
    # and nothing else is wrong with it
    assert sorted(check_contract(table, contract, NOW)) == sorted(
        [
            "response_id:unique",
            "response_id:duplicateValues",
            "primaryKey",
            "campaign_id:required",
            "campaign_id:nullValues",
            "email:pattern",
            "email:format",
            "response_type:invalidValues",
            "sla:freshness",
            "sla:latency",
        ]
    )


# ---------------------------------------------------------------- consistency across products


def _column(lake: LakeSummary, contract_id: str, name: str) -> pa.ChunkedArray:
    return read_dataset(lake.lake_root, _contracts()[contract_id]).column(name)


def _all_in(values: pa.ChunkedArray, reference: pa.ChunkedArray) -> bool:
    return bool(pc.all(pc.is_in(pc.drop_null(values), reference.combine_chunks())).as_py())


def test_references_between_products_resolve(lake: LakeSummary) -> None:
    customers = _column(lake, "customer.profiles.customers", "customer_id")
    orders = _column(lake, "retail.sales.orders", "order_id")
    assert _all_in(_column(lake, "retail.sales.orders", "customer_id"), customers)
    assert _all_in(_column(lake, "retail.sales.order_lines", "order_id"), orders)
    assert _all_in(_column(lake, "retail.sales.order_lines", "sku"), _column(lake, "retail.catalog.products", "sku"))
    assert _all_in(_column(lake, "logistics.shipments.shipments", "order_id"), orders)
    assert _all_in(_column(lake, "finance.ledger.ledger_entries", "source_reference"), orders)
    assert _all_in(_column(lake, "marketing.campaign_responses.responses", "customer_id"), customers)
    campaigns = _column(lake, "marketing.campaigns.campaigns", "campaign_id")
    assert _all_in(_column(lake, "marketing.campaign_responses.responses", "campaign_id"), campaigns)
    assert _all_in(_column(lake, "marketing.campaign_performance.campaign_kpis", "campaign_id"), campaigns)
    summary = _column(lake, "customer.customer360.customer_summary", "customer_id")
    assert summary.to_pylist() == customers.to_pylist()


def test_amounts_add_up_across_products(lake: LakeSummary) -> None:
    def read(contract_id: str) -> pa.Table:
        return read_dataset(lake.lake_root, _contracts()[contract_id])

    orders, lines = read("retail.sales.orders"), read("retail.sales.order_lines")
    per_order = lines.group_by("order_id").aggregate([("line_amount", "sum"), ("line_number", "count")])
    sums = dict(
        zip(per_order.column("order_id").to_pylist(), per_order.column("line_amount_sum").to_pylist(), strict=True)
    )
    counts = dict(
        zip(per_order.column("order_id").to_pylist(), per_order.column("line_number_count").to_pylist(), strict=True)
    )
    for order_id, total, items in zip(
        *(orders.column(c).to_pylist() for c in ("order_id", "total_amount", "item_count")), strict=True
    ):
        assert sums[order_id] == total and counts[order_id] == items
    booked = orders.filter(pc.not_equal(orders.column("status"), "cancelled"))
    gross = pc.sum(booked.column("total_amount")).as_py()
    ledger = read("finance.ledger.ledger_entries")
    assert pc.sum(ledger.column("debit_amount")).as_py() == gross == pc.sum(ledger.column("credit_amount")).as_py()
    revenue = read("finance.revenue.daily_revenue")
    assert pc.sum(revenue.column("gross_revenue")).as_py() == gross
    assert pc.sum(revenue.column("order_count")).as_py() == booked.num_rows
    summary = read("customer.customer360.customer_summary")
    assert pc.sum(summary.column("order_count")).as_py() == booked.num_rows
    assert pc.sum(summary.column("total_spend")).as_py() == gross
    shipments = read("logistics.shipments.shipments")
    shipped = pc.is_in(orders.column("status"), pa.array(["shipped", "delivered", "returned"]))
    assert shipments.num_rows == pc.sum(shipped).as_py()


# ---------------------------------------------------------------- determinism


def test_same_seed_and_now_give_identical_data(lake: LakeSummary, tmp_path: Path) -> None:
    again = generate_lake(MESH, tmp_path / "again", rows=1000, seed=7, now=NOW)
    for first in lake.tables:
        second = again.table(first.contract_id)
        assert second.rows == first.rows
        if first.format == "iceberg":
            contract = _contracts()[first.contract_id]
            a = read_dataset(lake.lake_root, contract).sort_by("entry_id")
            b = read_dataset(again.lake_root, contract).sort_by("entry_id")
            assert a.equals(b)
        else:
            assert first.path.read_bytes() == second.path.read_bytes(), first.contract_id


def test_another_seed_or_now_gives_other_data(lake: LakeSummary, tmp_path: Path) -> None:
    contract = _contracts()["customer.profiles.customers"]
    original = read_dataset(lake.lake_root, contract)
    other_seed = generate_lake(MESH, tmp_path / "seed", rows=1000, seed=8, now=NOW)
    assert not read_dataset(other_seed.lake_root, contract).equals(original)
    later = NOW + timedelta(days=30)
    other_now = generate_lake(MESH, tmp_path / "now", rows=1000, seed=7, now=later)
    moved = read_dataset(other_now.lake_root, contract)
    assert moved.column("customer_id").equals(original.column("customer_id"))
    shift = pc.subtract(moved.column("created_at"), original.column("created_at"))
    assert pc.all(pc.equal(shift, pa.scalar(timedelta(days=30), pa.duration("us")))).as_py()


def test_generating_again_into_the_same_lake_replaces_the_data(tmp_path: Path) -> None:
    first = generate_lake(MESH, tmp_path / "lake", rows=200, seed=1, now=NOW)
    stray = tmp_path / "lake" / "retail" / "sales" / "orders" / "stale-part.parquet"
    shutil.copy(first.table("retail.sales.orders").path, stray)
    unrelated = tmp_path / "lake" / "notes.txt"
    unrelated.write_text("keep me")
    second = generate_lake(MESH, tmp_path / "lake", rows=300, seed=1, now=NOW)
    assert not stray.exists()
    assert unrelated.read_text() == "keep me"
    for contract_id, contract in _contracts().items():
        assert read_dataset(second.lake_root, contract).num_rows == second.table(contract_id).rows
    assert second.table("retail.sales.order_lines").rows == 300


def test_default_now_is_the_current_utc_minute(tmp_path: Path) -> None:
    before = datetime.now(UTC)
    summary = generate_lake(MESH, tmp_path / "lake", rows=100)
    assert summary.now.tzinfo is not None and summary.now.utcoffset() == timedelta(0)
    assert summary.now.second == 0 and summary.now.microsecond == 0
    assert before - timedelta(minutes=1) <= summary.now <= datetime.now(UTC)


# ---------------------------------------------------------------- inputs and edge cases


def test_naive_now_and_empty_sizes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        generate_lake(MESH, tmp_path / "lake", now=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="rows"):
        generate_lake(MESH, tmp_path / "lake", rows=0, now=NOW)


def test_data_goes_where_the_contract_says(tmp_path: Path) -> None:
    mesh = _copy_mesh(tmp_path)
    path = mesh / "domains/retail/products/sales/contracts/orders.odcs.yaml"
    path.write_text(
        path.read_text().replace("path: retail/sales/orders/*.parquet", "path: shop/orders/orders-*.parquet")
    )
    summary = generate_lake(mesh, tmp_path / "lake", rows=100, now=NOW)
    assert summary.table("retail.sales.orders").path == tmp_path / "lake/shop/orders/orders-part-00000.parquet"
    assert not (tmp_path / "lake/retail/sales/orders").exists()


def test_contracts_without_local_server_or_generator_are_skipped(tmp_path: Path) -> None:
    mesh = _copy_mesh(tmp_path)
    kpis = mesh / "domains/marketing/products/campaign_performance/contracts/campaign_kpis.odcs.yaml"
    doc = yaml.safe_load(kpis.read_text())
    doc["servers"] = [
        {
            "server": "warehouse",
            "type": "postgres",
            "host": "db",
            "port": 5432,
            "database": "dwh",
            "schema": "marketing",
        }
    ]
    kpis.write_text(yaml.safe_dump(doc, sort_keys=False))
    extra = mesh / "domains/retail/products/sales/contracts/returns.odcs.yaml"
    orders = yaml.safe_load((mesh / "domains/retail/products/sales/contracts/orders.odcs.yaml").read_text())
    orders["id"] = "retail.sales.returns"
    orders["servers"][0]["path"] = "retail/sales/returns/*.parquet"
    extra.write_text(yaml.safe_dump(orders, sort_keys=False))
    summary = generate_lake(mesh, tmp_path / "lake", rows=100, now=NOW)
    assert summary.skipped == ("marketing.campaign_performance.campaign_kpis", "retail.sales.returns")
    assert len(summary.tables) == len(CONTRACT_IDS) - 1
    assert not (tmp_path / "lake/retail/sales/returns").exists()


def test_a_contract_column_the_generator_does_not_make_is_an_error(tmp_path: Path) -> None:
    mesh = _copy_mesh(tmp_path)
    shutil.copy(
        REPO / "examples/changes/retail.sales.orders-1.3.0.odcs.yaml",
        mesh / "domains/retail/products/sales/contracts/orders.odcs.yaml",
    )
    with pytest.raises(ValueError, match="coupon_code"):
        generate_lake(mesh, tmp_path / "lake", rows=100, now=NOW)


def test_dropping_a_column_from_a_contract_drops_it_from_the_data(tmp_path: Path) -> None:
    mesh = _copy_mesh(tmp_path)
    shutil.copy(
        REPO / "examples/changes/customer.profiles.customers-1.1.0.odcs.yaml",
        mesh / "domains/customer/products/profiles/contracts/customers.odcs.yaml",
    )
    summary = generate_lake(mesh, tmp_path / "lake", rows=100, now=NOW)
    names = pq.read_schema(summary.table("customer.profiles.customers").path).names
    assert "segment" not in names and "email" in names


@pytest.mark.parametrize(
    ("physical", "expected"),
    [
        ("VARCHAR", pa.string()),
        ("varchar(20)", pa.string()),
        ("BIGINT", pa.int64()),
        ("INTEGER", pa.int32()),
        ("DOUBLE", pa.float64()),
        ("DECIMAL(12,2)", pa.decimal128(12, 2)),
        ("decimal(18, 4)", pa.decimal128(18, 4)),
        ("DATE", pa.date32()),
        ("BOOLEAN", pa.bool_()),
        ("TIMESTAMP", pa.timestamp("us")),
        ("TIMESTAMP WITH TIME ZONE", pa.timestamp("us", tz="UTC")),
        ("timestamptz", pa.timestamp("us", tz="UTC")),
    ],
)
def test_physical_types_map_to_arrow(physical: str, expected: pa.DataType) -> None:
    assert arrow_type(physical) == expected


def test_unknown_physical_type_is_an_error() -> None:
    with pytest.raises(ValueError, match="GEOMETRY"):
        arrow_type("GEOMETRY")


@pytest.mark.parametrize(
    ("fmt", "path", "expected"),
    [
        ("parquet", "a/b/*.parquet", "a/b/part-00000.parquet"),
        ("parquet", "a/b/orders-*.parquet", "a/b/orders-part-00000.parquet"),
        ("csv", "./a/b", "a/b/part-00000.csv"),
        ("csv", "a/file.csv", "a/file.csv"),
        ("iceberg", "finance/ledger/t", "finance/ledger/t"),
    ],
)
def test_server_paths_resolve_under_the_lake_root(tmp_path: Path, fmt: str, path: str, expected: str) -> None:
    target = ContractTarget("x.y.z", path, fmt, ())
    assert data_location(tmp_path, target).path == tmp_path / expected


@pytest.mark.parametrize("path", ["/abs/data/*.parquet", "../outside/*.parquet", "a/*/b/*.parquet"])
def test_server_paths_outside_the_lake_are_refused(tmp_path: Path, path: str) -> None:
    with pytest.raises(ValueError):
        data_location(tmp_path, ContractTarget("x.y.z", path, "parquet", ()))


def test_load_targets_reads_every_local_server() -> None:
    targets, without = load_targets(MESH)
    assert without == []
    assert targets["finance.ledger.ledger_entries"].format == "iceberg"
    assert targets["retail.sales.orders"].server_path == "retail/sales/orders/*.parquet"
    assert targets["retail.sales.order_lines"].columns[:2] == (("order_id", "VARCHAR"), ("line_number", "INTEGER"))


# ---------------------------------------------------------------- batching


def test_order_batches_make_exactly_rows_lines_across_batches() -> None:
    rng, clock = lakedata.Rng(3), lakedata.Clock.at(NOW)
    dims = lakedata.Dimensions(lakedata.build_customers(rng, clock, 60), lakedata.build_products(rng, clock, 50))
    batches = list(lakedata.order_batches(rng, clock, dims, 1_000, batch_orders=37))
    assert len(batches) > 5
    lines = pa.concat_tables([b.order_lines for b in batches])
    orders = pa.concat_tables([b.orders for b in batches])
    assert lines.num_rows == 1_000
    ids = orders.column("order_id").to_pylist()
    assert ids == [f"ORD-{i:010d}" for i in range(1, len(ids) + 1)]
    assert lines.group_by(["order_id", "line_number"]).aggregate([]).num_rows == 1_000
    assert pc.sum(orders.column("item_count")).as_py() == 1_000
    assert pc.min(lines.column("line_number")).as_py() == 1
    assert pc.max(orders.column("item_count")).as_py() <= 4


@pytest.mark.slow
def test_a_million_rows_spans_several_batches_and_stays_valid(tmp_path: Path) -> None:
    summary = generate_lake(MESH, tmp_path / "lake", rows=1_000_000, seed=11, now=NOW)
    assert summary.table("retail.sales.order_lines").rows == 1_000_000
    assert summary.table("retail.sales.orders").rows > lakedata.ORDERS_PER_BATCH
    for contract_id in (
        "retail.sales.orders",
        "finance.ledger.ledger_entries",
        "customer.customer360.customer_summary",
    ):
        contract = _contracts()[contract_id]
        assert check_contract(read_dataset(summary.lake_root, contract), contract, NOW) == []

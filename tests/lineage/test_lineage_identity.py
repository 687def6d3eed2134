"""Canonical dataset identity: one line per rule (namespace, name → canonical namespace, name)."""

from __future__ import annotations

import pytest

from meshplane.lineage import (
    SCHEME_RULES,
    DatasetIdentity,
    canonical_identity,
    canonical_namespace,
    identity_from_uri,
    trim_partitions,
)

# (namespace, name, canonical namespace, canonical name)
CANONICAL: list[tuple[str, str, str, str]] = [
    # database schemes: aliases, case, default ports, credentials, drivers, JDBC
    ("postgres://db:5432", "shop.public.orders", "postgres://db", "shop.public.orders"),
    ("postgresql://db:5432", "shop.public.orders", "postgres://db", "shop.public.orders"),
    ("POSTGRESQL://DB.Example.COM:5432", "Shop.Public.Orders", "postgres://db.example.com", "shop.public.orders"),
    ("postgres://db:5433", "shop.public.orders", "postgres://db:5433", "shop.public.orders"),
    ("postgres://analyst:secret@db:5432", "shop.public.orders", "postgres://db", "shop.public.orders"),
    ("postgresql+psycopg://db", "shop.public.orders", "postgres://db", "shop.public.orders"),
    ("jdbc:postgresql://db:5432/shop?ssl=true", "public.orders", "postgres://db/shop", "public.orders"),
    ("postgres://db/", '"shop"."public"."orders"', "postgres://db", "shop.public.orders"),
    # quoting and case per platform: PostgreSQL keeps a quoted name's case, Snowflake folds to upper
    ("postgres://db", '"shop"."public"."Orders"', "postgres://db", 'shop.public."Orders"'),
    ("snowflake://acme", '"DB"."PUBLIC"."ORDERS"', "snowflake://acme", "db.public.orders"),
    ("snowflake://acme", 'DB.PUBLIC."orders"', "snowflake://acme", 'db.public."orders"'),
    ("duckdb:///w/finance.duckdb", '"Finance"."Main"."Orders"', "duckdb:///w/finance.duckdb", "finance.main.orders"),
    ("sqlserver://sql", '[Shop].DBO."Orders"', "sqlserver://sql", "shop.dbo.orders"),
    ("databricks://adb-1", "Main.Sales.`Orders`", "databricks://adb-1", "main.sales.orders"),
    ("trino://trino:8080", '"Hive".sales.orders', "trino://trino", "hive.sales.orders"),
    ("bigquery", "`my-project`.Sales.Orders", "bigquery", "my-project.Sales.Orders"),
    ("mysql://db:3306", "shop.Orders", "mysql://db", "shop.Orders"),
    ("mysql://db:3307", "shop.orders", "mysql://db:3307", "shop.orders"),
    ("mssql://sql01:1433", "[Shop].[dbo].[Orders]", "sqlserver://sql01", "shop.dbo.orders"),
    ("redshift://cluster.eu-west-1:5439", "dev.public.t", "redshift://cluster.eu-west-1", "dev.public.t"),
    ("oracle://ora:1521", "ORCL.SALES.ORDERS", "oracle://ora", "orcl.sales.orders"),
    ("snowflake://ACME-Prod", "DB.PUBLIC.T", "snowflake://acme-prod", "db.public.t"),
    ("bigquery", "my-project.Sales.Orders", "bigquery", "my-project.Sales.Orders"),
    ("BigQuery", "p.d.t", "bigquery", "p.d.t"),
    ("trino://trino:8080", "hive.sales.orders", "trino://trino", "hive.sales.orders"),
    ("trino://trino:8443", "hive.sales.orders", "trino://trino:8443", "hive.sales.orders"),
    ("hive://metastore:9083", "Sales.Orders", "hive://metastore:9083", "sales.orders"),
    ("postgres://[::1]:5432", "a.b.c", "postgres://[::1]", "a.b.c"),
    # streams keep their names
    ("kafka://broker:9092", "Orders.Events", "kafka://broker", "Orders.Events"),
    ("kafka://Broker:9093", "orders", "kafka://broker:9093", "orders"),
    # local files: file namespace, absolute path normalised, partitions and part files trimmed
    ("file", "/lake/retail/sales/orders", "file", "/lake/retail/sales/orders"),
    ("file", "/lake/retail/sales/orders/", "file", "/lake/retail/sales/orders"),
    ("file", "/lake/retail/tmp/../sales/./orders", "file", "/lake/retail/sales/orders"),
    ("file", "//lake//retail/sales/orders", "file", "/lake/retail/sales/orders"),
    ("file://", "/lake/x", "file", "/lake/x"),
    ("file:///", "/lake/x", "file", "/lake/x"),
    ("file://localhost", "/lake/x", "file", "/lake/x"),
    ("FILE", "/lake/x", "file", "/lake/x"),
    ("file", "file:/lake/retail/sales/orders", "file", "/lake/retail/sales/orders"),
    ("file", "file:///lake/retail/sales/orders/", "file", "/lake/retail/sales/orders"),
    ("", "/lake/retail/sales/orders", "file", "/lake/retail/sales/orders"),
    ("file", "/lake/retail/sales/orders/dt=2024-01-31/part-0.parquet", "file", "/lake/retail/sales/orders"),
    ("file", "/lake/retail/sales/orders/*.parquet", "file", "/lake/retail/sales/orders"),
    ("file", "/lake/retail/sales/orders/2024/01/31", "file", "/lake/retail/sales/orders"),
    ("file", "/lake/retail/catalog/products/products.csv", "file", "/lake/retail/catalog/products/products.csv"),
    ("file://nas01", "/share/x/", "file://nas01", "/share/x"),
    ("file:/tmp/warehouse", "default.test", "file:///tmp/warehouse", "default.test"),
    # buckets: scheme aliases, keys without a leading slash
    ("s3://sales-raw", "orders/2024", "s3://sales-raw", "orders"),
    ("s3a://sales-raw", "/orders/", "s3://sales-raw", "orders"),
    ("s3n://Sales-Raw/", "orders", "s3://sales-raw", "orders"),
    ("s3://b", "s3a://b/retail/orders/year=2024/month=01/part-00000-1a2b.snappy.parquet", "s3://b", "retail/orders"),
    ("gcs://bucket", "a/b/", "gs://bucket", "a/b"),
    ("gs://bucket", "a//b/../c", "gs://bucket", "a/c"),
    ("abfs://Data@Acct.dfs.core.windows.net", "/lake/x", "abfss://data@acct.dfs.core.windows.net", "lake/x"),
    ("wasb://c@acct.blob.core.windows.net", "x/2024-01-31", "wasbs://c@acct.blob.core.windows.net", "x"),
    # other file systems keep the leading slash
    ("hdfs://NameNode:8020", "/warehouse/orders/_SUCCESS", "hdfs://namenode:8020", "/warehouse/orders"),
    ("dbfs://workspace", "/mnt/x/", "dbfs://workspace", "/mnt/x"),
    ("sftp://files.example.com:22", "/out/orders.csv", "sftp://files.example.com", "/out/orders.csv"),
    # not URIs: kept as given
    ("food_delivery", "public.orders", "food_delivery", "public.orders"),
    (
        "arn:aws:glue:eu-west-1:123456789012",
        "table/sales/orders",
        "arn:aws:glue:eu-west-1:123456789012",
        "table/sales/orders",
    ),
    ("  my-namespace  ", "  instance.schema.table ", "my-namespace", "instance.schema.table"),
    ("acme://Host:1234/x?y#z", "a/b/c", "acme://host:1234/x", "a/b/c"),
]


@pytest.mark.parametrize(("namespace", "name", "want_namespace", "want_name"), CANONICAL)
def test_canonical_identity(namespace: str, name: str, want_namespace: str, want_name: str) -> None:
    identity = canonical_identity(namespace, name)
    assert (identity.namespace, identity.name) == (want_namespace, want_name)
    again = canonical_identity(identity.namespace, identity.name)
    assert again == identity, "canonicalisation must be idempotent"
    assert DatasetIdentity.parse(str(identity)) == identity


def test_there_are_enough_identity_cases() -> None:
    assert len(CANONICAL) >= 30


# (path, dataset folder)
TRIMS: list[tuple[str, str]] = [
    ("/lake/retail/sales/orders/dt=2024-01-31/part-0.parquet", "/lake/retail/sales/orders"),
    ("retail/sales/orders/*.parquet", "retail/sales/orders"),
    ("/lake/orders/dt=2024-01-31", "/lake/orders"),
    ("/lake/orders/year=2024/month=01/day=31", "/lake/orders"),
    ("/lake/orders/region=eu/dt=2024-01-31/x.parquet", "/lake/orders"),
    ("/lake/orders/2024/01/31", "/lake/orders"),
    ("/lake/orders/2024/01/31/13", "/lake/orders"),
    ("/lake/orders/2024-01-31", "/lake/orders"),
    ("/lake/orders/20240131", "/lake/orders"),
    ("/lake/orders/2024-01", "/lake/orders"),
    ("/lake/orders/2024", "/lake/orders"),
    ("/lake/orders/2024-01-31T13:00:00Z", "/lake/orders"),
    ("/lake/orders/part-00000-6a7f3c1e-1b2c-4d5e-8f90-123456789abc.c000.snappy.parquet", "/lake/orders"),
    ("/lake/orders/00000-0-6a7f3c1e-1b2c-4d5e-8f90-123456789abc.parquet", "/lake/orders"),
    ("/lake/orders/data_0.parquet", "/lake/orders"),
    ("/lake/orders/orders_2024-01-31.csv.gz", "/lake/orders"),
    ("/lake/orders/part-00000", "/lake/orders"),
    ("/lake/orders/_SUCCESS", "/lake/orders"),
    ("/lake/orders/*/*.parquet", "/lake/orders"),
    ("/lake/orders/**", "/lake/orders"),
    ("/lake/orders/{a,b}.csv", "/lake/orders"),
    # kept: named files, version folders, small numbers without a year, the first segment
    ("/lake/catalog/products.csv", "/lake/catalog/products.csv"),
    ("/lake/orders/v2", "/lake/orders/v2"),
    ("/lake/orders/01", "/lake/orders/01"),
    ("/lake/orders.v2", "/lake/orders.v2"),
    ("/2024", "/2024"),
    ("2024/01", "2024/01"),
    ("dt=2024-01-31", "dt=2024-01-31"),
    ("orders", "orders"),
    ("", ""),
]


@pytest.mark.parametrize(("path", "folder"), TRIMS)
def test_partition_trimming(path: str, folder: str) -> None:
    assert trim_partitions(path) == folder


def test_a_write_and_a_contract_path_meet_at_one_identity() -> None:
    write = canonical_identity("file", "/lake/retail/sales/orders/dt=2024-01-31/part-0.parquet")
    contract = identity_from_uri("/lake/" + "retail/sales/orders/*.parquet")
    assert write == contract == DatasetIdentity("file", "/lake/retail/sales/orders")


def test_trimming_can_be_turned_off() -> None:
    raw = canonical_identity("s3a://b", "/x/dt=2024-01-31/", trim=False)
    assert raw == DatasetIdentity("s3://b", "x/dt=2024-01-31")


@pytest.mark.parametrize(
    ("uri", "namespace", "name"),
    [
        ("s3a://Bucket/retail/orders/*.parquet", "s3://bucket", "retail/orders"),
        ("s3://bucket", "s3://bucket", ""),
        ("/lake/retail/orders/", "file", "/lake/retail/orders"),
        ("file:///lake/retail/orders", "file", "/lake/retail/orders"),
        ("file:/lake/retail/orders", "file", "/lake/retail/orders"),
        ("file://nas01/share/x", "file://nas01", "/share/x"),
        (
            "abfss://c@acct.dfs.core.windows.net/lake/x/{model}",
            "abfss://c@acct.dfs.core.windows.net",
            "lake/x",
        ),  # a template is a glob
        ("https://api.example.com:443/v1/orders", "https://api.example.com", "/v1/orders"),
        ("sftp://files:22/out/orders/", "sftp://files", "/out/orders"),
        ("orders", "", "orders"),
    ],
)
def test_identity_from_uri(uri: str, namespace: str, name: str) -> None:
    assert identity_from_uri(uri) == DatasetIdentity(namespace, name)


@pytest.mark.parametrize(
    ("namespace", "canonical"),
    [
        ("", ""),
        ("postgres://h:5432/", "postgres://h"),
        ("/lake", "file:///lake"),
        ("jdbc:mysql://h:3306", "mysql://h"),
        ("kafka://a:9092,b:9092", "kafka://a:9092,b:9092"),
        ("abfss://Cont@Acct.dfs.core.windows.net", "abfss://cont@acct.dfs.core.windows.net"),
    ],
)
def test_canonical_namespace(namespace: str, canonical: str) -> None:
    assert canonical_namespace(namespace) == canonical


def test_string_form_and_parse() -> None:
    identity = DatasetIdentity("postgres://db", "shop.public.orders#1")
    assert str(identity) == "postgres://db#shop.public.orders#1"
    assert DatasetIdentity.parse(str(identity)) == identity
    with pytest.raises(ValueError, match="namespace#name"):
        DatasetIdentity.parse("postgres://db/shop.public.orders")
    with pytest.raises(ValueError, match="cannot contain '#'"):
        DatasetIdentity("a#b", "c")
    assert canonical_namespace("acme://h/x#frag") == "acme://h/x"  # a fragment never reaches an identity


def test_parent_folders_of_path_identities() -> None:
    identity = DatasetIdentity("file", "/lake/retail/sales")
    assert identity.parent() == DatasetIdentity("file", "/lake/retail")
    assert DatasetIdentity("file", "/lake").parent() is None
    assert DatasetIdentity("s3://b", "a/b").parent() == DatasetIdentity("s3://b", "a")
    assert DatasetIdentity("s3://b", "a").parent() is None
    assert DatasetIdentity("postgres://db", "shop.public.orders").parent() is None
    assert identity.is_path and not DatasetIdentity("bigquery", "p.d.t").is_path


def test_scheme_rules_have_no_overlapping_aliases() -> None:
    names = [n for rule in SCHEME_RULES for n in (rule.scheme, *rule.aliases)]
    assert len(names) == len(set(names))

"""Delta and Iceberg current snapshots as file lists (what Spark reads without the formats' jars).

No Spark here: the file lists, versions and refusals come from the tables' metadata only.
"""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path

import pyarrow as pa
import pytest

from meshplane.engines.base import DatasetNotFound, QueryError
from meshplane.engines.snapshots import delta_snapshot, iceberg_snapshot
from meshplane.engines.spark import spark_ddl_type

TABLE = pa.table({"id": [1, 2, 3], "kind": ["a", "b", None]})
Z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"


def _z85(data: bytes) -> str:
    out = []
    for i in range(0, len(data), 4):
        value = int.from_bytes(data[i : i + 4], "big")
        chars = []
        for _ in range(5):
            chars.append(Z85[value % 85])
            value //= 85
        out.append("".join(reversed(chars)))
    return "".join(out)


def write_delta_with_deletion_vector(path: Path) -> None:
    """A Delta table whose second row is deleted by an inline deletion vector (as Spark/Databricks write)."""
    from deltalake import write_deltalake

    write_deltalake(str(path), TABLE, configuration={"delta.enableDeletionVectors": "true"})
    first = path / "_delta_log" / "00000000000000000000.json"
    add = next(json.loads(line)["add"] for line in first.read_text().splitlines() if '"add"' in line)
    # magic number + a RoaringBitmapArray holding row index 1 (portable serialization, no runs)
    bitmap = struct.pack("<II", 12346, 1) + struct.pack("<HH", 0, 0) + struct.pack("<I", 16) + struct.pack("<H", 1)
    vector = struct.pack("<i", 1681511377) + struct.pack("<q", 1) + struct.pack("<I", 0) + bitmap
    padded = vector + b"\0" * (-len(vector) % 4)
    now = int(time.time() * 1000)
    changed = {**add, "dataChange": True, "deletionVector": {
        "storageType": "i", "pathOrInlineDv": _z85(padded), "sizeInBytes": len(vector), "cardinality": 1}}  # fmt: skip
    lines = [
        {"commitInfo": {"timestamp": now, "operation": "DELETE"}},
        {"remove": {"path": add["path"], "deletionTimestamp": now, "dataChange": True}},
        {"add": changed},
    ]
    (path / "_delta_log" / "00000000000000000001.json").write_text("\n".join(json.dumps(x) for x in lines) + "\n")


def test_delta_snapshot_lists_the_current_files(tmp_path) -> None:
    from deltalake import write_deltalake

    write_deltalake(str(tmp_path / "t"), TABLE.slice(0, 2))
    write_deltalake(str(tmp_path / "t"), TABLE.slice(2), mode="append")
    snapshot = delta_snapshot(tmp_path / "t")
    assert (snapshot.format, snapshot.version, len(snapshot.files)) == ("delta", "1", 2)
    assert snapshot.schema.names == ["id", "kind"] and snapshot.partition_columns == ()
    write_deltalake(str(tmp_path / "t"), TABLE, mode="overwrite")
    assert len(delta_snapshot(tmp_path / "t").files) == 1  # files of older versions are not read


def test_delta_partition_columns_are_reported(tmp_path) -> None:
    from deltalake import write_deltalake

    write_deltalake(str(tmp_path / "t"), TABLE, partition_by=["kind"])
    snapshot = delta_snapshot(tmp_path / "t")
    assert snapshot.partition_columns == ("kind",)
    assert all("kind=" in f for f in snapshot.files)


def test_delta_deletion_vectors_are_refused(tmp_path) -> None:
    from deltalake import write_deltalake

    write_deltalake(str(tmp_path / "clean"), TABLE, configuration={"delta.enableDeletionVectors": "true"})
    assert len(delta_snapshot(tmp_path / "clean").files) == 1  # the feature alone is fine
    write_delta_with_deletion_vector(tmp_path / "dv")
    with pytest.raises(QueryError, match="deletion vectors in version 1"):
        delta_snapshot(tmp_path / "dv")


def test_delta_column_mapping_is_refused(tmp_path) -> None:
    from deltalake import write_deltalake

    write_deltalake(str(tmp_path / "t"), TABLE, configuration={"delta.columnMapping.mode": "name"})
    with pytest.raises(QueryError, match="column mapping"):
        delta_snapshot(tmp_path / "t")


def test_not_a_table(tmp_path) -> None:
    with pytest.raises(DatasetNotFound, match="no _delta_log"):
        delta_snapshot(tmp_path)
    with pytest.raises(DatasetNotFound, match=r"no metadata/\*.metadata.json"):
        iceberg_snapshot(tmp_path)


def _iceberg(folder: Path, batches: int = 2) -> Path:
    from pyiceberg.catalog.sql import SqlCatalog

    catalog = SqlCatalog("test", uri=f"sqlite:///{folder}/catalog.db", warehouse=folder.as_uri())
    catalog.create_namespace("shop")
    table = catalog.create_table("shop.t", schema=TABLE.schema)
    for index in range(batches):
        table.append(TABLE.slice(index, 1))
    return Path(table.location().removeprefix("file://"))


def test_iceberg_snapshot_lists_the_current_files(tmp_path) -> None:
    location = _iceberg(tmp_path)
    snapshot = iceberg_snapshot(location)
    assert snapshot.format == "iceberg" and snapshot.version.isdigit() and len(snapshot.files) == 2
    (tmp_path / "empty").mkdir()
    empty = iceberg_snapshot(_iceberg(tmp_path / "empty", batches=0))
    assert (empty.version, empty.files) == ("empty", [])


def test_iceberg_delete_files_are_refused(tmp_path, monkeypatch) -> None:
    from pyiceberg.table import DataScan, FileScanTask

    location = _iceberg(tmp_path)
    plan = DataScan.plan_files

    def with_deletes(self: DataScan):  # a merge-on-read snapshot: position deletes on the first file
        tasks = list(plan(self))
        return [FileScanTask(tasks[0].file, delete_files={tasks[1].file}), *tasks[1:]]

    monkeypatch.setattr(DataScan, "plan_files", with_deletes)
    with pytest.raises(QueryError, match=r"delete files for 1 data file\(s\)"):
        iceberg_snapshot(location)


@pytest.mark.parametrize(
    ("arrow", "spark"),
    [
        (pa.int64(), "BIGINT"),
        (pa.int32(), "INT"),
        (pa.float64(), "DOUBLE"),
        (pa.string(), "STRING"),
        (pa.large_string(), "STRING"),
        (pa.bool_(), "BOOLEAN"),
        (pa.date32(), "DATE"),
        (pa.timestamp("us", tz="UTC"), "TIMESTAMP"),
        (pa.timestamp("us"), "TIMESTAMP_NTZ"),
        (pa.decimal128(10, 2), "DECIMAL(10, 2)"),
        (pa.list_(pa.string()), "ARRAY<STRING>"),
        (pa.map_(pa.string(), pa.int32()), "MAP<STRING, INT>"),
        (pa.struct([("a b", pa.int64())]), "STRUCT<`a b`: BIGINT>"),
        (pa.time64("us"), None),
        (pa.list_(pa.time64("us")), None),
    ],
)
def test_arrow_types_in_spark(arrow, spark) -> None:
    assert spark_ddl_type(arrow) == spark

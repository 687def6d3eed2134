"""`meshplane test` progress on stderr: each object's mark comes from its real results (✓, !, ✗)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml


def _object(name: str, email_rule: str = "error") -> dict[str, object]:
    return {
        "name": name,
        "properties": [
            {"name": "id", "logicalType": "integer", "unique": True},
            {"name": "email", "logicalType": "string", "quality": [
                {"metric": "nullValues", "mustBe": 0, "severity": email_rule}]},
        ],
    }  # fmt: skip


def test_each_object_line_shows_its_worst_result(tmp_path: Path) -> None:
    table = pa.table({"id": [1, 2, 3], "email": ["a@x.org", None, "c@x.org"]})
    pq.write_table(table, tmp_path / "warned.parquet")
    pq.write_table(pa.table({"id": [1, 2, 3], "email": ["a", "b", "c"]}), tmp_path / "clean.parquet")
    pq.write_table(pa.table({"id": [1, 1, 3], "email": ["a", "b", "c"]}), tmp_path / "duplicated.parquet")
    doc = {
        "apiVersion": "v3.1.0", "kind": "DataContract", "id": "orders", "version": "1.0.0", "status": "active",
        "servers": [{"server": "lake", "type": "local", "path": "{model}.parquet", "format": "parquet"}],
        "schema": [_object("clean"), _object("warned", "warning"), _object("duplicated"), _object("missing")],
    }  # fmt: skip
    contract = tmp_path / "orders.odcs.yaml"
    contract.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "meshplane", "test", str(contract), "--format", "json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    lines = {line.split(" · ")[1].split(":")[0]: line for line in proc.stderr.splitlines() if " · " in line}
    assert set(lines) == {"clean", "warned", "duplicated", "missing"}, proc.stderr
    assert lines["clean"].startswith("✓ orders · clean: ") and lines["clean"].endswith(" checks")
    assert lines["warned"].startswith("! orders · warned: ") and lines["warned"].endswith(", 1 warning")
    assert lines["duplicated"].startswith("✗ orders · duplicated: ") and ", 1 failed" in lines["duplicated"]
    assert lines["missing"].startswith("✗ orders · missing: ")  # the dataset does not exist
    assert proc.returncode != 0

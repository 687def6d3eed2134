"""`meshplane import dbt` on the manifest a real `dbt parse` writes (dbt-core + dbt-duckdb from `.venv-dbt`).

The round trips of `test_dbt_import.py` build their manifest in the test; this one runs dbt itself
on a tiny dbt-duckdb project written here, then imports `target/manifest.json` and checks the
contract's names, types, required flags, key and accepted values. dbt runs from ``.venv-dbt``
(``make dbt-venv``, pins in ``constraints-dbt.txt``), as a subprocess: its pins differ from the
project's. Missing: skipped outside CI, a failure in CI (`make test` installs it).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml
from interop_support import REPO, lints_clean
from typer.testing import CliRunner

from meshplane.cli.app import app

pytestmark = pytest.mark.slow  # dbt starts in ~30 s

DBT = REPO / ".venv-dbt" / "bin" / "dbt"
runner = CliRunner()

MODELS = """version: 2
models:
  - name: orders
    description: One row per customer order.
    config:
      contract:
        enforced: true
    constraints:
      - type: primary_key
        columns: [order_id, line_no]
    columns:
      - name: order_id
        description: Order identifier.
        data_type: varchar
        constraints:
          - type: not_null
      - name: line_no
        data_type: integer
        constraints:
          - type: not_null
      - name: customer_email
        data_type: varchar
        data_tests: [unique]
      - name: status
        data_type: varchar
        data_tests:
          - not_null
          - accepted_values:
              values: [open, paid, cancelled]
      - name: amount
        data_type: decimal(12,2)
      - name: ordered_at
        data_type: timestamp
      - name: order_date
        data_type: date
      - name: paid
        data_type: boolean
"""

SQL = """select
    cast('o-1' as varchar) as order_id,
    cast(1 as integer) as line_no,
    cast('a@example.com' as varchar) as customer_email,
    cast('paid' as varchar) as status,
    cast(12.50 as decimal(12,2)) as amount,
    cast('2026-03-02 10:00:00' as timestamp) as ordered_at,
    cast('2026-03-02' as date) as order_date,
    true as paid
"""


@pytest.fixture(scope="module")
def dbt() -> Path:
    if not DBT.is_file():
        reason = "dbt is not installed in .venv-dbt (run `make dbt-venv`)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"required service missing in CI: {reason}")
        pytest.skip(reason)
    return DBT


@pytest.fixture(scope="module")
def manifest(dbt: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`dbt parse` of a one-model dbt-duckdb project: its target/manifest.json."""
    project = tmp_path_factory.mktemp("dbt-parse") / "shop"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(
        "name: shop\nversion: '1.0'\nprofile: shop\nmodel-paths: [models]\n", encoding="utf-8"
    )
    (project / "profiles.yml").write_text(
        "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {project / 'shop.duckdb'}\n      threads: 1\n",
        encoding="utf-8",
    )
    (project / "models" / "schema.yml").write_text(MODELS, encoding="utf-8")
    (project / "models" / "orders.sql").write_text(SQL, encoding="utf-8")
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}
    done = subprocess.run(
        [str(dbt), "parse", "--project-dir", str(project), "--profiles-dir", str(project)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    path = project / "target" / "manifest.json"
    assert path.is_file()
    return path


def test_import_dbt_from_the_manifest_dbt_parse_wrote(manifest: Path, tmp_path: Path) -> None:
    out = tmp_path / "orders.odcs.yaml"
    result = runner.invoke(
        app,
        ["import", "dbt", str(manifest), "--table", "orders", "--product", "sales.shop", "-o", str(out)],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    document = yaml.safe_load(out.read_text(encoding="utf-8"))
    (orders,) = document["schema"]
    assert orders["name"] == "orders"
    props = {p["name"]: p for p in orders["properties"]}
    assert list(props) == [
        "order_id",
        "line_no",
        "customer_email",
        "status",
        "amount",
        "ordered_at",
        "order_date",
        "paid",
    ]
    types = {n: (p.get("logicalType"), str(p.get("physicalType")).lower()) for n, p in props.items()}
    assert types == {
        "order_id": ("string", "varchar"),
        "line_no": ("integer", "integer"),
        "customer_email": ("string", "varchar"),
        "status": ("string", "varchar"),
        "amount": ("number", "decimal(12,2)"),
        "ordered_at": ("timestamp", "timestamp"),
        "order_date": ("date", "date"),
        "paid": ("boolean", "boolean"),
    }
    required = {n for n, p in props.items() if p.get("required") or p.get("primaryKey")}
    assert required == {"order_id", "line_no", "status"}
    keys = sorted((p["primaryKeyPosition"], n) for n, p in props.items() if p.get("primaryKey"))
    assert keys == [(1, "order_id"), (2, "line_no")]
    assert props["customer_email"].get("unique") is True
    accepted = [q for q in props["status"].get("quality") or [] if q.get("metric") == "invalidValues"]
    assert [q["arguments"]["validValues"] for q in accepted] == [["open", "paid", "cancelled"]]
    assert lints_clean(document, tmp_path)

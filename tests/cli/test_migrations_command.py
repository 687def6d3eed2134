"""`meshplane migrations`: the open migrations of a mesh's registry, as a table and as JSON."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from meshplane.cli.app import app

BASE_MESH = Path(__file__).resolve().parents[1] / "corpus" / "meshes" / "_base"
PRODUCT = "domains/sales/products/orders/product.odps.yaml"
runner = CliRunner()


@pytest.fixture
def mesh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("MESHPLANE_DATABASE_URL", raising=False)
    folder = Path(shutil.copytree(BASE_MESH, tmp_path / "m"))
    path = folder / PRODUCT
    old = "    contractId: sales.orders.orders\n"
    sunset = "    customProperties:\n      - property: sunsetDate\n        value: '2099-01-01'\n"
    path.write_text(path.read_text(encoding="utf-8").replace(old, old + sunset), encoding="utf-8")
    assert runner.invoke(app, ["apply", "--init", "--yes", str(folder)]).exit_code == 0
    return folder


def test_migrations_as_json_and_as_a_table(mesh: Path) -> None:
    result = runner.invoke(app, ["migrations", "--mesh", str(mesh), "--format", "json"])
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.output)["migrations"]
    assert (row["old"]["port"], row["new"], row["sunsetDate"]) == ("orders", None, "2099-01-01")
    assert [(c["product"], c["team"]) for c in row["remaining"]] == [("crm.customers", "CRM Data")]
    table = runner.invoke(app, ["migrations", "--mesh", str(mesh)], env={"COLUMNS": "200"})
    assert table.exit_code == 0
    assert "sales.orders/orders@1.0.0" in table.output and "crm.customers (inputPort, CRM Data)" in table.output


def test_no_migrations_and_a_bad_format(mesh: Path) -> None:
    result = runner.invoke(app, ["migrations", "--mesh", str(mesh), "--domain", "crm"])
    assert result.exit_code == 0 and "no open migrations (no output port of domain crm is deprecated)" in result.output
    bad = runner.invoke(app, ["migrations", "--mesh", str(mesh), "--format", "xml"])
    assert bad.exit_code == 2


@pytest.mark.parametrize("width", [80, 100])
def test_migrations_table_fits_the_width_without_cutting_ids(mesh: Path, width: int) -> None:
    result = runner.invoke(app, ["migrations", "--mesh", str(mesh)], env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    text = result.stdout
    words = {word for line in text.splitlines() for word in line.split()}
    for whole in ("sales.orders.orders", "sales.orders/orders@1.0.0", "crm.customers", "2099-01-01"):  # never cut
        assert whole in words, whole
    assert "…" not in text and "[red]" not in text
    assert max(len(line.rstrip()) for line in text.splitlines() if not line.startswith("(")) <= width
    wide = runner.invoke(app, ["migrations", "--mesh", str(mesh), "--wide"], env={"COLUMNS": str(width)})
    assert "crm.customers (inputPort, CRM Data)" in wide.stdout and "--wide shows" not in wide.stdout

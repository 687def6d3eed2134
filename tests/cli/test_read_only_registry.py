"""A read-only registry: `apply` and `token create` print one line naming it and exit 1, no traceback."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from meshplane.cli.app import app
from meshplane.settings import get_settings
from read_only_support import read_only

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture
def mesh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the example mesh, applied to its default SQLite registry."""
    monkeypatch.delenv("MESHPLANE_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    root = Path(
        shutil.copytree(
            REPO / "examples/holding", tmp_path / "holding", ignore=shutil.ignore_patterns("lake", ".meshplane")
        )
    )
    assert runner.invoke(app, ["apply", str(root), "--yes", "--init"]).exit_code == 0
    yield root
    get_settings.cache_clear()


def _change_a_description(mesh: Path) -> None:
    domain = mesh / "domains/retail/domain.yaml"
    domain.write_text(domain.read_text().replace("Runs the group's web shop", "Runs the web shop", 1))


def _assert_one_line_refusal(result, where: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and f"the registry at {where}" in lines[0] and "is read-only" in lines[0], result.output
    assert "Traceback" not in result.output and "sqlite3.OperationalError" not in result.output


@pytest.mark.parametrize("folder", [False, True], ids=["file", "file-and-folder"])
def test_a_read_only_sqlite_registry_is_one_line(mesh: Path, folder: bool) -> None:
    file = mesh / ".meshplane/registry.db"
    _change_a_description(mesh)
    with read_only(file, *([file.parent] if folder else [])):
        created = runner.invoke(app, ["token", "create", "--role", "admin", "--name", "x", "--mesh", str(mesh)])
        _assert_one_line_refusal(created, "sqlite:///")
        applied = runner.invoke(app, ["apply", str(mesh), "--yes"])
        _assert_one_line_refusal(applied, "sqlite:///")
        listed = runner.invoke(app, ["token", "list", "--mesh", str(mesh)])  # reading still works
        assert listed.exit_code == 0 or "is read-only" in listed.output, listed.output
    assert runner.invoke(app, ["token", "create", "--role", "admin", "--name", "x", "--mesh", str(mesh)]).exit_code == 0


@pytest.mark.postgres
def test_a_read_only_postgresql_registry_is_one_line(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mesh = Path(shutil.copytree(REPO / "examples/holding", tmp_path / "holding", ignore=shutil.ignore_patterns("lake")))
    monkeypatch.setenv("MESHPLANE_DATABASE_URL", postgres_url)
    get_settings.cache_clear()
    assert runner.invoke(app, ["apply", str(mesh), "--yes", "--init"]).exit_code == 0
    _change_a_description(mesh)
    monkeypatch.setenv("MESHPLANE_DATABASE_URL", postgres_url + "?options=-c%20default_transaction_read_only%3Don")
    get_settings.cache_clear()
    try:
        created = runner.invoke(app, ["token", "create", "--role", "admin", "--name", "x", "--mesh", str(mesh)])
        _assert_one_line_refusal(created, "postgresql")
        _assert_one_line_refusal(runner.invoke(app, ["apply", str(mesh), "--yes"]), "postgresql")
    finally:
        get_settings.cache_clear()

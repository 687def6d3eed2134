"""`meshplane plan|apply|impact|db`: exit codes, tree and JSON output, confirmation, no tracebacks.

No command creates a registry implicitly: a fresh checkout without configuration is exit 2 with the
places looked at; `meshplane db init` and `apply --init` create one.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from meshplane.cli.app import app
from meshplane.settings import get_settings

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "holding"
CHANGES = REPO / "examples" / "changes"

runner = CliRunner()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def bare(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the example mesh without a registry: the default SQLite file, or an empty PostgreSQL database."""
    for name in ("MESHPLANE_DATABASE_URL", "MESHPLANE_SERVER_URL", "MESHPLANE_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    if request.param == "postgresql":
        monkeypatch.setenv("MESHPLANE_DATABASE_URL", request.getfixturevalue("postgres_url"))
    get_settings.cache_clear()
    yield Path(shutil.copytree(EXAMPLE, tmp_path / "holding", ignore=shutil.ignore_patterns("lake", ".meshplane")))
    get_settings.cache_clear()


@pytest.fixture
def mesh(bare: Path) -> Path:
    """A copy of the example mesh with an empty registry, created by `meshplane db init`."""
    created = invoke("db", "init", str(bare))
    assert created.exit_code == 0 and "created registry" in created.output, created.output
    return bare


def invoke(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    result = runner.invoke(app, list(args), input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def play_breaking_change(mesh: Path) -> None:
    product = mesh / "domains/customer/products/profiles"
    shutil.copy(CHANGES / "customer.profiles.customers-1.1.0.odcs.yaml", product / "contracts/customers.odcs.yaml")
    data = yaml.safe_load((product / "product.odps.yaml").read_text(encoding="utf-8"))
    data["outputPorts"][0]["version"] = "1.1.0"
    (product / "product.odps.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def test_plan_apply_plan(mesh: Path) -> None:
    first = invoke("plan", str(mesh))
    assert first.exit_code == 0, first.output
    assert "+ create domain retail" in first.output and "to create" in first.output
    applied = invoke("apply", str(mesh), "--yes", "--actor", "ci-bot")
    assert applied.exit_code == 0, applied.output
    assert "applied" in applied.output and "ci-bot" in applied.output
    again = invoke("plan", str(mesh), "--format", "json")
    assert again.exit_code == 0 and json.loads(again.stdout) == {"changes": [], "errors": []}
    second = invoke("apply", str(mesh), "--yes")
    assert second.exit_code == 0 and "nothing to apply" in second.output


def test_apply_without_yes_and_without_stdin_is_not_confirmed(mesh: Path) -> None:
    result = invoke("apply", str(mesh))
    assert result.exit_code == 1
    assert "--yes" in result.output and "nothing was written" in result.output
    assert json.loads(invoke("plan", str(mesh), "--format", "json").stdout)["changes"], "nothing was applied"


def test_apply_asks_and_honours_the_answer(mesh: Path) -> None:
    declined = invoke("apply", str(mesh), stdin="n\n")
    assert declined.exit_code == 1 and "cancelled" in declined.output
    accepted = invoke("apply", str(mesh), stdin="y\n")
    assert accepted.exit_code == 0 and "applied" in accepted.output


def test_refused_plan_exits_1_in_both_formats(mesh: Path) -> None:
    assert invoke("apply", str(mesh), "--yes").exit_code == 0
    play_breaking_change(mesh)
    table = invoke("plan", str(mesh))
    assert table.exit_code == 1
    assert "breaking-without-major" in table.output and "marketing.campaign_performance" in table.output
    as_json = invoke("plan", str(mesh), "--format", "json")
    assert as_json.exit_code == 1
    data = json.loads(as_json.stdout)
    assert [e["code"] for e in data["errors"]] == ["breaking-without-major"]
    [version] = [c for c in data["changes"] if c["kind"] == "contractVersion"]
    consumers = {c["product"] for c in version["impact"]["consumers"]}
    assert {"marketing.campaign_performance", "customer.customer360", "retail.sales"} <= consumers
    refused = invoke("apply", str(mesh), "--yes", "--format", "json")
    assert refused.exit_code == 1 and json.loads(refused.stdout)["applied"] is False


def test_impact_command(mesh: Path) -> None:
    assert invoke("apply", str(mesh), "--yes").exit_code == 0
    table = invoke("impact", "customer.profiles.customers", "--mesh", str(mesh))
    assert table.exit_code == 0 and "marketing.campaign_performance" in table.output
    as_json = invoke(
        "impact",
        "customer.profiles.customers@1.0.0",
        "--mesh",
        str(mesh),
        "--format",
        "json",
        "--against",
        str(CHANGES / "customer.profiles.customers-1.1.0.odcs.yaml"),
    )
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    assert data["contract"] == {"id": "customer.profiles.customers", "version": "1.0.0", "major": 1}
    assert data["breakingChanges"] and data["consumers"][0]["usage"] == "affected"
    missing = invoke("impact", "no.such.contract", "--mesh", str(mesh))
    assert missing.exit_code == 2 and "not registered" in missing.output


@pytest.mark.parametrize("width", [80, 100])
def test_impact_table_fits_the_width_without_cutting_ids(mesh: Path, width: int) -> None:
    assert invoke("apply", str(mesh), "--yes").exit_code == 0
    args = ["impact", "customer.profiles.customers", "--mesh", str(mesh)]
    result = runner.invoke(app, args, env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    text = result.stdout
    words = {word for line in text.splitlines() for word in line.split()}
    ids = ("marketing.campaign_performance", "customer.customer360", "retail.sales", "marketing", "customer")
    for whole in ids:  # each on one line, never cut
        assert whole in words, whole
    assert "…" not in text and "6 of 6 consumer(s) affected" in text
    table = [line for line in text.splitlines() if not line.startswith(("(", "impact of", "6 of 6"))]
    assert max(len(line.rstrip()) for line in table) <= width
    wide = runner.invoke(app, [*args, "--wide"], env={"COLUMNS": str(width)})
    assert "team" in wide.stdout and "path" in wide.stdout and "--wide shows" not in wide.stdout


def test_db_commands(bare: Path) -> None:
    mesh = bare
    current = invoke("db", "current", str(mesh), "--format", "json")
    if os.environ.get("MESHPLANE_DATABASE_URL"):  # an empty PostgreSQL database: shown, not created
        assert current.exit_code == 0
        before = json.loads(current.stdout)
        assert before["current"] is None and not before["upToDate"]
    else:  # no SQLite file: none is created
        assert current.exit_code == 2 and "meshplane db init" in current.output
        assert not (mesh / ".meshplane").exists()
    created = invoke("db", "init", str(mesh))
    assert created.exit_code == 0 and "created registry" in created.output
    again = invoke("db", "init", str(mesh))
    assert again.exit_code == 0 and "already exists" in again.output and "nothing to do" in again.output
    after = json.loads(invoke("db", "current", str(mesh), "--format", "json").stdout)
    assert after["upToDate"] and after["current"] == after["head"]
    assert "already at revision" in invoke("db", "upgrade", str(mesh)).output
    assert "up to date" in invoke("db", "current", str(mesh)).output
    status = json.loads(invoke("db", "status", str(mesh), "--format", "json").stdout)
    assert status["upToDate"] and status["workers"] == [] and status["derivation"]["waiting"] == 0
    assert "workers: none has run" in invoke("db", "status", str(mesh)).output
    assert invoke("worker", "--once", "--quiet", "--mesh", str(mesh)).exit_code == 0  # leaves its last heartbeat
    (worker,) = json.loads(invoke("db", "status", str(mesh), "--format", "json").stdout)["workers"]
    assert not worker["alive"] and worker["stoppedAt"] and "lineage-derivation" in worker["jobs"]
    assert "stopped or silent" in invoke("db", "status", str(mesh)).output


def test_default_registry_lives_in_the_mesh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MESHPLANE_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    mesh = Path(shutil.copytree(EXAMPLE, tmp_path / "m", ignore=shutil.ignore_patterns("lake", ".meshplane")))
    monkeypatch.chdir(mesh / "domains")  # found by walking up to mesh.yaml
    refused = invoke("apply", "--yes")
    assert refused.exit_code == 2 and "apply --init" in refused.output
    assert not (mesh / ".meshplane").exists()
    assert invoke("apply", "--yes", "--init").exit_code == 0
    assert (mesh / ".meshplane" / "registry.db").is_file()
    assert json.loads(invoke("db", "current", "--format", "json").stdout)["source"] == "default"


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "{tmp}/nowhere"],
        ["apply", "{tmp}/nowhere", "--yes"],
        ["db", "current", "{tmp}"],
        ["db", "status", "{tmp}"],
        ["worker", "--once", "--mesh", "{tmp}"],
        ["plan", "{tmp}", "--format", "xml"],
    ],
)
def test_bad_input_is_a_message_with_exit_2(args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MESHPLANE_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    result = invoke(*[a.format(tmp=tmp_path) for a in args])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_unreachable_registry_is_a_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESHPLANE_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
    get_settings.cache_clear()
    mesh = Path(shutil.copytree(EXAMPLE, tmp_path / "m", ignore=shutil.ignore_patterns("lake", ".meshplane")))
    result = invoke("plan", str(mesh))
    assert result.exit_code == 2 and "cannot open the registry" in result.output
    get_settings.cache_clear()


READ_COMMANDS = [
    ["plan", "{mesh}"],
    ["plan", "{mesh}", "--format", "json"],
    ["apply", "{mesh}", "--yes"],
    ["impact", "customer.profiles.customers", "--mesh", "{mesh}"],
    ["movements", "--mesh", "{mesh}"],
    ["lineage", "retail.sales", "--mesh", "{mesh}"],
    ["token", "list", "--mesh", "{mesh}"],
    ["worker", "--once", "--mesh", "{mesh}"],
    ["serve", "--mesh", "{mesh}", "--port", "1"],
    ["db", "status", "{mesh}"],
]


@pytest.mark.parametrize("args", READ_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_a_fresh_checkout_has_no_registry_to_read(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("MESHPLANE_DATABASE_URL", "MESHPLANE_SERVER_URL", "MESHPLANE_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    mesh = Path(shutil.copytree(EXAMPLE, tmp_path / "m", ignore=shutil.ignore_patterns("lake", ".meshplane")))
    monkeypatch.chdir(tmp_path)
    result = invoke(*[a.format(mesh=mesh) for a in args])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "MESHPLANE_DATABASE_URL is not set" in text and "m/mesh.yaml has no `registry:`" in text
    assert "m/.meshplane/registry.db does not exist" in text
    assert "--server-url" in text and "meshplane db init" in text and "Traceback" not in text
    assert not (mesh / ".meshplane").exists(), "nothing was created"


def test_a_configured_registry_that_does_not_exist_is_not_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MESHPLANE_DATABASE_URL", f"sqlite:///{tmp_path}/typo/registry.db")
    get_settings.cache_clear()
    mesh = Path(shutil.copytree(EXAMPLE, tmp_path / "m", ignore=shutil.ignore_patterns("lake", ".meshplane")))
    result = invoke("plan", str(mesh))
    assert result.exit_code == 2 and "(from MESHPLANE_DATABASE_URL) does not exist" in " ".join(result.output.split())
    assert not (tmp_path / "typo").exists()
    created = invoke("apply", str(mesh), "--yes", "--init")
    assert created.exit_code == 0 and (tmp_path / "typo" / "registry.db").is_file()
    get_settings.cache_clear()


@pytest.mark.postgres
def test_an_empty_postgresql_database_is_not_a_registry(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MESHPLANE_DATABASE_URL", postgres_url)
    get_settings.cache_clear()
    mesh = Path(shutil.copytree(EXAMPLE, tmp_path / "m", ignore=shutil.ignore_patterns("lake", ".meshplane")))
    result = invoke("plan", str(mesh))
    assert result.exit_code == 2 and "holds no meshplane schema" in " ".join(result.output.split())
    assert json.loads(invoke("db", "status", str(mesh), "--format", "json").stdout)["current"] is None
    get_settings.cache_clear()

"""`meshplane token create|list|revoke`: the secret is printed once, only its hash is stored."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from meshplane.cli.app import app
from meshplane.registry import Registry
from meshplane.registry.access import ApiToken
from meshplane.service.tokens import hash_token
from meshplane.settings import get_settings
from token_support import add_domains

REPO = Path(__file__).resolve().parents[2]

runner = CliRunner()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def mesh(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the example mesh; its registry is the default SQLite file, or PostgreSQL via the environment."""
    monkeypatch.delenv("MESHPLANE_DATABASE_URL", raising=False)
    if request.param == "postgresql":
        monkeypatch.setenv("MESHPLANE_DATABASE_URL", request.getfixturevalue("postgres_url"))
    get_settings.cache_clear()
    copy = Path(
        shutil.copytree(
            REPO / "examples/holding", tmp_path / "holding", ignore=shutil.ignore_patterns("lake", ".meshplane")
        )
    )
    (copy / ".meshplane").mkdir()
    with registry_of(copy) as registry:  # the registry exists (created and migrated), as after `meshplane db init`
        add_domains(registry, "retail", "finance")
    yield copy
    get_settings.cache_clear()


def token(*args: str):  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["token", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def registry_of(mesh: Path) -> Registry:
    url = get_settings().database_url or f"sqlite:///{mesh / '.meshplane' / 'registry.db'}"
    return Registry(url)


def test_create_prints_the_token_once_and_stores_its_hash(mesh: Path) -> None:
    created = token("create", "--role", "maintainer", "--domain", "retail", "--name", "ci-retail", "--mesh", str(mesh))
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip()
    assert secret.startswith("mp_") and "\n" not in secret
    assert "shown only this once" in created.stderr
    with registry_of(mesh) as registry, registry.read() as session:
        row = session.execute(sa.select(ApiToken)).scalar_one()
    assert row.sha256 == hash_token(secret) and (row.role, row.domain_id, row.name) == (
        "maintainer",
        "retail",
        "ci-retail",
    )
    listed = token("list", "--mesh", str(mesh), "--format", "json")
    assert listed.exit_code == 0 and secret not in listed.stdout
    assert [(t["name"], t["role"], t["domain"]) for t in json.loads(listed.stdout)] == [
        ("ci-retail", "maintainer", "retail")
    ]
    table = token("list", "--mesh", str(mesh))
    assert "ci-retail" in table.stdout and secret not in table.stdout


def test_json_create_and_revoke(mesh: Path) -> None:
    created = json.loads(token("create", "--role", "admin", "--mesh", str(mesh), "--format", "json").stdout)
    assert created["token"].startswith(f"mp_{created['id']}_") and created["role"] == "admin"
    revoked = token("revoke", created["id"], "--mesh", str(mesh))
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    assert json.loads(token("list", "--mesh", str(mesh), "--format", "json").stdout) == []
    everything = json.loads(token("list", "--all", "--mesh", str(mesh), "--format", "json").stdout)
    assert everything[0]["active"] is False and everything[0]["revokedAt"]
    assert "no tokens" in token("list", "--mesh", str(mesh)).stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "maintainer"], "needs a domain"),
        (["--role", "reader", "--domain", "retail"], "not scoped"),
        (["--role", "root"], "role must be one of"),
        (
            ["--role", "maintainer", "--domain", "nosuch"],
            "no domain 'nosuch' in the registry; known domains: finance, retail",
        ),
    ],
)
def test_refusals_are_messages_with_exit_2(mesh: Path, args: list[str], message: str) -> None:
    result = token("create", *args, "--mesh", str(mesh))
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.output
    assert json.loads(token("list", "--all", "--mesh", str(mesh), "--format", "json").stdout) == []


def test_revoking_an_unknown_token(mesh: Path) -> None:
    result = token("revoke", "zzzzzzzz", "--mesh", str(mesh))
    assert result.exit_code == 2 and "no token" in result.stderr


def test_a_folder_without_a_mesh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MESHPLANE_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    result = token("list", "--mesh", str(tmp_path))
    assert result.exit_code == 2 and "not a mesh" in result.stderr


def test_create_with_an_expiry_and_list_shows_it(mesh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dated = json.loads(
        token("create", "--role", "reader", "--expires", "2d", "--mesh", str(mesh), "--format", "json").stdout
    )
    created_at, expires_at = (datetime.fromisoformat(dated[key]) for key in ("createdAt", "expiresAt"))
    assert timedelta(days=2) - timedelta(seconds=1) <= expires_at - created_at <= timedelta(days=2)
    monkeypatch.setenv("MESHPLANE_TOKEN_DEFAULT_EXPIRY_DAYS", "10")
    get_settings.cache_clear()
    default = token("create", "--role", "reader", "--name", "ten-days", "--mesh", str(mesh))
    assert default.exit_code == 0 and "expires" in default.stderr
    listed = {t["name"]: t for t in json.loads(token("list", "--mesh", str(mesh), "--format", "json").stdout)}
    ten = listed["ten-days"]
    assert datetime.fromisoformat(ten["expiresAt"]) - datetime.fromisoformat(ten["createdAt"]) == timedelta(days=10)
    monkeypatch.setenv("COLUMNS", "200")  # every column at its width
    table = token("list", "--mesh", str(mesh)).stdout
    assert "expires" in table and f"{datetime.fromisoformat(ten['expiresAt']):%Y-%m-%d %H:%M}" in table


@pytest.mark.parametrize(
    ("expires", "message"),
    [("never", "every token expires"), ("yesterday", "is not a duration such as 30d"), ("400d", "at most 366 days")],
)
def test_a_bad_expiry_is_one_line_with_exit_2(mesh: Path, expires: str, message: str) -> None:
    result = token("create", "--role", "reader", "--expires", expires, "--mesh", str(mesh))
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.output
    assert json.loads(token("list", "--all", "--mesh", str(mesh), "--format", "json").stdout) == []


@pytest.mark.parametrize("width", [80, 100])
def test_token_list_fits_the_width_without_cutting_ids(mesh: Path, width: int) -> None:
    for role, domain in (("admin", None), ("maintainer", "retail"), ("reader", None)):
        scope = ["--domain", domain] if domain else []
        created = token(
            "create", "--role", role, "--name", f"a-rather-long-name-for-the-{role}", *scope, "--mesh", str(mesh)
        )
        assert created.exit_code == 0, created.output
    ids = [t["id"] for t in json.loads(token("list", "--mesh", str(mesh), "--format", "json").stdout)]
    result = runner.invoke(app, ["token", "list", "--mesh", str(mesh)], env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    words = {word for line in result.stdout.splitlines() for word in line.split()}
    for whole in (*ids, "a-rather-long-name-for-the-maintainer", "maintainer", "retail"):
        assert whole in words, (whole, result.stdout)
    assert "…" not in result.stdout
    assert max(len(line.rstrip()) for line in result.stdout.splitlines() if not line.startswith("(")) <= width

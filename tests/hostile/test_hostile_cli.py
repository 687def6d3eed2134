"""Hostile input to the command line (issue 19), on SQLite and PostgreSQL.

Each case runs the real `meshplane` command in a process of its own and must end with a non-zero
exit and one `error:` line naming the file or the contract and the limit, without a traceback,
below 500 MB of memory (its peak RSS, from the kernel), and with the registry's fingerprint
unchanged. `lint` reads no registry: its cases run once.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from hostile_support import Served, World, assert_one_line_exit, clean_env, fingerprint, run_command

from read_only_support import read_only

ORDERS = "domains/retail/products/sales/contracts/orders.odcs.yaml"
BILLION_LAUGHS = 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]\n" for i in range(1, 10)
)
HOSTILE_YAML = {
    "billion laughs": (BILLION_LAUGHS, "100,000"),
    "10,000-deep nesting": ("x: " + "[" * 10_000 + "]" * 10_000 + "\n", "100 levels"),
    "recursive alias": ("a: &x [1, {b: *x}]\n", "recursive alias"),
}
EXAMPLE_MESH = Path(__file__).resolve().parents[2] / "examples" / "holding"


def mesh_with(folder: Path, text: str) -> Path:
    """A copy of the example mesh whose orders contract is `text`."""
    mesh = Path(shutil.copytree(EXAMPLE_MESH, folder / "holding", ignore=shutil.ignore_patterns("lake", ".meshplane")))
    (mesh / ORDERS).write_text(text, encoding="utf-8")
    return mesh


@pytest.mark.parametrize(("text", "limit"), HOSTILE_YAML.values(), ids=HOSTILE_YAML.keys())
def test_lint_refuses_hostile_yaml_in_one_line(tmp_path: Path, text: str, limit: str) -> None:
    mesh = mesh_with(tmp_path, text)
    result = run_command(["lint", str(mesh)], clean_env(), tmp_path)
    assert result.code == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "orders.odcs.yaml" in result.stdout and limit in result.stdout, result.stdout
    assert result.max_rss < 500 * 1024 * 1024


@pytest.mark.parametrize(("text", "limit"), HOSTILE_YAML.values(), ids=HOSTILE_YAML.keys())
def test_apply_refuses_hostile_yaml_and_stores_nothing(
    world: World, engine: sa.Engine, tmp_path: Path, text: str, limit: str
) -> None:
    before = fingerprint(engine)
    mesh = mesh_with(tmp_path, text)
    result = run_command(["apply", str(mesh), "--yes"], clean_env(MESHPLANE_DATABASE_URL=world.registry_url), tmp_path)
    assert result.code == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert limit in result.stdout + result.stderr
    assert result.max_rss < 500 * 1024 * 1024
    assert fingerprint(engine) == before


def read_only_registry(world: World, folder: Path) -> tuple[str, list[Path]]:
    """A read-only registry with the world's content: (its URL, the files to make read-only)."""
    if world.registry_url.startswith("postgresql"):
        return world.registry_url + "?options=-c%20default_transaction_read_only%3Don", []
    file = folder / "read-only.db"
    shutil.copyfile(world.registry_url.removeprefix("sqlite:///"), file)
    return f"sqlite:///{file}", [file]


@pytest.mark.parametrize(
    "args",
    [["token", "create", "--role", "admin", "--name", "intruder"], ["apply", "{mesh}", "--yes"]],
    ids=["token create", "apply"],
)
def test_a_read_only_registry_is_one_line_and_exit_1(
    world: World, engine: sa.Engine, tmp_path: Path, args: list[str]
) -> None:
    mesh = mesh_with(tmp_path, (EXAMPLE_MESH / ORDERS).read_text())
    domain = mesh / "domains/retail/domain.yaml"
    domain.write_text(domain.read_text().replace("Runs the group's web shop", "Runs the web shop", 1))
    url, files = read_only_registry(world, tmp_path)
    before = fingerprint(engine)
    with read_only(*files):
        result = run_command(
            [arg.replace("{mesh}", str(mesh)) for arg in args], clean_env(MESHPLANE_DATABASE_URL=url), tmp_path
        )
    line = assert_one_line_exit(result, code=1)
    assert "the registry at" in line and "is read-only" in line, line
    assert fingerprint(engine) == before


@pytest.fixture
def ghost(tmp_path: Path) -> Path:
    """A contract `ghost` (no registry knows it) with its data, outside any mesh."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": [1, 2, 3]}), tmp_path / "ghost.parquet")
    contract = tmp_path / "ghost.odcs.yaml"
    contract.write_text(
        "apiVersion: v3.1.0\nkind: DataContract\nid: ghost\nversion: 1.0.0\nstatus: active\n"
        "servers:\n  - server: lake\n    type: local\n    path: '{model}.parquet'\n    format: parquet\n"
        "schema:\n  - name: ghost\n    properties:\n      - name: id\n        logicalType: integer\n",
        encoding="utf-8",
    )
    return contract


def test_recording_a_run_of_an_unregistered_contract_is_refused(world: World, engine: sa.Engine, ghost: Path) -> None:
    before = fingerprint(engine)
    env = clean_env(MESHPLANE_DATABASE_URL=world.registry_url)
    result = run_command(["test", "-q", "--record", str(ghost)], env, ghost.parent)
    line = assert_one_line_exit(result, code=2)
    assert "'ghost'" in line and "not registered" in line and "--no-record" in line, line
    assert "passed" in result.stdout  # the report is shown all the same
    assert fingerprint(engine) == before


def test_publishing_a_run_of_an_unregistered_contract_is_refused(
    served: Served, world: World, engine: sa.Engine, ghost: Path
) -> None:
    before = fingerprint(engine)
    env = clean_env(MESHPLANE_TOKEN=world.tokens["admin"])
    url = f"http://127.0.0.1:{served.port}"
    result = run_command(["test", "-q", "--no-record", "--publish", url, str(ghost)], env, ghost.parent)
    line = assert_one_line_exit(result, code=result.code or 1)
    assert result.code != 0 and "ghost" in line and "not registered" in line, line
    assert fingerprint(engine) == before
    assert served.alive


if sys.platform != "linux":  # pragma: no cover - wait4 and the RSS it reports are Linux's here
    pytestmark = pytest.mark.skip("the command's peak memory is read with wait4 (Linux)")

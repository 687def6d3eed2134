"""The CLI starts fast: importing it loads no database, engine, web or data library.

`meshplane --help` imports every command module, so a heavy import at the top of any of them slows
it down; a command itself imports only its own module (`COMMANDS`), which the tests hold true.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from meshplane.cli import app as cli_app

HEAVY = (
    "sqlalchemy",
    "alembic",
    "fastapi",
    "uvicorn",
    "duckdb",
    "pyarrow",
    "pyiceberg",
    "deltalake",
    "httpx",
    "sqlglot",
)


def test_importing_the_cli_loads_no_heavy_library() -> None:
    code = f"import sys, meshplane.cli.app\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "", f"imported at CLI start-up: {loaded} (import them inside the command functions)"


def _top_level_names(application: typer.Typer) -> set[str]:
    names = {c.name or (c.callback.__name__ if c.callback else "") for c in application.registered_commands}
    return names | {g.name or "" for g in application.registered_groups}


def test_the_command_map_lists_exactly_what_each_module_registers() -> None:
    listed = set(cli_app.COMMANDS.values())
    assert listed == set(cli_app.command_modules()), "a command module is missing from COMMANDS (or gone)"
    for module in cli_app.command_modules():
        registered = _top_level_names(cli_app.build_app([module]))
        expected = {name for name, owner in cli_app.COMMANDS.items() if owner == module}
        assert registered == expected, f"cli/commands/{module}.py registers {registered}, COMMANDS says {expected}"


def test_a_command_line_loads_only_its_own_module() -> None:
    assert cli_app.modules_for(["test", "x.yaml", "--format", "json"]) == ["test"]
    assert cli_app.modules_for(["movements", "--since", "2026-01-01"]) == ["lineage"]
    assert cli_app.modules_for(["--help"]) is None
    assert cli_app.modules_for(["tset"]) is None  # a typo: Click lists every command
    code = (
        "import sys\nfrom meshplane.cli import app\nsys.argv = ['meshplane', 'lint', '--help']\n"
        "try:\n    app.main()\nexcept SystemExit:\n    pass\n"
        "print(','.join(sorted(m.rsplit('.', 1)[1] for m in sys.modules if m.startswith('meshplane.cli.commands.'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "lint"


def test_an_unknown_command_still_lists_every_command() -> None:
    result = subprocess.run([sys.executable, "-m", "meshplane", "tset"], check=False, capture_output=True, text=True)
    assert result.returncode == 2
    assert "No such command" in result.stderr
    help_text = subprocess.run(
        [sys.executable, "-m", "meshplane", "--help"], check=False, capture_output=True, text=True
    ).stdout
    for name in cli_app.COMMANDS:
        assert name in help_text


def test_start_up_loads_what_the_command_needs_and_resumes_garbage_collection() -> None:
    code = (
        "import gc, sys\nfrom meshplane.cli import launch, app\n"
        "gc.disable()\napplication = app.start_up(['test', 'x.odcs.yaml'])\n"
        "print(gc.isenabled(), 'meshplane.service.testing' in sys.modules, 'sqlalchemy' in sys.modules)\n"
        "try:\n    app.start_up(['tset'])\nexcept Exception:\n    pass\nprint(gc.isenabled())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "True", "False", "True"]


def test_every_startup_import_exists() -> None:
    import importlib

    for module in cli_app.command_modules():
        for dependency in getattr(importlib.import_module(f"meshplane.cli.commands.{module}"), "STARTUP_IMPORTS", ()):
            importlib.import_module(dependency)


def test_the_console_script_and_python_dash_m_run_the_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "meshplane", "--version"], check=False, capture_output=True, text=True
    )
    assert result.returncode == 0
    assert result.stdout.startswith("meshplane ")


SERVER_LIBRARIES = ("sqlalchemy", "alembic", "fastapi", "uvicorn", "starlette", "jinja2", "meshplane.registry.store")
"""What a whole `meshplane test` run without a registry must never import (web, registry, migrations)."""


@pytest.mark.parametrize("in_mesh", [False, True], ids=["loose-contract", "mesh-without-registry"])
def test_a_whole_test_run_without_a_registry_imports_no_server_library(tmp_path: Path, in_mesh: bool) -> None:
    data = tmp_path
    if in_mesh:  # a mesh reads its data under the lake root (`lake/`); no registry file exists
        (tmp_path / "mesh.yaml").write_text("apiVersion: meshplane/v1\nkind: Mesh\nname: m\n", encoding="utf-8")
        data = tmp_path / "lake"
        data.mkdir()
    (data / "orders.csv").write_text("id,name\n1,a\n2,b\n", encoding="utf-8")
    (tmp_path / "orders.odcs.yaml").write_text(
        "apiVersion: v3.1.0\nkind: DataContract\nid: orders\nversion: 1.0.0\nstatus: active\n"
        "servers:\n  - server: lake\n    type: local\n    path: orders.csv\n    format: csv\n"
        "schema:\n  - name: orders\n    properties:\n"
        "      - name: id\n        logicalType: integer\n        required: true\n        unique: true\n"
        "      - name: name\n        logicalType: string\n",
        encoding="utf-8",
    )
    code = (
        "import sys\nfrom meshplane.cli import launch\n"
        "sys.argv = ['meshplane', 'test', 'orders.odcs.yaml', '--format', 'json', '-q']\n"
        "try:\n    launch.main()\nexcept SystemExit as exc:\n    code = exc.code\nelse:\n    code = 0\n"
        f"print('\\nexit', code, ','.join(m for m in {SERVER_LIBRARIES!r} if m in sys.modules))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESHPLANE_")}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    )
    last = out.stdout.strip().splitlines()[-1].split(" ")
    assert last[:2] == ["exit", "0"], out.stdout + out.stderr
    loaded = last[2] if len(last) > 2 else ""
    assert loaded == "", f"`meshplane test` without a registry imported {loaded}: import it only when it is used"


def test_the_diff_perspective_choices_are_the_diff_packages() -> None:
    from meshplane.cli.commands import diff as diff_command
    from meshplane.cli.commands.diff import PerspectiveChoice
    from meshplane.diff import Level, Perspective, Severity

    assert [p.value for p in PerspectiveChoice] == [p.value for p in Perspective]
    assert set(diff_command._STYLE) == {s.value for s in Severity}
    assert set(diff_command._LEVEL_STYLE) == {level.value for level in Level}


def test_help_lists_every_command_without_loading_the_contract_models_or_the_registry() -> None:
    code = (
        "import sys\nfrom meshplane.cli import launch\nsys.argv = ['meshplane', '--help']\n"
        "try:\n    launch.main()\nexcept SystemExit:\n    pass\n"
        "print('loaded:', ','.join(m for m in ('sqlalchemy', 'sqlglot', 'duckdb', 'meshplane.spec.odcs',"
        " 'meshplane.registry.store') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = out.rsplit("loaded:", 1)[1].strip()
    assert "Commands" in out
    assert loaded == "", f"`meshplane --help` imported {loaded}: import it inside the command function"

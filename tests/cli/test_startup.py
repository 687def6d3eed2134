"""The CLI starts fast: importing it loads no database, engine, web or data library.

`meshplane --help` imports every command module, so a heavy import at the top of any of them slows
it down; a command itself imports only its own module (`COMMANDS`), which the tests hold true.
"""

from __future__ import annotations

import subprocess
import sys

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

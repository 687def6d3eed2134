"""Docs kept true by tests: every setting and every CLI command is documented."""

from __future__ import annotations

from pathlib import Path

import typer

from meshplane.cli.app import app
from meshplane.settings import settings_reference

REPO = Path(__file__).resolve().parents[1]


def _command_paths(application: typer.Typer, prefix: str = "") -> list[str]:
    names = [
        f"{prefix}{c.name or (c.callback.__name__ if c.callback else '')}" for c in application.registered_commands
    ]
    for group in application.registered_groups:
        assert group.typer_instance is not None
        names += _command_paths(group.typer_instance, f"{prefix}{group.name} ")
    return names


def test_configuration_doc_lists_every_setting() -> None:
    doc = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert settings_reference() in doc, "regenerate docs/configuration.md from meshplane.settings.settings_reference()"


def test_readme_documents_every_cli_command() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    commands = _command_paths(app)
    assert commands, "no CLI command registered"
    missing = [c for c in commands if f"meshplane {c}" not in readme]
    assert not missing, f"README.md does not document: {missing}"


def test_readme_starts_with_the_two_commands() -> None:
    head = (REPO / "README.md").read_text(encoding="utf-8")[:400]
    assert "make demo" in head and "make test" in head

"""The public surface of meshplane.lineage is listed, documented, and kept small per module."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import meshplane.lineage as lineage
import meshplane.lineage.dbt  # noqa: F401 - the module is checked below
from meshplane.lineage import SCHEME_RULES, SERVER_LOCATORS

REPO = Path(__file__).resolve().parents[2]
DOC = (REPO / "docs" / "lineage.md").read_text(encoding="utf-8")


def test_every_public_name_exists_and_is_documented() -> None:
    assert len(set(lineage.__all__)) == len(lineage.__all__)
    missing = [name for name in lineage.__all__ if f"`{name}" not in DOC]
    assert not missing, f"docs/lineage.md does not mention: {missing}"
    for name in lineage.__all__:
        value = getattr(lineage, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"{name} has no docstring"


def test_public_classes_and_functions_are_the_package_names() -> None:
    for module in (lineage.events, lineage.facets, lineage.identity, lineage.resolve, lineage.schemas, lineage.dbt):
        assert inspect.getdoc(module), module.__name__
        for name, value in vars(module).items():
            defined_here = getattr(value, "__module__", None) == module.__name__
            if name.startswith("_") or not defined_here or not (inspect.isclass(value) or inspect.isfunction(value)):
                continue
            assert inspect.getdoc(value), f"{module.__name__}.{name} has no docstring"


def test_the_scheme_table_matches_the_rules() -> None:
    for rule in SCHEME_RULES:
        aliases = ", ".join(f"`{a}`" for a in rule.aliases)
        port = str(rule.default_port) if rule.default_port is not None else ""
        row = f"| `{rule.scheme}` | {aliases} | {rule.kind.value} | {port} | {rule.case.value} |"
        assert re.sub(r" +", " ", row) in re.sub(r" +", " ", DOC), row


def test_every_server_type_with_a_locator_is_documented() -> None:
    table = DOC.split("| server type |", 1)[1].split("\n\n", 1)[0]
    missing = [t for t in SERVER_LOCATORS if f"`{t}`" not in table]
    assert not missing, f"docs/lineage.md server table lacks: {missing}"


def test_modules_stay_small() -> None:
    for module in (lineage.events, lineage.facets, lineage.identity, lineage.resolve, lineage.schemas, lineage.dbt):
        lines = Path(inspect.getfile(module)).read_text(encoding="utf-8").count("\n")
        assert lines < 800, f"{module.__name__} has {lines} lines"

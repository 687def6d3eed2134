"""Bounded YAML reading (issue 19): hostile documents are refused fast with one diagnostic naming the limit.

A billion-laughs document (9 levels of aliases, a few hundred bytes) is refused before anything is
expanded; 10,000-deep nesting and recursive aliases are diagnostics with file and line, not a
`RecursionError`; files beyond `MAX_YAML_BYTES` are not read. `meshplane lint` exits 1 with the
reason on one line.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from meshplane.cli.app import app
from meshplane.spec.yamlsource import (
    MAX_YAML_ALIAS_NODES,
    MAX_YAML_ALIASES,
    MAX_YAML_BYTES,
    MAX_YAML_DEPTH,
    parse_yaml,
    read_yaml_file,
)

REPO = Path(__file__).resolve().parents[2]
CONTRACT = "domains/customer/products/profiles/contracts/customers.odcs.yaml"


def billion_laughs(levels: int = 9) -> str:
    """The classic: each level a list of ten aliases of the one before (10**levels strings once expanded)."""
    lines = ["kind: DataContract", 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


HOSTILE = {
    "billion laughs": (billion_laughs(), "yaml-alias-limit", f"more than {MAX_YAML_ALIAS_NODES:,} nodes", 6),
    "10,000-deep flow nesting": (
        "kind: DataContract\nx: " + "[" * 10_000 + "]" * 10_000 + "\n",
        "yaml-too-deep",
        f"deeper than {MAX_YAML_DEPTH} levels",
        2,
    ),
    "10,000-deep mappings": (
        "kind: DataContract\nx: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n",
        "yaml-too-deep",
        f"deeper than {MAX_YAML_DEPTH} levels",
        2,
    ),
    "recursive alias in a list": ("kind: DataContract\na: &x [1, *x]\n", "yaml-recursive-alias", "*x", 2),
    "recursive alias in a mapping": ("kind: DataContract\na: &x {b: {c: *x}}\n", "yaml-recursive-alias", "*x", 2),
    "too many aliases": (
        "kind: DataContract\na: &x 1\nb: [" + ", ".join(["*x"] * (MAX_YAML_ALIASES + 1)) + "]\n",
        "yaml-alias-limit",
        f"more than {MAX_YAML_ALIASES:,} aliases",
        3,
    ),
}


@pytest.mark.parametrize(("text", "code", "reason", "line"), HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_document_is_one_diagnostic_naming_the_limit(text: str, code: str, reason: str, line: int) -> None:
    started = time.perf_counter()
    doc, problems = parse_yaml(text, "bad.yaml")
    assert time.perf_counter() - started < 1.0
    assert doc is None
    assert [(p.code, p.file, p.line) for p in problems] == [(code, "bad.yaml", line)]
    assert reason in problems[0].message and "\n" not in problems[0].message


def test_a_file_beyond_the_size_limit_is_not_read(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"kind: DataContract\nx: '" + b"a" * MAX_YAML_BYTES + b"'\n")
    doc, problems = read_yaml_file(big, "big.yaml")
    assert doc is None and [(p.code, p.file) for p in problems] == [("yaml-too-large", "big.yaml")]
    assert f"{MAX_YAML_BYTES:,}" in problems[0].message
    doc, problems = parse_yaml(big.read_text(encoding="utf-8"), "big.yaml")
    assert doc is None and problems[0].code == "yaml-too-large"


def test_aliases_within_the_limits_and_merge_keys_still_work() -> None:
    text = (
        "defaults: &d {type: string, required: true}\n"
        "a: {<<: *d, name: a}\n"
        "b: {<<: *d, name: b}\n"
        "nested: &n [" + ", ".join(["*d"] * 100) + "]\n"
        "again: [*n, *n]\n"
        "deep: " + "[" * (MAX_YAML_DEPTH - 1) + "]" * (MAX_YAML_DEPTH - 1) + "\n"
    )
    doc, problems = parse_yaml(text, "ok.yaml")
    assert doc is not None and not problems, problems
    assert doc.data["a"] == {"type": "string", "required": True, "name": "a"}
    assert len(doc.data["again"][1]) == 100


def test_an_anchor_redefined_around_its_own_alias_is_recursive() -> None:
    doc, problems = parse_yaml("a: &x 1\nb: &x [*x]\n", "r.yaml")
    assert doc is None and problems[0].code in ("yaml-recursive-alias", "yaml-syntax")


@pytest.mark.parametrize("case", ["billion laughs", "10,000-deep flow nesting", "recursive alias in a list"])
def test_lint_exits_1_with_the_file_the_line_and_the_limit(case: str, tmp_path: Path) -> None:
    mesh = Path(
        shutil.copytree(
            REPO / "examples/holding", tmp_path / "mesh", ignore=shutil.ignore_patterns("lake", ".meshplane")
        )
    )
    text, code, reason, line = HOSTILE[case]
    (mesh / CONTRACT).write_text(text, encoding="utf-8")
    started = time.perf_counter()
    result = CliRunner().invoke(app, ["lint", str(mesh)])
    assert time.perf_counter() - started < 10
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    (found,) = [row for row in result.output.splitlines() if code in row]
    assert f"{CONTRACT}:{line}:" in found and reason in found

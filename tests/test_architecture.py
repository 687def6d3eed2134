"""The package layers hold: no module of `src/meshplane` imports a layer above its own (docs/architecture.md).

Every module is mapped to a layer by its dotted name (the longest prefix in `LAYERS` wins). The checker
reads each file with `ast` and looks at every import: at module level, inside functions and classes,
under ``if TYPE_CHECKING:`` (a type named from a higher layer is knowledge of that layer too, so those
are held to the same rule), relative imports, and ``importlib.import_module("literal")``. An import of
the same layer or a lower one is fine; an import of a higher layer is a violation, unless listed in
`ALLOWED` with its reason. Imports built from strings at run time (plugin tables) are not seen.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

LAYERS: dict[str, int] = {
    # 0. base modules: what every layer may use
    "meshplane": 0,
    "meshplane.diagnostics": 0,
    "meshplane.settings": 0,
    "meshplane.errors": 0,
    "meshplane.access": 0,
    # 1. parse and validate the standards' documents
    "meshplane.spec": 1,
    # 2. the store and the query engines
    "meshplane.registry": 2,
    "meshplane.engines": 2,
    # 3. domain packages (model code over spec, registry and engines)
    "meshplane.checks": 3,
    "meshplane.diff": 3,
    "meshplane.lineage": 3,
    "meshplane.mesh": 3,
    "meshplane.interop": 3,
    # 4. the use cases
    "meshplane.service": 4,
    # 5. the server (HTTP API, and the web pages when they come)
    "meshplane.api": 5,
    "meshplane.web": 5,
    # 6. the demo: drives a real server and the API client
    "meshplane.demo": 6,
    # 7. the command line, which may start the server, call it as a client, or run the demo
    "meshplane.cli": 7,
    "meshplane.__main__": 8,
}
"""Dotted-name prefix → layer. A module may import its own layer and every lower one."""

ALLOWED: dict[tuple[str, str], str] = {}
"""(importing module, imported module) → why an upward import is tolerated. Empty: none is."""


@dataclass(frozen=True)
class Violation:
    """An import of a higher layer."""

    module: str
    line: int
    imported: str
    layers: tuple[int, int]

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.imported} (layer {self.layers[0]} → {self.layers[1]})"


def layer_of(module: str) -> int | None:
    """The layer of a dotted module name (longest prefix in `LAYERS`), None when no prefix matches."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        layer = LAYERS.get(".".join(parts[:end]))
        if layer is not None:
            return layer
    return None


def module_name(path: Path) -> str:
    """``src/meshplane/registry/access.py`` → ``meshplane.registry.access`` (a package is its ``__init__``)."""
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _submodule(package: str, name: str) -> str:
    """``package.name`` when that is a module of the source tree, else `package` (the name is an attribute)."""
    candidate = SRC.joinpath(*f"{package}.{name}".split("."))
    return f"{package}.{name}" if candidate.with_suffix(".py").is_file() or candidate.is_dir() else package


def imported_modules(source: str, module: str, *, is_package: bool = False) -> Iterator[tuple[int, str]]:
    """(line, dotted name) of every meshplane module `source` imports, wherever the import stands."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from meshplane import api` imports the module meshplane.api; `from x import Name` imports x
            names = [_submodule(base, alias.name) for alias in node.names]
        elif isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            first = node.args[0] if node.args else None
            if called in ("import_module", "__import__") and isinstance(first, ast.Constant):
                names = [str(first.value)]
        for name in names:
            if name == "meshplane" or name.startswith("meshplane."):
                yield node.lineno, name


def violations(source: str, module: str, *, is_package: bool = False) -> list[Violation]:
    """The imports in `source` (the text of `module`) that point to a higher layer."""
    own = layer_of(module)
    if own is None:
        raise ValueError(f"{module} has no layer: add it to LAYERS in tests/test_architecture.py")
    found: dict[tuple[int, str], Violation] = {}
    for line, name in imported_modules(source, module, is_package=is_package):
        target = layer_of(name)
        if target is not None and target > own:
            found.setdefault((line, name), Violation(module, line, name, (own, target)))
    return list(found.values())


def source_modules() -> Iterator[tuple[Path, str]]:
    """Every module of the package, with its dotted name."""
    for path in sorted((SRC / "meshplane").rglob("*.py")):
        yield path, module_name(path)


def all_violations() -> list[Violation]:
    """Every upward import in `src/meshplane`, allowed or not."""
    found = []
    for path, module in source_modules():
        found += violations(path.read_text(encoding="utf-8"), module, is_package=path.name == "__init__.py")
    return found


# --- the package ---------------------------------------------------------------------------------------------


def test_every_module_has_a_layer() -> None:
    unplaced = [module for _, module in source_modules() if layer_of(module) is None]
    assert not unplaced, f"place these in LAYERS (tests/test_architecture.py): {unplaced}"


def test_no_module_imports_a_higher_layer() -> None:
    bad = [str(v) for v in all_violations() if (v.module, v.imported) not in ALLOWED]
    assert not bad, "imports against the layer direction (docs/architecture.md):\n" + "\n".join(bad)


def test_every_allowed_exception_is_still_needed() -> None:
    seen = {(v.module, v.imported) for v in all_violations()}
    stale = sorted(key for key in ALLOWED if key not in seen)
    assert not stale, f"these imports are gone: remove them from ALLOWED in tests/test_architecture.py: {stale}"


# --- the checker itself ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        ("from meshplane.api.app import create_app\n", "meshplane.spec.fake", ["meshplane.api.app"]),
        ("import meshplane.service.gitops\n", "meshplane.registry.fake", ["meshplane.service.gitops"]),
        ("def f():\n    from meshplane.cli import app\n", "meshplane.service.fake", ["meshplane.cli.app"]),
        (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from meshplane.registry import Registry\n",
            "meshplane.errors",
            ["meshplane.registry"],
        ),
        ("from meshplane.registry import access\n", "meshplane.access", ["meshplane.registry.access"]),
        ("from ..service import gitops\n", "meshplane.lineage.fake", ["meshplane.service.gitops"]),
        (
            "import importlib\nimportlib.import_module('meshplane.demo.steps')\n",
            "meshplane.api.fake",
            ["meshplane.demo.steps"],
        ),
        # the same layer and lower layers are fine
        ("from meshplane.mesh.repository import load_mesh\n", "meshplane.lineage.fake", []),
        ("from meshplane.spec import odcs\nfrom meshplane.errors import NotFound\n", "meshplane.registry.fake", []),
        ("from meshplane.api.client import ApiClient\n", "meshplane.cli.fake", []),
        ("from . import lakedata\n", "meshplane.demo.fake", []),
        ("import json, yaml\n", "meshplane.spec.fake", []),
    ],
)
def test_the_checker_finds_upward_imports(source: str, module: str, expected: list[str]) -> None:
    assert [v.imported for v in violations(source, module)] == expected


def test_a_fake_upward_import_makes_the_package_check_fail() -> None:
    fake = "from meshplane.service.gitops import apply_mesh\n"
    found = violations(fake, "meshplane.registry.database")
    assert [str(v) for v in found] == ["meshplane.registry.database:1 imports meshplane.service.gitops (layer 2 → 4)"]
    assert all((v.module, v.imported) not in ALLOWED for v in found)


def test_a_module_outside_every_layer_is_refused() -> None:
    with pytest.raises(ValueError, match="no layer"):
        violations("", "elsewhere.module")

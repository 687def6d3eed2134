"""Compiling contracts into check specs: registry, ids, coverage, the official ODCS examples."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

from meshplane.checks import compile_contract
from meshplane.checks import kinds as kinds_package
from meshplane.checks.compiler import walk_properties
from meshplane.checks.registry import CheckType, check_type_of, check_types
from meshplane.spec.loader import load_contract
from meshplane.spec.odcs import Contract

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO.parent / "shared" / "standards" / "odcs" / "examples").rglob("*.odcs.yaml"))
HOLDING = sorted((REPO / "examples" / "holding").rglob("*.odcs.yaml"))


def test_every_kinds_module_registers_one_check_type() -> None:
    modules = [m.name for m in pkgutil.iter_modules(kinds_package.__path__)]
    assert len(modules) >= 9
    for name in modules:
        module = importlib.import_module(f"meshplane.checks.kinds.{name}")
        assert isinstance(getattr(module, "CHECK_TYPE", None), CheckType), name
    assert len(check_types()) == len(modules)
    # the catch-all that reports unexecutable rules comes last
    assert type(check_types()[-1]).__name__ == "NotExecutableRule"


def _contract(path: Path) -> Contract:
    loaded = load_contract(path)
    if not loaded.ok or loaded.model is None:
        pytest.skip(f"{path.name} does not load: {[str(d) for d in loaded.diagnostics][:2]}")
    return loaded.model


def _assert_complete(contract: Contract) -> None:
    specs = compile_contract(contract)
    ids = [s.id for s in specs]
    assert len(ids) == len(set(ids)), "check ids are unique"
    for spec in specs:
        check_type_of(spec)  # every spec has a type that can plan it
    for obj in contract.objects:
        assert any(s.kind == "schema.object" and s.object == obj.name for s in specs)
        for path, _column, prop in walk_properties(obj):
            mine = [s for s in specs if s.object == obj.name and s.property == path]
            assert any(s.kind == "schema.property" for s in mine), f"{obj.name}.{path} has no existence check"
            assert len([s for s in mine if s.kind not in _DECLARED_BY_FIELDS]) >= len(prop.quality or [])
        object_rules = [s for s in specs if s.object == obj.name and s.property is None
                        and s.kind not in ("schema.object", "schema.undeclared", "primaryKey")]  # fmt: skip
        assert len(object_rules) == len(obj.quality or [])
    assert len([s for s in specs if s.kind.startswith("sla.")]) >= len(contract.sla_properties or [])


_DECLARED_BY_FIELDS = {"schema.property", "schema.type", "required", "unique"}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_official_odcs_examples_compile(path) -> None:
    _assert_complete(_contract(path))


def test_official_examples_are_there() -> None:
    assert len(EXAMPLES) >= 15


@pytest.mark.parametrize("path", HOLDING, ids=[p.name for p in HOLDING])
def test_example_mesh_contracts_compile(path) -> None:
    _assert_complete(_contract(path))


def test_quality_rule_kinds_are_all_claimed() -> None:
    contract = Contract.model_validate(
        {
            "apiVersion": "v3.1.0", "kind": "DataContract", "id": "c", "version": "1", "status": "active",
            "schema": [{
                "name": "t",
                "properties": [{"name": "v", "quality": [
                    {"type": "text", "description": "x"},
                    {"type": "library", "metric": "nullValues", "mustBe": 0},
                    {"type": "sql", "query": "SELECT 1", "mustBe": 1},
                    {"type": "custom", "engine": "great-expectations", "implementation": {"x": 1}},
                    {"metric": "noSuchMetric", "mustBe": 0},
                ]}],
            }],
        },
        by_alias=True,
    )  # fmt: skip
    kinds = [s.kind for s in compile_contract(contract) if s.property == "v"]
    assert kinds == [
        "schema.property", "text", "library.nullValues", "sql", "custom", "library.noSuchMetric"
    ]  # fmt: skip

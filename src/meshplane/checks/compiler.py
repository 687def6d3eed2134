"""Compile a contract into check specs: one walk over the contract, every check type asked in turn.

The walk visits each schema object, then each of its properties (nested ones too, with their
physical column path), the quality rules of each, the object's own rules, and finally the
contract-level elements (SLA). Each visit offers the element to every registered check type
(`checks.registry`); a quality rule is claimed by the first type that recognises it, and a
catch-all type reports rules nobody can run, so no rule is ever dropped.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from meshplane.checks.model import CheckSpec, normalize_severity
from meshplane.checks.plan import ITEMS
from meshplane.checks.registry import check_types
from meshplane.spec.odcs import Contract, DataQuality, SchemaObject, SchemaProperty


@dataclass(frozen=True)
class ContractScope:
    """The contract as a whole (for contract-level checks)."""

    contract: Contract


@dataclass(frozen=True)
class ObjectScope:
    """One schema object of the contract."""

    contract: Contract
    obj: SchemaObject

    def check_id(self, *parts: str) -> str:
        """``<object>.<parts>``."""
        return ".".join([self.obj.name, *parts])


@dataclass(frozen=True)
class PropertyScope:
    """One property (possibly nested) of a schema object.

    `path` is the logical path shown in results (``address.city``, ``tags[]``); `column` the
    physical path in the data (``("address", "city")``, ``("tags", "[]")``).
    """

    contract: Contract
    obj: SchemaObject
    prop: SchemaProperty
    path: str
    column: tuple[str, ...]

    @property
    def in_array(self) -> bool:
        """True for items of an array (values there are not checked individually)."""
        return ITEMS in self.column

    def check_id(self, *parts: str) -> str:
        """``<object>.<property path>.<parts>``."""
        return ".".join([self.obj.name, self.path, *parts])

    def common(self, kind: str, suffix: str | None = None, **extra: Any) -> dict[str, Any]:
        """Fields every property-level spec shares."""
        return {
            "id": self.check_id(suffix or kind),
            "kind": kind,
            "object": self.obj.name,
            "property": self.path,
            "column": self.column,
            "logical_type": self.prop.logical_type,
            **extra,
        }


@dataclass(frozen=True)
class RuleScope:
    """One `quality` rule, on a property (`prop` set) or on an object."""

    contract: Contract
    obj: SchemaObject
    prop: PropertyScope | None
    rule: DataQuality
    index: int

    def common(self, kind: str, label: str | None = None) -> dict[str, Any]:
        """Fields every rule-based spec shares (id from the rule's id/name, else its kind)."""
        rule = self.rule
        ident = _slug(rule.id or rule.name or label or kind)
        prefix = [self.obj.name] + ([self.prop.path] if self.prop else [])
        return {
            "id": ".".join([*prefix, ident]),
            "kind": kind,
            "object": self.obj.name,
            "property": self.prop.path if self.prop else None,
            "severity": normalize_severity(rule.severity),
            "dimension": rule.dimension,
            "name": rule.name,
            "description": rule.description,
        }


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_\-\[\]]+", "_", text.strip()).strip("_") or "rule"


def walk_properties(obj: SchemaObject) -> Iterator[tuple[str, tuple[str, ...], SchemaProperty]]:
    """Every property of an object, nested ones included: (logical path, column path, property)."""

    def visit(
        prop: SchemaProperty, path: str, column: tuple[str, ...]
    ) -> Iterator[tuple[str, tuple[str, ...], SchemaProperty]]:
        yield path, column, prop
        for child in prop.properties or []:
            yield from visit(child, f"{path}.{child.name or child.column}", (*column, child.column))
        if prop.items is not None:
            item_path = f"{path}[]" + (f".{prop.items.name}" if prop.items.name else "")
            yield from visit(prop.items, item_path, (*column, ITEMS))

    for prop in obj.properties or []:
        yield from visit(prop, prop.name or prop.column, (prop.column,))


def _claim(scope: RuleScope) -> list[CheckSpec]:
    for check_type in check_types():
        specs = check_type.for_rule(scope)
        if specs is not None:
            return specs
    raise LookupError("no check type claimed a rule")  # the catch-all type makes this unreachable


def compile_contract(contract: Contract) -> list[CheckSpec]:
    """Every check the contract declares, in a stable order, with unique ids."""
    specs: list[CheckSpec] = []
    types = check_types()
    for obj in contract.objects:
        oscope = ObjectScope(contract, obj)
        for check_type in types:
            specs.extend(check_type.for_object(oscope))
        for path, column, prop in walk_properties(obj):
            pscope = PropertyScope(contract, obj, prop, path, column)
            for check_type in types:
                specs.extend(check_type.for_property(pscope))
            for index, rule in enumerate(prop.quality or []):
                specs.extend(_claim(RuleScope(contract, obj, pscope, rule, index)))
        for index, rule in enumerate(obj.quality or []):
            specs.extend(_claim(RuleScope(contract, obj, None, rule, index)))
        for check_type in types:
            specs.extend(check_type.for_object_end(oscope))
    cscope = ContractScope(contract)
    for check_type in types:
        specs.extend(check_type.for_contract(cscope))
    return _unique_ids(specs)


def _unique_ids(specs: list[CheckSpec]) -> list[CheckSpec]:
    seen: dict[str, int] = {}
    out = []
    for spec in specs:
        count = seen.get(spec.id, 0) + 1
        seen[spec.id] = count
        out.append(spec if count == 1 else dataclasses.replace(spec, id=f"{spec.id}#{count}"))
    return out

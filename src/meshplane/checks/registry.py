"""Check types and their registry.

A check type is one module in `meshplane.checks.kinds` exposing ``CHECK_TYPE``: an instance of a
`CheckType` subclass. It declares the hooks the compiler calls while walking a contract once
(`for_contract`, `for_object`, `for_property`, `for_rule`) and how to plan its specs. Adding a
check type is adding one module; the registry discovers it (like CLI commands).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, ClassVar

from meshplane.checks import kinds
from meshplane.checks.model import CheckSpec, Outcome
from meshplane.checks.plan import ObjectTarget, Plan

if TYPE_CHECKING:
    from meshplane.checks.compiler import ContractScope, ObjectScope, PropertyScope, RuleScope


class CheckType:
    """Base of the check types: every hook yields nothing by default."""

    order: ClassVar[int] = 100
    """Position among check types when several contribute checks for the same element."""
    spec_types: ClassVar[tuple[type[CheckSpec], ...]] = ()
    """The spec classes this type plans."""

    def for_contract(self, scope: ContractScope) -> Iterable[CheckSpec]:
        """Contract-level checks (SLA)."""
        return ()

    def for_object(self, scope: ObjectScope) -> Iterable[CheckSpec]:
        """Checks declared by a schema object itself (existence)."""
        return ()

    def for_object_end(self, scope: ObjectScope) -> Iterable[CheckSpec]:
        """Checks about an object as a whole, after its properties (e.g. composite primary key)."""
        return ()

    def for_property(self, scope: PropertyScope) -> Iterable[CheckSpec]:
        """Checks declared by a property's fields (required, unique, logicalTypeOptions, ...)."""
        return ()

    def for_rule(self, scope: RuleScope) -> list[CheckSpec] | None:
        """Checks for one `quality` rule; None when the rule is not of this type."""
        return None

    def detached(self, spec: CheckSpec) -> Outcome:
        """The outcome of a spec that is tied to no schema object of the contract."""
        return Outcome.error("this check is not tied to a schema object of the contract")

    def plan(self, spec: CheckSpec, target: ObjectTarget) -> Plan:
        """How a spec of this type runs against an opened dataset."""
        raise NotImplementedError(f"{type(self).__name__} declares no plan for {type(spec).__name__}")


@cache
def check_types() -> tuple[CheckType, ...]:
    """Every check type, discovered from `meshplane.checks.kinds`, in their declared order."""
    found: list[CheckType] = []
    for info in sorted(pkgutil.iter_modules(kinds.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{kinds.__name__}.{info.name}")
        check_type = getattr(module, "CHECK_TYPE", None)
        if isinstance(check_type, CheckType):
            found.append(check_type)
    return tuple(sorted(found, key=lambda t: t.order))


def check_type_of(spec: CheckSpec) -> CheckType:
    """The check type that plans this spec."""
    for check_type in check_types():
        if isinstance(spec, check_type.spec_types):
            return check_type
    raise LookupError(f"no check type plans {type(spec).__name__}")

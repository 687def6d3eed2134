"""Schema checks, from column metadata only (no data is read, except value casts for CSV/JSON).

- ``schema.object``: the dataset of each schema object exists.
- ``schema.property``: each declared property (nested ones too) exists; reported when it passes.
- ``schema.type``: the column's physical type conforms to ``logicalType`` and to ``physicalType``
  when given. For formats whose types are inferred by the reader (CSV, JSON), a column whose
  inferred type does not conform is checked value by value: the values that cannot be cast to the
  logical type are counted (and sampled), so one bad value fails this check only.
- ``schema.undeclared``: columns the contract does not declare (severity warning).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from sqlglot import exp

from meshplane.checks.model import CheckSpec, Outcome, PropertySpec
from meshplane.checks.plan import ITEMS, Aggregates, Immediate, ObjectTarget, Plan, count_where, is_null, not_null
from meshplane.checks.registry import CheckType

if TYPE_CHECKING:
    from meshplane.checks.compiler import ObjectScope, PropertyScope


@dataclass(frozen=True, kw_only=True)
class ObjectExistsSpec(CheckSpec):
    """The object's dataset exists (the runner reports a missing one before planning)."""


@dataclass(frozen=True, kw_only=True)
class PropertyExistsSpec(PropertySpec):
    """A declared property has a column."""


@dataclass(frozen=True, kw_only=True)
class TypeSpec(PropertySpec):
    """The column's type conforms to the declared logical (and physical) type."""

    physical_type: str | None = None


@dataclass(frozen=True, kw_only=True)
class UndeclaredSpec(CheckSpec):
    """Columns present in the data but not declared by the contract."""

    declared: tuple[str, ...]


class SchemaChecks(CheckType):
    """Existence and type conformance of objects and properties."""

    order: ClassVar[int] = 10
    spec_types = (ObjectExistsSpec, PropertyExistsSpec, TypeSpec, UndeclaredSpec)

    def for_object(self, scope: ObjectScope) -> Iterable[CheckSpec]:
        yield ObjectExistsSpec(id=scope.check_id("schema.object"), kind="schema.object", object=scope.obj.name)

    def for_property(self, scope: PropertyScope) -> Iterable[CheckSpec]:
        yield PropertyExistsSpec(**scope.common("schema.property"))
        prop = scope.prop
        if prop.logical_type or prop.physical_type:
            yield TypeSpec(**scope.common("schema.type"), physical_type=prop.physical_type)

    def for_object_end(self, scope: ObjectScope) -> Iterable[CheckSpec]:
        props = scope.obj.properties or []
        if props:
            yield UndeclaredSpec(
                id=scope.check_id("schema.undeclared"),
                kind="schema.undeclared",
                object=scope.obj.name,
                severity="warning",
                declared=tuple(p.column for p in props),
            )

    def plan(self, spec: CheckSpec, target: ObjectTarget) -> Plan:
        if isinstance(spec, ObjectExistsSpec):
            ds = target.dataset
            where = f"{ds.format} at {ds.location}" if ds.format else ds.location
            return Immediate(Outcome.passed(f"found {where} ({len(ds.columns)} columns)", len(ds.columns)))
        if isinstance(spec, PropertyExistsSpec):
            dtype = target.column_type(spec.column)
            if dtype is None:
                return Immediate(Outcome.failed(f"column {'.'.join(spec.column)} is missing", observed=None))
            shown = target.shown_type(spec.column)
            return Immediate(Outcome.passed(f"column present ({shown})", shown))
        if isinstance(spec, TypeSpec):
            return _plan_type(spec, target)
        if isinstance(spec, UndeclaredSpec):
            declared = {c.lower() for c in spec.declared}
            extra = [c.name for c in target.dataset.columns if c.name.lower() not in declared]
            return Immediate(
                Outcome.judged(
                    not extra,
                    extra,
                    None,
                    "every column is declared",
                    f"{len(extra)} column(s) not declared in the contract: {', '.join(extra)}",
                )
            )
        return super().plan(spec, target)


def _plan_type(spec: TypeSpec, target: ObjectTarget) -> Plan:
    dtype = target.column_type(spec.column)
    if dtype is None:
        return Immediate(Outcome.skipped(f"not run: column {'.'.join(spec.column)} is missing (see schema.property)"))
    engine = target.engine
    shown = target.shown_type(spec.column)
    logical = spec.logical_type
    wanted = " / ".join(x for x in (logical, spec.physical_type) if x)
    inferred = target.dataset.types_inferred
    problems: list[str] = []
    if logical and not engine.conforms(logical, dtype):
        cast_to = engine.cast_target(logical)
        if inferred and cast_to is not None and ITEMS not in spec.column:
            return _plan_value_type(spec, target, cast_to, shown)
        problems.append(f"{shown} does not conform to logicalType {logical}")
    notes: list[str] = []
    if spec.physical_type:
        if inferred:
            notes.append(f"physicalType {spec.physical_type} not compared: {target.dataset.format} types are inferred")
        elif not engine.same_physical_type(spec.physical_type, dtype):
            declared = engine.parse_type(spec.physical_type)
            same_family = any(
                declared.this in family and dtype.this in family for family in engine.logical_types.values()
            )
            if same_family:
                notes.append(f"physicalType {spec.physical_type} declared, stored as {shown} (same type family)")
            else:
                problems.append(f"physicalType {spec.physical_type} declared, stored as {shown}")
    if problems:
        return Immediate(Outcome.failed("; ".join(problems), shown, wanted))
    message = f"{shown} conforms to {wanted}" + (f" ({'; '.join(notes)})" if notes else "")
    return Immediate(Outcome.passed(message, shown, wanted))


def _plan_value_type(spec: TypeSpec, target: ObjectTarget, cast_to: exp.DataType, shown: str) -> Plan:
    column = target.column(spec.column)
    bad = exp.and_(not_null(column), is_null(target.engine.safe_cast(column, cast_to)))
    logical = str(spec.logical_type)
    fmt = target.dataset.format

    def judge(values: Mapping[str, Any]) -> Outcome:
        count = int(values["bad"] or 0)
        return Outcome.judged(
            count == 0,
            count,
            logical,
            f"every value of the {fmt} column reads as {logical} (read as {shown})",
            f"{count} value(s) cannot be read as {logical}",
        )

    return Aggregates({"bad": count_where(bad)}, judge, violations=bad)


CHECK_TYPE = SchemaChecks()

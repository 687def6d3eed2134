"""Schema checks, from column metadata only (no data is read, except value casts for CSV/JSON).

- ``schema.object``: the dataset of each schema object exists.
- ``schema.property``: each declared property (nested ones too) exists; reported when it passes.
- ``schema.type``: the column's physical type conforms to ``logicalType`` and to ``physicalType``
  when given (read through the physical type table of `engines.types`: ``timestamp_tz``, ``bytes``,
  ``int64``...; a name the table does not know is a `warning` naming it, never compared as text).
  For formats whose types are inferred by the reader (CSV, JSON), a column whose inferred type
  does not conform is checked value by value: the values that cannot be cast to the
  logical type are counted (and sampled), so one bad value fails this check only. Inside arrays
  (``tags[]``, ``lines[].day``) the items are counted the same way, through the engine's list
  functions: a date-like text DuckDB reads as DATE is a string, an array empty in every row (JSON
  items) or holding only nulls has no item to fail. A declared ``array``/``object`` read as
  another type counts its non-null values (none when the reader saw only nulls); the fields
  below such a value are `skipped`, pointing to it.
- ``schema.undeclared``: columns the contract does not declare (severity warning).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from sqlglot import exp
from sqlglot.expressions import DType

from meshplane.checks.model import CheckSpec, Outcome, PropertySpec, Status
from meshplane.checks.plan import ITEMS, Aggregates, Immediate, ObjectTarget, Plan, count_where, is_null, not_null
from meshplane.checks.registry import CheckType
from meshplane.engines.types import physical_type

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
                untyped = _untyped_ancestor(target, spec.column)
                if untyped is not None:
                    return Immediate(
                        Outcome.skipped(f"not run: {untyped} has no fields (its type check counts its values)")
                    )
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
        untyped = _untyped_ancestor(target, spec.column)
        if untyped is not None:
            return Immediate(Outcome.skipped(f"not run: {untyped} has no fields (its type check counts its values)"))
        return Immediate(Outcome.skipped(f"not run: column {'.'.join(spec.column)} is missing (see schema.property)"))
    engine = target.engine
    shown = target.shown_type(spec.column)
    logical = spec.logical_type
    wanted = " / ".join(x for x in (logical, spec.physical_type) if x)
    inferred = target.dataset.types_inferred
    text = target.text(spec.column) if logical else None
    if logical and text is not None and engine.conforms(logical, dtype):
        return _plan_rejected(spec, target, text, shown)
    problems: list[str] = []
    if logical and not engine.conforms(logical, dtype):
        if inferred:
            return _plan_value_type(spec, target, engine.cast_target(logical), shown)
        problems.append(f"{shown} does not conform to logicalType {logical}")
    notes: list[str] = []
    unknown = False
    if spec.physical_type:
        same = engine.same_physical_type(spec.physical_type, dtype)
        if inferred:
            notes.append(f"physicalType {spec.physical_type} not compared: {target.dataset.format} types are inferred")
        elif same is None:
            unknown = True
            notes.append(f"physicalType '{spec.physical_type}' is not a type name known on {engine.name}; not compared")
        elif not same:
            declared = physical_type(engine, spec.physical_type)
            same_family = declared is not None and any(
                declared.this in family and dtype.this in family for family in engine.logical_types.values()
            )
            if same_family:
                notes.append(f"physicalType {spec.physical_type} declared, stored as {shown} (same type family)")
            else:
                problems.append(f"physicalType {spec.physical_type} declared, stored as {shown}")
    if problems:
        return Immediate(Outcome.failed("; ".join(problems + notes), shown, wanted))
    message = f"{shown} conforms to {wanted}" + (f" ({'; '.join(notes)})" if notes else "")
    if unknown:
        return Immediate(Outcome(Status.WARNING, shown, wanted, message))
    return Immediate(Outcome.passed(message, shown, wanted))


def _plan_value_type(spec: TypeSpec, target: ObjectTarget, cast_to: exp.DataType | None, shown: str) -> Plan:
    """Count the values (array items at any depth too) that cannot be read as the logical type.

    Without a cast target (``array``, ``object``) every non-null value of a non-conforming type
    counts: a column the reader saw only nulls in (or arrays empty in every row) has none.
    """
    engine = target.engine

    def bad(value: exp.Expr) -> exp.Expr:
        if cast_to is None:
            return not_null(value)
        return exp.and_(not_null(value), is_null(engine.safe_cast(value, cast_to)))

    if ITEMS in spec.column:
        item = exp.to_identifier("item")
        values = item_values(target, spec.column)
        bad_items = exp.ArrayFilter(this=values, expression=exp.Lambda(this=bad(exp.column(item)), expressions=[item]))
        # an absent array has no bad item (Spark's SIZE(NULL) is -1 without ANSI mode)
        per_row = exp.Case(
            ifs=[exp.If(this=is_null(values.copy()), true=exp.Literal.number(0))],
            default=engine.array_length(bad_items),
        )
        count: exp.Expr = exp.Sum(this=per_row)
        violations: exp.Expr = exp.GT(this=per_row.copy(), expression=exp.Literal.number(0))
        what = "item"
    else:
        violations = bad(target.column(spec.column))
        count = count_where(violations)
        what = "value"
    logical = str(spec.logical_type)
    fmt = target.dataset.format

    def judge(values: Mapping[str, Any]) -> Outcome:
        found = int(values["bad"] or 0)
        return Outcome.judged(
            found == 0,
            found,
            logical,
            f"every {what} of the {fmt} data reads as {logical} (read as {shown})",
            f"{found} {what}(s) cannot be read as {logical} (read as {shown})",
        )

    return Aggregates({"bad": count}, judge, violations=violations)


def _untyped_ancestor(target: ObjectTarget, path: tuple[str, ...]) -> str | None:
    """For a path the inferred data lacks: the enclosing value the reader typed without fields
    (only nulls, empty arrays or mixed values: DuckDB's ``JSON``, Spark's ``string``), if any."""
    if not target.dataset.types_inferred:
        return None
    for end in range(len(path) - 1, 0, -1):
        dtype = target.column_type(path[:end])
        if dtype is not None:
            if dtype.this in _CONTAINERS:
                return None
            return f"{'.'.join(path[:end])} (read as {target.shown_type(path[:end])})"
    return None


_CONTAINERS = frozenset({DType.STRUCT, DType.ARRAY, DType.LIST, DType.MAP})


def item_values(target: ObjectTarget, path: tuple[str, ...]) -> exp.Expr:
    """An array of every value at a path through arrays: ``lines[].day`` -> each row's days.

    Struct fields are read inside a lambda over the items; an array inside an array is flattened.
    """
    first = path.index(ITEMS)
    head = target.column(path[:first])
    rest = path[first + 1 :]
    while rest:
        cut = rest.index(ITEMS) if ITEMS in rest else len(rest)
        fields, nested, rest = rest[:cut], cut < len(rest), rest[cut + 1 :]
        if fields:
            item = exp.to_identifier("item")
            reached: exp.Expr = exp.column(item)
            for name in fields:
                reached = exp.Dot(this=reached, expression=exp.to_identifier(name, quoted=True))
            head = exp.Transform(this=head, expression=exp.Lambda(this=reached, expressions=[item]))
        if nested:
            head = exp.Flatten(this=head)
    return head


def _plan_rejected(spec: TypeSpec, target: ObjectTarget, text: exp.Expr, shown: str) -> Plan:
    """A column typed by the reader (CSV): count the values present as text that did not read."""
    rejected = exp.and_(not_null(text), is_null(target.column(spec.column)))
    logical = str(spec.logical_type)

    def judge(values: Mapping[str, Any]) -> Outcome:
        found = int(values["bad"] or 0)
        return Outcome.judged(
            found == 0,
            found,
            logical,
            f"every value of the {target.dataset.format} data reads as {logical} (read as {shown})",
            f"{found} value(s) cannot be read as {logical} (read as {shown}); they read as NULL in other checks",
        )

    return Aggregates({"bad": count_where(rejected)}, judge, violations=rejected)


CHECK_TYPE = SchemaChecks()

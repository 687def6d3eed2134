"""``primaryKey``: the key (composite by ``primaryKeyPosition``) is never NULL and never repeats.

One check per object; observed = rows with a NULL in the key + rows repeating an earlier key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from sqlglot import exp

from meshplane.checks.kinds.unique import duplicated
from meshplane.checks.model import CheckSpec, Outcome
from meshplane.checks.plan import Aggregates, ObjectTarget, Plan, count_where, is_null, row_count
from meshplane.checks.registry import CheckType

if TYPE_CHECKING:
    from meshplane.checks.compiler import ObjectScope


@dataclass(frozen=True, kw_only=True)
class PrimaryKeySpec(CheckSpec):
    """The object's primary key columns, in key order."""

    columns: tuple[str, ...]


class PrimaryKeyCheck(CheckType):
    """Nulls and duplicates of the (composite) primary key, in the object's scan."""

    order: ClassVar[int] = 40
    spec_types = (PrimaryKeySpec,)

    def for_object_end(self, scope: ObjectScope) -> Iterable[CheckSpec]:
        keys = [p for p in scope.obj.properties or [] if p.primary_key]
        if not keys:
            return
        ordered = sorted(
            enumerate(keys),
            key=lambda ip: (ip[1].primary_key_position if (ip[1].primary_key_position or -1) > 0 else 10**6, ip[0]),
        )
        props = [p for _, p in ordered]
        yield PrimaryKeySpec(
            id=scope.check_id("primaryKey"),
            kind="primaryKey",
            object=scope.obj.name,
            property=", ".join(p.name or p.column for p in props),
            dimension="uniqueness",
            columns=tuple(p.column for p in props),
        )

    def plan(self, spec: CheckSpec, target: ObjectTarget) -> Plan:
        assert isinstance(spec, PrimaryKeySpec)
        values = [target.column((c,)) for c in spec.columns]
        any_null = exp.or_(*(is_null(v) for v in values))
        key = ", ".join(spec.columns)

        def judge(found: Mapping[str, Any]) -> Outcome:
            rows, nulls, distinct = (int(found[k] or 0) for k in ("rows", "nulls", "distinct"))
            repeats = rows - nulls - distinct
            bad = nulls + repeats
            detail = f"{nulls} null key(s), {repeats} repeated key(s)"
            return Outcome.judged(bad == 0, bad, "= 0", f"({key}) is unique and never null", detail)

        return Aggregates(
            {"rows": row_count(), "nulls": count_where(any_null), "distinct": target.engine.count_distinct(values)},
            judge,
            violations=exp.or_(any_null, duplicated(values, target)),
        )


CHECK_TYPE = PrimaryKeyCheck()

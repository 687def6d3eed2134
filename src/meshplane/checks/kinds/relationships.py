"""``relationships`` (ODCS v3.1 foreign keys): every reference has a match in the referenced object.

Each relationship becomes one check, with one query of its own: the rows whose reference (all
its columns set) matches no row of the referenced object,

    SELECT COUNT(*) FROM <object> AS s
    WHERE s.c IS NOT NULL AND NOT EXISTS (SELECT 1 FROM <referenced> AS t WHERE t.k = s.c)

A property-level relationship (``relationships: [{to: customers.id}]`` on a property) references
from that property; a schema-level one names ``from`` and ``to`` (lists of equal length for a
composite key). References are shorthand (``object.property``) or fully qualified
(``schema/<object id>/properties/<property id>``). The referenced object is another schema object
of the same contract, hence of the same server, opened through the run's session (`ObjectTarget.
reference`). A reference to an object this contract does not describe (another contract, file or
server) is `skipped` with the reason; one that cannot be read (a ``from`` outside the object,
lengths that differ) is an `error`. Values of different logical types are compared as text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from sqlglot import exp

from meshplane.checks.model import CheckSpec, Outcome
from meshplane.checks.plan import Immediate, ObjectTarget, OwnQuery, Plan, not_null
from meshplane.checks.registry import CheckType
from meshplane.engines.base import DatasetNotFound, EngineError, QueryError, QueryResult
from meshplane.spec.odcs import Contract, Relationship, SchemaObject, SchemaProperty

if TYPE_CHECKING:
    from meshplane.checks.compiler import ObjectScope, PropertyScope

_QUALIFIED = re.compile(r"^/?schema/([^/]+)/properties/([^/]+)$")


@dataclass(frozen=True, kw_only=True)
class RelationshipSpec(CheckSpec):
    """One relationship: the columns of `object` and the columns of `target_object` they reference."""

    source: tuple[str, ...] = ()
    target_object: str | None = None
    target: tuple[str, ...] = ()
    reference: str = ""
    problem: str | None = None
    """Why the relationship cannot be read (an `error`)."""
    elsewhere: str | None = None
    """Why it is not checked here (`skipped`): the referenced object is not in this contract."""


@dataclass(frozen=True)
class _Resolved:
    obj: SchemaObject | None
    column: str
    outside: str | None = None


def _resolve(contract: Contract, ref: str) -> _Resolved:
    """A reference -> (object of this contract, its column), or why it points outside the contract."""
    text = ref.strip()
    if "#" in text:
        return _Resolved(None, "", f"'{ref}' is in another document ({text.split('#', 1)[0]})")
    qualified = _QUALIFIED.match(text)
    if qualified:
        obj_id, prop_id = qualified.groups()
        obj = next((o for o in contract.objects if obj_id in (o.id, o.name)), None)
        if obj is None:
            return _Resolved(None, "", f"'{ref}' names an object this contract does not describe")
        prop = next((p for p in obj.properties or [] if prop_id in (p.id, p.name)), None)
        return _Resolved(obj, prop.column if prop is not None else prop_id)
    head, _, rest = text.partition(".")
    obj = contract.object_named(head) if rest else None
    if obj is None:
        return _Resolved(None, "", f"'{ref}' names an object this contract does not describe")
    prop = obj.property_named(rest)
    return _Resolved(obj, prop.column if prop is not None else rest)


def _listed(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _spec(
    contract: Contract,
    obj: SchemaObject,
    relationship: Relationship,
    *,
    check_id: str,
    prop: str | None,
    source: list[str],
    problem: str | None = None,
) -> RelationshipSpec:
    targets = _listed(relationship.to)
    reference = ", ".join(targets)
    common: dict[str, Any] = {"id": check_id, "kind": "relationship", "object": obj.name, "property": prop,
                              "dimension": "consistency", "source": tuple(source), "reference": reference}  # fmt: skip
    if problem is None and len(targets) != len(source):
        problem = f"relationship to {reference}: {len(source)} column(s) reference {len(targets)}"
    if problem is not None:
        return RelationshipSpec(**common, problem=problem)
    resolved = [_resolve(contract, t) for t in targets]
    outside = next((r.outside for r in resolved if r.outside), None)
    if outside is not None:
        reason = f"not checked: {outside}; relationships across contracts and servers are not checked"
        return RelationshipSpec(**common, elsewhere=reason)
    objects = {r.obj.name for r in resolved if r.obj is not None}
    if len(objects) != 1:
        return RelationshipSpec(**common, problem=f"relationship to {reference}: the columns are in several objects")
    return RelationshipSpec(**common, target_object=objects.pop(), target=tuple(r.column for r in resolved))


class RelationshipCheck(CheckType):
    """Missing references of each relationship, one query per relationship."""

    order: ClassVar[int] = 45
    spec_types = (RelationshipSpec,)

    def for_property(self, scope: PropertyScope) -> Iterable[CheckSpec]:
        prop: SchemaProperty = scope.prop
        for relationship in prop.relationships or []:
            problem = None
            if len(scope.column) > 1:
                problem = "relationships of nested properties are not checked (only top-level columns)"
            yield _spec(scope.contract, scope.obj, relationship, check_id=scope.check_id("relationship"),
                        prop=scope.path, source=[scope.column[0]], problem=problem)  # fmt: skip

    def for_object_end(self, scope: ObjectScope) -> Iterable[CheckSpec]:
        obj = scope.obj
        for relationship in obj.relationships or []:
            sources = [_resolve(scope.contract, ref) for ref in _listed(relationship.from_)]
            problem = None
            if any(r.obj is None or r.obj.name != obj.name for r in sources):
                problem = f"`from` ({', '.join(_listed(relationship.from_))}) must name properties of {obj.name}"
            yield _spec(scope.contract, obj, relationship, check_id=scope.check_id("relationship"),
                        prop=", ".join(r.column for r in sources), source=[r.column for r in sources],
                        problem=problem)  # fmt: skip

    def plan(self, spec: CheckSpec, target: ObjectTarget) -> Plan:
        assert isinstance(spec, RelationshipSpec)
        if spec.problem is not None:
            return Immediate(Outcome.error(spec.problem))
        if spec.elsewhere is not None or spec.target_object is None:
            return Immediate(Outcome.skipped(spec.elsewhere or "not checked"))
        if target.reference is None:
            return Immediate(Outcome.skipped("not checked: the run cannot open other objects"))
        try:
            referenced = target.reference(spec.target_object)
        except DatasetNotFound as exc:
            return Immediate(Outcome.skipped(f"not run: the referenced object {spec.target_object} is missing ({exc})"))
        except (QueryError, EngineError) as exc:
            return Immediate(Outcome.error(f"the referenced object {spec.target_object} cannot be read: {exc}"))
        engine = target.engine
        source = exp.to_identifier("s")
        other = exp.to_identifier("t")
        pairs = []
        for mine, theirs in zip(spec.source, spec.target, strict=True):
            column = referenced.column(theirs)
            if column is None:
                return Immediate(Outcome.error(f"{spec.target_object} has no column {theirs} (referenced by {mine})"))
            left: exp.Expr = exp.column(target.column_name((mine,)), table=source, quoted=True)
            right: exp.Expr = exp.column(column.name, table=other, quoted=True)
            mine_type, theirs_type = target.column_type((mine,)), column.type
            same = mine_type is not None and engine.logical_type_of(mine_type) == engine.logical_type_of(theirs_type)
            text = engine.cast_target("string")
            if not same and text is not None:
                left, right = exp.cast(left, text), exp.cast(right, text)
            pairs.append((left, right))
        matched = exp.select(exp.Literal.number(1)).from_(exp.alias_(referenced.ref.copy(), other, table=True))
        matched = matched.where(exp.and_(*(exp.EQ(this=right, expression=left) for left, right in pairs)))
        query = (
            exp.select(exp.Count(this=exp.Star()))
            .from_(exp.alias_(target.table.copy(), source, table=True))
            .where(exp.and_(*(not_null(left.copy()) for left, _ in pairs), exp.not_(exp.Exists(this=matched))))
        )
        shown = f"{spec.target_object}.{', '.join(spec.target)}"

        def judge(result: QueryResult) -> Outcome:
            count = int(result.rows[0][0] or 0) if result.rows else 0
            return Outcome.judged(
                count == 0,
                count,
                "= 0",
                f"every reference has a match in {shown}",
                f"{count} row(s) reference a missing {shown}",
            )

        return OwnQuery(query, judge)


CHECK_TYPE = RelationshipCheck()

"""Raw changes of the schema: objects, properties (nested and array items), their type options,
primary keys and relationships. Quality rules are delegated to :mod:`.detect_quality`.

Objects and properties are paired by ``id`` when both sides have one, else by ``name``: a rename
under the same id is a rename, not a removal plus an addition. Order in lists is not compared:
columns are addressed by name (documented in ``docs/diff-rules.md``).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from meshplane.diff.aspects import Aspect
from meshplane.diff.collect import (
    Collector,
    Doc,
    FieldTable,
    Where,
    canonical,
    changed,
    compare_fields,
    custom_properties,
    documentation,
    element_id,
    flag,
    pair_items,
    presence_shift,
    segment,
    unmodelled,
    value_of,
)
from meshplane.diff.detect_quality import compare_quality_lists, compare_value_lists
from meshplane.diff.measures import Bound, bound_from, compare_bounds, compare_classification, compare_values
from meshplane.diff.model import Shift


def _name(doc: Doc) -> str | None:
    name = doc.get("name")
    return str(name) if name is not None else None


def _norm_type(value: Any) -> Any:
    """Physical types compare case- and blank-insensitively (``VARCHAR(10)`` == ``varchar( 10 )``)."""
    return "".join(str(value).split()).lower() if value is not None else None


# ---------------------------------------------------------------------------------------------
# objects


def compare_objects(out: Collector, old: list[Doc], new: list[Doc]) -> None:
    """Pair the schema objects of two contracts and report what changed."""
    pairing = pair_items(old, new, [_name])
    for i in pairing.removed:
        out.emit(Aspect.OBJECT, Shift.REMOVED, _object_where(old[i]))
    for j in pairing.added:
        out.emit(Aspect.OBJECT, Shift.ADDED, _object_where(new[j]))
    for i, j in pairing.pairs:
        compare_object(out, old[i], new[j])


def _object_where(obj: Doc) -> Where:
    name = _name(obj) or ""
    return Where(f"$.schema{segment(name)}", f"object {name}", name, None)


def compare_object(out: Collector, old: Doc, new: Doc) -> None:
    """Compare two versions of one schema object."""
    where = _object_where(old)
    compare_fields(out, where, old, new, _OBJECT_FIELDS)
    if old.get("name") != new.get("name"):
        out.emit(
            Aspect.OBJECT_NAME,
            Shift.CHANGED,
            where,
            field="name",
            old=old.get("name"),
            new=new.get("name"),
            suffix=".name",
        )
    old_table, new_table = old.get("physicalName") or old.get("name"), new.get("physicalName") or new.get("name")
    if old_table != new_table:
        out.emit(
            Aspect.OBJECT_PHYSICAL_NAME,
            Shift.CHANGED,
            where,
            field="physicalName",
            old=old_table,
            new=new_table,
            suffix=".physicalName",
        )
    compare_property_lists(out, where, old.get("properties") or [], new.get("properties") or [])
    compare_relationships(out, where, old.get("relationships") or [], new.get("relationships") or [])
    compare_quality_lists(out, where, old.get("quality") or [], new.get("quality") or [])


def _object_logical_type(out: Collector, where: Where, key: str, old: Any, new: Any) -> None:
    # `object` is the only value the standard allows and the default
    if (old or "object") != (new or "object"):
        unmodelled(out, where, key, old, new)


def deprecated(out: Collector, where: Where, key: str, old: Any, new: Any) -> None:
    """`deprecated` (ODCS v3.2.0) of an object or property: a notice added or withdrawn, no guarantee."""
    before, after = old is True, new is True
    if before != after:
        shift = Shift.ADDED if after else Shift.REMOVED
        out.emit(Aspect.DEPRECATED, shift, where, field=key, old=before, new=after, suffix=f".{key}")


_OBJECT_FIELDS: FieldTable = {
    "id": element_id,
    "name": None,
    "physicalName": None,
    "physicalType": value_of(Aspect.OBJECT_PHYSICAL_TYPE, normalize=_norm_type),
    "logicalType": _object_logical_type,
    "businessName": documentation,
    "description": documentation,
    "tags": documentation,
    "authoritativeDefinitions": documentation,
    "synonyms": documentation,
    "context": documentation,
    "deprecated": deprecated,
    "dataGranularityDescription": changed(Aspect.OBJECT_GRANULARITY),
    "customProperties": custom_properties,
    "properties": None,
    "relationships": None,
    "quality": None,
}
"""How each key of a schema object is compared (None: compared by :func:`compare_object` itself)."""


# ---------------------------------------------------------------------------------------------
# properties


def _property_where(parent: Where, prop: Doc, *, items: bool = False) -> Where:
    if items:
        return Where(f"{parent.path}.items", f"{parent.subject}[]", parent.object, parent.property)
    name = _name(prop) or ""
    if parent.property is None:  # top level: the property is the column
        return Where(
            f"{parent.path}.properties{segment(name)}", f"property {parent.object}.{name}", parent.object, name
        )
    return Where(f"{parent.path}.properties{segment(name)}", f"{parent.subject}.{name}", parent.object, parent.property)


def _is_pk(prop: Doc) -> bool:
    return prop.get("primaryKey") is True


def _position(prop: Doc) -> int | None:
    """The declared ``primaryKeyPosition`` (1-based), or None when absent or -1 (the default)."""
    pos = prop.get("primaryKeyPosition")
    return pos if isinstance(pos, int) and not isinstance(pos, bool) and pos > 0 else None


def _key_of(props: list[Doc]) -> list[int]:
    """Indexes of the primary-key properties in key order (``primaryKeyPosition``, then name)."""
    members = [i for i, p in enumerate(props) if _is_pk(p)]
    return sorted(members, key=lambda i: (_position(props[i]) or 1_000_000, _name(props[i]) or "", i))


def _key_text(props: list[Doc], key: list[int]) -> str:
    return "(" + ", ".join(_name(props[i]) or "?" for i in key) + ")" if key else "(none)"


def compare_property_lists(out: Collector, parent: Where, old: list[Doc], new: list[Doc]) -> None:
    """Pair the properties of an object (or of a nested object) and report what changed."""
    pairing = pair_items(old, new, [_name])
    for i in pairing.removed:
        out.emit(Aspect.PROPERTY, Shift.REMOVED, _property_where(parent, old[i]))
    for j in pairing.added:
        aspect = Aspect.REQUIRED_PROPERTY if new[j].get("required") is True else Aspect.PROPERTY
        out.emit(aspect, Shift.ADDED, _property_where(parent, new[j]))
    for i, j in pairing.pairs:
        compare_property(out, _property_where(parent, old[i]), old[i], new[j])
    _compare_primary_key(out, parent, old, new, pairs=pairing.pairs)


def _compare_primary_key(
    out: Collector, parent: Where, old: list[Doc], new: list[Doc], *, pairs: list[tuple[int, int]]
) -> None:
    """Primary-key membership and order, judged on the whole key of the parent.

    Uniqueness over fewer columns is the stronger promise: a key that disappears or gains a column
    is loosened, a key declared on a keyless parent or losing a column (others remaining) is
    tightened, a key that both gains and loses columns is changed. Each column that joined or left
    is reported. With the same columns, a new order of the explicitly positioned ones
    (``primaryKeyPosition``) is reported per moved column.
    """
    new_to_old = {j: i for i, j in pairs}
    # a member is identified by its old index when it exists in the old contract
    old_members = {("old", i): old[i] for i in _key_of(old)}
    new_members = {("old", new_to_old[j]) if j in new_to_old else ("new", j): new[j] for j in _key_of(new)}
    before, after = _key_text(old, _key_of(old)), _key_text(new, _key_of(new))
    k1, k2 = set(old_members), set(new_members)

    def where(token: tuple[str, int]) -> Where:
        side, index = token
        return _property_where(parent, old[index] if side == "old" else new[index])

    if k1 == k2:
        old_order = [t for t in old_members if _position(old_members[t]) and _position(new_members[t])]
        new_order = sorted(old_order, key=lambda t: _position(new_members[t]) or 0)
        old_order.sort(key=lambda t: _position(old_members[t]) or 0)
        for token, moved_to in zip(old_order, new_order, strict=True):
            if token != moved_to:
                out.emit(Aspect.PRIMARY_KEY_ORDER, Shift.CHANGED, where(token).at(".primaryKeyPosition"),
                         old=before, new=after)  # fmt: skip
        return
    if not k1 or (k2 and k2 < k1):
        shift = Shift.TIGHTENED
    elif not k2 or k2 > k1:
        shift = Shift.LOOSENED
    else:
        shift = Shift.CHANGED
    for token in sorted(k1 ^ k2):
        detail = "left" if token in k1 else "joined"
        out.emit(Aspect.PRIMARY_KEY, shift, where(token).at(".primaryKey"), old=before, new=after, detail=detail)


def compare_property(out: Collector, where: Where, old: Doc, new: Doc, *, items: bool = False) -> None:
    """Compare two versions of one property (or of an array's ``items``), recursively."""
    compare_fields(out, where, old, new, _ITEMS_FIELDS if items else _PROPERTY_FIELDS)
    if old.get("name") != new.get("name") and not items:
        out.emit(
            Aspect.PROPERTY_NAME,
            Shift.CHANGED,
            where,
            field="name",
            old=old.get("name"),
            new=new.get("name"),
            suffix=".name",
        )
    old_column = old.get("physicalName") or old.get("name")
    new_column = new.get("physicalName") or new.get("name")
    if old_column != new_column:
        out.emit(
            Aspect.PROPERTY_PHYSICAL_NAME,
            Shift.CHANGED,
            where,
            field="physicalName",
            old=old_column,
            new=new_column,
            suffix=".physicalName",
        )
    _compare_partitioning(out, where, old, new)
    compare_options(
        out, where.at(".logicalTypeOptions"), old.get("logicalTypeOptions") or {}, new.get("logicalTypeOptions") or {}
    )
    compare_property_lists(out, where, old.get("properties") or [], new.get("properties") or [])
    old_items, new_items = old.get("items"), new.get("items")
    if old_items is None and new_items is not None:
        out.emit(Aspect.ITEMS, Shift.ADDED, where, field="items", new=_type_words(new_items), suffix=".items")
    elif old_items is not None and new_items is None:
        out.emit(Aspect.ITEMS, Shift.REMOVED, where, field="items", old=_type_words(old_items), suffix=".items")
    elif old_items is not None and new_items is not None:
        compare_property(out, _property_where(where, old_items, items=True), old_items, new_items, items=True)
    compare_relationships(out, where, old.get("relationships") or [], new.get("relationships") or [])
    compare_quality_lists(out, where, old.get("quality") or [], new.get("quality") or [])


def _type_words(prop: Doc) -> str:
    return str(prop.get("logicalType") or prop.get("physicalType") or "an element schema")


def _compare_partitioning(out: Collector, where: Where, old: Doc, new: Doc) -> None:
    def state(doc: Doc) -> str:
        if doc.get("partitioned") is not True:
            return "not partitioned"
        position = doc.get("partitionKeyPosition")
        return f"partition key {position}" if isinstance(position, int) and position > 0 else "partitioned"

    before, after = state(old), state(new)
    if before != after:
        out.emit(
            Aspect.PARTITIONING, Shift.CHANGED, where, field="partitioned", old=before, new=after, suffix=".partitioned"
        )


def _classification(out: Collector, where: Where, key: str, old: Any, new: Any) -> None:
    shift = compare_classification(old, new)
    if shift is not None:
        out.emit(Aspect.CLASSIFICATION, shift, where, field=key, old=old, new=new, suffix=f".{key}")


def _critical(out: Collector, where: Where, key: str, old: Any, new: Any) -> None:
    if bool(old) != bool(new):
        out.emit(Aspect.CRITICAL, Shift.CHANGED, where, field=key, old=bool(old), new=bool(new), suffix=f".{key}")


def _enum(out: Collector, where: Where, key: str, old: Any, new: Any) -> None:
    """A property's `enum` (ODCS v3.2.0): its values compare as a list of allowed values."""

    def values(entries: Any) -> list[Any] | None:
        return [e.get("value") if isinstance(e, dict) else e for e in entries] if entries else None

    compare_value_lists(out, where, values(old), values(new), field=key, suffix=f".{key}")


def _property_fields(logical: Aspect, physical: Aspect) -> dict[str, Any]:
    return {
        "id": element_id,
        "name": None,
        "physicalName": None,
        "logicalType": value_of(logical),
        "physicalType": value_of(physical, normalize=_norm_type),
        "logicalTypeOptions": None,
        "required": flag(Aspect.REQUIRED),
        "unique": flag(Aspect.UNIQUE),
        "primaryKey": None,
        "primaryKeyPosition": None,
        "partitioned": None,
        "partitionKeyPosition": None,
        "classification": _classification,
        "encryptedName": value_of(Aspect.ENCRYPTED_NAME),
        "transformSourceObjects": changed(Aspect.TRANSFORM),
        "transformLogic": changed(Aspect.TRANSFORM),
        "transformDescription": changed(Aspect.TRANSFORM),
        "criticalDataElement": _critical,
        "businessName": documentation,
        "description": documentation,
        "examples": documentation,
        "tags": documentation,
        "authoritativeDefinitions": documentation,
        "synonyms": documentation,
        "semanticType": documentation,
        "deprecated": deprecated,
        "enum": _enum,
        "map": value_of(Aspect.MAP),
        "customProperties": custom_properties,
        "relationships": None,
        "quality": None,
        "properties": None,
        "items": None,
    }


_PROPERTY_FIELDS: FieldTable = _property_fields(Aspect.LOGICAL_TYPE, Aspect.PHYSICAL_TYPE)
"""How each key of a property is compared (None: compared by :func:`compare_property` itself)."""

_ITEMS_FIELDS: FieldTable = _property_fields(Aspect.ITEMS_LOGICAL_TYPE, Aspect.ITEMS_PHYSICAL_TYPE)
"""The same for an array's ``items`` (its type changes are element type changes)."""


# ---------------------------------------------------------------------------------------------
# logicalTypeOptions

_RANGE_SIDES = (
    ("minimum", "exclusiveMinimum", True, "lower bound"),
    ("maximum", "exclusiveMaximum", False, "upper bound"),
)
_SIZE_BOUNDS = (
    ("minLength", True, None),
    ("maxLength", False, None),
    ("minItems", True, 0),
    ("maxItems", False, None),
    ("minProperties", True, 0),
    ("maxProperties", False, None),
)
_DEFAULT_TIMEZONE = "Etc/UTC"


def compare_options(out: Collector, where: Where, old: Doc, new: Doc) -> None:
    """Compare two ``logicalTypeOptions`` blocks: ranges, sizes, pattern, format and the rest."""
    for inclusive, exclusive, lower, words in _RANGE_SIDES:
        a = bound_from(old, inclusive, exclusive, lower=lower)
        b = bound_from(new, inclusive, exclusive, lower=lower)
        shift = compare_bounds(a, b, lower=lower)
        if shift is not None:
            key = (b or a or Bound(inclusive, None, False)).key
            out.emit(
                Aspect.RANGE,
                shift,
                where,
                field=words,
                old=str(a) if a else None,
                new=str(b) if b else None,
                suffix=f".{key}",
            )
    for key, is_min, default in _SIZE_BOUNDS:
        a, b = old.get(key, default), new.get(key, default)
        shift = _bound_shift(a, b, greater_is_tighter=is_min)
        if shift is not None:
            out.emit(Aspect.LENGTH, shift, where, field=key, old=a, new=b, suffix=f".{key}")
    compare_fields(out, where, old, new, _OPTION_FIELDS)


def _bound_shift(old: Any, new: Any, *, greater_is_tighter: bool) -> Shift | None:
    if old == new:
        return None
    if old is None:
        return Shift.TIGHTENED
    if new is None:
        return Shift.LOOSENED
    return compare_values(old, new, greater_is_tighter=greater_is_tighter)


def _multiple_of(out: Collector, where: Where, key: str, old: Any, new: Any) -> None:
    shift = presence_shift(old, new)
    if shift is Shift.CHANGED:
        try:
            a, b = Fraction(str(old)), Fraction(str(new))
        except (ValueError, ZeroDivisionError):
            a = b = Fraction(0)
        if a and b and (b / a).denominator == 1:
            shift = Shift.TIGHTENED  # a coarser grid: every new value was a valid old value
        elif a and b and (a / b).denominator == 1:
            shift = Shift.LOOSENED
    if shift is not None:
        out.emit(Aspect.OPTION, shift, where, field=key, old=old, new=new, suffix=f".{key}")


def _unique_items(out: Collector, where: Where, key: str, old: Any, new: Any) -> None:
    if bool(old) != bool(new):
        shift = Shift.TIGHTENED if new else Shift.LOOSENED
        out.emit(Aspect.OPTION, shift, where, field=key, old=bool(old), new=bool(new), suffix=f".{key}")


def _required_names(out: Collector, where: Where, key: str, old: Any, new: Any) -> None:
    a, b = set(map(str, old or [])), set(map(str, new or []))
    if a == b:
        return
    shift = Shift.TIGHTENED if b > a else Shift.LOOSENED if b < a else Shift.CHANGED
    out.emit(Aspect.OPTION, shift, where, field=key, old=sorted(a), new=sorted(b), suffix=f".{key}")


def _timezone(out: Collector, where: Where, key: str, old: Any, new: Any) -> None:
    default = _DEFAULT_TIMEZONE if key == "defaultTimezone" else None
    if (old if old is not None else default) != (new if new is not None else default):
        out.emit(Aspect.OPTION, Shift.CHANGED, where, field=key, old=old, new=new, suffix=f".{key}")


_OPTION_FIELDS: FieldTable = {
    **dict.fromkeys(key for side in _RANGE_SIDES for key in side[:2]),
    **dict.fromkeys(key for key, _, _ in _SIZE_BOUNDS),
    "pattern": value_of(Aspect.PATTERN),
    "format": value_of(Aspect.FORMAT),
    "multipleOf": _multiple_of,
    "uniqueItems": _unique_items,
    "required": _required_names,
    "timezone": _timezone,
    "defaultTimezone": _timezone,
}
"""How each ``logicalTypeOptions`` key is compared (None: bounds, compared above)."""


# ---------------------------------------------------------------------------------------------
# relationships


def _refs(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (str(value),) if isinstance(value, str) else tuple(str(v) for v in value)


def _relationship_key(rel: Doc) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    return (str(rel.get("type") or "foreignKey"), _refs(rel.get("from")), _refs(rel.get("to")))


def _relationship_words(key: tuple[str, tuple[str, ...], tuple[str, ...]]) -> str:
    kind, sources, targets = key
    src = f"{', '.join(sources)} " if sources else ""
    return f"{kind} {src}→ {', '.join(targets)}"


def compare_relationships(out: Collector, owner: Where, old: list[Doc], new: list[Doc]) -> None:
    """Relationships compare as a set of (type, from, to); custom properties of kept ones as info."""
    before = {_relationship_key(r): r for r in old}
    after = {_relationship_key(r): r for r in new}

    def where(key: tuple[str, tuple[str, ...], tuple[str, ...]]) -> Where:
        label = ",".join(key[1]) + "->" + ",".join(key[2]) if key[1] else ",".join(key[2])
        return owner.at(f".relationships{segment(label)}")

    for key in before.keys() - after.keys():
        out.emit(Aspect.RELATIONSHIP, Shift.REMOVED, where(key), old=_relationship_words(key))
    for key in after.keys() - before.keys():
        out.emit(Aspect.RELATIONSHIP, Shift.ADDED, where(key), new=_relationship_words(key))
    for key in before.keys() & after.keys():
        if canonical(before[key]) != canonical(after[key]):
            compare_fields(out, where(key), before[key], after[key], _RELATIONSHIP_FIELDS)


_RELATIONSHIP_FIELDS: FieldTable = {
    "type": None,
    "from": None,
    "to": None,
    "id": element_id,
    "customProperties": custom_properties,
}
"""A kept relationship differs only in its stable id or custom properties (type/from/to are its identity)."""

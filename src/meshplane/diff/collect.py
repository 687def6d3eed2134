"""Plumbing shared by the change detectors: locations, pairing of list items, field tables.

Paths are JSONPath-like, with list items addressed by a readable label instead of an index:
``$.schema[orders].properties[customer_id].required``. A label containing ``[``, ``]`` or ``'``
(or with surrounding blanks) is quoted: ``$.schema['odd[name]']``. See ``docs/diff-rules.md``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from meshplane.diff.aspects import Aspect
from meshplane.diff.measures import render
from meshplane.diff.model import RawChange, Shift

Doc = dict[str, Any]
"""One element of a contract in the standard's document shape (camelCase keys, only what is set)."""


def segment(label: str) -> str:
    """A list item's path segment: ``[label]``, quoted when the label needs it."""
    if label and label == label.strip() and not any(ch in label for ch in "[]'"):
        return f"[{label}]"
    escaped = label.replace("\\", "\\\\").replace("'", "\\'")
    return f"['{escaped}']"


@dataclass(frozen=True)
class Where:
    """Where a change is: path, words for messages, and the object/top-level property it concerns."""

    path: str
    subject: str
    object: str | None = None
    property: str | None = None

    def at(self, suffix: str) -> Where:
        """The same element, a deeper path (``.required``, ``.logicalTypeOptions.maximum``)."""
        return replace(self, path=self.path + suffix)


@dataclass
class Collector:
    """Accumulates raw changes."""

    changes: list[RawChange] = field(default_factory=list)

    def emit(
        self,
        aspect: Aspect,
        shift: Shift,
        where: Where,
        *,
        field: str = "",
        old: Any = None,
        new: Any = None,
        detail: str = "",
        suffix: str = "",
    ) -> None:
        """Record one raw change (``old``/``new`` rendered for display; strings kept as they are)."""
        self.changes.append(
            RawChange(
                aspect=aspect,
                shift=shift,
                path=where.path + suffix,
                subject=where.subject,
                object=where.object,
                property=where.property,
                field=field,
                old=old if isinstance(old, str) else render(old),
                new=new if isinstance(new, str) else render(new),
                detail=detail,
            )
        )


def presence_shift(old: Any, new: Any) -> Shift | None:
    """added / removed / changed / None for a value that is either set or not."""
    if old == new:
        return None
    if old is None:
        return Shift.ADDED
    if new is None:
        return Shift.REMOVED
    return Shift.CHANGED


def canonical(value: Any) -> str:
    """A stable text form of a JSON value, for comparing and matching (key order ignored)."""
    return json.dumps(value, sort_keys=True, default=str)


# ---------------------------------------------------------------------------------------------
# pairing the items of two lists (objects, properties, quality rules, servers, SLAs, roles)

KeyFn = Callable[[Doc], Hashable | None]


@dataclass
class Pairing:
    """The result of matching two lists: index pairs, and the unmatched old and new indexes."""

    pairs: list[tuple[int, int]]
    removed: list[int]
    added: list[int]


def pair_items(old: Sequence[Doc], new: Sequence[Doc], keys: Sequence[KeyFn]) -> Pairing:
    """Match items by their stable ``id`` when both have one, else by each key function in turn.

    When both items carry an ``id`` the ids alone decide (a different id is a different element,
    even under the same name). Within one pass, items with equal keys pair up in list order, so
    duplicates are handled deterministically.
    """
    free_old = list(range(len(old)))
    free_new = list(range(len(new)))
    pairs: list[tuple[int, int]] = []

    def run(key: KeyFn, by_id: bool) -> None:
        waiting: dict[Hashable, list[int]] = {}
        for i in free_old:
            k = key(old[i])
            if k is not None:
                waiting.setdefault(k, []).append(i)
        for j in list(free_new):
            k = key(new[j])
            if k is None or not waiting.get(k):
                continue
            candidates = waiting[k]
            pick = next(
                (i for i in candidates if by_id or not (old[i].get("id") and new[j].get("id"))),
                None,
            )
            if pick is None:
                continue
            candidates.remove(pick)
            free_old.remove(pick)
            free_new.remove(j)
            pairs.append((pick, j))

    run(lambda d: d.get("id") or None, True)
    for key in keys:
        run(key, False)
    return Pairing(sorted(pairs), free_old, free_new)


def labels(items: Sequence[Doc], preferred: Callable[[Doc], Sequence[str | None]]) -> list[str]:
    """A readable, unique-within-the-list label per item: the first of its ``preferred`` labels
    that no other item shares at the same rank, else the item's index."""
    out: list[str] = []
    candidates = [list(preferred(item)) for item in items]
    for i, options in enumerate(candidates):
        chosen = str(i)
        for level, option in enumerate(options):
            if option is None:
                continue
            if sum(1 for other in candidates if other[level] == option) == 1:
                chosen = option
                break
        out.append(chosen)
    return out


# ---------------------------------------------------------------------------------------------
# field tables: which handler compares which key of an element

FieldHandler = Callable[[Collector, Where, str, Any, Any], None]
"""Compares one key of an element: ``(collector, where, key, old value, new value)``."""

FieldTable = Mapping[str, FieldHandler | None]
"""Key → handler; None means the key is compared elsewhere (composite or nested comparison)."""


def compare_fields(
    out: Collector, where: Where, old: Doc, new: Doc, table: FieldTable, *, default: FieldHandler | None = None
) -> None:
    """Run the handler of every key present on either side whose value differs.

    Keys missing from ``table`` go to ``default`` (the catch-all :func:`unmodelled` unless given).
    """
    fallback = default or unmodelled
    for key in [*old, *(k for k in new if k not in old)]:
        old_value, new_value = old.get(key), new.get(key)
        if old_value == new_value or (key in UNORDERED_KEYS and _as_bag(old_value) == _as_bag(new_value)):
            continue
        if key in table:
            handler = table[key]
            if handler is not None:
                handler(out, where, key, old_value, new_value)
        else:
            fallback(out, where, key, old_value, new_value)


UNORDERED_KEYS = frozenset({"tags", "authoritativeDefinitions", "transformSourceObjects"})
"""List-valued keys whose order carries no meaning: reordering them is not a change."""


def _as_bag(value: Any) -> Any:
    return sorted(canonical(v) for v in value) if isinstance(value, list) else value


def unmodelled(out: Collector, where: Where, key: str, old: Any, new: Any) -> None:
    """The catch-all: a field no detector knows about changed."""
    shift = presence_shift(old, new) or Shift.CHANGED
    out.emit(Aspect.UNMODELLED, shift, where, field=key, old=old, new=new, suffix=f".{key}")


def documentation(out: Collector, where: Where, key: str, old: Any, new: Any) -> None:
    """Documentation-only fields."""
    out.emit(Aspect.DOCUMENTATION, presence_shift(old, new) or Shift.CHANGED, where, field=key, suffix=f".{key}")


def custom_properties(out: Collector, where: Where, key: str, old: Any, new: Any) -> None:
    """``customProperties``: compared by property name, order ignored."""
    before = {str(p.get("property")): p for p in old or []}
    after = {str(p.get("property")): p for p in new or []}
    if {k: canonical(v) for k, v in before.items()} == {k: canonical(v) for k, v in after.items()}:
        return
    parts = []
    for label, names in (
        ("added", sorted(after.keys() - before.keys())),
        ("removed", sorted(before.keys() - after.keys())),
        ("changed", sorted(k for k in before.keys() & after.keys() if canonical(before[k]) != canonical(after[k]))),
    ):
        if names:
            parts.append(f"{label} {', '.join(names)}")
    out.emit(
        Aspect.CUSTOM_PROPERTIES,
        presence_shift(old, new) or Shift.CHANGED,
        where,
        field=key,
        detail="; ".join(parts),
        suffix=f".{key}",
    )


def value_of(aspect: Aspect, *, normalize: Callable[[Any], Any] | None = None) -> FieldHandler:
    """A handler for a value that can be added, removed or changed (none of them ordered)."""

    def handler(out: Collector, where: Where, key: str, old: Any, new: Any) -> None:
        a, b = (normalize(old), normalize(new)) if normalize else (old, new)
        shift = presence_shift(a, b)
        if shift is not None:
            out.emit(aspect, shift, where, field=key, old=old, new=new, suffix=f".{key}")

    return handler


def flag(aspect: Aspect, default: bool = False) -> FieldHandler:
    """A boolean guarantee (``required``, ``unique``): true → false is loosened, false → true tightened."""

    def handler(out: Collector, where: Where, key: str, old: Any, new: Any) -> None:
        a = default if old is None else bool(old)
        b = default if new is None else bool(new)
        if a != b:
            shift = Shift.TIGHTENED if b else Shift.LOOSENED
            out.emit(aspect, shift, where, field=key, old=a, new=b, suffix=f".{key}")

    return handler


def changed(aspect: Aspect) -> FieldHandler:
    """A handler that reports any difference as ``changed`` (direction irrelevant to its rule)."""

    def handler(out: Collector, where: Where, key: str, old: Any, new: Any) -> None:
        out.emit(aspect, Shift.CHANGED, where, field=key, old=old, new=new, suffix=f".{key}")

    return handler


def element_id(out: Collector, where: Where, key: str, old: Any, new: Any) -> None:
    """A stable ``id`` assigned or removed (a differing id on both sides means another element)."""
    shift = presence_shift(old, new)
    if shift is not None:
        out.emit(Aspect.ELEMENT_ID, shift, where, field=key, old=old, new=new, suffix=f".{key}")


def ignore(_out: Collector, _where: Where, _key: str, _old: Any, _new: Any) -> None:
    """A key that carries no meaning for the diff (e.g. ``kind``, ``version``)."""

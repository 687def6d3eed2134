"""Raw changes of a contract as a whole: fundamentals, status, servers, roles, SLAs, team, support.

The schema is delegated to :mod:`.detect_schema`. Every top-level key of the contract has an entry
in :data:`CONTRACT_FIELDS`; a key without one is reported by the catch-all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from meshplane.diff.aspects import Aspect
from meshplane.diff.collect import (
    Collector,
    Doc,
    FieldHandler,
    FieldTable,
    Where,
    canonical,
    changed,
    compare_fields,
    custom_properties,
    documentation,
    element_id,
    ignore,
    labels,
    pair_items,
    presence_shift,
    segment,
)
from meshplane.diff.detect_schema import compare_objects
from meshplane.diff.measures import (
    compare_values,
    render,
    render_duration,
    shift_by_order,
    time_of_day_minutes,
)
from meshplane.diff.model import Shift
from meshplane.spec.durations import duration_seconds

CONTRACT = Where("$", "contract")


def compare_contract(out: Collector, old: Doc, new: Doc) -> None:
    """Every raw change between two contract documents."""
    compare_fields(out, CONTRACT, old, new, CONTRACT_FIELDS)
    compare_objects(out, old.get("schema") or [], new.get("schema") or [])
    compare_servers(out, old.get("servers") or [], new.get("servers") or [])
    compare_roles(out, CONTRACT, old.get("roles") or [], new.get("roles") or [])
    compare_slas(out, old.get("slaProperties") or [], new.get("slaProperties") or [])


# ---------------------------------------------------------------------------------------------
# status

ACTIVE_STATES = frozenset({"active", "deprecated"})
UNBINDING_STATES = frozenset({"draft", "proposed"})


def _status(out: Collector, where: Where, key: str, old: Any, new: Any) -> None:
    a, b = str(old or "").strip().lower(), str(new or "").strip().lower()
    if a == b:
        return
    if b == "retired":
        aspect = Aspect.STATUS_RETIRED
    elif b == "deprecated":
        aspect = Aspect.STATUS_DEPRECATED
    elif b in UNBINDING_STATES and a in ACTIVE_STATES:
        aspect = Aspect.STATUS_WITHDRAWN
    else:
        aspect = Aspect.STATUS
    out.emit(aspect, Shift.CHANGED, where, field=key, old=old, new=new, suffix=f".{key}")


# ---------------------------------------------------------------------------------------------
# team, support, price: summarized


def _team(out: Collector, where: Where, key: str, old: Any, new: Any) -> None:
    def members(team: Any) -> dict[str, str]:
        listed = team if isinstance(team, list) else (team or {}).get("members") or []
        return {str(m.get("username")): canonical(m) for m in listed}

    before, after = members(old), members(new)
    parts = []
    if added := sorted(after.keys() - before.keys()):
        parts.append("members added: " + ", ".join(added))
    if removed := sorted(before.keys() - after.keys()):
        parts.append("members removed: " + ", ".join(removed))
    if edited := sorted(k for k in before.keys() & after.keys() if before[k] != after[k]):
        parts.append("members changed: " + ", ".join(edited))
    if isinstance(old, dict) and isinstance(new, dict):
        other = sorted(k for k in {*old, *new} if k != "members" and canonical(old.get(k)) != canonical(new.get(k)))
        if other:
            parts.append("changed: " + ", ".join(other))
    elif isinstance(old, dict) != isinstance(new, dict):
        parts.append("rewritten in the " + ("v3.1 object" if isinstance(new, dict) else "v3.0 list") + " form")
    if not parts:  # only the order of members changed
        return
    out.emit(
        Aspect.TEAM,
        presence_shift(old, new) or Shift.CHANGED,
        where,
        field=key,
        detail="; ".join(parts),
        suffix=f".{key}",
    )


def _support(out: Collector, where: Where, key: str, old: Any, new: Any) -> None:
    before = {str(s.get("channel")): canonical(s) for s in old or []}
    after = {str(s.get("channel")): canonical(s) for s in new or []}
    parts = []
    for label, names in (
        ("added", sorted(after.keys() - before.keys())),
        ("removed", sorted(before.keys() - after.keys())),
        ("changed", sorted(k for k in before.keys() & after.keys() if before[k] != after[k])),
    ):
        if names:
            parts.append(f"{label} {', '.join(names)}")
    if parts:
        out.emit(
            Aspect.SUPPORT,
            presence_shift(old, new) or Shift.CHANGED,
            where,
            field=key,
            detail="; ".join(parts),
            suffix=f".{key}",
        )


def _price_words(price: Any) -> str:
    if not isinstance(price, dict):
        return render(price)
    amount = render(price.get("priceAmount")) if "priceAmount" in price else "?"
    currency = f" {price['priceCurrency']}" if price.get("priceCurrency") else ""
    unit = f" per {price['priceUnit']}" if price.get("priceUnit") else ""
    return f"{amount}{currency}{unit}"


def _price(out: Collector, where: Where, key: str, old: Any, new: Any) -> None:
    out.emit(
        Aspect.PRICE,
        presence_shift(old, new) or Shift.CHANGED,
        where,
        field=key,
        old=_price_words(old),
        new=_price_words(new),
        suffix=f".{key}",
    )


def _sub_table(table: FieldTable) -> FieldHandler:
    """A handler comparing a nested block (e.g. the contract's ``description``) with its own table."""

    def handler(out: Collector, where: Where, key: str, old: Any, new: Any) -> None:
        compare_fields(out, where.at(f".{key}"), old or {}, new or {}, table)

    return handler


_DESCRIPTION_FIELDS: FieldTable = {
    "usage": documentation,
    "purpose": documentation,
    "limitations": documentation,
    "authoritativeDefinitions": documentation,
    "customProperties": custom_properties,
}

CONTRACT_FIELDS: FieldTable = {
    "apiVersion": changed(Aspect.API_VERSION),
    "kind": ignore,  # always DataContract
    "id": changed(Aspect.CONTRACT_ID),
    "version": ignore,  # judged by the semver check, not as a change
    "status": _status,
    "name": documentation,
    "tags": documentation,
    "authoritativeDefinitions": documentation,
    "description": _sub_table(_DESCRIPTION_FIELDS),
    "customProperties": custom_properties,
    "context": documentation,
    "tenant": changed(Aspect.METADATA),
    "domain": changed(Aspect.METADATA),
    "dataProduct": changed(Aspect.METADATA),
    "contractCreatedTs": changed(Aspect.METADATA),
    "team": _team,
    "support": _support,
    "price": _price,
    "slaDefaultElement": changed(Aspect.SLA_ELEMENT),
    "schema": None,
    "servers": None,
    "roles": None,
    "slaProperties": None,
}
"""How each top-level key of a contract is compared (None: by a list comparison)."""


# ---------------------------------------------------------------------------------------------
# servers and roles


def _server_name(doc: Doc) -> str | None:
    return str(doc["server"]) if doc.get("server") is not None else None


def compare_servers(out: Collector, old: list[Doc], new: list[Doc]) -> None:
    """Pair servers by id, else by their ``server`` identifier."""
    pairing = pair_items(old, new, [_server_name])

    def where(doc: Doc) -> Where:
        name = _server_name(doc) or ""
        return Where(f"$.servers{segment(name)}", f"server {name}")

    for i in pairing.removed:
        out.emit(Aspect.SERVER, Shift.REMOVED, where(old[i]), old=old[i].get("type"))
    for j in pairing.added:
        out.emit(Aspect.SERVER, Shift.ADDED, where(new[j]), new=new[j].get("type"))
    for i, j in pairing.pairs:
        here = where(old[i])
        # a key the table does not name is a type-specific location setting (path, host, ...)
        compare_fields(out, here, old[i], new[j], SERVER_FIELDS, default=changed(Aspect.SERVER_LOCATION))
        compare_roles(out, here, old[i].get("roles") or [], new[j].get("roles") or [])


SERVER_FIELDS: FieldTable = {
    "id": element_id,
    "server": changed(Aspect.SERVER_LOCATION),  # renamed under the same id: `--server NAME` breaks
    "type": changed(Aspect.SERVER_LOCATION),
    "environment": changed(Aspect.SERVER_ENVIRONMENT),
    "description": documentation,
    "customProperties": custom_properties,
    "roles": None,
}
"""How the standard keys of a server are compared; every other key counts as its location."""


def _role_name(doc: Doc) -> str | None:
    return str(doc["role"]) if doc.get("role") is not None else None


def compare_roles(out: Collector, owner: Where, old: list[Doc], new: list[Doc]) -> None:
    """Pair IAM roles (of the contract or of a server) by id, else by role name."""
    pairing = pair_items(old, new, [_role_name])
    of = "" if owner is CONTRACT else f" of {owner.subject}"

    def where(doc: Doc) -> Where:
        name = _role_name(doc) or ""
        base = "$" if owner is CONTRACT else owner.path
        return Where(f"{base}.roles{segment(name)}", f"role {name}{of}")

    for i in pairing.removed:
        out.emit(Aspect.ROLE, Shift.REMOVED, where(old[i]))
    for j in pairing.added:
        out.emit(Aspect.ROLE, Shift.ADDED, where(new[j]))
    for i, j in pairing.pairs:
        compare_fields(out, where(old[i]), old[i], new[j], ROLE_FIELDS)


ROLE_FIELDS: FieldTable = {
    "id": element_id,
    "role": changed(Aspect.ROLE),
    "access": changed(Aspect.ROLE),
    "firstLevelApprovers": changed(Aspect.ROLE),
    "secondLevelApprovers": changed(Aspect.ROLE),
    "description": documentation,
    "customProperties": custom_properties,
}
"""How each key of a role is compared."""


# ---------------------------------------------------------------------------------------------
# service levels

SLA_ORDER: dict[str, tuple[str, bool]] = {
    "latency": ("duration", False),
    "freshness": ("duration", False),
    "frequency": ("duration", False),
    "timetodetect": ("duration", False),
    "timetonotify": ("duration", False),
    "timetorepair": ("duration", False),
    "timetorespond": ("duration", False),
    "responsetime": ("duration", False),
    "retention": ("duration", True),
    "availability": ("number", True),
    "uptime": ("number", True),
    "throughput": ("number", True),
    "errorrate": ("number", False),
    "generalavailability": ("instant", False),
    "endofsupport": ("instant", True),
    "endoflife": ("instant", True),
    "timeofavailability": ("time-of-day", False),
}
"""SLA property (lower-cased, without ``_``/``-``) → (value kind, True when a greater value is a
stronger promise). Latency 1 d → 3 d is relaxed; retention 3 y → 1 y is relaxed."""

_PERCENT_UNITS = frozenset({"%", "percent", "pct"})


def sla_kind(prop: str) -> tuple[str, bool] | None:
    """How an SLA property's values are ordered, or None for a property meshplane does not know."""
    return SLA_ORDER.get(re.sub(r"[^a-z]", "", prop.lower()))


def compare_sla_values(prop: str, old: Doc, new: Doc) -> Shift | None:
    """Compare the value of two versions of one SLA property (value, unit and valueExt)."""
    raw_old = (old.get("value"), old.get("unit"), old.get("valueExt"))
    raw_new = (new.get("value"), new.get("unit"), new.get("valueExt"))
    if raw_old == raw_new:
        return None
    if canonical(old.get("valueExt")) != canonical(new.get("valueExt")):
        return Shift.CHANGED
    kind = sla_kind(prop)
    if kind is None:
        return Shift.CHANGED
    kind_name, greater_is_tighter = kind
    if kind_name == "instant":
        shift = compare_values(old.get("value"), new.get("value"), greater_is_tighter=greater_is_tighter)
        return shift or Shift.RESTATED
    if kind_name == "number":
        a, b = _number_in_unit(old), _number_in_unit(new)
        if a is None or b is None or a[0] != b[0]:  # another unit: not comparable
            return Shift.CHANGED
        return shift_by_order(a[1], b[1], greater_is_tighter=greater_is_tighter) or Shift.RESTATED
    reader = _READERS[kind_name]
    x, y = reader(old), reader(new)
    if x is None or y is None:
        return Shift.CHANGED
    return shift_by_order(x, y, greater_is_tighter=greater_is_tighter) or Shift.RESTATED


_READERS: dict[str, Callable[[Doc], Any]] = {
    "duration": lambda d: duration_seconds(d.get("value"), d.get("unit")),
    "time-of-day": lambda d: time_of_day_minutes(d.get("value")),
}


def _number_in_unit(doc: Doc) -> tuple[str, float] | None:
    value = doc.get("value")
    if isinstance(value, bool):
        return None
    try:
        number = float(str(value).rstrip("%").strip())
    except ValueError:
        return None
    unit = str(doc.get("unit") or "").strip().lower()
    if unit in _PERCENT_UNITS or str(value).strip().endswith("%"):
        unit = "%"
    return (unit, number)


def _sla_words(doc: Doc) -> str:
    text = render_duration(doc.get("value"), doc.get("unit"))
    if doc.get("valueExt") is not None:
        text += f" (ext {render(doc['valueExt'])})"
    return text


def _sla_candidates(doc: Doc) -> list[str | None]:
    prop = str(doc.get("property"))
    driver = doc.get("driver")
    return [doc.get("id"), prop, f"{prop}/{driver}" if driver else None]


def compare_slas(out: Collector, old: list[Doc], new: list[Doc]) -> None:
    """Pair SLA properties by id, then (property, driver), then property, and compare them."""
    pairing = pair_items(
        old,
        new,
        [
            lambda d: (str(d.get("property")).lower(), d.get("driver")),
            lambda d: str(d.get("property")).lower(),
        ],
    )
    old_labels, new_labels = labels(old, _sla_candidates), labels(new, _sla_candidates)

    def where(doc: Doc, label: str) -> Where:
        driver = f" ({doc['driver']})" if doc.get("driver") and "/" in label else ""
        return Where(f"$.slaProperties{segment(label)}", f"SLA {doc.get('property')}{driver}")

    for i in pairing.removed:
        out.emit(Aspect.SLA, Shift.REMOVED, where(old[i], old_labels[i]), old=_sla_words(old[i]))
    for j in pairing.added:
        out.emit(Aspect.SLA, Shift.ADDED, where(new[j], new_labels[j]), new=_sla_words(new[j]))
    for i, j in pairing.pairs:
        here = where(old[i], old_labels[i])
        compare_fields(out, here, old[i], new[j], SLA_FIELDS)
        if str(old[i].get("property")).lower() != str(new[j].get("property")).lower():
            shift: Shift | None = Shift.CHANGED
        else:
            shift = compare_sla_values(str(old[i].get("property")), old[i], new[j])
        if shift is not None:
            out.emit(
                Aspect.SLA_VALUE,
                shift,
                here,
                field="value",
                old=_sla_words(old[i]),
                new=_sla_words(new[j]),
                suffix=".value",
            )


SLA_FIELDS: FieldTable = {
    "id": element_id,
    "property": None,
    "value": None,
    "unit": None,
    "valueExt": None,
    "element": changed(Aspect.SLA_ELEMENT),
    "driver": documentation,
    "description": documentation,
    "scheduler": changed(Aspect.SCHEDULE),
    "schedule": changed(Aspect.SCHEDULE),
    "authoritativeDefinitions": documentation,
    "customProperties": custom_properties,
}
"""How each key of an SLA property is compared (None: by :func:`compare_sla_values`)."""

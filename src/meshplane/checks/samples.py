"""Failing samples: up to N offending rows of a failed check, with classified columns masked.

Masking happens in the query itself (the engine returns ``'***'`` for a masked column), so a
sensitive value never leaves the engine. Only declared columns are shown: a column the contract
does not describe has no classification to trust.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlglot import exp

from meshplane.checks.plan import ObjectTarget
from meshplane.engines.base import QueryError, Session
from meshplane.spec.odcs import SchemaObject, SchemaProperty

MASKED_CLASSIFICATIONS = frozenset({"restricted", "confidential", "pii"})
"""Classifications whose values are masked in samples (case-insensitive)."""

MASK = "***"


def _sensitive(prop: SchemaProperty) -> bool:
    if (prop.classification or "").strip().lower() in MASKED_CLASSIFICATIONS:
        return True
    children = [*(prop.properties or []), *([prop.items] if prop.items else [])]
    return any(_sensitive(child) for child in children)


def masked_columns(obj: SchemaObject) -> set[str]:
    """Lower-cased top-level columns to mask (a nested sensitive field masks its whole column)."""
    return {p.column.lower() for p in obj.properties or [] if _sensitive(p)}


def sample_query(target: ObjectTarget, predicate: exp.Expr, limit: int) -> exp.Select:
    """``SELECT <declared columns, masked> FROM <dataset> WHERE <predicate> LIMIT <limit>``."""
    obj = target.schema_object
    masked = masked_columns(obj)
    declared = {p.column.lower() for p in obj.properties or []}
    shown = [c.name for c in target.dataset.columns if not declared or c.name.lower() in declared]
    projection: list[exp.Expr] = []
    for name in shown:
        alias = exp.to_identifier(name, quoted=True)
        text = target.dataset.text_columns.get(name)
        if name.lower() in masked:
            projection.append(exp.alias_(exp.Literal.string(MASK), alias))
        elif text is not None:
            # a CSV row as the file has it: a value its type rejected shows, not its NULL
            projection.append(exp.alias_(exp.column(text, quoted=True), alias))
        else:
            projection.append(exp.column(name, quoted=True))
    return exp.select(*projection).from_(target.table.copy()).where(predicate.copy()).limit(limit)


def fetch_all_samples(
    session: Session, target: ObjectTarget, predicates: Mapping[str, exp.Expr], limit: int
) -> dict[str, list[dict[str, Any]]]:
    """Offending rows of several failed checks, in one pass over the data when that finds them.

    One query selects the rows breaking any check (with a flag per check) up to `limit` per check
    in total; a check that got fewer rows than `limit` while others took the quota (one check
    failing on most rows) gets a query of its own.
    """
    if limit <= 0 or not predicates:
        return {key: [] for key in predicates}
    if len(predicates) == 1:
        key, predicate = next(iter(predicates.items()))
        return {key: fetch_samples(session, target, predicate, limit)}
    keys = list(predicates)
    flags = [exp.alias_(predicates[k].copy(), f"__sample_{i}", quoted=True) for i, k in enumerate(keys)]
    query = sample_query(target, exp.or_(*(predicates[k] for k in keys)), limit * len(keys))
    query = query.select(*flags)
    try:
        result = session.execute(query)
    except QueryError:
        return {key: fetch_samples(session, target, predicates[key], limit) for key in keys}
    width = len(result.columns) - len(keys)
    names = result.columns[:width]
    found: dict[str, list[dict[str, Any]]] = {key: [] for key in keys}
    for row in result.rows:
        for i, key in enumerate(keys):
            if row[width + i] is True and len(found[key]) < limit:
                found[key].append(dict(zip(names, row[:width], strict=True)))
    full = len(result.rows) >= limit * len(keys)
    for key in keys:
        if full and len(found[key]) < limit:
            found[key] = fetch_samples(session, target, predicates[key], limit)
    return found


def fetch_samples(session: Session, target: ObjectTarget, predicate: exp.Expr, limit: int) -> list[dict[str, Any]]:
    """Offending rows as dicts (empty when the query fails: samples never fail a check)."""
    if limit <= 0:
        return []
    try:
        result = session.execute(sample_query(target, predicate, limit))
    except QueryError:
        return []
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]

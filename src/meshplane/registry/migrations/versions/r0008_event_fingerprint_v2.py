"""Fingerprints v2: stored hashes recomputed in the canonical JSON of `meshplane.canonical` (orjson).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

The canonical text of a document changed where it holds a float with a decimal exponent of -5 to
-9 (``1e-05`` is now written ``0.00001``). So that an event or a file stored before still
matches itself when it comes again, every hash that can be recomputed from what is stored is:

- ``lineage_events.fingerprint`` from the stored ``body`` (`meshplane.lineage.event_fingerprint`:
  a re-sent event is recognised as a duplicate). The body is left as it was received. An event
  the receiver now refuses (an integer beyond 64 bits) keeps its fingerprint: sent again, it is
  refused before any fingerprint is compared;
- ``sha256`` of ``domains``, ``product_descriptors`` and ``contract_versions`` from their stored
  ``document``, and ``products.sha256`` (the sha256 of its current descriptor) along with them:
  an unchanged file is not reported as changed (or, for a contract version, as modified).

Test runs do not keep their document whole, so their fingerprints stay (see `meshplane.canonical`).
Rows are read and updated in chunks, on SQLite and PostgreSQL alike. The downgrade recomputes the
same hashes in the canonical JSON of version 1 (``json.dumps``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

from meshplane.canonical import CanonicalJSONError, canonical_bytes

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_CHUNK = 1000
_DOCUMENT_TABLES = ("domains", "product_descriptors", "contract_versions")


def _v1_text(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8")


def _event_v1(body: str) -> str:
    """The version 1 fingerprint of a stored event (``json.dumps``, NaN refused, as the receiver wrote it)."""
    value = json.loads(body)
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _event_v2(body: str) -> str | None:
    """The version 2 fingerprint of a stored event, as the receiver computes it (the rule frozen here);
    None when the receiver refuses such an event now (an integer beyond 64 bits, nesting too deep)."""
    try:
        value = json.loads(body)
        if _beyond_int64(value):
            return None
        return hashlib.sha256(canonical_bytes(value)).hexdigest()
    except (ValueError, RecursionError, CanonicalJSONError):
        return None


def _beyond_int64(value: Any) -> bool:
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, int) and not isinstance(node, bool) and not -(2**63) <= node < 2**64:
            return True
    return False


def _document_v1(document: str) -> str:
    return hashlib.sha256(_v1_text(json.loads(document))).hexdigest()


def _document_v2(document: str) -> str:
    from meshplane.registry.versions import document_sha256

    return document_sha256(json.loads(document))


def _rehash(table: str, key: str, column: str, source: str, rehash: Callable[[str], str | None]) -> dict[str, str]:
    """Recompute ``column`` from ``source`` (its text) for every row of ``table``, by chunks; old → new hash."""
    connection = op.get_bind()
    rows = sa.table(table, sa.column(key), sa.column(column, sa.String), sa.column(source, sa.Text))
    text = sa.cast(rows.c[source], sa.Text)  # JSON columns as their text: numbers exactly as stored
    changed: dict[str, str] = {}
    last: Any = None
    while True:
        query = sa.select(rows.c[key], rows.c[column], text).order_by(rows.c[key]).limit(_CHUNK)
        if last is not None:
            query = query.where(rows.c[key] > last)
        chunk = connection.execute(query).all()
        if not chunk:
            return changed
        updates = []
        for row_id, old, stored in chunk:
            new = rehash(stored)
            if new is not None and new != old:
                updates.append({"row_id": row_id, "new": new})
                changed[old] = new
        if updates:
            statement = rows.update().where(rows.c[key] == sa.bindparam("row_id")).values({column: sa.bindparam("new")})
            connection.execute(statement, updates)
        last = chunk[-1][0]


def _rehash_all(event: Callable[[str], str | None], document: Callable[[str], str]) -> None:
    _rehash("lineage_events", "id", "fingerprint", "body", event)
    changed: dict[str, str] = {}
    for table in _DOCUMENT_TABLES:
        changed |= _rehash(table, "id", "sha256", "document", document)
    products = sa.table("products", sa.column("sha256", sa.String))
    for old, new in changed.items():  # a product's sha256 is its current descriptor's
        op.get_bind().execute(products.update().where(products.c.sha256 == old).values(sha256=new))


def upgrade() -> None:
    """Recompute event fingerprints and document sha256s in the canonical JSON of version 2."""
    _rehash_all(_event_v2, _document_v2)


def downgrade() -> None:
    """Recompute them in the canonical JSON of version 1 (``json.dumps``)."""
    _rehash_all(_event_v1, _document_v1)

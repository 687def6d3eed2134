"""Migration 0008: hashes stored in canonical JSON version 1 (json.dumps) are recomputed in version 2 (orjson).

An event stored before the migration, its float written as json.dumps wrote it (``1e-05``), is
recognised as a duplicate when it is sent again afterwards, whatever the float's spelling; a
domain's sha256 becomes the one its unchanged file gives now; the downgrade restores version 1.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import command

from meshplane.lineage import check_event
from meshplane.registry import Registry, migrate
from meshplane.registry.versions import document_sha256
from meshplane.service.lineage import IngestStatus, ingest

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _event(run: int) -> dict[str, Any]:
    return {
        "eventType": "COMPLETE",
        "eventTime": "2026-12-01T10:00:00Z",
        "producer": "https://example.org/producer",
        "run": {"runId": f"0190a1b2-c3d4-7e5f-8a9b-{run:012d}"},
        "job": {"namespace": "ns", "name": "job", "facets": {"acme": {"ratio": 1e-05, "tiny": 2.5e-07, "n": 2**70}}},
        "inputs": [],
        "outputs": [],
    }


def _v1(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _at(registry: Registry, revision: str, *, down: bool = False) -> None:
    with registry.engine.connect() as conn, conn.begin():
        (command.downgrade if down else command.upgrade)(migrate.alembic_config(conn), revision)


def test_an_event_stored_in_canonical_json_v1_is_a_duplicate_after_the_migration(registry_url: str) -> None:
    with Registry(registry_url, auto_upgrade=False) as registry:
        _at(registry, "0007")
        old = _event(1)
        old["job"]["facets"]["acme"].pop("n")  # (an integer beyond 64 bits is refused now: see below)
        plain = _event(2)
        plain["job"]["facets"] = {}
        refused_now = _event(3)
        domain = {"name": "Retail", "threshold": 1e-06, "owner": "ünï"}
        rows = [(i, _v1(document)) for i, document in enumerate((old, plain, refused_now), start=1)]
        with registry.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO lineage_events (id, fingerprint, kind, received_at, received_by, body) "
                    "VALUES (:id, :fingerprint, 'RunEvent', :now, 'test', :body)"
                ),
                [{"id": i, "fingerprint": _sha(body), "now": NOW, "body": body} for i, body in rows],
            )
            conn.execute(
                sa.text(
                    "INSERT INTO domains (id, name, tags, document, sha256, created_at, updated_at) "
                    "VALUES ('retail', 'Retail', '[]', :document, :sha, :now, :now)"
                ),
                {
                    "document": json.dumps(domain),
                    "sha": _sha(json.dumps(domain, sort_keys=True, separators=(",", ":"), ensure_ascii=False)),
                    "now": NOW,
                },
            )
        assert "1e-05" in rows[0][1] and check_event(rows[0][1]).fingerprint != _sha(rows[0][1])

        registry.upgrade()
        assert registry.status().current == migrate.head_revision()
        resent = [json.dumps(old), json.dumps(old).replace("1e-05", "0.00001"), json.dumps(plain, indent=2)]
        statuses = ingest(registry, [check_event(body) for body in resent], actor="test", now=NOW)
        assert statuses == [IngestStatus.DUPLICATE] * 3
        with registry.engine.connect() as conn:
            fingerprints: dict[int, str] = dict(
                conn.execute(sa.text("SELECT id, fingerprint FROM lineage_events")).all()
            )
            bodies: dict[int, str] = dict(conn.execute(sa.text("SELECT id, body FROM lineage_events")).all())
            (domain_sha,) = conn.execute(sa.text("SELECT sha256 FROM domains")).scalars()
        assert fingerprints[1] == check_event(bodies[1]).fingerprint and bodies[1] == rows[0][1]  # body as received
        assert fingerprints[2] == _sha(rows[1][1])  # no float: the same text in both versions
        assert fingerprints[3] == _sha(rows[2][1])  # kept: re-sent, it is refused before any comparison
        assert domain_sha == document_sha256(domain) != _sha(json.dumps(domain, sort_keys=True, separators=(",", ":")))

        _at(registry, "0007", down=True)
        with registry.engine.connect() as conn:
            restored: dict[int, str] = dict(conn.execute(sa.text("SELECT id, fingerprint FROM lineage_events")).all())
            (domain_v1,) = conn.execute(sa.text("SELECT sha256 FROM domains")).scalars()
        assert restored == {i: _sha(body) for i, body in rows}
        assert domain_v1 == _sha(json.dumps(domain, sort_keys=True, separators=(",", ":"), ensure_ascii=False))

"""Write a `ChangeSet` into the registry, inside the caller's (single, locked) transaction.

Rows are written in bulk (one INSERT ... VALUES per table and kind of change, one executemany
UPDATE per table), parents before children. Nothing is deleted: retired entities get
``retired_at``; contract versions and product descriptors are appended.

The caller (`meshplane.service.gitops.apply_mesh`) adds what else an apply records in the same
transaction (the lineage port index, `meshplane.service.portindex`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from meshplane.registry import models as m
from meshplane.registry.changes import Action, ChangeSet, EntityChange, Kind
from meshplane.registry.state import ContractVersionSpec, MeshState, PortSpec, RegistryState, TeamSpec
from meshplane.registry.versions import parse_version


def _insert_teams(session: Session, teams: Sequence[TeamSpec | None]) -> list[int | None]:
    """Insert one team per entry (None stays None); returns their ids in order."""
    present = [t for t in teams if t is not None]
    if not present:
        return [None] * len(teams)
    ids = iter(
        session.execute(
            sa.insert(m.Team).returning(m.Team.id, sort_by_parameter_order=True),
            [{"name": t.name, "description": t.description} for t in present],
        )
        .scalars()
        .all()
    )
    out = [next(ids) if t is not None else None for t in teams]
    _insert_members(session, [(tid, t) for tid, t in zip(out, teams, strict=True) if tid is not None and t is not None])
    return out


def _insert_members(session: Session, teams: Iterable[tuple[int, TeamSpec]]) -> None:
    rows = [
        {
            "team_id": tid,
            "position": i,
            "username": mem.username,
            "name": mem.name,
            "role": mem.role,
            "date_in": mem.date_in,
            "date_out": mem.date_out,
        }
        for tid, team in teams
        for i, mem in enumerate(team.members)
    ]
    if rows:
        session.execute(sa.insert(m.TeamMember), rows)


def _sync_teams(session: Session, existing: Sequence[tuple[int | None, TeamSpec | None]]) -> list[int | None]:
    """Make each (current team id, declared team) pair match; returns the team ids to point at."""
    result: list[int | None] = []
    to_create: list[tuple[int, TeamSpec]] = []
    updates: list[dict[str, Any]] = []
    rewrite: list[tuple[int, TeamSpec]] = []
    for index, (team_id, team) in enumerate(existing):
        if team is None:
            result.append(None)
        elif team_id is None:
            result.append(None)
            to_create.append((index, team))
        else:
            result.append(team_id)
            updates.append({"id": team_id, "name": team.name, "description": team.description})
            rewrite.append((team_id, team))
    if updates:
        session.execute(sa.update(m.Team), updates)
        session.execute(sa.delete(m.TeamMember).where(m.TeamMember.team_id.in_([tid for tid, _ in rewrite])))
        _insert_members(session, rewrite)
    if to_create:
        new_ids = _insert_teams(session, [team for _, team in to_create])
        for (index, _), new_id in zip(to_create, new_ids, strict=True):
            result[index] = new_id
    return result


def _by_kind(changes: Iterable[EntityChange]) -> dict[tuple[Kind, Action], list[EntityChange]]:
    grouped: dict[tuple[Kind, Action], list[EntityChange]] = defaultdict(list)
    for change in changes:
        grouped[(change.kind, change.action)].append(change)
    return grouped


@dataclass
class _Writer:
    """The context every table writer needs: where, what, when, by whom, under which audit entry."""

    session: Session
    desired: MeshState
    current: RegistryState
    changes: ChangeSet
    now: datetime
    actor: str
    audit_id: int
    grouped: dict[tuple[Kind, Action], list[EntityChange]] = field(default_factory=dict)

    def ids(self, kind: Kind, *actions: Action) -> list[str]:
        """Ids of the changes of a kind with one of the actions."""
        return [c.id for a in actions for c in self.grouped.get((kind, a), [])]

    def retire(self, model: type[m.Domain] | type[m.Product] | type[m.Contract], ids: list[str]) -> None:
        """Mark rows retired (they stay as history)."""
        if ids:
            self.session.execute(
                sa.update(model), [{"id": i, "retired_at": self.now, "updated_at": self.now} for i in ids]
            )

    def domains(self) -> None:
        """Create, update, restore and retire domains (with their teams)."""

        def row(dom_id: str, team_id: int | None) -> dict[str, Any]:
            spec = self.desired.domains[dom_id]
            return {
                "id": dom_id,
                "name": spec.name,
                "description": spec.description,
                "tags": list(spec.tags),
                "team_id": team_id,
                "document": dict(spec.document),
                "sha256": spec.sha256,
                "updated_at": self.now,
                "retired_at": None,
                "audit_id": self.audit_id,
            }

        created = self.ids(Kind.DOMAIN, Action.CREATE)
        if created:
            team_ids = _insert_teams(self.session, [self.desired.domains[d].team for d in created])
            self.session.execute(
                sa.insert(m.Domain),
                [row(d, t) | {"created_at": self.now} for d, t in zip(created, team_ids, strict=True)],
            )
        changed = self.ids(Kind.DOMAIN, Action.UPDATE, Action.RESTORE)
        if changed:
            pairs = [(self.current.domains[d].team_id, self.desired.domains[d].team) for d in changed]
            team_ids = _sync_teams(self.session, pairs)
            self.session.execute(sa.update(m.Domain), [row(d, t) for d, t in zip(changed, team_ids, strict=True)])
        self.retire(m.Domain, self.ids(Kind.DOMAIN, Action.RETIRE))

    def products(self) -> None:
        """Create, update, restore and retire products; append a descriptor revision when it changed."""

        def row(prod_id: str, team_id: int | None, revision: int) -> dict[str, Any]:
            spec = self.desired.products[prod_id]
            return {
                "id": prod_id,
                "domain_id": spec.domain,
                "name": spec.name,
                "status": spec.status,
                "version": spec.version,
                "tags": list(spec.tags),
                "team_id": team_id,
                "sha256": spec.sha256,
                "revision": revision,
                "updated_at": self.now,
                "retired_at": None,
                "audit_id": self.audit_id,
            }

        descriptors: list[dict[str, Any]] = []

        def descriptor(prod_id: str, revision: int) -> None:
            spec = self.desired.products[prod_id]
            descriptors.append(
                {
                    "product_id": prod_id,
                    "revision": revision,
                    "document": dict(spec.document),
                    "sha256": spec.sha256,
                    "applied_at": self.now,
                    "applied_by": self.actor,
                    "audit_id": self.audit_id,
                }
            )

        created = self.ids(Kind.PRODUCT, Action.CREATE)
        if created:
            team_ids = _insert_teams(self.session, [self.desired.products[p].team for p in created])
            self.session.execute(
                sa.insert(m.Product),
                [row(p, t, 1) | {"created_at": self.now} for p, t in zip(created, team_ids, strict=True)],
            )
            for p in created:
                descriptor(p, 1)
        changed = self.ids(Kind.PRODUCT, Action.UPDATE, Action.RESTORE)
        if changed:
            pairs = [(self.current.products[p].team_id, self.desired.products[p].team) for p in changed]
            team_ids = _sync_teams(self.session, pairs)
            rows = []
            for p, t in zip(changed, team_ids, strict=True):
                reg = self.current.products[p]
                revision = reg.revision + 1 if reg.sha256 != self.desired.products[p].sha256 else reg.revision
                if revision != reg.revision:
                    descriptor(p, revision)
                rows.append(row(p, t, revision))
            self.session.execute(sa.update(m.Product), rows)
        if descriptors:
            self.session.execute(sa.insert(m.ProductDescriptor), descriptors)
        self.retire(m.Product, self.ids(Kind.PRODUCT, Action.RETIRE))

    def _port_spec(self, change: EntityChange) -> PortSpec:
        prod = self.desired.products[change.product or ""]
        ports = prod.output_ports if change.kind is Kind.OUTPUT_PORT else prod.input_ports
        key = (change.detail["name"], change.detail["version"])
        return next(p for p in ports if p.key == key)

    def _registered_port_id(self, change: EntityChange) -> int:
        reg = self.current.products[change.product or ""]
        ports = reg.output_ports if change.kind is Kind.OUTPUT_PORT else reg.input_ports
        return ports[(change.detail["name"], change.detail["version"])].id

    def _port_values(self, change: EntityChange) -> dict[str, Any]:
        spec = self._port_spec(change)
        out: dict[str, Any] = {
            "name": spec.name,
            "version": spec.version,
            "major": spec.major,
            "contract_id": spec.contract_id,
            "updated_at": self.now,
            "retired_at": None,
        }
        if change.kind is Kind.OUTPUT_PORT:
            out |= {"type": spec.type, "description": spec.description}
        return out

    def ports(self) -> None:
        """Create, update, restore and retire output and input ports."""
        for kind, model in ((Kind.OUTPUT_PORT, m.OutputPort), (Kind.INPUT_PORT, m.InputPort)):
            created = self.grouped.get((kind, Action.CREATE), [])
            if created:
                rows = [self._port_values(c) | {"product_id": c.product, "created_at": self.now} for c in created]
                self.session.execute(sa.insert(model), rows)
            changed = self.grouped.get((kind, Action.UPDATE), []) + self.grouped.get((kind, Action.RESTORE), [])
            if changed:
                rows = [self._port_values(c) | {"id": self._registered_port_id(c)} for c in changed]
                self.session.execute(sa.update(model), rows)
            retired = self.grouped.get((kind, Action.RETIRE), [])
            if retired:
                rows = [
                    {"id": self._registered_port_id(c), "retired_at": self.now, "updated_at": self.now} for c in retired
                ]
                self.session.execute(sa.update(model), rows)

    def contracts(self) -> None:
        """Create, update, restore and retire contracts; append the new versions, rewrite revised drafts."""
        latest = {cid: reg.latest_version for cid, reg in self.current.contracts.items()}
        for new in self.changes.new_versions:
            cid, version = new.spec.contract_id, new.spec.version
            old, parsed = parse_version(latest.get(cid)), parse_version(version)
            if old is None or (parsed is not None and parsed > old):
                latest[cid] = version
        first_file: dict[str, ContractVersionSpec] = {}
        for spec in self.desired.contract_versions:
            first_file.setdefault(spec.contract_id, spec)

        def row(cid: str) -> dict[str, Any]:
            spec = first_file[cid]
            return {
                "id": cid,
                "domain_id": spec.domain,
                "product_id": spec.product_id,
                "name": spec.name,
                "latest_version": latest[cid],
                "updated_at": self.now,
                "retired_at": None,
            }

        created = self.ids(Kind.CONTRACT, Action.CREATE)
        if created:
            self.session.execute(sa.insert(m.Contract), [row(c) | {"created_at": self.now} for c in created])
        touched = set(self.ids(Kind.CONTRACT, Action.UPDATE, Action.RESTORE))
        touched |= {
            n.spec.contract_id for n in self.changes.new_versions if n.spec.contract_id in self.current.contracts
        }
        if touched:
            self.session.execute(sa.update(m.Contract), [row(c) for c in sorted(touched)])
        revised = [n for n in self.changes.new_versions if n.revises_draft]
        if revised:
            self.session.execute(
                sa.update(m.ContractVersion),
                [
                    {
                        "id": self.current.contracts[n.spec.contract_id].version_ids[n.spec.version],
                        "status": n.spec.status,
                        "document": dict(n.spec.document),
                        "sha256": n.spec.sha256,
                        "applied_at": self.now,
                        "applied_by": self.actor,
                        "audit_id": self.audit_id,
                    }
                    for n in revised
                ],
            )
        if any(not n.revises_draft for n in self.changes.new_versions):
            rows = []
            for new in self.changes.new_versions:
                if new.revises_draft:
                    continue
                parsed = parse_version(new.spec.version)
                if parsed is None:  # pragma: no cover - invalid versions are plan errors
                    raise ValueError(f"invalid version {new.spec.version}")
                rows.append(
                    {
                        "contract_id": new.spec.contract_id,
                        "version": new.spec.version,
                        "major": parsed.major,
                        "minor": parsed.minor,
                        "patch": parsed.patch,
                        "status": new.spec.status,
                        "document": dict(new.spec.document),
                        "sha256": new.spec.sha256,
                        "applied_at": self.now,
                        "applied_by": self.actor,
                        "audit_id": self.audit_id,
                    }
                )
            self.session.execute(sa.insert(m.ContractVersion), rows)
        self.retire(m.Contract, self.ids(Kind.CONTRACT, Action.RETIRE))


def write_changes(
    session: Session,
    desired: MeshState,
    current: RegistryState,
    changes: ChangeSet,
    *,
    actor: str,
    summary: str,
    details: dict[str, Any],
    now: datetime | None = None,
) -> int:
    """Write every change and one audit-log entry (parents before children); returns the audit entry's id."""
    now = now or m.utcnow()
    audit = m.AuditEntry(at=now, actor=actor, action="apply", subject=desired.name, summary=summary, details=details)
    session.add(audit)
    session.flush()
    writer = _Writer(session, desired, current, changes, now, actor, audit.id, _by_kind(changes.entities))
    writer.domains()
    writer.products()
    writer.ports()
    writer.contracts()
    return audit.id

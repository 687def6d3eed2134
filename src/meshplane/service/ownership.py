"""What a bundle may declare besides the domains its plan touches: its ids, new domains, mesh.yaml.

Three rules of ``POST /api/v1/apply`` (docs/auth.md), checked before the bundle is linted and planned
so that the caller learns who owns what it asked for:

* **Ids are owned by their domain** (`meshplane.mesh.ownership`): a bundle applied by a maintainer
  of D cannot declare a product or contract id under the prefix ``E.`` of another domain E,
  registered or in the bundle (403 naming the id and E). Lint refuses such ids for everyone; this
  check names the owner even when the bundle holds only D.
* **Only admins create domains**: a plan that creates (or restores) a domain is refused for every
  maintainer, also one whose token names that not-yet-existing domain (403 naming the domain).
* **Mesh-wide settings belong to the lake owner**: a bundle whose ``mesh.yaml`` differs from the
  one last applied (the lake root, ``lineage.jobNamespaces``, any field but the ignored
  ``registry``, defaults included) is refused for every maintainer (403 naming ``mesh.yaml`` and
  the changed fields): those settings move every domain's port locations and re-attribute every
  domain's jobs. A registry with no record of its mesh.yaml yet (applied before meshplane recorded
  it) takes an admin's apply first.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError

from meshplane.access import Principal
from meshplane.errors import AccessDenied
from meshplane.mesh.ownership import owning_domain
from meshplane.mesh.repository import MeshRepository
from meshplane.registry import Registry
from meshplane.registry import lineage as lineage_store
from meshplane.registry import models as m
from meshplane.registry.changes import Action, Kind
from meshplane.service.gitops import Plan
from meshplane.service.portindex import mesh_settings
from meshplane.spec.meshfiles import MeshConfig


def _caller(actor: Principal) -> str:
    scope = f"maintainer of {actor.domain}" if actor.domain else (actor.role.value if actor.role else "anonymous")
    return f"{actor.name} ({scope})"


def registered_domains(registry: Registry) -> set[str]:
    """Every domain id the registry knows, retired ones too (a retired domain still owns its prefix)."""
    with registry.read() as session:
        return set(session.execute(sa.select(m.Domain.id)).scalars())


def foreign_ids(actor: Principal, repo: MeshRepository, known_domains: set[str]) -> list[tuple[str, str, str, str]]:
    """(kind, id, declaring domain, owner) of every id of `repo` under the prefix of a domain `actor` does not maintain.

    The owner of an id is the longest domain id (of `known_domains` and the bundle) it starts with,
    followed by a dot; an id under the declaring domain's own prefix, or under no known domain's, is
    left to lint.
    """
    domains = known_domains | {d.id for d in repo.domains} | {p.domain for p in repo.products}
    found: list[tuple[str, str, str, str]] = []
    for entry in repo.products:
        declared = [("product", entry.product.id)] if entry.product is not None else []
        declared += [("contract", c.contract.id) for c in entry.contracts if c.contract is not None]
        for kind, identifier in declared:
            owner = owning_domain(identifier, domains)
            if owner is not None and owner != entry.domain and not actor.may_maintain(owner):
                found.append((kind, identifier, entry.domain, owner))
    return found


def require_own_ids(actor: Principal, repo: MeshRepository, known_domains: set[str]) -> None:
    """Refuse (403) a bundle declaring ids under the prefix of a domain `actor` does not maintain."""
    found = foreign_ids(actor, repo, known_domains)
    if not found:
        return
    shown = "; ".join(
        f"{kind} id '{identifier}' (declared in domain {domain}) belongs to domain {owner}"
        for kind, identifier, domain, owner in found[:5]
    )
    more = f"; and {len(found) - 5} more" if len(found) > 5 else ""
    raise AccessDenied(
        f"{_caller(actor)} may not apply this bundle: it declares ids under another domain's prefix: {shown}{more}"
    )


def created_domains(plan: Plan) -> list[str]:
    """The domains a plan creates or restores."""
    return sorted(
        change.id
        for change in plan.changeset.entities
        if change.kind is Kind.DOMAIN and change.action in (Action.CREATE, Action.RESTORE)
    )


def require_admin_for_new_domains(actor: Principal, plan: Plan) -> None:
    """Refuse (403) a plan that creates or restores a domain unless `actor` is an admin."""
    new = created_domains(plan)
    if new and not actor.is_admin:
        raise AccessDenied(
            f"{_caller(actor)} may not create domain(s) {', '.join(new)}: only an admin may create a domain"
        )


IGNORED_MESH_SETTINGS = ("registry",)
"""Fields of mesh.yaml a server ignores (its own registry counts), so anyone's bundle may differ there."""


def _changed_paths(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted paths of the settings that differ (a whole mapping of job namespaces counts as one)."""
    if isinstance(old, dict) and isinstance(new, dict) and prefix != "lineage.jobNamespaces.":
        out: list[str] = []
        for key in sorted(set(old) | set(new)):
            out += _changed_paths(old.get(key), new.get(key), f"{prefix}{key}.")
        return out
    return [] if old == new else [prefix.rstrip(".")]


def mesh_settings_changes(registry: Registry, repo: MeshRepository) -> list[str] | None:
    """The fields of `repo`'s mesh.yaml that differ from the applied one (None: none recorded yet)."""
    with registry.read() as session:
        applied = lineage_store.stored_mesh_settings(session)
    if applied is None:
        return None
    ignored = dict.fromkeys(IGNORED_MESH_SETTINGS)  # compared as absent on both sides
    return _changed_paths(_with_defaults(applied) | ignored, (mesh_settings(repo) or {}) | ignored)


def _with_defaults(settings: dict[str, Any]) -> dict[str, Any]:
    """Recorded settings with today's defaults for fields added since they were recorded (a new field left
    at its default is no change); as recorded when they no longer read as a mesh.yaml."""
    try:
        return MeshConfig.model_validate(settings).model_dump(by_alias=True, mode="json")
    except ValidationError:
        return settings


def require_admin_for_mesh_settings(actor: Principal, registry: Registry, repo: MeshRepository) -> None:
    """Refuse (403, naming mesh.yaml) a bundle changing the mesh-wide settings unless `actor` is an admin."""
    if actor.is_admin or repo.config is None:  # an unreadable mesh.yaml is lint's to refuse
        return
    changed = mesh_settings_changes(registry, repo)
    if changed is None:
        raise AccessDenied(
            f"{_caller(actor)} may not apply this bundle: the registry has no record of the mesh.yaml last applied, "
            "and only an admin may change mesh.yaml: an admin applies it once first"
        )
    if changed:
        raise AccessDenied(
            f"{_caller(actor)} may not change mesh.yaml ({', '.join(changed[:8])}): "
            "mesh-wide settings belong to the lake owner, only an admin may change them"
        )


__all__ = [
    "IGNORED_MESH_SETTINGS",
    "created_domains",
    "foreign_ids",
    "mesh_settings_changes",
    "registered_domains",
    "require_admin_for_mesh_settings",
    "require_admin_for_new_domains",
    "require_own_ids",
]

"""Known systems outside the lake: datasets of a Kafka cluster, a SaaS API or an operational database are external.

mesh.yaml ``lineage.externalSystems`` (admin-owned, applied with the mesh) names them: a dataset
namespace, optionally a glob on the dataset name (``*`` any characters, ``?`` one), and a
description. A dataset that resolves to no output port but matches one is **external**: not
listed as unresolved, shown as ``external: <description>`` where datasets are listed
(docs/lineage.md#known-external-systems). Namespaces are compared in their canonical form
(`canonical_namespace`: ``KAFKA://Broker:9092`` is ``kafka://broker:9092``), names as the
canonical identity spells them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from meshplane.diagnostics import Diagnostic
from meshplane.lineage.identity import DatasetIdentity, canonical_namespace, identity_from_uri
from meshplane.spec.loader import LoadedFile
from meshplane.spec.meshfiles import MeshConfig

LINT_CODE = "invalid-external-system"

WILDCARDS = frozenset("*?")
"""The wildcards of a name glob (everything else, ``[`` included, is itself)."""


@dataclass(frozen=True)
class ExternalSystem:
    """One known external system: its canonical namespace, an optional name glob, what it is."""

    namespace: str
    name: str | None = None
    description: str | None = None

    @classmethod
    def of(cls, namespace: str, name: str | None = None, description: str | None = None) -> ExternalSystem:
        """The system as mesh.yaml gives it (the namespace made canonical)."""
        return cls(canonical_namespace(namespace), name or None, description or None)

    @property
    def label(self) -> str:
        """What listings show after ``external:``: the description, else the namespace (and glob)."""
        return self.description or (f"{self.namespace} {self.name}" if self.name else self.namespace)

    @cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        if self.name is None:
            return None
        parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in self.name)
        return re.compile("".join(parts), re.DOTALL)

    def matches(self, identity: DatasetIdentity) -> bool:
        """True when the dataset lies in this system."""
        if identity.namespace != self.namespace:
            return False
        return self._pattern is None or self._pattern.fullmatch(identity.name) is not None

    def like(self) -> str | None:
        """The name glob as a SQL ``LIKE`` pattern (escape character ``\\``); None: every name."""
        if self.name is None:
            return None
        escaped = self.name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return escaped.replace("*", "%").replace("?", "_")


def external_systems(settings: Mapping[str, Any] | None) -> tuple[ExternalSystem, ...]:
    """The systems of applied mesh settings (`meshplane.registry.lineage.stored_mesh_settings`); none without."""
    lineage = (settings or {}).get("lineage") or {}
    entries = lineage.get("externalSystems") or [] if isinstance(lineage, Mapping) else []
    return tuple(
        ExternalSystem.of(str(e["namespace"]), e.get("name"), e.get("description"))
        for e in entries
        if isinstance(e, Mapping) and isinstance(e.get("namespace"), str) and e["namespace"].strip()
    )


def external_system(systems: Sequence[ExternalSystem], identity: DatasetIdentity) -> ExternalSystem | None:
    """The first system the dataset lies in, or None."""
    return next((s for s in systems if s.matches(identity)), None)


def overlapping(systems: Iterable[ExternalSystem]) -> list[tuple[int, int]]:
    """Pairs (earlier, later) of entries naming the same namespace and name glob (the later one is useless)."""
    seen: dict[tuple[str, str | None], int] = {}
    out = []
    for index, system in enumerate(systems):
        key = (system.namespace, system.name)
        if key in seen:
            out.append((seen[key], index))
        else:
            seen[key] = index
    return out


def check_external_systems(config: LoadedFile[MeshConfig] | None, lake_root: str | None) -> list[Diagnostic]:
    """Errors for mesh.yaml ``lineage.externalSystems`` entries that cannot mean what they say, naming file and line:
    a namespace with spaces or wildcards (it is matched exactly), a name glob with ``[``, an entry covering the
    lake (its unowned data would go unseen), the same namespace and name twice."""
    if config is None or config.model is None or config.document is None:
        return []
    doc, systems = config.document, config.model.lineage.external_systems
    lake = identity_from_uri(lake_root) if lake_root else None
    out: list[Diagnostic] = []

    def error(index: int, field: str, message: str) -> None:
        out.append(doc.diagnostic(("lineage", "externalSystems", index, field), message, code=LINT_CODE))

    read = []
    for index, entry in enumerate(systems):
        system = ExternalSystem.of(entry.namespace, entry.name, entry.description)
        read.append(system)
        if not entry.namespace.strip() or any(c.isspace() or c in WILDCARDS for c in entry.namespace.strip()):
            error(index, "namespace", f"namespace '{entry.namespace}' must be one dataset namespace (no spaces or "
                  "wildcards: it is matched exactly; put a glob in 'name')")  # fmt: skip
        if entry.name is not None and "[" in entry.name:
            error(index, "name", f"name '{entry.name}': only * and ? are wildcards in a name glob")
        if lake is not None and system.matches(DatasetIdentity(lake.namespace, f"{lake.name.rstrip('/')}/x/y")):
            where = "namespace" if entry.name is None else "name"
            error(index, where, f"external system '{system.label}' covers the lake ({lake}): the lake's data of no "
                  "product would go unseen; name the system's datasets")  # fmt: skip
    for first, later in overlapping(read):
        error(later, "namespace", f"the same namespace and name as externalSystems[{first}]")
    return out


__all__ = [
    "LINT_CODE",
    "WILDCARDS",
    "ExternalSystem",
    "check_external_systems",
    "external_system",
    "external_systems",
    "overlapping",
]

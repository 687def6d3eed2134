"""Models of meshplane's own files: `mesh.yaml` and `domains/<d>/domain.yaml`.

Their JSON Schemas ship in `spec/schemas/` (meshplane-mesh-v1.json, meshplane-domain-v1.json) and
are the judge of validity, like the official ones for contracts and products.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from meshplane.spec.base import SpecModel


class DomainTeamMember(SpecModel):
    """A member of a domain's team."""

    username: str
    name: str | None = None
    description: str | None = None
    role: str | None = None
    date_in: str | None = None
    date_out: str | None = None
    replaced_by_username: str | None = None
    tags: list[str] | None = None


class DomainTeam(SpecModel):
    """The team that owns a domain (same shape as the ODPS team object)."""

    name: str
    description: str | None = None
    members: list[DomainTeamMember]
    tags: list[str] | None = None

    def owners(self) -> list[DomainTeamMember]:
        """Members whose role is `owner`."""
        return [m for m in self.members if (m.role or "").strip().lower() == "owner"]


class DomainSupport(SpecModel):
    """A support channel of the domain."""

    channel: str
    url: str
    description: str | None = None
    tool: str | None = None
    scope: str | None = None
    invitation_url: str | None = None


class NotificationTarget(SpecModel):
    """Where a domain hears about its incidents, usage agreements and deprecations (docs/monitoring.md#notifications).

    Exactly one of `webhook` (an http(s) URL receiving signed JSON) and `apprise` (an apprise URL:
    ``slack://…``, ``mailtos://…``; ``${VAR}`` placeholders are read from the environment when sent).
    """

    name: str
    webhook: str | None = None
    apprise: str | None = None
    secret_env: str | None = None
    """The environment variable holding the webhook's HMAC-SHA256 key (never the key itself)."""
    events: list[str] | None = None
    """Only these events (opened, reopened, acknowledged, resolved, agreement.requested, agreement.approved,
    agreement.rejected, agreement.revoked, agreement.expired, deprecation.reminder); default all it may hear."""


class Domain(SpecModel):
    """A business domain (a subsidiary): its id, team and support channels."""

    api_version: Literal["meshplane/v1"]
    kind: Literal["Domain"]
    id: str
    name: str | None = None
    description: str | None = None
    tags: list[str] | None = None
    team: DomainTeam
    support: list[DomainSupport] | None = None
    notifications: list[NotificationTarget] | None = None


class LakeConfig(SpecModel):
    """Where the lake lives."""

    root: str = "lake"


class ExternalSystem(SpecModel):
    """A known system outside the lake (a Kafka cluster, a SaaS API, an operational database) whose datasets
    lineage events name: they are external, not unresolved (docs/lineage.md#known-external-systems)."""

    namespace: str
    """The OpenLineage dataset namespace of the system (``kafka://broker:9092``), matched in its canonical form."""
    name: str | None = None
    """Only datasets whose name matches this glob (``*`` and ``?``); None: every dataset of the namespace."""
    description: str | None = None
    """What the system is, shown where its datasets are listed (``external: <description>``)."""


class LineageConfig(SpecModel):
    """How lineage events are attributed to domains, and which systems outside the lake are known."""

    job_namespaces: dict[str, str] = Field(default_factory=dict)
    external_systems: list[ExternalSystem] = Field(default_factory=list)


class MonitoringConfig(SpecModel):
    """When the background worker tests the output ports' contracts (docs/monitoring.md)."""

    schedule: str | None = None
    """Default schedule of every output port's contract tests (cron or interval); None: only contracts that name one."""
    engines: dict[str, str] = Field(default_factory=dict)
    """Engine name → schedule of the contracts tested with that engine (over `schedule`)."""


class MeshConfig(SpecModel):
    """The mesh itself (`mesh.yaml`)."""

    api_version: Literal["meshplane/v1"]
    kind: Literal["Mesh"]
    name: str
    description: str | None = None
    lake: LakeConfig = Field(default_factory=LakeConfig)
    default_engine: str | None = None
    registry: str | None = None
    lineage: LineageConfig = Field(default_factory=LineageConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)

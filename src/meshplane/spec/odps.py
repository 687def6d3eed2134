"""Typed model of a Bitol ODPS v1.0.0 data product descriptor (also reads v0.9.0 documents)."""

from __future__ import annotations

from typing import Literal

from meshplane.spec.base import AuthoritativeDefinition, CustomProperty, SpecModel


class ProductDescription(SpecModel):
    """Purpose, limitations and usage of the product."""

    purpose: str | None = None
    limitations: str | None = None
    usage: str | None = None
    authoritative_definitions: list[AuthoritativeDefinition] | None = None
    custom_properties: list[CustomProperty] | None = None


class InputPort(SpecModel):
    """A dependency of the product on another product's contract (`contractId` + `version`)."""

    name: str
    version: str
    contract_id: str
    tags: list[str] | None = None
    custom_properties: list[CustomProperty] | None = None
    authoritative_definitions: list[AuthoritativeDefinition] | None = None


class Sbom(SpecModel):
    """A software bill of materials reference."""

    type: str | None = None
    url: str


class InputContract(SpecModel):
    """A contract an output port is derived from."""

    id: str
    version: str


class OutputPort(SpecModel):
    """A published dataset of the product, bound to a contract."""

    name: str
    version: str
    description: str | None = None
    type: str | None = None
    contract_id: str | None = None
    sbom: list[Sbom] | None = None
    input_contracts: list[InputContract] | None = None
    tags: list[str] | None = None
    custom_properties: list[CustomProperty] | None = None
    authoritative_definitions: list[AuthoritativeDefinition] | None = None


class ManagementPort(SpecModel):
    """An endpoint for managing the product (discoverability, observability, ...)."""

    name: str
    content: str
    type: str | None = None
    url: str | None = None
    channel: str | None = None
    description: str | None = None
    tags: list[str] | None = None
    custom_properties: list[CustomProperty] | None = None
    authoritative_definitions: list[AuthoritativeDefinition] | None = None


class ProductSupport(SpecModel):
    """A support channel of the product."""

    channel: str
    url: str
    description: str | None = None
    tool: str | None = None
    scope: str | None = None
    invitation_url: str | None = None
    tags: list[str] | None = None
    custom_properties: list[CustomProperty] | None = None
    authoritative_definitions: list[AuthoritativeDefinition] | None = None


class ProductTeamMember(SpecModel):
    """A member of the owning team."""

    username: str
    name: str | None = None
    description: str | None = None
    role: str | None = None
    date_in: str | None = None
    date_out: str | None = None
    replaced_by_username: str | None = None
    tags: list[str] | None = None
    custom_properties: list[CustomProperty] | None = None
    authoritative_definitions: list[AuthoritativeDefinition] | None = None


class ProductTeam(SpecModel):
    """The team owning the product."""

    name: str | None = None
    description: str | None = None
    members: list[ProductTeamMember] | None = None
    tags: list[str] | None = None
    custom_properties: list[CustomProperty] | None = None
    authoritative_definitions: list[AuthoritativeDefinition] | None = None


class DataProduct(SpecModel):
    """A Bitol ODPS data product descriptor."""

    api_version: str
    kind: Literal["DataProduct"]
    id: str
    status: str
    name: str | None = None
    version: str | None = None
    domain: str | None = None
    tenant: str | None = None
    authoritative_definitions: list[AuthoritativeDefinition] | None = None
    description: ProductDescription | None = None
    custom_properties: list[CustomProperty] | None = None
    tags: list[str] | None = None
    input_ports: list[InputPort] | None = None
    output_ports: list[OutputPort] | None = None
    management_ports: list[ManagementPort] | None = None
    support: list[ProductSupport] | None = None
    team: ProductTeam | None = None
    product_created_ts: str | None = None

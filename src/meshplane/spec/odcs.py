"""Typed model of a Bitol ODCS data contract (v3.2.0 and v3.1.0, also reads v3.0.x documents).

The official JSON Schema is the judge of validity (see `validation.py`); these models give the
rest of meshplane a typed view of a contract that has already passed it. They cover every field of
ODCS v3.2.0 so that parse -> dump -> parse round-trips. The fields v3.2 adds (`context`, `enum`,
`semanticType`, `map`, `synonyms`, `deprecated`, a custom property's `vendor`, ...) are optional
here; the v3.1 schema refuses them in a v3.1 document before a model is built, and v3.2 no longer
requires `status`. A v3.0.x document is judged by its own
version's schema, which leaves its objects open: the fields it admits that v3.1 does not name
(``team[].comment``) are kept as each model's extra fields (see `spec.base`) and dumped back.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal

from pydantic import Field

from meshplane.spec.base import UNKNOWN_FIELDS, AuthoritativeDefinition, CustomProperty, JsonScalar, SpecModel

LogicalType = Literal[
    "string", "date", "timestamp", "time", "number", "integer", "object", "array", "boolean", "map", "vector"
]
"""A property's logical type (`map` and `vector` are new in ODCS v3.2.0)."""

SemanticType = Literal["column", "measure", "dimension"]
"""The role a property plays in the data model (ODCS v3.2.0, RFC 0034)."""

OPERATORS: tuple[str, ...] = (
    "mustBe",
    "mustNotBe",
    "mustBeGreaterThan",
    "mustBeGreaterOrEqualTo",
    "mustBeLessThan",
    "mustBeLessOrEqualTo",
    "mustBeBetween",
    "mustNotBeBetween",
)
"""The comparison operators of ODCS quality rules, in the standard's spelling."""

OPEN_VERSIONS: frozenset[str] = frozenset({"v3.0.0", "v3.0.1", "v3.0.2"})
"""ODCS versions whose schema leaves its objects open below the root (no `additionalProperties:
false`): a field the standard does not name (``team[].comment``) is valid there, and the model of a
document of that version keeps it (`spec.base.UNKNOWN_FIELDS`). v3.1 closes every object."""


class VerifiedStatement(SpecModel):
    """A canonical question, with its verified answer if any, for AI tools (ODCS v3.2.0 `context`)."""

    id: str | None = None
    question: str
    answer: str | None = None
    authoritative_definitions: list[AuthoritativeDefinition] | None = None
    tags: list[str] | None = None
    custom_properties: list[CustomProperty] | None = None


class ContextConstraint(SpecModel):
    """What AI tools must not do with the data (ODCS v3.2.0 `context`)."""

    id: str | None = None
    constraint: str
    authoritative_definitions: list[AuthoritativeDefinition] | None = None
    tags: list[str] | None = None
    custom_properties: list[CustomProperty] | None = None


class Context(SpecModel):
    """Guidance for AI agents and semantic layers (ODCS v3.2.0, RFC 0038); a string means instructions only."""

    instructions: str | None = None
    verified_statements: list[VerifiedStatement] | None = None
    constraints: list[ContextConstraint] | None = None


class Synonym(SpecModel):
    """Another name of a schema object or property (ODCS v3.2.0, RFC 0041)."""

    id: str | None = None
    synonym: str
    description: str | None = None
    locale: str | None = None
    source: str | None = None
    status: str | None = None
    custom_properties: list[CustomProperty] | None = None


class EnumValue(SpecModel):
    """One allowed value of a property (ODCS v3.2.0 `enum`, RFC 0033)."""

    value: JsonScalar
    label: str | None = None
    id: str | None = None
    description: str | None = None
    custom_properties: list[CustomProperty] | None = None
    authoritative_definitions: list[AuthoritativeDefinition] | None = None
    tags: list[str] | None = None


class ContractDescription(SpecModel):
    """High-level description of the dataset."""

    usage: str | None = None
    purpose: str | None = None
    limitations: str | None = None
    authoritative_definitions: list[AuthoritativeDefinition] | None = None
    custom_properties: list[CustomProperty] | None = None


class Role(SpecModel):
    """An IAM role giving access to the data."""

    id: str | None = None
    role: str
    description: str | None = None
    access: str | None = None
    first_level_approvers: str | None = None
    second_level_approvers: str | None = None
    custom_properties: list[CustomProperty] | None = None


class Server(SpecModel):
    """Where the data physically lives. Type-specific fields (path, host, ...) stay open, as in ODCS."""

    OPEN = True

    id: str | None = None
    server: str
    type: str
    description: str | None = None
    environment: str | None = None
    roles: list[Role] | None = None
    custom_properties: list[CustomProperty] | None = None

    def setting(self, name: str) -> Any:
        """A type-specific field such as ``path``, ``format``, ``host`` or ``schema`` (None if absent)."""
        extra = self.model_extra or {}
        return extra.get(name)


class DataQuality(SpecModel):
    """One quality rule as written in the contract (text, library metric, SQL or custom).

    This mirrors the standard's flat object; `meshplane.checks` turns it into a typed check spec.
    """

    id: str | None = None
    name: str | None = None
    description: str | None = None
    type: Literal["text", "library", "sql", "custom"] | None = None
    dimension: str | None = None
    method: str | None = None
    severity: str | None = None
    business_impact: str | None = None
    schedule: str | None = None
    scheduler: str | None = None
    unit: str | None = None
    tags: list[str] | None = None
    authoritative_definitions: list[AuthoritativeDefinition] | None = None
    custom_properties: list[CustomProperty] | None = None
    metric: str | None = None
    rule: str | None = None
    arguments: dict[str, Any] | None = None
    query: str | None = None
    engine: str | None = None
    implementation: str | dict[str, Any] | None = None
    valid_values: list[Any] | None = None
    must_be: Any = None
    must_not_be: Any = None
    must_be_greater_than: int | float | None = None
    must_be_greater_or_equal_to: int | float | None = None
    must_be_less_than: int | float | None = None
    must_be_less_or_equal_to: int | float | None = None
    must_be_between: list[int | float] | None = None
    must_not_be_between: list[int | float] | None = None

    @property
    def kind(self) -> str:
        """The rule's type with the standard's default applied (``library``)."""
        if self.type is not None:
            return self.type
        if self.query is not None:
            return "sql"
        return "library"

    def operator(self) -> tuple[str, Any] | None:
        """The one comparison operator set on this rule, as (name, value), if any."""
        for name in OPERATORS:
            field_name = _OPERATOR_FIELDS[name]
            if field_name in self.model_fields_set:
                return name, getattr(self, field_name)
        return None


_OPERATOR_FIELDS = {
    "mustBe": "must_be",
    "mustNotBe": "must_not_be",
    "mustBeGreaterThan": "must_be_greater_than",
    "mustBeGreaterOrEqualTo": "must_be_greater_or_equal_to",
    "mustBeLessThan": "must_be_less_than",
    "mustBeLessOrEqualTo": "must_be_less_or_equal_to",
    "mustBeBetween": "must_be_between",
    "mustNotBeBetween": "must_not_be_between",
}


class Relationship(SpecModel):
    """A foreign-key style relationship between properties (`from` is implicit at property level)."""

    id: str | None = None
    type: str | None = None
    from_: str | list[str] | None = Field(default=None, alias="from")
    to: str | list[str] | None = None
    custom_properties: list[CustomProperty] | None = None

    def targets(self) -> list[str]:
        """The `to` references as a list."""
        if self.to is None:
            return []
        return [self.to] if isinstance(self.to, str) else list(self.to)

    def sources(self) -> list[str]:
        """The `from` references as a list (empty at property level)."""
        if self.from_ is None:
            return []
        return [self.from_] if isinstance(self.from_, str) else list(self.from_)


class SchemaProperty(SpecModel):
    """A property (column/field) of a schema object; nested via `properties` or `items`."""

    id: str | None = None
    name: str | None = None
    physical_name: str | None = None
    physical_type: str | None = None
    business_name: str | None = None
    description: str | None = None
    deprecated: bool | None = None
    synonyms: list[Synonym] | None = None
    logical_type: LogicalType | None = None
    logical_type_options: dict[str, Any] | None = None
    semantic_type: SemanticType | None = None
    enum: list[EnumValue] | None = None
    primary_key: bool | None = None
    primary_key_position: int | None = None
    required: bool | None = None
    unique: bool | None = None
    partitioned: bool | None = None
    partition_key_position: int | None = None
    classification: str | None = None
    encrypted_name: str | None = None
    transform_source_objects: list[str] | None = None
    transform_logic: str | None = None
    transform_description: str | None = None
    examples: list[Any] | None = None
    critical_data_element: bool | None = None
    tags: list[str] | None = None
    authoritative_definitions: list[AuthoritativeDefinition] | None = None
    custom_properties: list[CustomProperty] | None = None
    relationships: list[Relationship] | None = None
    quality: list[DataQuality] | None = None
    properties: list[SchemaProperty] | None = None
    items: SchemaProperty | None = None
    map: MapDefinition | None = None

    @property
    def column(self) -> str:
        """The name of the physical column: `physicalName` if given, else `name`."""
        return self.physical_name or self.name or ""

    def walk(self, prefix: str = "") -> Iterator[tuple[str, SchemaProperty]]:
        """This property and all nested ones, with dotted paths (``address.city``, ``tags[]``)."""
        here = f"{prefix}{self.name or ''}"
        yield here, self
        for child in self.properties or []:
            yield from child.walk(f"{here}.")
        if self.items is not None:
            yield from self.items.walk(f"{here}[].")

    def enum_values(self) -> list[JsonScalar]:
        """The values of the property's `enum` (ODCS v3.2.0), in the contract's order."""
        return [entry.value for entry in self.enum or []]


class MapDefinition(SpecModel):
    """The key and value of a `logicalType: map` property (ODCS v3.2.0, RFC 0030)."""

    key: SchemaProperty
    value: SchemaProperty


class SchemaObject(SpecModel):
    """A dataset (table, view, topic, file) described by the contract."""

    id: str | None = None
    name: str
    physical_name: str | None = None
    physical_type: str | None = None
    business_name: str | None = None
    description: str | None = None
    deprecated: bool | None = None
    synonyms: list[Synonym] | None = None
    logical_type: Literal["object", "blob"] | None = None
    data_granularity_description: str | None = None
    tags: list[str] | None = None
    authoritative_definitions: list[AuthoritativeDefinition] | None = None
    custom_properties: list[CustomProperty] | None = None
    properties: list[SchemaProperty] | None = None
    relationships: list[Relationship] | None = None
    quality: list[DataQuality] | None = None
    context: Context | str | None = None

    @property
    def table(self) -> str:
        """The physical dataset name: `physicalName` if given, else `name`."""
        return self.physical_name or self.name

    def property_named(self, name: str) -> SchemaProperty | None:
        """The top-level property with this logical or physical name."""
        for prop in self.properties or []:
            if name in (prop.name, prop.physical_name):
                return prop
        return None


class SupportItem(SpecModel):
    """A support or communication channel."""

    id: str | None = None
    channel: str
    url: str | None = None
    description: str | None = None
    tool: str | None = None
    scope: str | None = None
    invitation_url: str | None = None
    custom_properties: list[CustomProperty] | None = None


class Pricing(SpecModel):
    """What the data costs."""

    id: str | None = None
    price_amount: int | float | None = None
    price_currency: str | None = None
    price_unit: str | None = None


class TeamMember(SpecModel):
    """A member of the team that owns the contract."""

    id: str | None = None
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


class Team(SpecModel):
    """The owning team (ODCS v3.1 object form)."""

    id: str | None = None
    name: str | None = None
    description: str | None = None
    members: list[TeamMember] | None = None
    tags: list[str] | None = None
    custom_properties: list[CustomProperty] | None = None
    authoritative_definitions: list[AuthoritativeDefinition] | None = None


class SlaProperty(SpecModel):
    """A service-level property such as latency, freshness or retention."""

    id: str | None = None
    property: str
    value: JsonScalar
    value_ext: JsonScalar = None
    unit: str | None = None
    element: str | None = None
    driver: str | None = None
    description: str | None = None
    scheduler: str | None = None
    schedule: str | None = None
    authoritative_definitions: list[AuthoritativeDefinition] | None = None
    custom_properties: list[CustomProperty] | None = None


class Contract(SpecModel):
    """A Bitol ODCS data contract."""

    api_version: str
    kind: Literal["DataContract"]
    id: str
    version: str
    status: str | None = None
    name: str | None = None
    tenant: str | None = None
    tags: list[str] | None = None
    servers: list[Server] | None = None
    data_product: str | None = None
    description: ContractDescription | None = None
    domain: str | None = None
    schema_: list[SchemaObject] | None = Field(default=None, alias="schema")
    support: list[SupportItem] | None = None
    price: Pricing | None = None
    team: Team | list[TeamMember] | None = None
    roles: list[Role] | None = None
    sla_default_element: str | None = None
    sla_properties: list[SlaProperty] | None = None
    authoritative_definitions: list[AuthoritativeDefinition] | None = None
    custom_properties: list[CustomProperty] | None = None
    contract_created_ts: str | None = None
    context: Context | str | None = None

    @property
    def objects(self) -> list[SchemaObject]:
        """The schema objects (empty list when the contract declares none)."""
        return list(self.schema_ or [])

    def object_named(self, name: str) -> SchemaObject | None:
        """The schema object with this logical or physical name."""
        for obj in self.objects:
            if name in (obj.name, obj.physical_name):
                return obj
        return None

    def server_named(self, name: str) -> Server | None:
        """The server with this `server` identifier."""
        for server in self.servers or []:
            if server.server == name:
                return server
        return None

    def team_members(self) -> list[TeamMember]:
        """Members whichever team form is used (v3.1 object or deprecated v3.0 list)."""
        if self.team is None:
            return []
        if isinstance(self.team, list):
            return list(self.team)
        return list(self.team.members or [])

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Contract:
        """The model of a document that already passed validation (a stored version), by the rules of
        the version it declares (a v3.0.x document keeps the fields its open objects admit)."""
        context = {UNKNOWN_FIELDS: document.get("apiVersion") in OPEN_VERSIONS}
        return cls.model_validate(document, by_alias=True, context=context)

    def sla(self, name: str) -> SlaProperty | None:
        """The SLA property with this name (case-insensitive), e.g. ``freshness``."""
        for prop in self.sla_properties or []:
            if prop.property.lower() == name.lower():
                return prop
        return None


def model_to_document(model: SpecModel) -> dict[str, Any]:
    """Dump a model back to the standard's document shape."""
    return model.to_document()

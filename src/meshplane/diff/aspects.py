"""The vocabulary shared by the change detectors and the rule table: *what* changed.

A detector reports a raw change as ``(aspect, shift)``: the aspect names the thing that changed
(``property.required``), the :class:`~meshplane.diff.model.Shift` its direction. The rule table in
:mod:`meshplane.diff.rules` maps each pair to exactly one rule.
"""

from __future__ import annotations

import enum


class Aspect(enum.StrEnum):
    """What a raw change is about."""

    # contract level
    CONTRACT_ID = "contract.id"
    STATUS_RETIRED = "contract.status.retired"
    STATUS_DEPRECATED = "contract.status.deprecated"
    STATUS_WITHDRAWN = "contract.status.withdrawn"
    STATUS = "contract.status"
    API_VERSION = "contract.apiVersion"
    METADATA = "contract.metadata"
    TEAM = "team"
    SUPPORT = "support"
    PRICE = "price"
    ROLE = "role"
    # servers
    SERVER = "server"
    SERVER_LOCATION = "server.location"
    SERVER_ENVIRONMENT = "server.environment"
    # schema objects
    OBJECT = "object"
    OBJECT_NAME = "object.name"
    OBJECT_PHYSICAL_NAME = "object.physicalName"
    OBJECT_PHYSICAL_TYPE = "object.physicalType"
    OBJECT_GRANULARITY = "object.dataGranularityDescription"
    # properties (top-level, nested and array items)
    PROPERTY = "property"
    REQUIRED_PROPERTY = "required-property"
    PROPERTY_NAME = "property.name"
    PROPERTY_PHYSICAL_NAME = "property.physicalName"
    LOGICAL_TYPE = "property.logicalType"
    PHYSICAL_TYPE = "property.physicalType"
    ITEMS = "property.items"
    MAP = "property.map"
    ITEMS_LOGICAL_TYPE = "property.items.logicalType"
    ITEMS_PHYSICAL_TYPE = "property.items.physicalType"
    REQUIRED = "property.required"
    UNIQUE = "property.unique"
    PRIMARY_KEY = "property.primaryKey"
    PRIMARY_KEY_ORDER = "property.primaryKeyPosition"
    CLASSIFICATION = "property.classification"
    RANGE = "property.range"
    LENGTH = "property.length"
    PATTERN = "property.pattern"
    FORMAT = "property.format"
    OPTION = "property.option"
    PARTITIONING = "property.partitioning"
    ENCRYPTED_NAME = "property.encryptedName"
    TRANSFORM = "property.transform"
    CRITICAL = "property.criticalDataElement"
    RELATIONSHIP = "relationship"
    # quality rules (object and property level)
    QUALITY = "quality"
    QUALITY_DEFINITION = "quality.definition"
    QUALITY_THRESHOLD = "quality.threshold"
    QUALITY_SEVERITY = "quality.severity"
    ALLOWED_VALUES = "quality.validValues"
    SCHEDULE = "schedule"
    # service levels
    SLA = "sla"
    SLA_VALUE = "sla.value"
    SLA_ELEMENT = "sla.element"
    # any element
    ELEMENT_ID = "id"
    DEPRECATED = "deprecated"
    DOCUMENTATION = "documentation"
    CUSTOM_PROPERTIES = "customProperties"
    UNMODELLED = "unmodelled"

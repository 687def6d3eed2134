"""Lineage: OpenLineage events, canonical dataset identity, and resolution of datasets to output ports.

The pure core of meshplane's lineage (no database, no HTTP): the receiver and the registry call it.

- `parse_event` / `parse_batch` read and validate OpenLineage events into `LineageEvent` values
  (`events.py`, schemas and tolerances in `schemas`);
- `canonical_identity` gives one `DatasetIdentity` per dataset however it is spelled, with
  partitions trimmed (`identity.py`);
- `build_port_index` maps the identities of every output port's data to the port, `PortIndex`
  resolves datasets against it, `attribute_job` finds a job's domain (`resolve.py`).

The rules are documented in docs/lineage.md.
"""

from __future__ import annotations

from meshplane.lineage.events import (
    TERMINAL_EVENT_TYPES,
    DatasetRole,
    EventDataset,
    EventKind,
    EventType,
    InvalidEventError,
    LineageEvent,
    ReceivedEvent,
    check_batch,
    check_event,
    classify,
    event_fingerprint,
    parse_batch,
    parse_event,
    parse_event_time,
    spec_version_of,
)
from meshplane.lineage.facets import (
    Assertion,
    ColumnLineage,
    DatasetStatistics,
    DataSource,
    InputField,
    JobType,
    LifecycleChange,
    Owner,
    ParentRun,
    SchemaField,
    SymlinkIdentifier,
    Transformation,
)
from meshplane.lineage.identity import (
    SCHEME_RULES,
    DatasetIdentity,
    SchemeKind,
    SchemeRule,
    TableCase,
    canonical_identity,
    canonical_namespace,
    identity_from_uri,
    normalise_path,
    normalise_table_name,
    trim_partitions,
)
from meshplane.lineage.resolve import (
    SERVER_LOCATORS,
    Attribution,
    AttributionRule,
    DatasetLink,
    IndexNote,
    MatchHow,
    MatchKind,
    PortIndex,
    PortIndexRow,
    PortMatch,
    UnlocatableServer,
    attribute_job,
    build_port_index,
    locate,
    owner_directory,
)
from meshplane.lineage.schemas import FACET_SCHEMAS, EventIssue

__all__ = [
    "FACET_SCHEMAS",
    "SCHEME_RULES",
    "SERVER_LOCATORS",
    "TERMINAL_EVENT_TYPES",
    "Assertion",
    "Attribution",
    "AttributionRule",
    "ColumnLineage",
    "DataSource",
    "DatasetIdentity",
    "DatasetLink",
    "DatasetRole",
    "DatasetStatistics",
    "EventDataset",
    "EventIssue",
    "EventKind",
    "EventType",
    "IndexNote",
    "InputField",
    "InvalidEventError",
    "JobType",
    "LifecycleChange",
    "LineageEvent",
    "MatchHow",
    "MatchKind",
    "Owner",
    "ParentRun",
    "PortIndex",
    "PortIndexRow",
    "PortMatch",
    "ReceivedEvent",
    "SchemaField",
    "SchemeKind",
    "SchemeRule",
    "SymlinkIdentifier",
    "TableCase",
    "Transformation",
    "UnlocatableServer",
    "attribute_job",
    "build_port_index",
    "canonical_identity",
    "canonical_namespace",
    "check_batch",
    "check_event",
    "classify",
    "event_fingerprint",
    "identity_from_uri",
    "locate",
    "normalise_path",
    "normalise_table_name",
    "owner_directory",
    "parse_batch",
    "parse_event",
    "parse_event_time",
    "spec_version_of",
    "trim_partitions",
]

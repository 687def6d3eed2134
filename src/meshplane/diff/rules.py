"""THE table of diff rules: every raw change is classified by exactly one row of it.

A rule says which raw changes it takes (``when``: pairs of :class:`Aspect` and :class:`Shift`),
how severe they are for a consumer and for a producer, the message shown to people, and why
(the rationale, published in ``docs/diff-rules.md``, which a test keeps in sync with this table).

Perspectives (see :class:`~meshplane.diff.model.Perspective`):

* **consumer** (default): any loosening of a guarantee is breaking, tightening and additions of
  optional things are non-breaking, documentation is info;
* **producer**: the question is whether the producer's current pipeline and data, which satisfy
  the old contract, still satisfy the new one: tightening (and anything new to deliver) is
  breaking, loosening is non-breaking, documentation is info.

A change whose direction cannot be told (a pattern rewritten, a type changed) is breaking in both
perspectives: neither side can assume it still holds. A pair no rule claims falls to the
catch-all :data:`UNCLASSIFIED` (breaking in both: the tool cannot vouch for it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from meshplane.diff.aspects import Aspect as A
from meshplane.diff.model import Perspective, Severity
from meshplane.diff.model import Shift as S

B = Severity.BREAKING
N = Severity.NON_BREAKING
I = Severity.INFO  # noqa: E741 - one-letter names keep the table readable

ANY_SHIFT: tuple[S, ...] = tuple(S)


@dataclass(frozen=True)
class Rule:
    """One row of the rule table."""

    id: str
    when: tuple[tuple[A, S], ...]
    consumer: Severity
    producer: Severity
    what: str
    message: str
    why: str

    def severity(self, perspective: Perspective) -> Severity:
        """The severity of this rule's changes for ``perspective``."""
        return self.consumer if perspective is Perspective.CONSUMER else self.producer


def on(aspects: A | Iterable[A], *shifts: S) -> tuple[tuple[A, S], ...]:
    """The ``when`` pairs of a rule: every aspect with every shift (all shifts when none given)."""
    aspect_list = [aspects] if isinstance(aspects, A) else list(aspects)
    return tuple((aspect, shift) for aspect in aspect_list for shift in (shifts or ANY_SHIFT))


_TYPE_DECLARATIONS = (A.LOGICAL_TYPE, A.PHYSICAL_TYPE, A.ITEMS_LOGICAL_TYPE, A.ITEMS_PHYSICAL_TYPE, A.ITEMS, A.MAP)

# fmt: off
RULES: tuple[Rule, ...] = (
    # --- the contract as a whole -------------------------------------------------------------
    Rule("contract-id-changed", on(A.CONTRACT_ID), B, B,
         "The contract's `id` changed.",
         "contract id changed from {old} to {new}",
         "Input ports, usage agreements and the registry refer to a contract by id: a new id is a new "
         "contract, and everything bound to the old one loses it."),
    Rule("contract-status-retired", on(A.STATUS_RETIRED), B, N,
         "`status` became `retired`.",
         "contract status changed from {old} to {new}: the contract is retired",
         "Retired means the data is no longer maintained: every guarantee is withdrawn, so consumers "
         "must move away. For the producer it only removes work."),
    Rule("contract-status-deprecated", on(A.STATUS_DEPRECATED), N, N,
         "`status` became `deprecated`.",
         "contract status changed from {old} to {new}: the contract is deprecated",
         "Deprecation announces a future removal but the data and all guarantees keep holding, so "
         "nothing breaks today. It is more than a patch: consumers must be told to plan a migration."),
    Rule("contract-status-withdrawn", on(A.STATUS_WITHDRAWN), B, N,
         "`status` went from `active`/`deprecated` back to `draft` or `proposed`.",
         "contract status changed from {old} to {new}: its guarantees are no longer binding",
         "A draft or proposed contract binds nobody: consumers of an active contract lose its guarantees."),
    Rule("contract-status-changed", on(A.STATUS), N, N,
         "Any other `status` change (e.g. `draft` → `active`, `deprecated` → `active`).",
         "contract status changed from {old} to {new}",
         "Promoting a contract to active or lifting a deprecation adds commitments and breaks no reader."),
    Rule("contract-api-version-changed", on(A.API_VERSION), I, I,
         "`apiVersion` (the ODCS version of the document) changed.",
         "ODCS apiVersion changed from {old} to {new}",
         "The version of the standard the document is written in says nothing about the data."),
    Rule("contract-metadata-changed", on(A.METADATA), I, I,
         "`domain`, `dataProduct`, `tenant` or `contractCreatedTs` changed.",
         "contract {field} changed from {old} to {new}",
         "Organisational metadata; ownership is handled by the mesh (domains, products), not by the data."),
    Rule("team-changed", on(A.TEAM), I, I,
         "The owning `team` (name, members, roles) changed.",
         "team changed: {detail}",
         "Who owns the contract is documentation for people; it changes no guarantee about the data."),
    Rule("support-changed", on(A.SUPPORT), I, I,
         "`support` channels changed.",
         "support channels changed: {detail}",
         "Where to ask for help is documentation."),
    Rule("price-changed", on(A.PRICE), N, N,
         "`price` changed.",
         "price changed from {old} to {new}",
         "Commercial terms are not a data guarantee, but a new price should never ship as a silent patch."),
    Rule("role-removed", on(A.ROLE, S.REMOVED), B, N,
         "An IAM role (contract or server `roles`) was removed.",
         "{subject} was removed",
         "Consumers who get their access through the role lose it."),
    Rule("role-added", on(A.ROLE, S.ADDED), N, N,
         "An IAM role was added.",
         "{subject} was added",
         "A new way to get access; existing access is unchanged."),
    Rule("role-changed", on(A.ROLE, S.CHANGED), N, N,
         "A role's `access` or approvers changed.",
         "{subject}: {field} changed from {old} to {new}",
         "The role still exists; a change of access level or approvers matters to new requests and "
         "deserves a minor bump, but the data and its schema are unchanged."),
    # --- servers -------------------------------------------------------------------------------
    Rule("server-removed", on(A.SERVER, S.REMOVED), B, N,
         "A server (where the data is served) was removed.",
         "{subject} was removed",
         "Consumers reading from that server lose their source; the producer simply stops writing there."),
    Rule("server-added", on(A.SERVER, S.ADDED), N, B,
         "A server was added.",
         "{subject} was added",
         "A new place to read from breaks no consumer; the producer must now publish there too."),
    Rule("server-location-changed", on(A.SERVER_LOCATION), B, B,
         "A server's `type` or a location setting (path, host, port, database, schema, format, ...) changed.",
         "{subject}: {field} changed from {old} to {new}",
         "Readers configured with the old location or format read nothing, or the wrong thing; the "
         "producer's writers must move as well."),
    Rule("server-environment-changed", on(A.SERVER_ENVIRONMENT), B, N,
         "A server's `environment` (prod, dev, ...) changed.",
         "{subject}: environment changed from {old} to {new}",
         "Consumers and tools pick servers by environment: a server that stops being `prod` is lost to "
         "production readers. The producer's location is unchanged."),
    # --- schema objects ------------------------------------------------------------------------
    Rule("object-removed", on(A.OBJECT, S.REMOVED), B, N,
         "A schema object (table, view, topic, file) was removed.",
         "{subject} was removed",
         "Every consumer of the dataset breaks; the producer only stops publishing it."),
    Rule("object-added", on(A.OBJECT, S.ADDED), N, B,
         "A schema object was added.",
         "{subject} was added",
         "A new dataset is an addition for consumers; the producer must now deliver it."),
    Rule("object-renamed", on(A.OBJECT_NAME), B, B,
         "An object kept its stable `id` but its logical `name` changed.",
         "{subject} was renamed to {new}",
         "The logical name is how SLAs (`element`), relationships, checks and lineage refer to the "
         "object: those references dangle."),
    Rule("object-physical-name-changed", on(A.OBJECT_PHYSICAL_NAME), B, B,
         "An object's physical name (`physicalName`, else `name`) changed.",
         "{subject}: physical name changed from {old} to {new}",
         "Queries address the physical table: they fail, and the producer must write to the new name."),
    Rule("object-physical-type-changed", on(A.OBJECT_PHYSICAL_TYPE), B, B,
         "An object's `physicalType` (table, view, topic, file) changed.",
         "{subject}: physical type changed from {old} to {new}",
         "A topic is not read like a table, nor a file like a view; both sides must adapt."),
    Rule("object-granularity-changed", on(A.OBJECT_GRANULARITY), N, N,
         "`dataGranularityDescription` (what one row is) changed.",
         "{subject}: granularity description changed from {old} to {new}",
         "Free text: a typo fix cannot be told from a new grain, so it is more than a patch; reviewers "
         "must read it. A real change of grain should come with breaking schema changes anyway."),
    # --- properties ----------------------------------------------------------------------------
    Rule("property-removed", on(A.PROPERTY, S.REMOVED), B, N,
         "A property (column or nested field) was removed.",
         "{subject} was removed",
         "Consumers that select, filter or join on it fail; the producer may keep writing it."),
    Rule("property-added-optional", on(A.PROPERTY, S.ADDED), N, B,
         "A property that is not `required` was added.",
         "{subject} was added (optional)",
         "Consumers select columns by name, so a new column breaks none of them; the producer's data "
         "does not have it yet, so its schema check fails until the pipeline writes it."),
    Rule("property-added-required", on(A.REQUIRED_PROPERTY, S.ADDED), N, B,
         "A `required` property was added.",
         "{subject} was added (required)",
         "For consumers it is a new column with an extra promise (no nulls) and breaks nobody; the "
         "producer must deliver it, filled, from day one."),
    Rule("property-renamed", on(A.PROPERTY_NAME), B, B,
         "A property kept its stable `id` but its `name` changed.",
         "{subject} was renamed to {new}",
         "Code and checks refer to properties by name; the old name no longer resolves."),
    Rule("property-physical-name-changed", on(A.PROPERTY_PHYSICAL_NAME), B, B,
         "A property's physical column name (`physicalName`, else `name`) changed.",
         "{subject}: physical name changed from {old} to {new}",
         "Queries select the physical column: they fail, and the producer must write the new column."),
    Rule("property-logical-type-changed", on(A.LOGICAL_TYPE, S.CHANGED), B, B,
         "A property's `logicalType` changed.",
         "{subject}: logical type changed from {old} to {new}",
         "Parsers, casts and arithmetic written for the old type break; existing data has the old type."),
    Rule("property-physical-type-changed", on(A.PHYSICAL_TYPE, S.CHANGED), B, B,
         "A property's `physicalType` changed (e.g. `VARCHAR(10)` → `TEXT`, `INT` → `BIGINT`).",
         "{subject}: physical type changed from {old} to {new}",
         "Typed readers (Spark schemas, ORM models, Avro readers) fail on a new physical type, even a "
         "wider one, and the stored data must be rewritten."),
    Rule("items-type-changed", on((A.ITEMS_LOGICAL_TYPE, A.ITEMS_PHYSICAL_TYPE), S.CHANGED), B, B,
         "The type of an array's elements (`items.logicalType`/`items.physicalType`) changed.",
         "{subject}: element type changed from {old} to {new}",
         "Code iterating over the array expects the old element type; the stored arrays hold it."),
    Rule("map-type-changed", on(A.MAP, S.CHANGED), B, B,
         "The key or value definition of a `logicalType: map` property (`map`, ODCS v3.2.0) changed.",
         "{subject}: map key/value changed from {old} to {new}",
         "Code reading the map expects the old key and value types; the stored maps hold them."),
    Rule("property-type-declared", on(_TYPE_DECLARATIONS, S.ADDED), N, B,
         "A type (logical, physical, the `items` schema of an array or the `map` of a map) is declared where "
         "there was none.",
         "{subject}: {field} declared as {new}",
         "Consumers gain a guarantee; the producer's existing data may not match it."),
    Rule("property-type-dropped", on(_TYPE_DECLARATIONS, S.REMOVED), B, N,
         "A declared type (logical, physical, an array's `items` or a map's `map`) was removed.",
         "{subject}: {field} {old} is no longer declared",
         "Consumers lose the type guarantee they parse with; the producer can keep the data as it is."),
    Rule("property-required-relaxed", on(A.REQUIRED, S.LOOSENED), B, N,
         "`required: true` → false/absent (the column may now be null).",
         "{subject} is no longer required (nulls allowed)",
         "Consumers that assume a value (joins, NOT NULL targets, arithmetic) break on nulls."),
    Rule("property-required-tightened", on(A.REQUIRED, S.TIGHTENED), N, B,
         "`required` false/absent → true.",
         "{subject} is now required",
         "A stronger promise for consumers; the producer's existing nulls now fail the contract."),
    Rule("property-unique-dropped", on(A.UNIQUE, S.LOOSENED), B, N,
         "`unique: true` → false/absent.",
         "{subject} is no longer unique",
         "Consumers that join or deduplicate on it get duplicated rows."),
    Rule("property-unique-added", on(A.UNIQUE, S.TIGHTENED), N, B,
         "`unique` false/absent → true.",
         "{subject} is now unique",
         "A stronger promise for consumers; the producer's existing duplicates now fail the contract."),
    Rule("property-primary-key-dropped", on(A.PRIMARY_KEY, S.LOOSENED), B, N,
         "The primary key promises less: it was removed, or a column joined it (the old columns alone "
         "are no longer unique).",
         "{subject} {detail} the primary key: {old} → {new}",
         "Consumers merge, join and deduplicate on the key; a key that is gone or wider yields "
         "duplicates on the columns they use. The producer's data satisfies a weaker key."),
    Rule("property-primary-key-tightened", on(A.PRIMARY_KEY, S.TIGHTENED), N, B,
         "The primary key promises more: declared on an object that had none, or a column left a "
         "composite key whose other columns remain (uniqueness over fewer columns).",
         "{subject} {detail} the primary key: {old} → {new}",
         "A stronger uniqueness guarantee for consumers; the producer's data may violate it."),
    Rule("property-primary-key-changed", on(A.PRIMARY_KEY, S.CHANGED), B, B,
         "Columns both joined and left the primary key.",
         "{subject} {detail} the primary key: {old} → {new}",
         "Neither key implies the other: consumers' merge keys and the producer's uniqueness both change."),
    Rule("property-primary-key-reordered", on(A.PRIMARY_KEY_ORDER), B, N,
         "Same key columns, new order (`primaryKeyPosition`).",
         "{subject}: primary key order changed from {old} to {new}",
         "Uniqueness is unchanged, so the producer's data still complies, but tools that build "
         "composite keys, indexes or merge conditions by position get a different key."),
    Rule("property-classification-lowered", on(A.CLASSIFICATION, S.LOOSENED), B, N,
         "`classification` lowered (public < internal < confidential < pii < restricted) or removed.",
         "{subject}: classification lowered from {old} to {new}",
         "Access policies, masking and retention downstream are derived from the classification; "
         "lowering it silently weakens the protection consumers (and their auditors) rely on."),
    Rule("property-classification-raised", on(A.CLASSIFICATION, S.TIGHTENED), N, B,
         "`classification` raised or declared.",
         "{subject}: classification raised from {old} to {new}",
         "Consumers get stricter handling; the producer must apply stronger controls (masking, access)."),
    Rule("property-classification-changed", on(A.CLASSIFICATION, S.CHANGED), B, B,
         "`classification` changed between values outside the known order.",
         "{subject}: classification changed from {old} to {new}",
         "meshplane cannot tell whether the new class is weaker; it must be treated as a new policy."),
    Rule("property-range-widened", on(A.RANGE, S.LOOSENED), B, N,
         "A bound (`minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`) widened or removed.",
         "{subject}: {field} widened from {old} to {new}",
         "Consumers sized buckets, validations and downstream columns for the old range; new values fall outside it."),
    Rule("property-range-narrowed", on(A.RANGE, S.TIGHTENED), N, B,
         "A bound narrowed or was added.",
         "{subject}: {field} narrowed from {old} to {new}",
         "Consumers get a stronger promise; the producer's existing values may fall outside."),
    Rule("property-range-changed", on(A.RANGE, S.CHANGED), B, B,
         "A bound changed to a value that cannot be compared with the old one.",
         "{subject}: {field} changed from {old} to {new}",
         "Neither side can assume the old values are still valid or the new ones expected."),
    Rule("property-length-widened", on(A.LENGTH, S.LOOSENED), B, N,
         "A size bound widened or was removed: `minLength`/`maxLength`, `minItems`/`maxItems`, "
         "`minProperties`/`maxProperties`.",
         "{subject}: {field} widened from {old} to {new}",
         "Consumers allocate fixed-width columns and buffers for the old size; longer values are "
         "truncated or rejected."),
    Rule("property-length-narrowed", on(A.LENGTH, S.TIGHTENED), N, B,
         "A size bound narrowed or was added.",
         "{subject}: {field} narrowed from {old} to {new}",
         "Consumers get a stronger promise; the producer's existing values may be too long or too short."),
    Rule("property-pattern-changed", on(A.PATTERN, S.CHANGED), B, B,
         "`pattern` changed.",
         "{subject}: pattern changed from {old} to {new}",
         "Whether one regular expression accepts more than another cannot be decided in general: "
         "consumers' parsers and the producer's data must both be checked."),
    Rule("property-pattern-removed", on(A.PATTERN, S.REMOVED), B, N,
         "`pattern` removed.",
         "{subject}: pattern {old} removed",
         "Values of any shape may now arrive where consumers parse the old one."),
    Rule("property-pattern-added", on(A.PATTERN, S.ADDED), N, B,
         "`pattern` added.",
         "{subject}: pattern {new} added",
         "A stronger promise for consumers; the producer's existing values may not match."),
    Rule("property-format-changed", on(A.FORMAT, S.CHANGED), B, B,
         "`format` changed (e.g. `yyyy-MM-dd` → `dd.MM.yyyy`, `i32` → `i64`, `email` → `uri`).",
         "{subject}: format changed from {old} to {new}",
         "Parsers written for the old format misread values; the producer must re-encode."),
    Rule("property-format-removed", on(A.FORMAT, S.REMOVED), B, N,
         "`format` removed.",
         "{subject}: format {old} removed",
         "Consumers can no longer rely on the representation they parse."),
    Rule("property-format-added", on(A.FORMAT, S.ADDED), N, B,
         "`format` added.",
         "{subject}: format {new} added",
         "A stronger promise for consumers; the producer's data may be written otherwise."),
    Rule("property-option-loosened", on(A.OPTION, S.LOOSENED, S.REMOVED), B, N,
         "Another `logicalTypeOptions` constraint loosened or removed: `multipleOf`, `uniqueItems`, "
         "the `required` list of an object.",
         "{subject}: {field} loosened from {old} to {new}",
         "Any constraint consumers relied on that now admits more values breaks them."),
    Rule("property-option-tightened", on(A.OPTION, S.TIGHTENED, S.ADDED), N, B,
         "Another `logicalTypeOptions` constraint tightened or added.",
         "{subject}: {field} tightened from {old} to {new}",
         "A stronger promise for consumers; the producer's data may not satisfy it."),
    Rule("property-option-changed", on(A.OPTION, S.CHANGED), B, B,
         "A `logicalTypeOptions` setting changed in a way that cannot be ordered: `timezone`, "
         "`defaultTimezone`, an incomparable `multipleOf` or `required` list.",
         "{subject}: {field} changed from {old} to {new}",
         "Values are interpreted differently (another time zone, another grid); both sides must adapt."),
    Rule("property-partitioning-changed", on(A.PARTITIONING), N, B,
         "`partitioned` or `partitionKeyPosition` changed.",
         "{subject}: partitioning changed from {old} to {new}",
         "Engines read partitions transparently, so queries keep working (only their speed changes); "
         "the producer must rewrite the data in the new layout."),
    Rule("property-encrypted-name-changed", on(A.ENCRYPTED_NAME, S.CHANGED), B, B,
         "`encryptedName` (the column holding the encrypted value) changed.",
         "{subject}: encrypted column changed from {old} to {new}",
         "Readers of the encrypted column select it by name; the producer must write the new one."),
    Rule("property-encrypted-name-removed", on(A.ENCRYPTED_NAME, S.REMOVED), B, N,
         "`encryptedName` removed.",
         "{subject}: encrypted column {old} no longer provided",
         "Consumers of the encrypted column lose it."),
    Rule("property-encrypted-name-added", on(A.ENCRYPTED_NAME, S.ADDED), N, B,
         "`encryptedName` added.",
         "{subject}: encrypted column {new} added",
         "A new column for consumers; the producer must compute and write it."),
    Rule("property-transform-changed", on(A.TRANSFORM), N, N,
         "`transformLogic`, `transformDescription` or `transformSourceObjects` changed.",
         "{subject}: {field} changed",
         "It documents how the value is derived: a new derivation may change values, which is more "
         "than a typo, but the checkable guarantees (type, constraints, quality) are judged by their "
         "own rules."),
    Rule("property-critical-flag-changed", on(A.CRITICAL), N, N,
         "`criticalDataElement` changed.",
         "{subject}: criticalDataElement changed from {old} to {new}",
         "A governance label that changes how closely the element is watched, not the data; visible "
         "as a minor change."),
    Rule("relationship-removed", on(A.RELATIONSHIP, S.REMOVED), B, N,
         "A relationship (foreign key, at object or property level) was removed.",
         "{subject}: relationship {old} removed",
         "Consumers join along declared relationships and rely on their referential integrity."),
    Rule("relationship-added", on(A.RELATIONSHIP, S.ADDED), N, B,
         "A relationship was added.",
         "{subject}: relationship {new} added",
         "A new join path for consumers; the producer must keep the references valid."),
    # --- quality rules -------------------------------------------------------------------------
    Rule("quality-rule-removed", on(A.QUALITY, S.REMOVED), B, N,
         "A quality rule (object or property level) was removed.",
         "{subject} was removed",
         "The guarantee the rule enforced is gone; consumers relying on it get unchecked data."),
    Rule("quality-rule-added", on(A.QUALITY, S.ADDED), N, B,
         "A quality rule was added.",
         "{subject} was added",
         "A new guarantee for consumers; the producer's current data may fail it."),
    Rule("quality-rule-changed", on((A.QUALITY_DEFINITION, A.QUALITY_SEVERITY), S.CHANGED), B, B,
         "What a quality rule checks changed: `type`, `metric`, `arguments`, `query`, `engine`, "
         "`implementation`, `unit`, `method`, its custom properties, or an unknown `severity`.",
         "{subject}: {field} changed from {old} to {new}",
         "A different check is a different guarantee; meshplane cannot tell whether it is weaker."),
    Rule("quality-threshold-relaxed", on(A.QUALITY_THRESHOLD, S.LOOSENED), B, N,
         "A quality threshold accepts more values (operator-aware: `mustBeLessThan` 10 → 20, "
         "`mustBeGreaterThan` 5 → 1, `mustBeBetween` widened, `mustBe` 0 → `mustBeLessThan` 5).",
         "{subject}: threshold relaxed from {old} to {new}",
         "Data that failed the rule before now passes: consumers get worse data under the same name."),
    Rule("quality-threshold-tightened", on(A.QUALITY_THRESHOLD, S.TIGHTENED), N, B,
         "A quality threshold accepts fewer values.",
         "{subject}: threshold tightened from {old} to {new}",
         "A stronger guarantee for consumers; the producer's current data may fail it."),
    Rule("quality-threshold-changed", on(A.QUALITY_THRESHOLD, S.CHANGED), B, B,
         "A quality threshold changed to an overlapping but different set (e.g. `mustBeBetween` shifted).",
         "{subject}: threshold changed from {old} to {new}",
         "Some values that passed now fail and some that failed now pass: both sides must check."),
    Rule("quality-severity-lowered", on(A.QUALITY_SEVERITY, S.LOOSENED), B, N,
         "A quality rule's `severity` lowered (error → warning → info; absent counts as error).",
         "{subject}: severity lowered from {old} to {new}",
         "A failing rule that used to stop the data now only warns: consumers may receive failing data."),
    Rule("quality-severity-raised", on(A.QUALITY_SEVERITY, S.TIGHTENED), N, B,
         "A quality rule's `severity` raised.",
         "{subject}: severity raised from {old} to {new}",
         "A stronger guarantee; failures the producer used to ship with a warning now block."),
    Rule("allowed-values-added", on(A.ALLOWED_VALUES, S.LOOSENED), B, N,
         "A value was added to a list of allowed values (a rule's `validValues`, a property's `enum`), "
         "or a property's `enum` was removed.",
         "{subject}: allowed values added: {detail}",
         "Consumers map, switch over or validate the known values; a new one falls through."),
    Rule("allowed-values-removed", on(A.ALLOWED_VALUES, S.TIGHTENED), N, B,
         "A value was removed from a list of allowed values, or a property got an `enum`.",
         "{subject}: allowed values removed: {detail}",
         "Consumers handle a value that no longer occurs; the producer's data may still contain it."),
    Rule("check-schedule-changed", on(A.SCHEDULE), N, N,
         "When a quality rule or SLA is checked (`schedule`, `scheduler`) changed.",
         "{subject}: {field} changed from {old} to {new}",
         "Operational: it changes when a guarantee is verified, not the guarantee (timeliness has its "
         "own SLA rules); visible as a minor change."),
    # --- service levels ------------------------------------------------------------------------
    Rule("sla-removed", on(A.SLA, S.REMOVED), B, N,
         "An SLA property was removed.",
         "{subject} was removed (was {old})",
         "Consumers lose a service level they planned around."),
    Rule("sla-added", on(A.SLA, S.ADDED), N, B,
         "An SLA property was added.",
         "{subject} was added: {new}",
         "A new promise for consumers; the producer must now meet it."),
    Rule("sla-relaxed", on(A.SLA_VALUE, S.LOOSENED), B, N,
         "An SLA got weaker: latency, freshness, frequency or time-to-X longer (durations compared "
         "across units and ISO 8601), retention shorter, availability lower, time of availability "
         "later, end of support/life earlier.",
         "{subject} relaxed from {old} to {new}",
         "Consumers scheduled jobs and promised their own users on the old level."),
    Rule("sla-tightened", on(A.SLA_VALUE, S.TIGHTENED), N, B,
         "An SLA got stronger.",
         "{subject} tightened from {old} to {new}",
         "Better for consumers; the producer's pipeline must now run faster, keep data longer, etc."),
    Rule("sla-changed", on(A.SLA_VALUE, S.CHANGED), B, B,
         "An SLA value changed in a way that cannot be ordered (unknown property, unreadable unit).",
         "{subject} changed from {old} to {new}",
         "meshplane cannot tell whether the service level is weaker; treat it as a new promise."),
    Rule("sla-restated", on(A.SLA_VALUE, S.RESTATED), I, I,
         "An SLA value is written differently but means the same (`24 h` → `1 d`, `1 d` → `P1D`).",
         "{subject} restated from {old} to {new} (same level)",
         "Same service level, other words."),
    Rule("sla-element-changed", on(A.SLA_ELEMENT), B, B,
         "The element an SLA is measured on (`element`, `slaDefaultElement`) changed.",
         "{subject}: measured on {new} instead of {old}",
         "Freshness of `updated_at` and of `order_date` are different promises; both sides must adapt."),
    # --- any element ---------------------------------------------------------------------------
    Rule("element-id-changed", on(A.ELEMENT_ID, S.CHANGED, S.REMOVED), B, B,
         "An element's stable `id` changed or was removed (the element was matched by name).",
         "{subject}: id changed from {old} to {new}",
         "Stable ids are how tools and references track an element across versions and renames; a "
         "new id makes it a different element for them."),
    Rule("element-id-assigned", on(A.ELEMENT_ID, S.ADDED), I, I,
         "An element got a stable `id` it did not have.",
         "{subject}: stable id {new} assigned",
         "Adds a handle for future versions; nothing about the data changes."),
    Rule("element-deprecated", on(A.DEPRECATED, S.ADDED), N, N,
         "A schema object or property was marked `deprecated: true` (ODCS v3.2.0).",
         "{subject} is deprecated",
         "Like a deprecated contract: the data keeps coming and every guarantee holds, so nothing "
         "breaks today, but consumers must be told to plan a migration."),
    Rule("element-undeprecated", on(A.DEPRECATED, S.REMOVED), N, N,
         "`deprecated: true` was removed from a schema object or property.",
         "{subject} is no longer deprecated",
         "The announced removal is called off; nothing about the data changes, but consumers who "
         "planned a migration must hear it (as for a contract going back from deprecated to active)."),
    Rule("documentation-changed", on(A.DOCUMENTATION), I, I,
         "Documentation changed: `description` (and the contract's purpose/usage/limitations), "
         "`businessName`, `name` of the contract or a quality rule, `tags`, `authoritativeDefinitions`, "
         "`examples`, an SLA `driver`, `dimension`/`businessImpact` of a quality rule, and ODCS v3.2.0's "
         "`context`, `synonyms` and a property's `semanticType`.",
         "{subject}: {field} changed",
         "Words for people; no guarantee about the data changes."),
    Rule("custom-properties-changed", on(A.CUSTOM_PROPERTIES), I, I,
         "`customProperties` of the contract, an object, a property, a server, a role or a "
         "relationship changed (a quality rule's custom properties count as its definition).",
         "{subject}: custom properties changed: {detail}",
         "Free-form extensions that meshplane does not interpret."),
)
# fmt: on
"""Every diff rule, in documentation order (the catch-all :data:`UNCLASSIFIED` comes last)."""

UNCLASSIFIED = Rule(
    "unclassified-change",
    on(A.UNMODELLED),
    B,
    B,
    "Any change no other rule classifies (a field meshplane does not model yet).",
    "{subject}: {field} changed from {old} to {new} (not classified by meshplane: review it)",
    "Never silently dropped: when the tool cannot vouch that a change is compatible it asks for the "
    "strongest bump. A major bump for a harmless change is an annoyance; a missed break is an incident.",
)
"""The catch-all rule."""

ALL_RULES: tuple[Rule, ...] = (*RULES, UNCLASSIFIED)
"""The table including the catch-all."""


def _index(rules: Iterable[Rule]) -> dict[tuple[A, S], Rule]:
    index: dict[tuple[A, S], Rule] = {}
    for rule in rules:
        for pair in rule.when:
            if pair in index:
                raise ValueError(f"rules {index[pair].id} and {rule.id} both claim {pair[0].value}/{pair[1].value}")
            index[pair] = rule
    return index


_RULE_FOR = _index(ALL_RULES)


def rule_for(aspect: A | str, shift: S) -> Rule:
    """The one rule classifying a raw change of ``aspect`` and ``shift`` (the catch-all if none)."""
    try:
        return _RULE_FOR[(A(aspect), shift)]
    except (KeyError, ValueError):
        return UNCLASSIFIED


def rule_by_id(rule_id: str) -> Rule:
    """A rule by its id; KeyError when there is none."""
    for rule in ALL_RULES:
        if rule.id == rule_id:
            return rule
    raise KeyError(rule_id)


__all__ = ["ALL_RULES", "RULES", "UNCLASSIFIED", "Rule", "rule_by_id", "rule_for"]

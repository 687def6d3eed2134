"""Resolve datasets to output ports, and jobs to domains.

At apply time the registry builds a `PortIndex` from the mesh: for every output port, its
contract's servers and schema objects give the canonical identities (`identity.py`) where the
port's data lives. Lineage events are then resolved against it: a dataset at a port's identity,
or in a folder below it, belongs to that port; so does a dataset whose ``symlinks`` point there.
The index has a plain row form (`PortIndexRow`) for the registry to store in a table.

Where a server type's data lives is a table of locators (`SERVER_LOCATORS`): one entry per ODCS
server type, documented in docs/lineage.md. A server it cannot place is reported as an
`IndexNote`, never guessed.

`attribute_job` decides the domain of a job, by the rules in order: the mesh's job-namespace
mapping, the ``ownership`` facet, the parent run, the domain of the product the job writes.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from meshplane.lineage.identity import (
    DatasetIdentity,
    canonical_identity,
    canonical_namespace,
    identity_from_uri,
)

if TYPE_CHECKING:
    from meshplane.lineage.events import EventDataset, LineageEvent
    from meshplane.lineage.facets import ParentRun
    from meshplane.mesh.repository import MeshRepository
    from meshplane.spec.odcs import SchemaObject, Server


class MatchKind(enum.StrEnum):
    """How an index row matches: exactly (tables, topics) or also below it (folders, prefixes)."""

    EXACT = "exact"
    PREFIX = "prefix"
    DEFAULT = "default"
    """A table's shorter name: leading parts left out are the server's own (``public.orders`` for
    ``shop.public.orders`` on a server of database ``shop``)."""


@dataclass(frozen=True, order=True, slots=True)
class PortIndexRow:
    """One place an output port's data lives: a canonical identity and the port it belongs to."""

    namespace: str
    name: str
    domain: str
    product: str
    port: str
    contract_id: str
    contract_version: str
    object: str
    server: str
    match: MatchKind = MatchKind.EXACT

    @property
    def identity(self) -> DatasetIdentity:
        """The canonical identity of this location."""
        return DatasetIdentity(self.namespace, self.name)

    def to_dict(self) -> dict[str, str]:
        """Plain form for storage and JSON (all values strings)."""
        return {k: str(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PortIndexRow:
        """Read the `to_dict` form back."""
        values = {k: str(data[k]) for k in ("namespace", "name", "domain", "product", "port", "contract_id")}
        return cls(
            **values,
            contract_version=str(data["contract_version"]),
            object=str(data["object"]),
            server=str(data.get("server", "")),
            match=MatchKind(data.get("match", MatchKind.EXACT)),
        )


class MatchHow(enum.StrEnum):
    """How a dataset met a port."""

    EXACT = "exact"
    """At the port's identity."""
    BELOW = "below"
    """In a folder or under a key prefix below the port's location (a partition, a file)."""
    DEFAULT = "default"
    """By a shorter table name whose missing parts are the server's database or schema."""
    LINKED = "linked"
    """Through a link of a consumer's tool (`DatasetLink`, ``meshplane dbt link``)."""


@dataclass(frozen=True, slots=True)
class PortMatch:
    """A dataset resolved to an output port."""

    row: PortIndexRow
    identity: DatasetIdentity
    """The identity that matched: the dataset's own or one of its symlinks."""
    how: MatchHow
    via_symlink: bool = False

    @property
    def domain(self) -> str:
        """The domain of the product owning the port."""
        return self.row.domain

    @property
    def product(self) -> str:
        """The product id."""
        return self.row.product

    @property
    def port(self) -> str:
        """The output port name."""
        return self.row.port

    @property
    def contract_id(self) -> str:
        """The port's contract id."""
        return self.row.contract_id

    @property
    def contract_version(self) -> str:
        """The port's contract version."""
        return self.row.contract_version

    @property
    def object(self) -> str:
        """The contract's schema object (the dataset's logical name)."""
        return self.row.object


@dataclass(frozen=True, slots=True)
class IndexNote:
    """Something the index could not do for a port: a server it cannot place, a location claimed twice."""

    contract_id: str
    server: str
    message: str

    def __str__(self) -> str:
        return f"{self.contract_id} (server {self.server or '-'}): {self.message}"


@dataclass(frozen=True, slots=True)
class DatasetLink:
    """A warehouse relation a consumer's tool names, standing for data at another identity.

    Recorded by ``meshplane dbt link`` (`meshplane.lineage.dbt`): the dbt relation
    ``finance.sales.orders`` of a ``duckdb`` warehouse is the lake folder its source's
    ``external_location`` reads. Relations are matched by scheme and canonical name (the
    manifest does not say where the warehouse file is); ``function`` is the table function that
    reads the data (``read_parquet``), which column lineage names instead of the relation.
    """

    scheme: str
    name: str
    target: DatasetIdentity
    product: str
    node: str
    function: str | None = None


class PortIndex:
    """Canonical identities → output ports. Build with `build_port_index` or `PortIndex.from_rows`.

    ``links`` (`DatasetLink`) let relations of a consumer's warehouse stand for what they read or
    write: a dataset found nowhere else is looked up at its link's target.
    """

    def __init__(
        self, rows: Iterable[PortIndexRow], notes: Iterable[IndexNote] = (), links: Iterable[DatasetLink] = ()
    ) -> None:
        self._rows = tuple(sorted(set(rows)))
        self.notes: tuple[IndexNote, ...] = tuple(notes)
        self._at: dict[DatasetIdentity, list[PortIndexRow]] = {}
        for row in self._rows:
            self._at.setdefault(row.identity, []).append(row)
        for claimed in self._at.values():
            claimed.sort(key=lambda r: r.match is MatchKind.DEFAULT)  # a full name wins over a short one
        self._links: dict[tuple[str, str], DatasetLink] = {}
        for link in links:
            self._links.setdefault((link.scheme, link.name), link)

    @classmethod
    def from_rows(
        cls, rows: Iterable[PortIndexRow | Mapping[str, Any]], links: Iterable[DatasetLink] = ()
    ) -> PortIndex:
        """An index from stored rows (`PortIndexRow` or their `to_dict` form) and links."""
        return cls((r if isinstance(r, PortIndexRow) else PortIndexRow.from_dict(r) for r in rows), links=links)

    @property
    def links(self) -> tuple[DatasetLink, ...]:
        """Every link, in the order given."""
        return tuple(self._links.values())

    def linked(self, identity: DatasetIdentity) -> DatasetLink | None:
        """The link of a (canonical) table identity, if a consumer recorded one."""
        if not self._links or identity.is_path:
            return None
        return self._links.get((identity.scheme, identity.name))

    @property
    def rows(self) -> tuple[PortIndexRow, ...]:
        """Every row, sorted."""
        return self._rows

    def to_rows(self) -> list[dict[str, str]]:
        """The serialisable form: one dict per row."""
        return [row.to_dict() for row in self._rows]

    def __len__(self) -> int:
        return len(self._rows)

    def claims(self, identity: DatasetIdentity) -> tuple[PortIndexRow, ...]:
        """Every row at exactly this (canonical) identity; more than one means a location is claimed twice."""
        return tuple(self._at.get(identity, ()))

    def _lookup(self, identity: DatasetIdentity, via_symlink: bool, *, follow: bool = True) -> PortMatch | None:
        rows = self._at.get(identity)
        if rows:
            how = MatchHow.DEFAULT if rows[0].match is MatchKind.DEFAULT else MatchHow.EXACT
            return PortMatch(rows[0], identity, how, via_symlink)
        parent = identity.parent()
        while parent is not None:
            for row in self._at.get(parent, ()):
                if row.match is MatchKind.PREFIX:
                    return PortMatch(row, parent, MatchHow.BELOW, via_symlink)
            parent = parent.parent()
        link = self.linked(identity) if follow else None
        if link is not None:
            found = self._lookup(link.target, via_symlink, follow=False)
            if found is not None:
                return PortMatch(found.row, found.identity, MatchHow.LINKED, via_symlink)
        return None

    def resolve_table_function(self, identity: DatasetIdentity, inputs: Iterable[EventDataset]) -> PortMatch | None:
        """The port a column-lineage field naming a table function (``read_parquet``) reads.

        dbt-duckdb's column lineage names the function that read a source, not the source: among
        the event's `inputs` linked through that function, the one port they resolve to (None when
        none or several do).
        """
        if "." in identity.name or not self._links:
            return None
        function = identity.name.lower()
        found: dict[tuple[str, str], PortMatch] = {}
        for dataset in inputs:
            for own in dataset.identities:
                link = self.linked(own)
                if link is None or link.function != function or own.scheme != identity.scheme:
                    continue
                match = self._lookup(link.target, False, follow=False)
                if match is not None:
                    found.setdefault((match.product, match.port), PortMatch(match.row, own, MatchHow.LINKED))
        return next(iter(found.values())) if len(found) == 1 else None

    def resolve(self, identity: DatasetIdentity, *, symlinks: Iterable[DatasetIdentity] = ()) -> PortMatch | None:
        """The port a dataset belongs to, or None.

        The identity is canonicalised first. Exact identity, then the longest port folder above
        it (path identities only); then the same for each symlink, in order. When two ports
        claim one location the first in row order wins (`claims` shows them all; `build_port_index`
        notes it).
        """
        own = canonical_identity(identity.namespace, identity.name)
        match = self._lookup(own, False)
        if match is not None:
            return match
        for alt in symlinks:
            match = self._lookup(canonical_identity(alt.namespace, alt.name), True)
            if match is not None:
                return match
        return None

    def resolve_dataset(self, dataset: EventDataset) -> PortMatch | None:
        """`resolve` for a dataset of an event, with its ``symlinks`` (linear in their number).

        The dataset's identities are canonical already (`EventDataset.identities`), so they are
        looked up as they are.
        """
        for position, identity in enumerate(dataset.identities):
            match = self._lookup(identity, position > 0)
            if match is not None:
                return match
        return None


# --- where a server's data lives ----------------------------------------------------------------

Location = tuple[DatasetIdentity, MatchKind]


class UnlocatableServer(Exception):
    """A server whose settings do not say where its data is (the message says what is missing)."""


@dataclass(frozen=True)
class LocateContext:
    """What a locator needs besides the server and object: the mesh's lake root."""

    lake_root: Path


Locator = Callable[["Server", "SchemaObject", LocateContext], list[Location]]
"""Where one schema object of one server lives."""


def _setting(server: Server, name: str, default: str | None = None) -> str:
    value = server.setting(name)
    if value is None or str(value).strip() == "":
        if default is not None:
            return default
        raise UnlocatableServer(f"a '{server.type}' server needs '{name}' to be located")
    return str(value).strip()


def _substitute(template: str, obj: SchemaObject) -> str:
    return template.replace("{model}", obj.table).replace("{object}", obj.table)


def _qualified(parts: Sequence[str], table: str) -> str:
    """``parts`` + table, letting an already qualified physical name (``schema.table``) win."""
    table_parts = table.split(".")
    keep = max(0, len(parts) + 1 - len(table_parts))
    return ".".join([*parts[:keep], *table_parts])


def _table_locations(namespace: str, parts: Sequence[str], table: str) -> list[Location]:
    """A table's identity (``parts`` from the server's settings + the table) and its shorter names.

    The leading parts that come from the server's settings (its database, catalog, project,
    schema) are what a connection to that server assumes: ``schema.table`` and ``table`` name the
    same table there (`MatchKind.DEFAULT` rows; `build_port_index` drops the ambiguous ones).
    """
    full = _qualified(parts, table)
    kept = max(0, len(parts) + 1 - len(table.split(".")))
    qualified = full.split(".") if kept else []
    out: list[Location] = [(canonical_identity(namespace, full), MatchKind.EXACT)]
    for drop in range(1, kept + 1):
        out.append((canonical_identity(namespace, ".".join(qualified[drop:])), MatchKind.DEFAULT))
    return out


def _host_namespace(scheme: str, server: Server) -> str:
    host = _setting(server, "host").split(",")[0].strip()
    if "://" in host:  # a full URL in `host`
        host = host.split("://", 1)[1]
    port = server.setting("port")
    return canonical_namespace(f"{scheme}://{host}" + (f":{port}" if port and ":" not in host else ""))


def _table_locator(scheme: str, *settings: str, defaults: Mapping[str, str] | None = None) -> Locator:
    """Databases named ``scheme://host:port`` + ``<settings...>.<table>`` (OpenLineage naming)."""
    fallback = dict(defaults or {})

    def locate(server: Server, obj: SchemaObject, ctx: LocateContext) -> list[Location]:
        parts = [_setting(server, s, fallback.get(s)) for s in settings]
        return _table_locations(_host_namespace(scheme, server), parts, obj.table)

    return locate


def _path_location(uri: str) -> Location:
    identity = identity_from_uri(uri)
    return identity, (MatchKind.PREFIX if identity.is_path else MatchKind.EXACT)


def _locate_local(server: Server, obj: SchemaObject, ctx: LocateContext) -> list[Location]:
    raw = _substitute(_setting(server, "path"), obj)
    if "://" in raw or raw.startswith("file:"):
        return [_path_location(raw)]
    path = os.path.normpath(ctx.lake_root / raw)  # an absolute path stays as it is
    out = [_path_location(path)]
    real = os.path.realpath(path)  # the lake may sit behind a symlink (/tmp on macOS)
    if real != path:
        out.append(_path_location(real))
    return out


def _locate_uri(setting: str) -> Locator:
    def locate(server: Server, obj: SchemaObject, ctx: LocateContext) -> list[Location]:
        return [_path_location(_substitute(_setting(server, setting), obj))]

    return locate


def _locate_duckdb(server: Server, obj: SchemaObject, ctx: LocateContext) -> list[Location]:
    """``duckdb://<file>`` + ``<catalog>.<schema>.<table>``: the catalog of a file is its stem."""
    database = _setting(server, "database")
    memory = database == ":memory:"
    path = "memory" if memory else os.path.normpath(ctx.lake_root / database)
    namespace = canonical_namespace(f"duckdb://{path}")
    catalog = "memory" if memory else Path(path).stem
    return _table_locations(namespace, [catalog, _setting(server, "schema", "main")], obj.table)


def _locate_bigquery(server: Server, obj: SchemaObject, ctx: LocateContext) -> list[Location]:
    return _table_locations("bigquery", [_setting(server, "project"), _setting(server, "dataset")], obj.table)


def _locate_snowflake(server: Server, obj: SchemaObject, ctx: LocateContext) -> list[Location]:
    namespace = f"snowflake://{_setting(server, 'account')}"
    return _table_locations(namespace, [_setting(server, "database"), _setting(server, "schema")], obj.table)


def _locate_redshift(server: Server, obj: SchemaObject, ctx: LocateContext) -> list[Location]:
    host = _setting(server, "host")
    labels = host.lower().split(".")
    if host.lower().endswith(".redshift.amazonaws.com") and len(labels) >= 6:
        host = f"{labels[0]}.{labels[2]}"  # cluster.region, as the OpenLineage Redshift naming
    parts = [_setting(server, "database"), _setting(server, "schema")]
    return _table_locations(f"redshift://{host}", parts, obj.table)


def _locate_databricks(server: Server, obj: SchemaObject, ctx: LocateContext) -> list[Location]:
    host = server.setting("host")
    namespace = canonical_namespace(f"databricks://{host}") if host else "databricks"
    return _table_locations(namespace, [_setting(server, "catalog"), _setting(server, "schema")], obj.table)


def _locate_athena(server: Server, obj: SchemaObject, ctx: LocateContext) -> list[Location]:
    namespace = f"awsathena://athena.{_setting(server, 'regionName')}.amazonaws.com"
    parts = [_setting(server, "catalog", "AwsDataCatalog"), _setting(server, "schema")]
    return _table_locations(namespace, parts, obj.table)


def _locate_kafka(server: Server, obj: SchemaObject, ctx: LocateContext) -> list[Location]:
    return [(canonical_identity(_host_namespace("kafka", server), obj.table), MatchKind.EXACT)]


def _locate_pubsub(server: Server, obj: SchemaObject, ctx: LocateContext) -> list[Location]:
    return [(DatasetIdentity("pubsub", f"topic:{_setting(server, 'project')}:{obj.table}"), MatchKind.EXACT)]


def _locate_custom(server: Server, obj: SchemaObject, ctx: LocateContext) -> list[Location]:
    if server.setting("location"):
        return _locate_uri("location")(server, obj, ctx)
    if server.setting("path"):
        return _locate_local(server, obj, ctx)
    raise UnlocatableServer("a 'custom' server is located by its 'location' or 'path'")


SERVER_LOCATORS: dict[str, Locator] = {
    "local": _locate_local,
    "s3": _locate_uri("location"),
    "azure": _locate_uri("location"),
    "sftp": _locate_uri("location"),
    "api": _locate_uri("location"),
    "glue": _locate_uri("location"),
    "custom": _locate_custom,
    "postgres": _table_locator("postgres", "database", "schema", defaults={"schema": "public"}),
    "postgresql": _table_locator("postgres", "database", "schema", defaults={"schema": "public"}),
    "mysql": _table_locator("mysql", "database"),
    "sqlserver": _table_locator("sqlserver", "database", "schema", defaults={"schema": "dbo"}),
    "synapse": _table_locator("sqlserver", "database", "schema", defaults={"schema": "dbo"}),
    "oracle": _table_locator("oracle", "serviceName"),
    "db2": _table_locator("db2", "database", "schema"),
    "vertica": _table_locator("vertica", "database", "schema"),
    "clickhouse": _table_locator("clickhouse", "database"),
    "trino": _table_locator("trino", "catalog", "schema"),
    "presto": _table_locator("presto", "catalog", "schema"),
    "hive": _table_locator("hive", "database"),
    "impala": _table_locator("impala", "database"),
    "informix": _table_locator("informix", "database"),
    "denodo": _table_locator("denodo", "database"),
    "dremio": _table_locator("dremio", "schema"),
    "zen": _table_locator("zen", "database"),
    "duckdb": _locate_duckdb,
    "bigquery": _locate_bigquery,
    "snowflake": _locate_snowflake,
    "redshift": _locate_redshift,
    "databricks": _locate_databricks,
    "athena": _locate_athena,
    "kafka": _locate_kafka,
    "pubsub": _locate_pubsub,
}
"""ODCS server type → where its data lives. Not located: ``cloudsql`` (engine unknown), ``kinesis``."""


def locate(server: Server, obj: SchemaObject, *, lake_root: Path) -> list[Location]:
    """The canonical identities (and how they match) of one schema object on one server.

    Raises `UnlocatableServer` when the server type has no locator or lacks a setting it needs.
    """
    locator = SERVER_LOCATORS.get(server.type.lower())
    if locator is None:
        raise UnlocatableServer(f"meshplane cannot tell where a '{server.type}' server keeps its data")
    return locator(server, obj, LocateContext(lake_root))


def build_port_index(mesh: MeshRepository) -> PortIndex:
    """The index of every output port of the mesh: each server of its contract, each schema object.

    A port's contract is the one with the port's ``contractId`` and ``version`` (falling back to
    the id alone, noted). Servers that cannot be located and locations claimed by two ports are
    noted in `PortIndex.notes`.
    """
    rows: list[PortIndexRow] = []
    notes: list[IndexNote] = []
    for entry in mesh.products:
        product = entry.product
        if product is None or not product.id:
            continue
        for port in product.output_ports or []:
            if not port.contract_id:
                continue
            candidates = [c.contract for c in mesh.contracts if c.contract and c.contract.id == port.contract_id]
            contract = next((c for c in candidates if c.version == port.version), None)
            if contract is None and candidates:
                contract = candidates[0]
                notes.append(
                    IndexNote(
                        contract.id,
                        "",
                        f"port {product.id}/{port.name} pins version {port.version}; indexed {contract.version}",
                    )
                )
            if contract is None:
                missing = f"port {product.id}/{port.name}: contract not in the mesh"
                notes.append(IndexNote(port.contract_id, "", missing))
                continue
            for server in contract.servers or []:
                for obj in contract.objects:
                    try:
                        locations = locate(server, obj, lake_root=mesh.lake_root)
                    except UnlocatableServer as exc:
                        notes.append(IndexNote(contract.id, server.server, str(exc)))
                        break
                    for identity, match in locations:
                        rows.append(
                            PortIndexRow(
                                identity.namespace,
                                identity.name,
                                entry.domain,
                                product.id,
                                port.name,
                                contract.id,
                                contract.version,
                                obj.name,
                                server.server,
                                match,
                            )
                        )
    index = PortIndex(_unambiguous(rows), notes)
    for identity, claimed in index._at.items():
        ports = {(r.product, r.port, r.object) for r in claimed if r.match is not MatchKind.DEFAULT}
        if len(ports) > 1:
            names = ", ".join(f"{p}/{port} ({o})" for p, port, o in sorted(ports))
            index.notes += (IndexNote(claimed[0].contract_id, claimed[0].server, f"{identity} is claimed by {names}"),)
    return index


def _unambiguous(rows: Sequence[PortIndexRow]) -> list[PortIndexRow]:
    """The rows without the short names (`MatchKind.DEFAULT`) that a full name or another port also has."""
    full = {r.identity for r in rows if r.match is not MatchKind.DEFAULT}
    owners: dict[DatasetIdentity, set[tuple[str, str, str]]] = {}
    for r in rows:
        if r.match is MatchKind.DEFAULT:
            owners.setdefault(r.identity, set()).add((r.product, r.port, r.object))
    return [
        r for r in rows if r.match is not MatchKind.DEFAULT or (r.identity not in full and len(owners[r.identity]) == 1)
    ]


# --- attribution --------------------------------------------------------------------------------


class AttributionRule(enum.StrEnum):
    """Which rule decided a job's domain, in the order they are tried."""

    JOB_NAMESPACE = "job-namespace"
    OWNERSHIP = "ownership"
    PARENT_RUN = "parent-run"
    OUTPUT_PORT = "output-port"


@dataclass(frozen=True, slots=True)
class Attribution:
    """The domain of a job and why."""

    domain: str
    rule: AttributionRule
    detail: str = field(default="", compare=False)


def _owner_keys(name: str) -> list[str]:
    """``team:Retail Data`` matches ``team:retail data`` and ``retail data``."""
    text = name.strip().casefold()
    keys = [text]
    if ":" in text:
        keys.append(text.split(":", 1)[1].strip())
    return keys


def owner_directory(mesh: MeshRepository) -> dict[str, str]:
    """Owner names → domain id, from the mesh: domain ids, team names, team members' usernames.

    A name that two domains share is left out (it decides nothing).
    """
    seen: dict[str, set[str]] = {}
    for entry in mesh.domains:
        names = {entry.id}
        if entry.model is not None:
            names |= {entry.model.id, entry.model.team.name, *(m.username for m in entry.model.team.members)}
        for name in names:
            seen.setdefault(name.strip().casefold(), set()).add(entry.id)
    return {name: next(iter(domains)) for name, domains in seen.items() if len(domains) == 1}


def attribute_job(
    event: LineageEvent,
    job_namespaces: Mapping[str, str],
    *,
    owners: Mapping[str, str] | None = None,
    parent_domain: Callable[[ParentRun], str | None] | None = None,
    index: PortIndex | None = None,
) -> Attribution | None:
    """The domain a job belongs to, and the rule that decided it; None when no rule can tell.

    1. ``job_namespaces`` (``mesh.yaml`` ``lineage.jobNamespaces``): the job's namespace.
    2. ``owners`` (owner name → domain, see `owner_directory`): the job's ``ownership`` facet,
       when its owners name exactly one domain.
    3. The parent run: ``parent_domain`` (a lookup of the domain already attributed to the parent
       run), else the parent's or the root's job namespace in ``job_namespaces``.
    4. ``index``: the domain of the output ports the job writes, when they are all of one domain.
    """
    if event.job_namespace is not None and event.job_namespace in job_namespaces:
        return Attribution(job_namespaces[event.job_namespace], AttributionRule.JOB_NAMESPACE, event.job_namespace)
    if owners and event.job_ownership:
        found = {owners[key] for o in event.job_ownership for key in _owner_keys(o.name) if key in owners}
        if len(found) == 1:
            names = ", ".join(o.name for o in event.job_ownership)
            return Attribution(found.pop(), AttributionRule.OWNERSHIP, names)
    parent = event.parent
    if parent is not None:
        domain = parent_domain(parent) if parent_domain is not None else None
        if domain:
            return Attribution(domain, AttributionRule.PARENT_RUN, parent.run_id or "")
        for namespace in (parent.job_namespace, parent.root_job_namespace):
            if namespace and namespace in job_namespaces:
                return Attribution(job_namespaces[namespace], AttributionRule.PARENT_RUN, namespace)
    if index is not None:
        matches = [m for m in (index.resolve_dataset(d) for d in event.outputs) if m is not None]
        domains = {m.domain for m in matches}
        if len(domains) == 1:
            ports = ", ".join(sorted({f"{m.product}/{m.port}" for m in matches}))
            return Attribution(domains.pop(), AttributionRule.OUTPUT_PORT, ports)
    return None

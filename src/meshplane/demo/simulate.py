"""A week of realistic job runs across the example mesh, sent as OpenLineage events with the real client.

`simulate_week` plays the scheduled jobs of the example holding mesh (`examples/holding`) for the
seven days before ``now``: each run sends START, for the larger jobs a RUNNING event with partial
``outputStatistics``, and COMPLETE with ``inputStatistics``, ``outputStatistics``, the output's
``schema`` (from its contract) and ``columnLineage``. Datasets are the lake locations of the ports'
contracts (partition folders and part files below them), plus the source systems outside the lake.
Events go through the unmodified ``openlineage-python`` client (HTTP transport, API key, gzip)
to a running meshplane server.

Before the runs, the usage agreements of every declared cross-domain input port are requested
and approved in the registry, an hour before the week starts, so those flows are covered. With
``include_unagreed_flow`` a marketing job also reads ``retail.sales`` orders, a port its product
neither declared nor has an agreement for: `meshplane movements` shows it flagged.

`JOBS` is the schedule, as data.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from meshplane.diagnostics import MeshplaneError
from meshplane.errors import Conflict

if TYPE_CHECKING:
    from meshplane.registry import Registry

PRODUCER = "https://meshplane.example/demo/simulate-week"
RUN_NAMESPACE = uuid.UUID("6d657368-706c-616e-6500-73696d756c61")
"""Run ids are uuid5(RUN_NAMESPACE, job/day): a simulated week sent twice is stored once."""


@dataclass(frozen=True)
class Read:
    """A job's input: an output port (``product/port``) or an outside source (``namespace#name``), with columns."""

    source: str
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class SimulatedJob:
    """A scheduled job: its namespace (a domain's, in mesh.yaml), what it reads, the port it writes.

    ``lineage`` maps output columns to ``(input index, input column)`` pairs; inputs' columns not
    mapped to an output column count as columns the job filters or joins on.
    """

    namespace: str
    name: str
    hour: int
    reads: tuple[Read, ...]
    writes: str
    rows: int
    lineage: Mapping[str, tuple[tuple[int, str], ...]] = field(default_factory=dict)
    unagreed: bool = False


def _pairs(*items: tuple[str, int, str]) -> dict[str, tuple[tuple[int, str], ...]]:
    out: dict[str, list[tuple[int, str]]] = {}
    for output, index, column in items:
        out.setdefault(output, []).append((index, column))
    return {k: tuple(v) for k, v in out.items()}


JOBS: tuple[SimulatedJob, ...] = (
    SimulatedJob("airflow-customer", "profiles.refresh_customers", 1,
                 (Read("postgres://crm-db:5432#crm.public.customers", ("id", "segment")),),
                 "customer.profiles/customers", 5_000, _pairs(("customer_id", 0, "id"), ("segment", 0, "segment"))),
    SimulatedJob("airflow-retail", "catalog.export_products", 1,
                 (Read("postgres://pim-db:5432#pim.public.articles", ("sku", "price")),),
                 "retail.catalog/products", 800, _pairs(("sku", 0, "sku"), ("list_price", 0, "price"))),
    SimulatedJob("airflow-retail", "sales.load_orders", 2,
                 (Read("postgres://shop-db:5432#shop.public.orders", ("id", "total")),
                  Read("customer.profiles/customers", ("customer_id", "country_code")),
                  Read("retail.catalog/products", ("sku", "list_price"))),
                 "retail.sales/orders", 20_000,
                 _pairs(("order_id", 0, "id"), ("total_amount", 0, "total"), ("customer_id", 1, "customer_id"),
                        ("country_code", 1, "country_code"), ("item_count", 2, "sku"))),
    SimulatedJob("airflow-logistics", "shipments.load_shipments", 4,
                 (Read("postgres://tms-db:5432#tms.public.parcels", ("tracking", "cost")),
                  Read("retail.sales/orders", ("order_id", "country_code"))),
                 "logistics.shipments/shipments", 18_000,
                 _pairs(("tracking_number", 0, "tracking"), ("shipping_cost", 0, "cost"), ("order_id", 1, "order_id"),
                        ("destination_country", 1, "country_code"))),
    SimulatedJob("airflow-finance", "ledger.post_entries", 5,
                 (Read("retail.sales/orders", ("order_id", "order_date", "total_amount", "currency", "status")),),
                 "finance.ledger/ledger_entries", 36_000,
                 _pairs(("source_reference", 0, "order_id"), ("entry_date", 0, "order_date"),
                        ("debit_amount", 0, "total_amount"), ("currency", 0, "currency"))),
    SimulatedJob("airflow-finance", "revenue.daily_revenue", 6,
                 (Read("retail.sales/orders", ("order_date", "country_code", "currency", "total_amount", "status")),
                  Read("logistics.shipments/shipments", ("order_id", "shipping_cost")),
                  Read("finance.ledger/ledger_entries", ("debit_amount", "credit_amount"))),
                 "finance.revenue/daily_revenue", 40,
                 _pairs(("revenue_date", 0, "order_date"), ("country_code", 0, "country_code"),
                        ("gross_revenue", 0, "total_amount"), ("shipping_cost", 1, "shipping_cost"),
                        ("net_revenue", 2, "debit_amount"), ("net_revenue", 2, "credit_amount"))),
    SimulatedJob("airflow-customer", "customer360.build_summary", 6,
                 (Read("customer.profiles/customers",
                       ("customer_id", "first_name", "last_name", "email", "segment", "country_code")),
                  Read("retail.sales/orders", ("customer_id", "total_amount", "currency", "order_date", "status"))),
                 "customer.customer360/customer_summary", 5_000,
                 _pairs(("customer_id", 0, "customer_id"), ("full_name", 0, "first_name"),
                        ("full_name", 0, "last_name"), ("email", 0, "email"), ("segment", 0, "segment"),
                        ("country_code", 0, "country_code"),
                        ("total_spend", 1, "total_amount"), ("last_order_date", 1, "order_date"))),
    SimulatedJob("airflow-marketing", "campaigns.load_campaigns", 1,
                 (Read("postgres://marketing-db:5432#mkt.public.campaigns", ("id", "name")),),
                 "marketing.campaigns/campaigns", 30, _pairs(("campaign_id", 0, "id"), ("campaign_name", 0, "name"))),
    SimulatedJob("airflow-marketing", "responses.load_responses", 3,
                 (Read("kafka://events:9092#campaign-responses", ("campaign", "customer")),),
                 "marketing.campaign_responses/responses", 12_000,
                 _pairs(("campaign_id", 0, "campaign"), ("customer_id", 0, "customer"))),
    SimulatedJob("airflow-marketing", "performance.build_kpis", 7,
                 (Read("marketing.campaigns/campaigns", ("campaign_id", "channel")),
                  Read("marketing.campaign_responses/responses", ("campaign_id", "customer_id", "response_type")),
                  Read("customer.profiles/customers", ("customer_id", "segment"))),
                 "marketing.campaign_performance/campaign_kpis", 120,
                 _pairs(("campaign_id", 0, "campaign_id"), ("responses", 1, "response_type"),
                        ("segment", 2, "segment"))),
    SimulatedJob("airflow-marketing", "performance.enrich_with_orders", 8,
                 (Read("retail.sales/orders", ("customer_id", "total_amount", "currency")),),
                 "marketing.campaign_performance/campaign_kpis", 120,
                 _pairs(("spend", 0, "total_amount"), ("currency", 0, "currency")), unagreed=True),
)  # fmt: skip
"""The simulated schedule: one run per job and day; the last job is the flow without an agreement."""


@dataclass
class SimulationSummary:
    """What `simulate_week` sent."""

    events: int = 0
    runs: int = 0
    days: int = 0
    jobs: list[str] = field(default_factory=list)
    agreements: list[str] = field(default_factory=list)
    """Agreements requested and approved before the runs (``consumer → provider/port``)."""
    unagreed_flow: str | None = None
    first_event: datetime | None = None
    last_event: datetime | None = None

    def lines(self) -> list[str]:
        """A few lines for the demo."""
        out = [
            f"{self.events} events of {self.runs} runs of {len(self.jobs)} jobs over {self.days} days",
            f"{len(self.agreements)} usage agreements approved first: " + "; ".join(self.agreements),
        ]
        if self.unagreed_flow:
            out.append(f"without an agreement: {self.unagreed_flow}")
        return out


@dataclass(frozen=True)
class _Port:
    namespace: str
    name: str
    columns: tuple[tuple[str, str | None], ...]
    file_format: str


def _ports(mesh_dir: Path) -> dict[str, _Port]:
    """``product/port`` → where its data lives in the lake and its columns (from the contract)."""
    from meshplane.lineage.resolve import build_port_index
    from meshplane.mesh.repository import load_mesh

    repo = load_mesh(mesh_dir)
    contracts = {(c.contract.id, c.contract.version): c.contract for c in repo.contracts if c.contract is not None}
    out: dict[str, _Port] = {}
    for row in build_port_index(repo).rows:
        key = f"{row.product}/{row.port}"
        contract = contracts.get((row.contract_id, row.contract_version))
        if key in out or row.namespace != "file" or contract is None:
            continue
        obj = contract.object_named(row.object)
        columns = tuple(
            (p.physical_name or p.name or "", p.physical_type or p.logical_type) for p in (obj.properties or [])
        ) if obj is not None else ()  # fmt: skip
        server = contract.server_named(row.server)
        out[key] = _Port(row.namespace, row.name, columns, str(server.setting("format") or "parquet") if server else "")
    return out


def _dataset_name(port: _Port, day: datetime, written: bool) -> str:
    if not written:
        return port.name
    if port.file_format == "iceberg":
        return f"{port.name}/data/dt={day:%Y-%m-%d}/00000-0-{uuid.uuid5(RUN_NAMESPACE, port.name + str(day))}.parquet"
    if port.file_format == "csv":
        return f"{port.name}/{port.name.rsplit('/', 1)[-1]}_{day:%Y-%m-%d}.csv"
    return f"{port.name}/dt={day:%Y-%m-%d}/part-00000.{port.file_format or 'parquet'}"


def _events(job: SimulatedJob, ports: Mapping[str, _Port], day: datetime, rng: random.Random) -> list[Any]:
    """START, (RUNNING), COMPLETE of one run of `job` on `day`."""
    from openlineage.client import event_v2
    from openlineage.client.facet_v2 import (
        column_lineage_dataset,
        input_statistics_input_dataset,
        job_type_job,
        output_statistics_output_dataset,
        schema_dataset,
    )

    start = day.replace(hour=job.hour, minute=rng.randint(0, 20), second=0, microsecond=0)
    run = event_v2.Run(runId=str(uuid.uuid5(RUN_NAMESPACE, f"{job.namespace}/{job.name}/{day:%Y-%m-%d}")))
    job_type = job_type_job.JobTypeJobFacet(processingType="BATCH", integration="AIRFLOW", jobType="TASK")
    facets: dict[str, Any] = {"jobType": job_type}
    ol_job = event_v2.Job(namespace=job.namespace, name=job.name, facets=facets)
    rows = int(job.rows * rng.uniform(0.9, 1.1))
    sources: list[tuple[str, str]] = []
    for read in job.reads:
        if read.source in ports:
            port = ports[read.source]
            sources.append((port.namespace, _dataset_name(port, day, written=False)))
        else:
            namespace, _, name = read.source.partition("#")
            sources.append((namespace, name))

    def inputs(final: bool) -> list[Any]:
        out = []
        for namespace, name in sources:
            read_rows = int(rows * rng.uniform(0.8, 1.5))
            facets: dict[str, Any] = (
                {"inputStatistics": input_statistics_input_dataset.InputStatisticsInputDatasetFacet(
                    rowCount=read_rows, size=read_rows * 180)}
                if final else {}
            )  # fmt: skip
            out.append(event_v2.InputDataset(namespace=namespace, name=name, inputFacets=facets))
        return out

    target = ports[job.writes]
    fields = [schema_dataset.SchemaDatasetFacetFields(name=n, type=t) for n, t in target.columns]
    lineage = {
        column: column_lineage_dataset.Fields(
            inputFields=[
                column_lineage_dataset.InputField(namespace=sources[i][0], name=sources[i][1], field=c)
                for i, c in pairs
            ]
        )
        for column, pairs in job.lineage.items()
    }
    used = {(i, c) for pairs in job.lineage.values() for i, c in pairs}
    filters = [
        column_lineage_dataset.InputField(namespace=sources[i][0], name=sources[i][1], field=c)
        for i, read in enumerate(job.reads)
        for c in read.columns
        if (i, c) not in used
    ]

    def output(written: int | None, final: bool) -> Any:
        facets: dict[str, Any] = {}
        if final:
            facets["schema"] = schema_dataset.SchemaDatasetFacet(fields=fields)
            facets["columnLineage"] = column_lineage_dataset.ColumnLineageDatasetFacet(fields=lineage, dataset=filters)
        out_facets: dict[str, Any] = (
            {"outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                rowCount=written, size=written * 200, fileCount=1)}
            if written is not None else {}
        )  # fmt: skip
        name = _dataset_name(target, day, written=True)
        return event_v2.OutputDataset(namespace=target.namespace, name=name, facets=facets, outputFacets=out_facets)

    def event(kind: Any, minutes: int, ins: list[Any], written: int | None, final: bool) -> Any:
        moment = (start + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")
        return event_v2.RunEvent(eventType=kind, eventTime=moment, producer=PRODUCER, run=run, job=ol_job,
                                 inputs=ins, outputs=[output(written, final)])  # fmt: skip

    states = event_v2.RunState
    events = [event(states.START, 0, inputs(False), None, False)]
    if job.rows >= 10_000:  # long jobs report progress: these figures must not be added to the final ones
        events.append(event(states.RUNNING, 3, inputs(False), rows // 2, False))
    events.append(event(states.COMPLETE, 6 + rng.randint(0, 20), inputs(True), rows, True))
    return events


def _agreements(registry: Registry, mesh_dir: Path, ports: Mapping[str, _Port], at: datetime) -> list[str]:
    """Request and approve, as the lake's admin at `at`, an agreement for every declared cross-domain input port.

    They go through the service with the week's clock, not through the API at the server's clock:
    agreement coverage is judged at each read's time, so agreements approved after a simulated
    week would cover none of its reads.
    """
    from meshplane.access import AgreementState, Principal
    from meshplane.mesh.repository import load_mesh
    from meshplane.service.agreements import decide_agreement, request_agreement

    repo = load_mesh(mesh_dir)
    providers: dict[str, tuple[str, str, str]] = {}
    for entry in repo.products:
        product = entry.product
        for port in (product.output_ports or []) if product else []:
            if port.contract_id and f"{product.id}/{port.name}" in ports:  # type: ignore[union-attr]
                providers.setdefault(port.contract_id, (product.id, port.name, entry.domain))  # type: ignore[union-attr]
    admin = Principal.local_admin("simulation")
    created = []
    for entry in repo.products:
        consumer = entry.product
        for wanted in (consumer.input_ports or []) if consumer else []:
            provider = providers.get(wanted.contract_id)
            if consumer is None or provider is None or provider[2] == entry.domain:
                continue
            purpose = f"{consumer.name or consumer.id} reads {provider[0]}/{provider[1]} daily"
            try:
                agreement = request_agreement(
                    registry,
                    admin,
                    consumer=consumer.id,
                    provider=provider[0],
                    port=provider[1],
                    purpose=purpose,
                    now=at,
                )
                if agreement.state is not AgreementState.ACTIVE:
                    decide_agreement(registry, admin, agreement.id, approve=True, reason="simulated week", now=at)
            except Conflict:  # an open agreement exists already
                pass
            created.append(f"{consumer.id} → {provider[0]}/{provider[1]}")
    return created


def simulate_week(
    mesh_dir: Path,
    server_url: str,
    token: str,
    *,
    now: datetime,
    include_unagreed_flow: bool = True,
    registry: Registry | None = None,
    seed: int = 7,
    days: int = 7,
) -> SimulationSummary:
    """Send `days` days of job runs of the example mesh at `mesh_dir` to the server at `server_url`.

    The server must serve a registry the mesh was applied to (its port index locates the lake).
    `token` is sent as the OpenLineage API key (any writer's token). Given the `registry` the server
    serves, the declared cross-domain input ports get usage agreements approved an hour before the
    week's first run.
    Raises `MeshplaneError` when the client is not installed or the server refuses an event.
    """
    try:
        from openlineage.client import OpenLineageClient
        from openlineage.client.transport.http import ApiKeyTokenProvider, HttpCompression, HttpConfig, HttpTransport
    except ImportError as exc:
        raise MeshplaneError("the simulation needs the OpenLineage client: pip install openlineage-python") from exc
    ports = _ports(mesh_dir)
    missing = sorted({j.writes for j in JOBS} - set(ports))
    if missing:
        raise MeshplaneError(f"{mesh_dir} is not the example mesh: no lake location for {', '.join(missing)}")
    summary = SimulationSummary(days=days)
    first_day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days)
    if registry is not None:
        summary.agreements = _agreements(registry, mesh_dir, ports, first_day - timedelta(hours=1))
    config = HttpConfig(
        url=server_url.rstrip("/") + "/",
        auth=ApiKeyTokenProvider({"apiKey": token}),
        compression=HttpCompression.GZIP,
        timeout=30.0,
    )
    client = OpenLineageClient(transport=HttpTransport(config))
    rng = random.Random(seed)
    jobs = [j for j in JOBS if include_unagreed_flow or not j.unagreed]
    try:
        for offset in range(days):
            day = first_day + timedelta(days=offset)
            for job in jobs:
                for event in _events(job, ports, day, rng):
                    try:
                        client.emit(event)
                    except Exception as exc:  # the client raises requests' errors
                        raise MeshplaneError(f"the server refused an event of {job.name}: {exc}") from exc
                    summary.events += 1
                    moment = datetime.fromisoformat(event.eventTime.replace("Z", "+00:00"))
                    summary.first_event = min(filter(None, (summary.first_event, moment)))
                    summary.last_event = max(filter(None, (summary.last_event, moment)))
                summary.runs += 1
    finally:
        client.close()
    summary.jobs = [f"{j.namespace}/{j.name}" for j in jobs]
    unagreed = next((j for j in jobs if j.unagreed), None)
    if unagreed is not None:
        reads = ", ".join(r.source for r in unagreed.reads)
        summary.unagreed_flow = f"{unagreed.writes.split('/')[0]} ({unagreed.namespace}/{unagreed.name}) reads {reads}"
    return summary


__all__ = ["JOBS", "PRODUCER", "Read", "SimulatedJob", "SimulationSummary", "simulate_week"]

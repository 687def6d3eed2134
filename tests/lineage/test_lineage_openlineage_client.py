"""Events built with the real openlineage-python classes and serialised by its Serde parse correctly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from lineage_support import EXAMPLE_MESH

pytest.importorskip("openlineage.client")

from openlineage.client import event_v2
from openlineage.client.facet_v2 import (
    column_lineage_dataset,
    datasource_dataset,
    input_statistics_input_dataset,
    job_type_job,
    lifecycle_state_change_dataset,
    output_statistics_output_dataset,
    ownership_dataset,
    ownership_job,
    parent_run,
    schema_dataset,
    symlinks_dataset,
)
from openlineage.client.serde import Serde
from openlineage.client.uuid import generate_new_uuid

from meshplane.lineage import (
    AttributionRule,
    DatasetIdentity,
    EventKind,
    EventType,
    attribute_job,
    build_port_index,
    parse_event,
)
from meshplane.mesh import load_mesh

PRODUCER = "https://example.org/meshplane-tests"
LAKE = EXAMPLE_MESH.resolve() / "lake"
RUN_ID = str(generate_new_uuid())
PARENT_RUN_ID = str(generate_new_uuid())


def _client_event() -> event_v2.RunEvent:
    source = event_v2.InputDataset(
        namespace="postgresql://Shop-DB:5432",
        name="shop.public.orders",
        facets={
            "schema": schema_dataset.SchemaDatasetFacet(
                fields=[
                    schema_dataset.SchemaDatasetFacetFields(name="order_id", type="VARCHAR"),
                    schema_dataset.SchemaDatasetFacetFields(
                        name="customer",
                        type="STRUCT",
                        fields=[schema_dataset.SchemaDatasetFacetFields(name="id", type="BIGINT")],
                    ),
                ]
            ),
            "ownership": ownership_dataset.OwnershipDatasetFacet(owners=[ownership_dataset.Owner(name="team:retail")]),
        },
        inputFacets={
            "inputStatistics": input_statistics_input_dataset.InputStatisticsInputDatasetFacet(rowCount=500, size=4096)
        },
    )
    target = event_v2.OutputDataset(
        namespace="file",
        name=str(LAKE / "retail/sales/orders/dt=2024-02-01/part-00000.parquet"),
        facets={
            "columnLineage": column_lineage_dataset.ColumnLineageDatasetFacet(
                fields={
                    "order_id": column_lineage_dataset.Fields(
                        inputFields=[
                            column_lineage_dataset.InputField(
                                namespace="postgresql://Shop-DB:5432",
                                name="shop.public.orders",
                                field="order_id",
                                transformations=[
                                    column_lineage_dataset.Transformation(type="DIRECT", subtype="IDENTITY")
                                ],
                            )
                        ]
                    ),
                    "customer_id": column_lineage_dataset.Fields(
                        inputFields=[
                            column_lineage_dataset.InputField(
                                namespace="postgresql://Shop-DB:5432", name="shop.public.orders", field="customer.id"
                            )
                        ]
                    ),
                },
                dataset=[
                    column_lineage_dataset.InputField(
                        namespace="postgresql://Shop-DB:5432",
                        name="shop.public.orders",
                        field="status",
                        transformations=[column_lineage_dataset.Transformation(type="INDIRECT", subtype="FILTER")],
                    )
                ],
            ),
            "dataSource": datasource_dataset.DatasourceDatasetFacet(name="lake", uri="file:///lake"),
            "symlinks": symlinks_dataset.SymlinksDatasetFacet(
                identifiers=[
                    symlinks_dataset.Identifier(namespace="hive://metastore:9083", name="retail.orders", type="TABLE")
                ]
            ),
            "lifecycleStateChange": lifecycle_state_change_dataset.LifecycleStateChangeDatasetFacet(
                lifecycleStateChange=lifecycle_state_change_dataset.LifecycleStateChange.OVERWRITE
            ),
        },
        outputFacets={
            "outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                rowCount=480, size=65536, fileCount=3
            )
        },
    )
    return event_v2.RunEvent(
        eventType=event_v2.RunState.COMPLETE,
        eventTime=datetime(2024, 2, 1, 10, 0, tzinfo=UTC).isoformat(),
        producer=PRODUCER,
        run=event_v2.Run(
            runId=RUN_ID,
            facets={
                "parent": parent_run.ParentRunFacet(
                    run=parent_run.Run(runId=PARENT_RUN_ID),
                    job=parent_run.Job(namespace="airflow-retail", name="orders_dag"),
                )
            },
        ),
        job=event_v2.Job(
            namespace="spark-shared",
            name="orders_dag.load_orders",
            facets={
                "ownership": ownership_job.OwnershipJobFacet(
                    owners=[ownership_job.Owner(name="team:Retail Data Team")]
                ),
                "jobType": job_type_job.JobTypeJobFacet(processingType="BATCH", integration="SPARK", jobType="JOB"),
            },
        ),
        inputs=[source],
        outputs=[target],
    )


def test_a_client_run_event_parses_strictly() -> None:
    document = Serde.to_dict(_client_event())
    event = parse_event(document)
    assert event.kind is EventKind.RUN and event.event_type is EventType.COMPLETE
    assert event.spec_version is not None and event.spec_major == 2
    assert event.event_time == datetime(2024, 2, 1, 10, 0, tzinfo=UTC)
    assert event.run_id == RUN_ID and event.parent is not None and event.parent.run_id == PARENT_RUN_ID
    assert (event.job_namespace, event.job_name) == ("spark-shared", "orders_dag.load_orders")
    assert [o.name for o in event.job_ownership] == ["team:Retail Data Team"]
    assert event.job_type is not None and (event.job_type.processing_type, event.job_type.integration) == (
        "BATCH",
        "SPARK",
    )
    assert not event.warnings

    (source,) = event.inputs
    assert source.identity == DatasetIdentity("postgres://shop-db", "shop.public.orders")
    assert source.statistics is not None and (source.statistics.row_count, source.statistics.bytes) == (500, 4096)
    assert source.schema is not None
    assert [p for f in source.schema for p, _ in f.walk()] == ["order_id", "customer", "customer.id"]
    assert [o.name for o in source.ownership] == ["team:retail"]

    (target,) = event.outputs
    assert target.identity == DatasetIdentity("file", str(LAKE / "retail/sales/orders"))
    stats = target.statistics
    assert stats is not None and (stats.row_count, stats.bytes, stats.file_count) == (480, 65536, 3)
    lineage = target.column_lineage
    assert lineage is not None
    (order_id,) = lineage.inputs_of("order_id")
    assert (order_id.identity, order_id.field) == (
        DatasetIdentity("postgres://shop-db", "shop.public.orders"),
        "order_id",
    )
    assert [(t.type, t.subtype) for t in order_id.transformations] == [("DIRECT", "IDENTITY")]
    assert [f.field for f in lineage.inputs_of("customer_id")] == ["customer.id"]
    assert [(f.field, f.transformations[0].subtype) for f in lineage.dataset] == [("status", "FILTER")]
    assert target.data_source is not None and target.data_source.uri == "file:///lake"
    assert target.identities[1] == DatasetIdentity("hive://metastore:9083", "retail.orders")
    assert target.lifecycle is not None and target.lifecycle.state == "OVERWRITE"


def test_json_from_the_client_gives_the_same_event() -> None:
    client_event = _client_event()
    from_dict = parse_event(Serde.to_dict(client_event))
    from_json = parse_event(Serde.to_json(client_event).encode("utf-8"))
    assert from_json == from_dict and from_json.fingerprint == from_dict.fingerprint


def test_client_dataset_and_job_events() -> None:
    dataset_event = event_v2.DatasetEvent(
        eventTime="2024-02-01T10:00:00+01:00",
        producer=PRODUCER,
        dataset=event_v2.StaticDataset(
            namespace="s3a://retail-raw",
            name="/sales/orders/",
            facets={
                "schema": schema_dataset.SchemaDatasetFacet(fields=[schema_dataset.SchemaDatasetFacetFields(name="a")])
            },
        ),
    )
    parsed = parse_event(Serde.to_dict(dataset_event))
    assert parsed.kind is EventKind.DATASET and parsed.dataset is not None
    assert parsed.dataset.identity == DatasetIdentity("s3://retail-raw", "sales/orders")
    assert parsed.event_time == datetime(2024, 2, 1, 9, 0, tzinfo=UTC)

    job_event = event_v2.JobEvent(
        eventTime="2024-02-01T10:00:00Z",
        producer=PRODUCER,
        job=event_v2.Job(namespace="airflow-retail", name="orders_dag"),
        inputs=[event_v2.InputDataset(namespace="file", name="/lake/a")],
        outputs=[event_v2.OutputDataset(namespace="file", name="/lake/b")],
    )
    parsed_job = parse_event(Serde.to_dict(job_event))
    assert parsed_job.kind is EventKind.JOB and parsed_job.run_id is None
    assert [d.name for d in parsed_job.datasets] == ["/lake/a", "/lake/b"]


def test_client_event_resolves_and_is_attributed_against_the_example_mesh() -> None:
    mesh = load_mesh(EXAMPLE_MESH)
    index = build_port_index(mesh)
    event = parse_event(Serde.to_dict(_client_event()))
    match = index.resolve_dataset(event.outputs[0])
    assert match is not None and (match.product, match.port, match.contract_version) == (
        "retail.sales",
        "orders",
        "1.2.0",
    )
    attribution = attribute_job(event, mesh.config.lineage.job_namespaces if mesh.config else {}, index=index)
    assert attribution is not None  # "spark-shared" is not mapped: the parent's job namespace decides
    assert (attribution.domain, attribution.rule) == ("retail", AttributionRule.PARENT_RUN)

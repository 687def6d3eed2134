"""An unmodified openlineage-python client sends to a meshplane server on 127.0.0.1 (uvicorn in a thread).

Configured only by environment variables, as a user would: ``OPENLINEAGE_URL`` and
``OPENLINEAGE_API_KEY`` (HTTP transport, Bearer token); and gzip with the client's own transport
settings (``OPENLINEAGE__TRANSPORT__COMPRESSION=gzip``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_receiver_support import PRODUCER, LiveServer, World, build_world, copy_world, counts

from meshplane.api import create_app
from meshplane.service import movements
from meshplane.settings import Settings

pytest.importorskip("openlineage.client")

from openlineage.client import OpenLineageClient, event_v2
from openlineage.client.facet_v2 import (
    column_lineage_dataset,
    input_statistics_input_dataset,
    output_statistics_output_dataset,
    schema_dataset,
)
from openlineage.client.transport.http import HttpCompression, HttpTransport
from openlineage.client.uuid import generate_new_uuid


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> World:
    folder = tmp_path_factory.mktemp("client")
    return build_world(folder, f"sqlite:///{folder / 'template.db'}")


@pytest.fixture
def world(template: World, tmp_path: Path) -> World:
    return copy_world(template, tmp_path)


class WireLog:
    """ASGI wrapper noting each request's path and Content-Encoding as it arrives (before the guard)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[tuple[str, str]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            self.seen.append((scope["path"], headers.get(b"content-encoding", b"").decode()))
        await self.app(scope, receive, send)


@pytest.fixture
def server(world: World) -> Iterator[tuple[LiveServer, WireLog]]:
    with world.registry() as registry:
        wire = WireLog(create_app(registry, settings=Settings()))
        with LiveServer(wire) as live:
            yield live, wire


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No OpenLineage settings but the ones a test sets (no config file in the working folder or home)."""
    import os

    for name in list(os.environ):
        if name.startswith("OPENLINEAGE"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    return monkeypatch


def _events(world: World) -> list[event_v2.RunEvent]:
    run = event_v2.Run(runId=str(generate_new_uuid()))
    job = event_v2.Job(namespace="airflow-finance", name="ledger.post_entries")
    orders = world.path("retail.sales/orders")
    source = event_v2.InputDataset(
        namespace="file",
        name=orders,
        inputFacets={
            "inputStatistics": input_statistics_input_dataset.InputStatisticsInputDatasetFacet(rowCount=900, size=9000)
        },
    )
    target = event_v2.OutputDataset(
        namespace="file",
        name=world.path("finance.ledger/ledger_entries", "data", "dt=2026-11-20", "00000-0-a.parquet"),
        facets={
            "schema": schema_dataset.SchemaDatasetFacet(
                fields=[schema_dataset.SchemaDatasetFacetFields(name="source_reference", type="VARCHAR")]
            ),
            "columnLineage": column_lineage_dataset.ColumnLineageDatasetFacet(
                fields={
                    "source_reference": column_lineage_dataset.Fields(
                        inputFields=[column_lineage_dataset.InputField(namespace="file", name=orders, field="order_id")]
                    )
                }
            ),
        },
        outputFacets={
            "outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(rowCount=1800)
        },
    )
    start = event_v2.RunEvent(
        eventType=event_v2.RunState.START, eventTime="2026-11-20T05:00:00Z", producer=PRODUCER, run=run, job=job,
        inputs=[event_v2.InputDataset(namespace="file", name=orders)],
    )  # fmt: skip
    complete = event_v2.RunEvent(
        eventType=event_v2.RunState.COMPLETE, eventTime="2026-11-20T05:04:00Z", producer=PRODUCER, run=run, job=job,
        inputs=[source], outputs=[target],
    )  # fmt: skip
    return [start, complete]


def test_the_client_works_with_only_url_and_api_key_set(
    world: World, server: tuple[LiveServer, WireLog], clean_environment: pytest.MonkeyPatch
) -> None:
    live, wire = server
    clean_environment.setenv("OPENLINEAGE_URL", live.url)
    clean_environment.setenv("OPENLINEAGE_API_KEY", world.tokens["maintainer:finance"])
    client = OpenLineageClient()
    assert isinstance(client.transport, HttpTransport)
    for event in _events(world):
        client.emit(event)
    client.close()
    assert [path for path, _ in wire.seen] == ["/api/v1/lineage", "/api/v1/lineage"]
    assert counts(world)["events"] == 2 and counts(world)["runs"] == 1
    with world.registry() as registry:
        (flow,) = movements.movements(registry).flows
    assert (flow.from_product, flow.to_product, flow.port) == ("retail.sales", "finance.ledger", "orders")
    assert (flow.rows, flow.declared) == (900, True)


def test_gzip_compression_of_the_client_is_received(
    world: World, server: tuple[LiveServer, WireLog], clean_environment: pytest.MonkeyPatch
) -> None:
    live, wire = server
    clean_environment.setenv("OPENLINEAGE__TRANSPORT__TYPE", "http")
    clean_environment.setenv("OPENLINEAGE__TRANSPORT__URL", live.url)
    clean_environment.setenv("OPENLINEAGE__TRANSPORT__COMPRESSION", "gzip")
    auth = {"type": "api_key", "apiKey": world.tokens["maintainer:finance"]}
    clean_environment.setenv("OPENLINEAGE__TRANSPORT__AUTH", json.dumps(auth))
    client = OpenLineageClient()
    assert client.transport.compression is HttpCompression.GZIP  # type: ignore[attr-defined]
    for event in _events(world):
        client.emit(event)
    client.close()
    assert wire.seen == [("/api/v1/lineage", "gzip"), ("/api/v1/lineage", "gzip")]
    assert counts(world)["events"] == 2


def test_a_wrong_key_is_refused_and_the_client_says_so(
    world: World, server: tuple[LiveServer, WireLog], clean_environment: pytest.MonkeyPatch
) -> None:
    live, _ = server
    clean_environment.setenv("OPENLINEAGE_URL", live.url)
    clean_environment.setenv("OPENLINEAGE_API_KEY", "mp_abcdefgh_" + "x" * 43)
    client = OpenLineageClient()
    with pytest.raises(Exception, match="401"):
        client.emit(_events(world)[0])
    client.close()
    assert counts(world)["events"] == 0


def test_a_resent_event_is_stored_once(
    world: World, server: tuple[LiveServer, WireLog], clean_environment: pytest.MonkeyPatch
) -> None:
    live, _ = server
    clean_environment.setenv("OPENLINEAGE_URL", live.url)
    clean_environment.setenv("OPENLINEAGE_API_KEY", world.tokens["admin"])
    client = OpenLineageClient()
    events = _events(world)
    for event in [*events, *events, events[1]]:
        client.emit(event)
    client.close()
    assert counts(world)["events"] == 2
    with world.registry() as registry:
        (flow,) = movements.movements(registry).flows
    assert flow.rows == 900 and len(flow.runs) == 1

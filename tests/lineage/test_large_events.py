"""Large events are read and derived without the quadratic step (issue 19: 20,000 symlinks took 53 s).

Speed itself is the benchmark's (`benchmarks/lineage.py --symlinks`, target 1 s for 20,000). These
tests only guard against the quadratic step coming back, with bounds far above the linear time and
far below the quadratic one (a loaded CI machine runs them beside other tests): 40,000 symlinks
derived in at most 15 s (quadratic: minutes), 40,000 identities read and resolved in at most 5 s.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_receiver_support import OPERATOR, World, build_world, copy_world, counts, ds, new_run_id, run_event

from meshplane.lineage import parse_event
from meshplane.lineage.resolve import PortIndex
from meshplane.registry import lineage as store
from meshplane.service import lineage as service

ORDERS = "retail.sales/orders"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> World:
    folder = tmp_path_factory.mktemp("large")
    return build_world(folder, f"sqlite:///{folder / 'template.db'}")


def symlinked_event(world: World, links: int) -> str:
    """A run reading one Hive table with `links` file symlinks, the last of them the retail orders port."""
    symlinks = [("file", f"/elsewhere/t/part-{i}") for i in range(links - 1)]
    symlinks.append(("file", world.path(ORDERS, "dt=2026-11-20")))
    event = run_event(
        "airflow-finance/ledger.post_entries",
        run_id=new_run_id(),
        event_type="COMPLETE",
        at="2026-11-20T05:00:00Z",
        inputs=[ds("hive://metastore:9083", "sales.orders", rows=5, symlinks=symlinks)],
    )
    return json.dumps(event)


def derive_seconds(world: World, body: str) -> float:
    with world.registry() as registry:
        outcome = service.receive_event(registry, body, OPERATOR)
        assert outcome.status is service.IngestStatus.STORED, outcome
        started = time.perf_counter()
        service.derive_pending(registry)
        return time.perf_counter() - started


def test_an_event_with_20000_symlinks_derives_in_linear_time(template: World, tmp_path: Path) -> None:
    world = copy_world(template, tmp_path)
    small = derive_seconds(world, symlinked_event(world, 20_000))
    large = derive_seconds(world, symlinked_event(world, 40_000))
    assert large <= 15.0, f"40,000 symlinks took {large:.1f} s to derive (20,000: {small:.1f} s)"
    assert counts(world)["datasets"] == 2
    with world.registry() as registry, registry.read() as session:
        products = session.execute(sa.select(store.RunDataset.product)).scalars().all()
    assert products == ["retail.sales", "retail.sales"]  # resolved through the last symlink


def test_identities_and_resolution_are_linear_in_symlinks() -> None:
    def seconds(links: int) -> float:
        raw = {
            "eventType": "COMPLETE",
            "eventTime": "2026-11-20T05:00:00Z",
            "producer": "https://example.com/p",
            "run": {"runId": new_run_id()},
            "job": {"namespace": "j", "name": "j"},
            "inputs": [
                ds("hive://metastore:9083", "t", symlinks=[("hive://metastore:9083", f"db.t{i}") for i in range(links)])
            ],
        }
        started = time.perf_counter()
        dataset = parse_event(raw).inputs[0]
        assert len(dataset.identities) == links + 1
        assert PortIndex([]).resolve_dataset(dataset) is None
        return time.perf_counter() - started

    assert seconds(40_000) <= 5.0

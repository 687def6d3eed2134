"""Impact: consumers downstream of a contract, verdicts per changed column, from the registry."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from meshplane.diagnostics import MeshplaneError
from meshplane.registry import Registry
from meshplane.registry.graph import ConsumerGraph, DownstreamConsumer
from meshplane.service.gitops import apply_mesh
from meshplane.service.impact import (
    ChangedColumn,
    ColumnUsage,
    UsageVerdict,
    analyse_impact,
    impact_of,
    no_column_lineage,
    parse_contract_ref,
)
from meshplane.settings import get_settings

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "holding"
BREAKING = REPO / "examples" / "changes" / "customer.profiles.customers-1.1.0.odcs.yaml"
NON_BREAKING = REPO / "examples" / "changes" / "retail.sales.orders-1.3.0.odcs.yaml"


class FakeChange:
    def __init__(self, obj: str | None, prop: str | None, rule: str = "property-removed") -> None:
        self.rule, self.message, self.object, self.property = rule, f"{obj}.{prop} changed", obj, prop

    def to_dict(self) -> dict[str, object]:
        return {"rule": self.rule, "object": self.object, "property": self.property}


GRAPH = ConsumerGraph.build(
    [("src", "a", "A"), ("reads", "b", "B"), ("ignores", "c", "C"), ("below", "d", None)],
    [("src", "src.t", 1), ("ignores", "ignores.t", 1), ("reads", "reads.t", 1)],
    [("reads", "i", "src.t", 1), ("ignores", "i", "src.t", 1), ("below", "i", "ignores.t", 1)],
)


def lineage_says_ignores_does_not_read(consumer: DownstreamConsumer, column: ChangedColumn) -> UsageVerdict:
    if consumer.product == "ignores":
        return UsageVerdict(ColumnUsage.NOT_USING, f"does not read {column.label}")
    return UsageVerdict(ColumnUsage.AFFECTED, f"reads {column.label}")


def test_default_resolver_marks_everyone_affected() -> None:
    report = analyse_impact(GRAPH, "src.t", 1, changes=[FakeChange("t", "x")])
    assert {c.consumer.product: c.usage for c in report.consumers} == {
        "reads": ColumnUsage.AFFECTED,
        "ignores": ColumnUsage.AFFECTED,
        "below": ColumnUsage.AFFECTED,
    }
    assert (
        report.consumers[0].reason == no_column_lineage(report.consumers[0].consumer, report.columns[0].column).reason
    )


def test_a_pluggable_resolver_narrows_the_impact_and_transitive_consumers_follow() -> None:
    report = analyse_impact(
        GRAPH,
        "src.t",
        1,
        changes=[FakeChange("t", "x"), FakeChange("t", "y")],
        resolver=lineage_says_ignores_does_not_read,
    )
    usage = {c.consumer.product: c.usage for c in report.consumers}
    assert usage == {"reads": ColumnUsage.AFFECTED, "ignores": ColumnUsage.NOT_USING, "below": ColumnUsage.NOT_USING}
    assert [c.consumer.product for c in report.affected] == ["reads"]
    assert [c.column.label for c in report.columns] == ["t.x", "t.y"]
    assert {p: v.usage for p, v in report.columns[0].verdicts} == {
        "reads": ColumnUsage.AFFECTED,
        "ignores": ColumnUsage.NOT_USING,
    }
    assert report.summary() == {"consumers": 3, "affected": 1, "domains": 3, "maxDepth": 2}


def test_no_breaking_change_hits_nobody() -> None:
    report = analyse_impact(GRAPH, "src.t", 1, changes=[])
    assert report.consumers and report.affected == []


def test_changes_are_grouped_per_column() -> None:
    report = analyse_impact(
        GRAPH, "src.t", 1, changes=[FakeChange("t", "x", "a"), FakeChange("t", "x", "b"), FakeChange(None, None, "sla")]
    )
    assert [(c.column.label, c.column.rules) for c in report.columns] == [("t.x", ("a", "b")), ("(contract)", ("sla",))]


@pytest.mark.parametrize(("ref", "parsed"), [("a.b", ("a.b", None)), ("a.b@1.2.0", ("a.b", "1.2.0"))])
def test_parse_contract_ref(ref: str, parsed: tuple[str, str | None]) -> None:
    assert parse_contract_ref(ref) == parsed


@pytest.mark.parametrize("bad", ["", "@1.0.0", "a.b@"])
def test_bad_contract_refs(bad: str) -> None:
    with pytest.raises(MeshplaneError):
        parse_contract_ref(bad)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def applied(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Registry]:
    """A registry holding the example mesh."""
    monkeypatch.delenv("MESHPLANE_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    url = f"sqlite:///{tmp_path / 'r.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    mesh = shutil.copytree(EXAMPLE, tmp_path / "holding", ignore=shutil.ignore_patterns("lake", ".meshplane"))
    with Registry(url) as reg:
        apply_mesh(Path(mesh), registry=reg)
        yield reg
    get_settings.cache_clear()


def test_impact_from_the_registry(applied: Registry) -> None:
    report = impact_of(applied, "customer.profiles.customers")
    assert (report.version, report.major, report.provider) == ("1.0.0", 1, "customer.profiles")
    products = {c.consumer.product: c.consumer for c in report.consumers}
    assert {"marketing.campaign_performance", "customer.customer360", "retail.sales"} <= set(products)
    assert len({c.domain for c in products.values()}) >= 3
    deeper = [c for c in products.values() if c.depth > 1]
    assert deeper and all(c.path[0] == "customer.profiles" and len(c.path) == c.depth + 1 for c in deeper)
    data = report.to_dict()
    assert set(data) == {"contract", "provider", "summary", "consumers", "columns"}


def test_impact_against_a_new_file(applied: Registry) -> None:
    report = impact_of(applied, "customer.profiles.customers@1.0.0", against=BREAKING)
    assert report.diff is not None and report.diff.breaking_changes()
    assert any(c.column.property_name == "segment" for c in report.columns)
    data = report.to_dict()
    assert data["breakingChanges"] and data["diff"]["requiredBump"] == "major"
    calm = impact_of(applied, "retail.sales.orders", against=NON_BREAKING)
    assert calm.consumers and calm.affected == []


@pytest.mark.parametrize(
    ("ref", "against", "message"),
    [
        ("nope.nope", None, "not registered"),
        ("customer.profiles.customers@9.9.9", None, "no registered version 9.9.9"),
        ("retail.sales.orders", BREAKING, "not 'retail.sales.orders'"),
    ],
)
def test_impact_errors(applied: Registry, ref: str, against: Path | None, message: str) -> None:
    with pytest.raises(MeshplaneError, match=message):
        impact_of(applied, ref, against=against)


def test_impact_against_an_invalid_file(applied: Registry, tmp_path: Path) -> None:
    bad = tmp_path / "bad.odcs.yaml"
    bad.write_text("kind: DataContract\n", encoding="utf-8")
    with pytest.raises(MeshplaneError, match="not a valid contract") as info:
        impact_of(applied, "retail.sales.orders", against=bad)
    assert info.value.diagnostics

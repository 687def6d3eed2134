"""The consumer graph: transitive, across domains, matched on the major version, cycle-safe."""

from __future__ import annotations

from meshplane.registry.graph import ConsumerGraph

PRODUCTS = [("a.src", "a", "A team"), ("b.mid", "b", "B team"), ("c.leaf", "c", None), ("a.other", "a", "A team")]
OUTPUTS = [("a.src", "a.src.t", 1), ("a.src", "a.src.t", 2), ("b.mid", "b.mid.t", 1), ("a.other", "a.other.t", 1)]
INPUTS = [
    ("b.mid", "src", "a.src.t", 1),
    ("c.leaf", "mid", "b.mid.t", 1),
    ("a.other", "src_v2", "a.src.t", 2),  # on major 2: not a consumer of major 1
    ("a.src", "back", "c.leaf.t", 1),  # unrelated contract: no edge
]


def test_downstream_is_transitive_with_depth_and_path() -> None:
    graph = ConsumerGraph.build(PRODUCTS, OUTPUTS, INPUTS)
    found = graph.downstream("a.src.t", 1)
    assert [(c.product, c.depth, c.path, c.domain, c.team) for c in found] == [
        ("b.mid", 1, ("a.src", "b.mid"), "b", "B team"),
        ("c.leaf", 2, ("a.src", "b.mid", "c.leaf"), "c", None),
    ]
    assert found[1].contract_id == "b.mid.t" and found[1].input_port == "mid"


def test_major_versions_are_separate() -> None:
    graph = ConsumerGraph.build(PRODUCTS, OUTPUTS, INPUTS)
    assert [c.product for c in graph.downstream("a.src.t", 2)] == ["a.other"]


def test_cycles_terminate_and_each_product_appears_once() -> None:
    products = [("x", "d", None), ("y", "d", None), ("z", "d", None)]
    outputs = [("x", "x.t", 1), ("y", "y.t", 1), ("z", "z.t", 1)]
    inputs = [("y", "i", "x.t", 1), ("z", "i", "y.t", 1), ("x", "i", "z.t", 1), ("z", "j", "x.t", 1)]
    graph = ConsumerGraph.build(products, outputs, inputs)
    found = graph.downstream("x.t", 1)
    assert [(c.product, c.depth) for c in found] == [("y", 1), ("z", 1)]


def test_unknown_contract_has_no_consumers() -> None:
    assert ConsumerGraph.build(PRODUCTS, OUTPUTS, INPUTS).downstream("nope", 1) == []


def test_edge_count() -> None:
    assert ConsumerGraph.build(PRODUCTS, OUTPUTS, INPUTS).edge_count == 3

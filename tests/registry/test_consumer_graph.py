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


def test_cached_graph_follows_applies(tmp_path, registry) -> None:  # type: ignore[no-untyped-def]
    import yaml
    from synthetic_mesh import write_synthetic_mesh

    from meshplane.registry.graph import cached_graph
    from meshplane.service.gitops import apply_mesh

    mesh = write_synthetic_mesh(tmp_path / "m", domains=2, products=4, edges=0)
    apply_mesh(mesh.root, registry=registry)
    with registry.read() as session:
        assert cached_graph(session, registry.cache).downstream(mesh.contracts[0], 1) == []
        assert cached_graph(session, registry.cache) is cached_graph(session, registry.cache)
    descriptor = mesh.root / "domains" / "d001" / "products" / "p00003" / "product.odps.yaml"
    data = yaml.safe_load(descriptor.read_text(encoding="utf-8"))
    data["inputPorts"] = [{"name": "new", "version": "1.0.0", "contractId": mesh.contracts[0]}]
    descriptor.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    apply_mesh(mesh.root, registry=registry)
    with registry.read() as session:
        assert [c.product for c in cached_graph(session, registry.cache).downstream(mesh.contracts[0], 1)] == [
            "d001.p00003"
        ]

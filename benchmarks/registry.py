"""Registry benchmark: plan+apply of a large mesh, and transitive impact on a large consumer graph.

    .venv/bin/python benchmarks/registry.py                      # SQLite, the issue's sizes
    .venv/bin/python benchmarks/registry.py --postgres URL       # the same on PostgreSQL too
    .venv/bin/python benchmarks/registry.py --quick              # small sizes (a smoke run)

Part 1 writes a synthetic mesh of --contracts contracts to disk and times, separately, loading and
linting its files, `plan` on an empty registry, `apply` (which plans again under the write lock),
and the second `plan` (no changes). Reference in the same run: a bare bulk INSERT of the same
rows (domains, products, descriptors, ports, contracts, versions) into an empty registry, with no
planning; the ratio apply / bulk insert says what the plan and bookkeeping cost.

Part 2 registers a mesh of --products products with --edges input ports (built in memory, no
files) and times `impact` of random contracts, end to end from the registry (graph query + BFS);
p50/p95 over --runs calls. Reference: a plain breadth-first search over an in-memory adjacency
list of the same edges; the ratio says what loading the graph from the database costs.

Part 3 (issue 14) runs part 1 again on the same mesh where --second-majors of its contracts also
publish a 2.0.0 beside their 1.0.0, each on its own output port (`outN_v2`): one more contract
file and one more port per such contract. Reference: part 1's single-version figure, same run.

Targets (issue 5): plan+apply of 1,000 contracts <= 10 s on SQLite; impact p95 <= 50 ms.
Target (issue 14): plan+apply with 300 of 1,000 contracts carrying two majors <= 1.2x single-version.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from meshplane.mesh import load_mesh
from meshplane.registry import Registry
from meshplane.registry import models as m
from meshplane.registry.changes import compare_states
from meshplane.registry.graph import ConsumerGraph
from meshplane.registry.state import MeshState, RegistryState
from meshplane.registry.writer import write_changes
from meshplane.service.gitops import (
    apply_mesh,
    contract_spec,
    desired_state,
    domain_spec,
    lint_gate,
    plan_mesh,
    product_spec,
)
from meshplane.service.impact import impact_of
from meshplane.spec.meshfiles import Domain
from meshplane.spec.odcs import Contract
from meshplane.spec.odps import DataProduct

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "registry"))  # test support
from synthetic_mesh import SyntheticMesh, contract_document, generate_synthetic_mesh, write_synthetic_mesh


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def fresh_sqlite(folder: Path, name: str) -> str:
    return f"sqlite:///{folder / name}"


def fresh_postgres(server_url: str, name: str) -> str:
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{server_url.rsplit('/', 1)[0]}/{name}"


def bulk_insert_reference(url: str, desired: MeshState) -> float:
    """Insert the rows an apply writes, straight, in one transaction (no plan, no teams)."""
    now = m.utcnow()
    with Registry(url) as registry:
        start = time.perf_counter()
        with registry.transaction(immediate=True) as session:
            session.execute(
                sa.insert(m.Domain),
                [
                    {
                        "id": d.id,
                        "name": d.name,
                        "tags": [],
                        "document": dict(d.document),
                        "sha256": d.sha256,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for d in desired.domains.values()
                ],
            )
            session.execute(
                sa.insert(m.Product),
                [
                    {
                        "id": p.id,
                        "domain_id": p.domain,
                        "name": p.name,
                        "status": p.status,
                        "tags": [],
                        "sha256": p.sha256,
                        "revision": 1,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for p in desired.products.values()
                ],
            )
            session.execute(
                sa.insert(m.ProductDescriptor),
                [
                    {
                        "product_id": p.id,
                        "revision": 1,
                        "document": dict(p.document),
                        "sha256": p.sha256,
                        "applied_at": now,
                        "applied_by": "bench",
                    }
                    for p in desired.products.values()
                ],
            )
            for model, attr in ((m.OutputPort, "output_ports"), (m.InputPort, "input_ports")):
                session.execute(
                    sa.insert(model),
                    [
                        {
                            "product_id": p.id,
                            "name": port.name,
                            "version": port.version,
                            "major": port.major,
                            "contract_id": port.contract_id,
                            "created_at": now,
                            "updated_at": now,
                        }
                        for p in desired.products.values()
                        for port in getattr(p, attr)
                    ],
                )
            session.execute(
                sa.insert(m.Contract),
                [
                    {
                        "id": c.contract_id,
                        "domain_id": c.domain,
                        "product_id": c.product_id,
                        "name": c.name,
                        "latest_version": c.version,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for c in {c.contract_id: c for c in desired.contract_versions}.values()  # one row per id
                ],
            )
            session.execute(
                sa.insert(m.ContractVersion),
                [
                    {
                        "contract_id": c.contract_id,
                        "version": c.version,
                        "major": 1,
                        "minor": 0,
                        "patch": 0,
                        "status": c.status,
                        "document": dict(c.document),
                        "sha256": c.sha256,
                        "applied_at": now,
                        "applied_by": "bench",
                    }
                    for c in desired.contract_versions
                ],
            )
        return time.perf_counter() - start


def add_second_majors(root: Path, mesh: SyntheticMesh, count: int) -> int:
    """Give `count` contracts (spread over the mesh) a 2.0.0 file and an output port of their own."""
    step = max(len(mesh.contracts) // max(count, 1), 1)
    chosen = mesh.contracts[::step][:count]
    by_product: dict[Path, list[str]] = defaultdict(list)
    for contract_id in chosen:
        domain, folder, port = contract_id.split(".")
        base = root / "domains" / domain / "products" / folder
        by_product[base].append(port)
        document = contract_document(contract_id, domain, version="2.0.0")
        (base / "contracts" / f"{port}_v2.odcs.yaml").write_text(json.dumps(document), encoding="utf-8")
    for base, ports in by_product.items():
        path = base / "product.odps.yaml"
        descriptor = yaml.safe_load(path.read_text(encoding="utf-8"))
        contract_ids = {p["name"]: p["contractId"] for p in descriptor["outputPorts"]}
        descriptor["outputPorts"] += [
            {"name": f"{port}_v2", "version": "2.0.0", "contractId": contract_ids[port], "type": "tables",
             "description": "Data, second major."}
            for port in ports
        ]  # fmt: skip
        path.write_text(json.dumps(descriptor), encoding="utf-8")
    return len(chosen)


def bench_plan_apply(
    contracts: int, url: str, reference_url: str, workdir: Path, second_majors: int = 0
) -> dict[str, Any]:
    products = max(contracts // 2, 1)
    root = workdir / f"mesh-{contracts}-{second_majors}"
    if not root.exists():
        mesh = write_synthetic_mesh(root, domains=10, products=products, edges=products * 4, ports_per_product=2)
        if second_majors:
            add_second_majors(root, mesh, second_majors)
    t_load, repo = timed(load_mesh, root)
    t_lint, _ = timed(lint_gate, repo)
    with Registry(url) as registry:
        t_plan, plan = timed(plan_mesh, repo, registry=registry)
        t_apply, result = timed(apply_mesh, repo, registry=registry, actor="bench")
        t_replan, replan = timed(plan_mesh, repo, registry=registry)
    assert result.changed and replan.empty and not plan.errors
    t_bulk = bulk_insert_reference(reference_url, desired_state(repo))
    return {
        "contracts": len({c.contract.id for c in repo.contracts if c.contract}),
        "contract_files": len(repo.contracts),
        "products": len(repo.products),
        "changes": len(plan.change_dicts()),
        "load_s": t_load,
        "lint_s": t_lint,
        "plan_s": t_plan,
        "apply_s": t_apply,
        "replan_s": t_replan,
        "plan_apply_s": t_plan + t_apply,
        "cli_apply_s": t_load + t_lint + t_plan + t_apply,
        "bulk_insert_s": t_bulk,
        "apply_vs_bulk_insert": t_apply / t_bulk,
    }


def state_of(mesh: SyntheticMesh) -> MeshState:
    """The desired state of a generated mesh, straight from its documents (no files, no JSON Schema)."""
    state = MeshState("synthetic")
    for path, doc in mesh.files.items():
        parts = path.split("/")
        if path.endswith("domain.yaml"):
            state.domains[parts[1]] = domain_spec(Domain.model_validate(doc, by_alias=True), parts[1])
        elif path.endswith(".odps.yaml"):
            product = DataProduct.model_validate(doc, by_alias=True)
            state.products[product.id] = product_spec(product, parts[1])
        elif path.endswith(".odcs.yaml"):
            contract = Contract.model_validate(doc, by_alias=True)
            state.contract_versions.append(contract_spec(contract, parts[1], f"{parts[1]}.{parts[3]}"))
    return state


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench_impact(products: int, edges: int, runs: int, url: str, seed: int = 7) -> dict[str, Any]:
    mesh = generate_synthetic_mesh(domains=20, products=products, edges=edges, seed=seed)
    state = state_of(mesh)
    with Registry(url) as registry:
        start = time.perf_counter()
        with registry.transaction(immediate=True) as session:
            write_changes(
                session,
                state,
                RegistryState(),
                compare_states(state, RegistryState()),
                actor="bench",
                summary="benchmark",
                details={},
            )
        t_register = time.perf_counter() - start
        consumed = sorted({c for _, c in mesh.edges})
        rng = random.Random(seed)
        picks = [rng.choice(consumed[: max(len(consumed) // 5, 1)]) for _ in range(runs)]  # upstream: big impact
        impact_of(registry, picks[0])  # warm-up (connection pool, statement cache)
        latencies, sizes, cold = [], [], []
        for contract in picks:  # warm: the graph stays cached while the registry is unchanged
            elapsed, report = timed(impact_of, registry, contract)
            latencies.append(elapsed)
            sizes.append(len(report.consumers))
        for contract in picks[: max(runs // 4, 1)]:  # cold: the graph is loaded from the database each time
            registry.cache.clear()
            cold.append(timed(impact_of, registry, contract)[0])
        with registry.read() as session:
            t_graph, graph = timed(ConsumerGraph.load, session)
    bfs_times = [timed(graph.downstream, c, 1)[0] for c in picks]
    # Reference: a plain BFS over an adjacency list of the same edges, prepared in memory once.
    consumers_of: dict[str, list[str]] = defaultdict(list)
    for consumer, contract in mesh.edges:
        consumers_of[contract].append(consumer)
    outputs_of = {p: [f"{p}.out0"] for p in mesh.products}

    def plain_bfs(contract: str) -> int:
        seen: set[str] = set()
        queue = deque([contract])
        while queue:
            for consumer in consumers_of.get(queue.popleft(), ()):
                if consumer not in seen:
                    seen.add(consumer)
                    queue.extend(outputs_of[consumer])
        return len(seen)

    ref_times = []
    for contract, size in zip(picks, sizes, strict=True):
        elapsed, found = timed(plain_bfs, contract)
        assert found == size, (contract, found, size)
        ref_times.append(elapsed)
    return {
        "products": products,
        "edges": len(mesh.edges),
        "runs": runs,
        "register_s": t_register,
        "consumers_mean": statistics.mean(sizes),
        "consumers_max": max(sizes),
        "impact_p50_ms": 1000 * percentile(latencies, 0.5),
        "impact_p95_ms": 1000 * percentile(latencies, 0.95),
        "cold_impact_p50_ms": 1000 * percentile(cold, 0.5),
        "cold_impact_p95_ms": 1000 * percentile(cold, 0.95),
        "graph_load_ms": 1000 * t_graph,
        "bfs_p95_ms": 1000 * percentile(bfs_times, 0.95),
        "plain_bfs_p95_ms": 1000 * percentile(ref_times, 0.95),
        "impact_vs_plain_bfs_p95": percentile(latencies, 0.95) / max(percentile(ref_times, 0.95), 1e-9),
    }


def report(title: str, figures: dict[str, Any]) -> None:
    print(f"\n{title}")
    for key, value in figures.items():
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        print(f"  {key:<26} {shown}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contracts", type=int, default=1000)
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--edges", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--second-majors", type=int, default=300, help="contracts that also publish a 2.0.0")
    parser.add_argument("--postgres", help="also run on this PostgreSQL server (a database per part is created)")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if args.quick:
        args.contracts, args.products, args.edges, args.runs, args.second_majors = 100, 200, 1000, 30, 30
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="meshplane-bench-") as tmp:
        work = Path(tmp)
        targets = [("sqlite", lambda name: fresh_sqlite(work, name))]
        if args.postgres:
            targets.append(("postgresql", lambda name: fresh_postgres(args.postgres, name)))
        for dialect, fresh in targets:
            figures = bench_plan_apply(args.contracts, fresh("bench_apply"), fresh("bench_bulk"), work)
            report(f"[{dialect}] plan + apply of {figures['contracts']} contracts", figures)
            results[f"{dialect}.plan_apply"] = figures
            majors = bench_plan_apply(
                args.contracts, fresh("bench_majors"), fresh("bench_majors_bulk"), work, args.second_majors
            )
            majors["vs_single_version"] = majors["plan_apply_s"] / figures["plan_apply_s"]
            report(
                f"[{dialect}] plan + apply of {majors['contracts']} contracts, {args.second_majors} with two majors",
                majors,
            )
            results[f"{dialect}.plan_apply_two_majors"] = majors
            figures = bench_impact(args.products, args.edges, args.runs, fresh("bench_impact"))
            report(f"[{dialect}] impact on {figures['products']} products / {figures['edges']} edges", figures)
            results[f"{dialect}.impact"] = figures
    sqlite_apply, sqlite_impact = results["sqlite.plan_apply"], results["sqlite.impact"]
    sqlite_majors = results["sqlite.plan_apply_two_majors"]
    print(f"\nload average during the run: {os.getloadavg()[0]:.2f} (2 cores: figures above ~1 are inflated)")
    print(
        f"\ntargets: plan+apply {sqlite_apply['plan_apply_s']:.2f} s (<= 10 s; with file loading "
        f"{sqlite_apply['cli_apply_s']:.2f} s), impact p95 {sqlite_impact['impact_p95_ms']:.1f} ms (<= 50 ms), "
        f"two majors {sqlite_majors['vs_single_version']:.2f}x single-version (<= 1.2x)"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

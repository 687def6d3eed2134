"""Synthetic meshes of any size, for benchmarks and tests: domains, products, contracts and edges.

Product ``i`` lives in domain ``i % domains`` and publishes `ports_per_product` output ports, each
bound to its own contract (version 1.0.0). Input ports (the edges) only point at products with a
smaller index, so the graph is a DAG with long cross-domain chains; the generator is deterministic
for a seed. The files lint clean.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_COLUMN_TYPES = (("string", "VARCHAR"), ("integer", "BIGINT"), ("number", "DOUBLE"), ("date", "DATE"))


@dataclass
class SyntheticMesh:
    """A generated mesh: its ids, its edges and its documents (`root` once written)."""

    root: Path
    domains: list[str] = field(default_factory=list)
    products: list[str] = field(default_factory=list)
    contracts: list[str] = field(default_factory=list)
    edges: list[tuple[str, str]] = field(default_factory=list)  # (consumer product, contract id)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # relative path -> document


def _dump(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def _team(domain: str) -> dict[str, Any]:
    return {
        "name": f"{domain} data team",
        "members": [
            {"username": f"owner@{domain}.example", "name": f"Owner of {domain}", "role": "owner"},
            {"username": f"engineer@{domain}.example", "role": "data engineer"},
        ],
    }


def contract_document(contract_id: str, domain: str, version: str = "1.0.0", columns: int = 4) -> dict[str, Any]:
    """A small valid ODCS contract with `columns` properties on one table named ``data``."""
    props = [
        {
            "name": "id",
            "logicalType": "string",
            "physicalType": "VARCHAR",
            "required": True,
            "primaryKey": True,
            "classification": "internal",
            "description": "Row identifier.",
        }
    ]
    for index in range(1, columns):
        logical, physical = _COLUMN_TYPES[index % len(_COLUMN_TYPES)]
        props.append(
            {
                "name": f"c{index}",
                "logicalType": logical,
                "physicalType": physical,
                "required": index % 2 == 0,
                "classification": "internal",
                "description": f"Column {index}.",
            }
        )
    return {
        "apiVersion": "v3.1.0",
        "kind": "DataContract",
        "id": contract_id,
        "name": contract_id,
        "version": version,
        "status": "active",
        "domain": domain,
        "description": {"purpose": f"Synthetic dataset {contract_id}."},
        "schema": [
            {
                "name": "data",
                "physicalName": "data",
                "physicalType": "table",
                "description": "Rows.",
                "properties": props,
            }
        ],
        "slaProperties": [{"property": "latency", "value": 1, "unit": "d", "element": "data.id"}],
        "team": _team(domain),
    }


def _spread_edges(edges: int, products: int) -> list[int]:
    """Input ports per product: about edges/products each, product i having at most i providers."""
    base = edges // max(products - 1, 1)
    wanted = [min(base, index) for index in range(products)]
    left = min(edges, products * (products - 1) // 2) - sum(wanted)
    index = products - 1
    while left > 0 and index > 0:
        if wanted[index] < index:
            wanted[index] += 1
            left -= 1
        index = index - 1 if index > 1 else products - 1
    return wanted


def generate_synthetic_mesh(
    *,
    domains: int = 5,
    products: int = 50,
    edges: int = 100,
    ports_per_product: int = 1,
    columns: int = 4,
    seed: int = 0,
) -> SyntheticMesh:
    """Generate a mesh in memory (documents keyed by their path in the mesh folder)."""
    rng = random.Random(seed)
    mesh = SyntheticMesh(Path())
    mesh.files["mesh.yaml"] = {"apiVersion": "meshplane/v1", "kind": "Mesh", "name": f"synthetic-{products}"}
    mesh.domains = [f"d{index:03d}" for index in range(domains)]
    for domain in mesh.domains:
        mesh.files[f"domains/{domain}/domain.yaml"] = {
            "apiVersion": "meshplane/v1",
            "kind": "Domain",
            "id": domain,
            "name": domain,
            "team": _team(domain),
        }
    contracts_of: list[list[str]] = []
    wanted = _spread_edges(edges, products)
    for index in range(products):
        domain = mesh.domains[index % domains]
        folder = f"p{index:05d}"
        product_id = f"{domain}.{folder}"
        mesh.products.append(product_id)
        own = [f"{product_id}.out{port}" for port in range(ports_per_product)]
        contracts_of.append(own)
        inputs = []
        for n, provider in enumerate(sorted(rng.sample(range(index), wanted[index]))):
            contract_id = rng.choice(contracts_of[provider])
            inputs.append({"name": f"in{n}", "version": "1.0.0", "contractId": contract_id})
            mesh.edges.append((product_id, contract_id))
        descriptor: dict[str, Any] = {
            "apiVersion": "v1.0.0",
            "kind": "DataProduct",
            "id": product_id,
            "name": product_id,
            "version": "1.0.0",
            "status": "active",
            "domain": domain,
            "description": {"purpose": f"Synthetic product {product_id}."},
            "outputPorts": [
                {"name": f"out{port}", "version": "1.0.0", "contractId": cid, "type": "tables", "description": "Data."}
                for port, cid in enumerate(own)
            ],
            "team": _team(domain),
        }
        if inputs:
            descriptor["inputPorts"] = inputs
        base = f"domains/{domain}/products/{folder}"
        mesh.files[f"{base}/product.odps.yaml"] = descriptor
        for port, contract_id in enumerate(own):
            mesh.files[f"{base}/contracts/out{port}.odcs.yaml"] = contract_document(
                contract_id, domain, columns=columns
            )
            mesh.contracts.append(contract_id)
    return mesh


def write_synthetic_mesh(root: Path, **options: int) -> SyntheticMesh:
    """Generate a mesh (`generate_synthetic_mesh` options) and write its files under `root`."""
    mesh = generate_synthetic_mesh(**options)
    mesh.root = root
    for relative, document in mesh.files.items():
        _dump(root / relative, document)
    return mesh

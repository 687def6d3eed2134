"""Helpers shared by the registry tests (row counts, editing mesh files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from meshplane.registry import Registry
from meshplane.registry import models as m

TABLES = (
    m.Domain,
    m.Team,
    m.TeamMember,
    m.Product,
    m.ProductDescriptor,
    m.OutputPort,
    m.InputPort,
    m.Contract,
    m.ContractVersion,
    m.AuditEntry,
)


def counts(registry: Registry) -> dict[str, int]:
    with registry.read() as session:
        return {
            t.__tablename__: session.execute(sa.select(sa.func.count()).select_from(t)).scalar_one() for t in TABLES
        }


def edit_yaml(path: Path, change: Any) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def product_dir(root: Path, product_id: str) -> Path:
    domain, folder = product_id.split(".", 1)
    return root / "domains" / domain / "products" / folder


def bump_contract(root: Path, product_id: str, version: str, change: Any = None) -> None:
    """Give product's contract out0 a new version (and its port), applying `change` to the contract."""
    folder = product_dir(root, product_id)

    def contract(data: dict[str, Any]) -> None:
        data["version"] = version
        if change:
            change(data)

    def port(data: dict[str, Any]) -> None:
        data["outputPorts"][0]["version"] = version

    edit_yaml(folder / "contracts" / "out0.odcs.yaml", contract)
    edit_yaml(folder / "product.odps.yaml", port)

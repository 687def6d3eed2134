"""What the interop tests share: the example mesh's contracts, a contract's shape, a lint check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from meshplane.interop.contracts import primary_key
from meshplane.service.linting import lint_path

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_CONTRACTS = sorted((REPO / "examples" / "holding" / "domains").rglob("*.odcs.yaml"))


def shape(document: dict[str, Any]) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """What a round trip keeps: per table, each property's name, logical type, required and key position."""
    out = []
    for obj in document["schema"]:
        props = obj.get("properties") or []
        keys = primary_key(props)
        out.append((str(obj["name"]), [
            (p["name"], p.get("logicalType"), bool(p.get("required") or p.get("primaryKey")),
             keys.index(p["name"]) + 1 if p["name"] in keys else None)
            for p in props
        ]))  # fmt: skip
    return out


def lints_clean(document: dict[str, Any], folder: Path) -> bool:
    path = folder / "imported.odcs.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return not lint_path(path).has_errors

"""Scaffolding use cases: `meshplane init` and `meshplane new domain|product|contract`.

Everything written here lints without errors: a team starts from a valid file and edits it. The
texts its authors must write (`Describe what ...`) are `placeholder-text` lint warnings until they
do (`placeholder_warnings`).
"""

from __future__ import annotations

import getpass
import re
from pathlib import Path
from typing import Any

import yaml

from meshplane.diagnostics import Diagnostic, MeshplaneError
from meshplane.mesh.lintrules import PLACEHOLDER_PREFIX
from meshplane.mesh.repository import MESH_FILE, find_mesh_root
from meshplane.service.linting import lint_path
from meshplane.spec.loader import FileKind, load_product, load_text

_ID = re.compile(r"^[a-z][a-z0-9_-]*$")
_DOMAIN_ID = re.compile(r"^[a-z][a-z0-9-]*$")  # as in meshplane-domain-v1.json


def _check_id(kind: str, value: str) -> None:
    if kind == "domain" and not _DOMAIN_ID.match(value):
        raise MeshplaneError(
            f"domain id '{value}' is not valid: use lower-case letters, digits and '-' (start with a letter)"
        )
    if not _ID.match(value):
        raise MeshplaneError(
            f"{kind} id '{value}' is not valid: use lower-case letters, digits, '-' and '_' (start with a letter)"
        )


def _write_yaml(path: Path, data: dict[str, Any], *, overwrite: bool = False) -> Path:
    if path.exists() and not overwrite:
        raise MeshplaneError(f"{path} already exists; not overwriting it")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "owner"


def init_mesh(folder: Path, name: str | None = None) -> list[Path]:
    """Create an empty mesh (mesh.yaml, domains/, .gitignore, README.md) that lints clean."""
    if (folder / MESH_FILE).exists():
        raise MeshplaneError(f"{folder} is already a mesh ({MESH_FILE} exists)")
    mesh_name = name or re.sub(r"[^A-Za-z0-9_.-]", "-", folder.resolve().name).lstrip("_.-") or "mesh"
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", mesh_name):
        raise MeshplaneError(f"mesh name '{mesh_name}' is not valid: use letters, digits, '_', '.' and '-'")
    written = [
        _write_yaml(
            folder / MESH_FILE,
            {
                "apiVersion": "meshplane/v1",
                "kind": "Mesh",
                "name": mesh_name,
                "description": f"The {mesh_name} data mesh.",
                "lake": {"root": "lake"},
            },
        )
    ]
    (folder / "domains").mkdir(parents=True, exist_ok=True)
    keep = folder / "domains" / ".gitkeep"
    keep.touch()
    gitignore = folder / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text(".meshplane/\nlake/\n", encoding="utf-8")
        written.append(gitignore)
    readme = folder / "README.md"
    if not readme.exists():
        readme.write_text(
            f"# {mesh_name}\n\nA data mesh managed with meshplane.\n\n"
            "- `meshplane new domain <id>` adds a domain\n"
            "- `meshplane new product <domain> <product>` adds a data product with one output port and its contract\n"
            "- `meshplane lint` checks everything\n",
            encoding="utf-8",
        )
        written.append(readme)
    return [*written, keep]


def _mesh_root(start: Path) -> Path:
    root = find_mesh_root(start)
    if root is None:
        raise MeshplaneError(f"no {MESH_FILE} found at or above {start} (create a mesh with `meshplane init DIR`)")
    return root


def new_domain(start: Path, domain: str, name: str | None = None, owner: str | None = None) -> Path:
    """Add `domains/<domain>/domain.yaml` with an owning team."""
    _check_id("domain", domain)
    root = _mesh_root(start)
    owner = owner or _user()
    title = name or domain.replace("-", " ").replace("_", " ").title()
    return _write_yaml(
        root / "domains" / domain / "domain.yaml",
        {
            "apiVersion": "meshplane/v1",
            "kind": "Domain",
            "id": domain,
            "name": title,
            "description": f"The {title} domain.",
            "team": {"name": f"{domain}-data", "members": [{"username": owner, "role": "owner"}]},
            "support": [
                {"channel": f"#{domain}-data", "url": f"https://chat.example.com/{domain}-data", "tool": "slack"}
            ],
        },
    )


def contract_document(domain: str, product: str, port: str, version: str = "1.0.0") -> dict[str, Any]:
    """A starter ODCS v3.1.0 contract for one output port that lints clean."""
    return {
        "apiVersion": "v3.1.0",
        "kind": "DataContract",
        "id": f"{domain}.{product}.{port}",
        "name": port.replace("_", " ").title(),
        "version": version,
        "status": "draft",
        "domain": domain,
        "description": {
            "purpose": f"{PLACEHOLDER_PREFIX}what {port} holds and why it is published.",
            "usage": f"{PLACEHOLDER_PREFIX}how consumers should use it.",
        },
        "servers": [
            {"server": "lake", "type": "local", "path": f"{domain}/{product}/{port}/*.parquet", "format": "parquet"}
        ],
        "schema": [
            {
                "name": port,
                "physicalType": "table",
                "description": f"One row per {port} record.",
                "properties": [
                    {
                        "name": "id",
                        "logicalType": "string",
                        "physicalType": "VARCHAR",
                        "description": "Identifier of the record.",
                        "required": True,
                        "unique": True,
                        "primaryKey": True,
                    },
                    {
                        "name": "updated_at",
                        "logicalType": "timestamp",
                        "physicalType": "TIMESTAMP",
                        "description": "When the record last changed.",
                        "required": True,
                    },
                ],
                "quality": [
                    {"metric": "rowCount", "mustBeGreaterThan": 0, "description": "The dataset is never empty."}
                ],
            }
        ],
        "slaProperties": [
            {"property": "latency", "value": 1, "unit": "d", "element": f"{port}.updated_at"},
            {"property": "freshness", "value": 1, "unit": "d", "element": f"{port}.updated_at"},
        ],
    }


def new_product(start: Path, domain: str, product: str, port: str | None = None) -> list[Path]:
    """Add a product with one output port and its contract (both lint clean)."""
    _check_id("domain", domain)
    _check_id("product", product)
    root = _mesh_root(start)
    if not (root / "domains" / domain / "domain.yaml").is_file():
        raise MeshplaneError(f"domain '{domain}' does not exist (create it with `meshplane new domain {domain}`)")
    port = port or product
    _check_id("port", port)
    folder = root / "domains" / domain / "products" / product
    contract = contract_document(domain, product, port)
    descriptor = {
        "apiVersion": "v1.0.0",
        "kind": "DataProduct",
        "id": f"{domain}.{product}",
        "name": product.replace("_", " ").title(),
        "version": "1.0.0",
        "status": "draft",
        "domain": domain,
        "description": {
            "purpose": f"{PLACEHOLDER_PREFIX}what {product} is for.",
            "usage": f"{PLACEHOLDER_PREFIX}how to use it.",
        },
        "outputPorts": [
            {
                "name": port,
                "version": contract["version"],
                "contractId": contract["id"],
                "type": "tables",
                "description": f"The {port} dataset.",
            }
        ],
        "team": {"name": f"{domain}-data", "members": [{"username": _user(), "role": "owner"}]},
    }
    return [
        _write_yaml(folder / "product.odps.yaml", descriptor),
        _write_yaml(folder / "contracts" / f"{port}.odcs.yaml", contract),
    ]


def new_contract(start: Path, domain: str, product: str, port: str) -> list[Path]:
    """Add an output port and its contract to an existing product.

    Returns the new contract file, then the existing product descriptor it updated (always last).
    """
    _check_id("port", port)
    root = _mesh_root(start)
    folder = root / "domains" / domain / "products" / product
    descriptor_path = folder / "product.odps.yaml"
    loaded = load_product(descriptor_path) if descriptor_path.is_file() else None
    if loaded is None or loaded.model is None or loaded.document is None:
        raise MeshplaneError(
            f"product '{domain}/{product}' has no valid product.odps.yaml "
            f"(create it with `meshplane new product {domain} {product}`)",
            loaded.diagnostics if loaded else (),
        )
    if any(p.name == port for p in loaded.model.output_ports or []):
        raise MeshplaneError(f"product '{loaded.model.id}' already has an output port named '{port}'")
    contract = contract_document(domain, product, port)
    item = {
        "name": port,
        "version": contract["version"],
        "contractId": contract["id"],
        "type": "tables",
        "description": f"The {port} dataset.",
    }
    text = descriptor_path.read_text(encoding="utf-8")
    updated = append_list_item(text, "outputPorts", item)
    check = load_text(updated, str(descriptor_path), FileKind.PRODUCT) if updated is not None else None
    if check is None or not check.ok:
        snippet = yaml.safe_dump({"outputPorts": [item]}, sort_keys=False)
        raise MeshplaneError(
            f"could not add the port to {descriptor_path} without rewriting it; add this to its outputPorts "
            f"and run `meshplane new contract` again or create the contract yourself:\n{snippet}"
        )
    written = [_write_yaml(folder / "contracts" / f"{port}.odcs.yaml", contract)]
    descriptor_path.write_text(updated or text, encoding="utf-8")
    return [*written, descriptor_path]


def append_list_item(text: str, key: str, item: dict[str, Any]) -> str | None:
    """Append `item` to the top-level block list `key` of a YAML text, keeping comments and layout.

    Returns None when the list is not written in block style (e.g. `key: []`), where a text edit
    could not be made safely.
    """
    lines = text.splitlines(keepends=True)
    rendered = yaml.safe_dump([item], sort_keys=False, allow_unicode=True)
    start = next((i for i, line in enumerate(lines) if re.match(rf"^{re.escape(key)}:\s*(#.*)?$", line)), None)
    if start is None:
        if any(line.startswith(f"{key}:") for line in lines):
            return None
        separator = "" if not text or text.endswith("\n") else "\n"
        return f"{text}{separator}{key}:\n{rendered}"
    end, indent = start + 1, None
    while end < len(lines):
        line = lines[end]
        stripped = line.lstrip()
        if line.strip() and not line[0].isspace() and not line.startswith(("-", "#")):
            break
        if indent is None and stripped.startswith("- "):
            indent = len(line) - len(stripped)
        end += 1
    while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
        end -= 1  # blank lines and top-level comments before the next key belong to that key
    pad = " " * (indent or 0)
    block = "".join(pad + part if part.strip() else part for part in rendered.splitlines(keepends=True))
    if lines[end - 1] and not lines[end - 1].endswith("\n"):
        block = "\n" + block
    return "".join(lines[:end]) + block + "".join(lines[end:])


def placeholder_warnings(paths: list[Path]) -> list[Diagnostic]:
    """The `placeholder-text` warnings of freshly written files: what their author still has to write."""
    found: list[Diagnostic] = []
    for path in paths:
        if path.name.endswith((".odcs.yaml", ".odps.yaml")):
            found += [d for d in lint_path(path).diagnostics if d.code == "placeholder-text"]
    return found

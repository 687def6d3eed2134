"""Reading a dbt project's ``target/manifest.json``: which of its relations are which lake data.

dbt names warehouse relations in its OpenLineage events (``finance.sales.orders`` in a
``duckdb://…/finance.duckdb`` namespace), never the files they read or write. The manifest says
what they are:

* a **source** with an ``external_location`` (dbt-duckdb; in its ``config``, ``meta`` or the
  source's ``meta``), a path or a table function call such as
  ``read_parquet('<lake>/sales/{name}/*.parquet')`` or ``read_csv('…', header = true)``, with
  ``{name}``, ``{identifier}``, ``{schema}``, ``{source_name}`` or ``{database}`` filled from the
  source;
* a **model** materialized ``external`` with a ``location``;
* any other source or model is a plain warehouse relation (it may be a contract server's table:
  the service checks that against the port index).

`read_manifest` reads the file within bounds (size, JSON, a known manifest schema version) and
returns a `ManifestLinks`; every problem is one `MeshplaneError` naming the file and the node.
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from meshplane.diagnostics import MeshplaneError
from meshplane.lineage.identity import DatasetIdentity, canonical_identity, canonical_scheme, identity_from_uri

MAX_MANIFEST_BYTES = 128 * 1024 * 1024
"""Largest manifest read (dbt projects of thousands of models write tens of MB)."""
MANIFEST_VERSIONS = frozenset({9, 10, 11, 12})
"""Manifest schema versions understood: dbt 1.5 (v9) to dbt 1.10 (v12)."""

_SCHEMA_VERSION = re.compile(r"/manifest/v(\d+)\.json$")
_CALL = re.compile(r"^\s*([A-Za-z_]\w*)\s*\((.*)\)\s*$", re.DOTALL)
_LITERAL = re.compile(r"'((?:[^']|'')*)'")


class LinkKind:
    """What a link says a relation is."""

    SOURCE = "source"
    """A source reading lake files (``external_location``)."""
    MODEL = "model"
    """A model written to lake files (materialized ``external``)."""
    RELATION = "relation"
    """A plain warehouse relation (linked when it is a contract server's table)."""


@dataclass(frozen=True)
class RelationLink:
    """One dbt node: the relation events name, and the data it stands for (None: a plain relation)."""

    node: str
    kind: str
    scheme: str
    name: str
    target: DatasetIdentity | None = None
    function: str | None = None
    location: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (the CLI sends it to the server)."""
        return {
            "node": self.node,
            "kind": self.kind,
            "scheme": self.scheme,
            "name": self.name,
            "target": str(self.target) if self.target is not None else None,
            "function": self.function,
            "location": self.location,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RelationLink:
        """Read `to_dict`'s form back (raises KeyError or ValueError when it is not that)."""
        target = data.get("target")
        return cls(
            str(data["node"]),
            str(data["kind"]),
            str(data["scheme"]),
            str(data["name"]),
            DatasetIdentity.parse(str(target)) if target else None,
            str(data["function"]) if data.get("function") else None,
            str(data["location"]) if data.get("location") else None,
        )


@dataclass(frozen=True)
class ManifestLinks:
    """What a manifest says about its relations."""

    manifest: str
    project: str
    dbt_version: str
    schema_version: str
    adapter: str
    relations: tuple[RelationLink, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (the body of the server's dbt link route)."""
        return {
            "manifest": self.manifest,
            "project": self.project,
            "dbtVersion": self.dbt_version,
            "schemaVersion": self.schema_version,
            "adapter": self.adapter,
            "relations": [r.to_dict() for r in self.relations],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ManifestLinks:
        """Read `to_dict`'s form back."""
        try:
            relations = tuple(RelationLink.from_dict(r) for r in data.get("relations") or [])
            return cls(
                str(data["manifest"]),
                str(data["project"]),
                str(data["dbtVersion"]),
                str(data["schemaVersion"]),
                str(data["adapter"]),
                relations,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise MeshplaneError(f"not a dbt link document: {exc}") from None


def _error(manifest: Path | str, message: str) -> MeshplaneError:
    return MeshplaneError(f"{manifest}: {message}", exit_code=2)


def read_manifest(path: Path, *, max_bytes: int = MAX_MANIFEST_BYTES) -> ManifestLinks:
    """The relations of the dbt manifest at `path` and what they stand for.

    Raises `MeshplaneError` (exit 2) naming the file (and the node) when the file is missing,
    larger than `max_bytes`, not JSON (truncated), of a manifest schema version not in
    `MANIFEST_VERSIONS`, or has a node whose location cannot be read.
    """
    return parse_manifest(load_manifest(path, max_bytes=max_bytes), path)


def load_manifest(path: Path, *, max_bytes: int = MAX_MANIFEST_BYTES) -> dict[str, Any]:
    """The dbt manifest at `path` as its JSON document, read within bounds and of a known schema version.

    The one reader of manifest files: `read_manifest` (lineage links) and `meshplane import dbt` use it.
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise _error(path, f"cannot read the manifest ({exc.strerror or exc})") from None
    if size > max_bytes:
        raise _error(path, f"the manifest is {size / 1e6:.1f} MB; meshplane reads at most {max_bytes / 1e6:.0f} MB")
    try:
        document = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise _error(path, f"not a dbt manifest: not JSON ({exc}; a truncated file?)") from None
    except OSError as exc:
        raise _error(path, f"cannot read the manifest ({exc.strerror or exc})") from None
    manifest_version(document, path)
    return dict(document)


def manifest_version(document: Any, path: Path) -> int:
    """The manifest schema version of a loaded document; `MeshplaneError` when it is not a known manifest."""
    if not isinstance(document, dict) or not isinstance(document.get("metadata"), dict):
        raise _error(path, "not a dbt manifest: no 'metadata' object")
    found = _SCHEMA_VERSION.search(str(document["metadata"].get("dbt_schema_version") or ""))
    version = int(found.group(1)) if found else None
    if version not in MANIFEST_VERSIONS:
        known = ", ".join(f"v{v}" for v in sorted(MANIFEST_VERSIONS))
        stated = document["metadata"].get("dbt_schema_version") or "none"
        raise _error(path, f"unknown dbt manifest schema version {stated!r} (meshplane reads {known})")
    return version


def _project_dir(path: Path) -> Path:
    """Where dbt ran: the folder above ``target/`` (relative locations are relative to it)."""
    folder = path.absolute().parent
    return folder.parent if folder.name == "target" else folder


def parse_manifest(document: Any, path: Path) -> ManifestLinks:
    """`read_manifest` for an already loaded document (`path` names it in errors, and anchors relative locations)."""
    version = manifest_version(document, path)
    metadata = document["metadata"]
    adapter = str(metadata.get("adapter_type") or "")
    if not adapter:
        raise _error(path, "metadata.adapter_type is missing: meshplane cannot tell the warehouse")
    scheme = canonical_scheme(adapter)
    root = _project_dir(path)
    relations: list[RelationLink] = []
    for section in ("sources", "nodes"):
        nodes = document.get(section) or {}
        if not isinstance(nodes, dict):
            raise _error(path, f"'{section}' is not an object")
        for unique_id, node in sorted(nodes.items()):
            if not isinstance(node, dict):
                raise _error(path, f"node {unique_id}: not an object")
            link = _node_link(path, root, scheme, unique_id, node, source=section == "sources")
            if link is not None:
                relations.append(link)
    project = str(metadata.get("project_name") or "")
    return ManifestLinks(
        str(path), project, str(metadata.get("dbt_version") or ""), f"v{version}", adapter, tuple(relations)
    )


def _relation_name(scheme: str, node: Mapping[str, Any], source: bool) -> str:
    table = node.get("identifier") if source else node.get("alias")
    parts = [node.get("database"), node.get("schema"), table or node.get("name")]
    raw = ".".join(str(p) for p in parts if p)
    return canonical_identity(scheme if scheme == "bigquery" else f"{scheme}://dbt", raw).name


def _node_link(
    path: Path, root: Path, scheme: str, unique_id: str, node: Mapping[str, Any], *, source: bool
) -> RelationLink | None:
    if not source and node.get("resource_type") not in ("model", "seed", "snapshot"):
        return None  # tests, analyses, operations name no relation of their own
    name = _relation_name(scheme, node, source)
    raw_config = node.get("config")
    config: dict[str, Any] = raw_config if isinstance(raw_config, dict) else {}
    if source:
        template = _first_text(config, node.get("meta"), node.get("source_meta"), key="external_location")
        if template is None:
            return RelationLink(unique_id, LinkKind.RELATION, scheme, name)
        relation = str(node.get("relation_name") or "")
        expression = relation if _CALL.match(relation) else _fill(path, unique_id, template, node)
        function, location = _read_location(path, unique_id, expression)
        return RelationLink(unique_id, LinkKind.SOURCE, scheme, name, _target(root, location), function, location)
    if config.get("materialized") == "external":
        written = config.get("location")
        if not isinstance(written, str) or not written.strip():  # the only way to link a model
            raise _error(
                path, f"node {unique_id}: materialized 'external' without a 'location' (set one to link the model)"
            )
        return RelationLink(unique_id, LinkKind.MODEL, scheme, name, _target(root, written.strip()), None, written)
    return RelationLink(unique_id, LinkKind.RELATION, scheme, name)


def _first_text(*places: Any, key: str) -> str | None:
    for place in places:
        if isinstance(place, dict) and isinstance(place.get(key), str) and place[key].strip():
            return str(place[key])
    return None


def _fill(path: Path, unique_id: str, template: str, node: Mapping[str, Any]) -> str:
    """``{name}`` and the other fields of the source, as dbt-duckdb fills them."""
    values = {k: v for k, v in node.items() if isinstance(v, str | int | float)}
    try:
        return string.Formatter().vformat(template, (), values)
    except (KeyError, IndexError, ValueError) as exc:
        raise _error(path, f"node {unique_id}: external_location {template!r} names an unknown field ({exc})") from None


def _read_location(path: Path, unique_id: str, expression: str) -> tuple[str | None, str]:
    """(table function, first location) of ``read_parquet('a', …)``, ``read_csv(['a', 'b'])`` or a plain path."""
    call = _CALL.match(expression)
    if call is None:
        text = expression.strip().strip("'\"")
        if not text:
            raise _error(path, f"node {unique_id}: an empty external_location")
        return None, text
    literal = _LITERAL.search(call.group(2))
    if literal is None:
        raise _error(path, f"node {unique_id}: {expression!r} names no location in quotes")
    return call.group(1).lower(), literal.group(1).replace("''", "'")


def _target(root: Path, location: str) -> DatasetIdentity:
    """The identity of a location: a URI as it is, a relative path below the project folder."""
    if "://" in location or location.startswith(("file:", "/")):
        return identity_from_uri(location)
    return identity_from_uri(os.path.normpath(root / location))


__all__ = [
    "MANIFEST_VERSIONS",
    "MAX_MANIFEST_BYTES",
    "LinkKind",
    "ManifestLinks",
    "RelationLink",
    "load_manifest",
    "manifest_version",
    "parse_manifest",
    "read_manifest",
]

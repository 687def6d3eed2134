"""YAML reading that remembers where every value came from.

Mesh files are YAML written by people, so every error must point at a line. PyYAML composes the
document into nodes (which carry their start marks); we build the Python value from the same nodes
and keep a map from JSON path to position. Two deliberate departures from plain `yaml.safe_load`:

* timestamps stay strings: ODCS/ODPS declare dates as strings (`format: date`), and a YAML
  `2024-01-31` turned into a `datetime.date` would fail the official schema for no user error;
* duplicate keys are reported, not silently resolved to the last one.

Parsing is bounded, whoever wrote the file (a bundle posted to the API, a repository under
review): before a node is composed, the parser's events are scanned once, in linear time, and a
file is refused with a diagnostic naming the limit when it is larger than `MAX_YAML_BYTES`, nests
deeper than `MAX_YAML_DEPTH`, holds more than `MAX_YAML_ALIASES` aliases, or whose aliases would
repeat more than `MAX_YAML_ALIAS_NODES` nodes (a "billion laughs" document), or holds an alias
inside the node it names (a recursive alias). Aliases themselves stay allowed (``<<: *defaults``
is common in hand-written contracts); only their expansion is budgeted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from meshplane.diagnostics import Diagnostic, JsonPath, Position, Severity, render_json_path

MAX_YAML_BYTES = 8 * 1024 * 1024
"""The largest mesh file read (UTF-8 bytes); the largest real contracts are a few hundred KB."""
MAX_YAML_DEPTH = 100
"""The deepest nesting of mappings and sequences in a mesh file (ODCS contracts nest about 10 deep)."""
MAX_YAML_ALIASES = 10_000
"""The most aliases (``*name``) in one mesh file."""
MAX_YAML_ALIAS_NODES = 100_000
"""The most nodes all aliases of a file may repeat, counted as if every alias were written out."""

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _MeshLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    """Safe loader that keeps timestamps as plain strings and mapping keys as written.

    Keys are always strings, as in JSON: `200:` or `yes:` stay "200" and "yes" instead of
    becoming an int and a bool that no schema can name.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        self.flatten_mapping(node)
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key: Any = key_node.value
            else:
                key = self.construct_object(key_node, deep=deep)
                if not isinstance(key, str | int | float | bool | None):
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark, "found a non-scalar key", key_node.start_mark
                    )
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping


_MeshLoader.add_constructor("tag:yaml.org,2002:map", _MeshLoader.construct_yaml_map)
_MeshLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass
class YamlDocument:
    """A parsed YAML file: its value and the position of every value and key in it."""

    file: str
    data: Any
    positions: dict[JsonPath, Position] = field(default_factory=dict)
    key_positions: dict[JsonPath, Position] = field(default_factory=dict)

    def locate(self, path: JsonPath, *, key: bool = False) -> Position | None:
        """Position of the value (or its key) at `path`, else of its nearest known ancestor."""
        probe = tuple(path)
        if key and probe in self.key_positions:
            return self.key_positions[probe]
        while True:
            if probe in self.positions:
                return self.positions[probe]
            if not probe:
                return None
            probe = probe[:-1]

    def diagnostic(
        self,
        path: JsonPath,
        message: str,
        *,
        code: str,
        severity: Severity = Severity.ERROR,
        key: bool = False,
        hint: str | None = None,
    ) -> Diagnostic:
        """A diagnostic about the value at `path`, with line and column filled in."""
        pos = self.locate(path, key=key)
        return Diagnostic(
            severity=severity,
            code=code,
            message=message,
            file=self.file,
            line=pos.line if pos else None,
            column=pos.column if pos else None,
            path=render_json_path(path),
            hint=hint,
        )


def _mark_position(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


def _index_nodes(doc: YamlDocument, node: yaml.Node, path: JsonPath, problems: list[Diagnostic]) -> None:
    """Record positions under `node` and report duplicate keys."""
    doc.positions[path] = _mark_position(node)
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, Position] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key = key_node.value
            if key == "<<":
                continue
            key_pos = _mark_position(key_node)
            if key in seen:
                first = seen[key]
                problems.append(
                    Diagnostic(
                        Severity.ERROR,
                        "yaml-duplicate-key",
                        f"duplicate key '{key}' (first defined on line {first.line})",
                        doc.file,
                        key_pos.line,
                        key_pos.column,
                        render_json_path((*path, key)),
                    )
                )
                continue
            seen[key] = key_pos
            doc.key_positions[(*path, key)] = key_pos
            _index_nodes(doc, value_node, (*path, key), problems)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_nodes(doc, item, (*path, index), problems)


def _limit(file: str, code: str, message: str, mark: Any = None) -> Diagnostic:
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
    return Diagnostic(Severity.ERROR, code, message, file, line, column, None)


def _too_large(size: int, file: str) -> Diagnostic:
    return _limit(file, "yaml-too-large", f"the file has {size:,} bytes, more than the limit of {MAX_YAML_BYTES:,}")


def _scan(text: str, file: str) -> Diagnostic | None:
    """The first limit the YAML `text` passes (its parser events read once, nothing composed), else None.

    Each open collection keeps the number of nodes it holds as if its aliases were written out,
    so that an alias adds the size of the node it names; an alias to a node still open is
    recursive. Syntax errors are left to the composer, which reports them with their position.
    """
    loader = _BaseLoader(text)
    open_nodes: list[list[Any]] = []  # [anchor, expanded size] of each open collection
    sizes: dict[str, int] = {}  # anchor -> expanded size of the node it names (once closed)
    aliases = repeated = 0
    try:
        while (event := loader.get_event()) is not None:  # type: ignore[no-untyped-call]
            if isinstance(event, yaml.CollectionStartEvent):
                if len(open_nodes) >= MAX_YAML_DEPTH:
                    message = f"the file nests mappings and lists deeper than {MAX_YAML_DEPTH} levels (the limit)"
                    return _limit(file, "yaml-too-deep", message, event.start_mark)
                sizes.pop(event.anchor or "", None)  # an alias inside names this node, not an earlier one
                open_nodes.append([event.anchor, 1])
                continue
            if isinstance(event, yaml.CollectionEndEvent):
                anchor, size = open_nodes.pop()
                if anchor is not None:
                    sizes[anchor] = size
            elif isinstance(event, yaml.ScalarEvent):
                size = 1
                if event.anchor is not None:
                    sizes[event.anchor] = 1
            elif isinstance(event, yaml.AliasEvent):
                aliases += 1
                if any(node[0] == event.anchor for node in open_nodes) and event.anchor not in sizes:
                    message = f"the alias *{event.anchor} is inside the node it names (a recursive alias)"
                    return _limit(file, "yaml-recursive-alias", message, event.start_mark)
                if aliases > MAX_YAML_ALIASES:
                    message = f"the file has more than {MAX_YAML_ALIASES:,} aliases (the limit)"
                    return _limit(file, "yaml-alias-limit", message, event.start_mark)
                size = sizes.get(event.anchor or "", 1)
                repeated += size
                if repeated > MAX_YAML_ALIAS_NODES:
                    message = (
                        f"the file's aliases repeat more than {MAX_YAML_ALIAS_NODES:,} nodes (the limit;"
                        f" *{event.anchor} alone repeats {size:,})"
                    )
                    return _limit(file, "yaml-alias-limit", message, event.start_mark)
            else:
                continue
            if open_nodes:
                open_nodes[-1][1] += size
    except yaml.YAMLError:
        return None  # the composer reports it, with its position
    finally:
        loader.dispose()
    return None


def parse_yaml(text: str, file: str) -> tuple[YamlDocument | None, list[Diagnostic]]:
    """Parse one YAML document. Returns the document (None if unusable) and problems found.

    A document beyond the limits (`MAX_YAML_BYTES`, `MAX_YAML_DEPTH`, `MAX_YAML_ALIASES`,
    `MAX_YAML_ALIAS_NODES`, a recursive alias) is refused before it is composed: one diagnostic
    naming the limit and, where known, the line.
    """
    size = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_YAML_BYTES:
        return None, [_too_large(size, file)]
    refused = _scan(text, file)
    if refused is not None:
        return None, [refused]
    problems: list[Diagnostic] = []
    loader = _MeshLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, [Diagnostic(Severity.ERROR, "yaml-empty", "the file is empty", file, 1, 1, "$")]
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        # An unclosed quote or bracket is detected at the end of the stream; the context mark
        # is where it opened, which is where the author has to look.
        at_end = "end of stream" in (exc.problem or "")
        mark = (exc.context_mark if at_end else None) or exc.problem_mark or exc.context_mark
        reason = " ".join(part for part in (exc.context, exc.problem) if part) or str(exc)
        return None, [
            Diagnostic(
                Severity.ERROR,
                "yaml-syntax",
                f"invalid YAML: {reason}",
                file,
                mark.line + 1 if mark else None,
                mark.column + 1 if mark else None,
                None,
            )
        ]
    except yaml.YAMLError as exc:
        return None, [Diagnostic(Severity.ERROR, "yaml-syntax", f"invalid YAML: {exc}", file)]
    finally:
        loader.dispose()
    doc = YamlDocument(file=file, data=data)
    _index_nodes(doc, node, (), problems)
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a {type(data).__name__} value"
        problems.append(
            doc.diagnostic(
                (), f"expected a mapping of fields at the top of the file, found {kind}", code="yaml-not-mapping"
            )
        )
        return None, problems
    return doc, problems


def read_yaml_file(path: Path, display: str | None = None) -> tuple[YamlDocument | None, list[Diagnostic]]:
    """Read and parse a YAML file; unreadable or non-UTF-8 files become diagnostics."""
    name = display or str(path)
    try:
        if path.stat().st_size > MAX_YAML_BYTES:
            return None, [_too_large(path.stat().st_size, name)]
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Diagnostic(Severity.ERROR, "file-unreadable", f"cannot read file: {exc.strerror or exc}", name)]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [Diagnostic(Severity.ERROR, "file-encoding", "the file is not valid UTF-8", name, line)]
    return parse_yaml(text, name)

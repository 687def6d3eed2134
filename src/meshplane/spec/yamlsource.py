"""YAML reading that remembers where every value came from.

Mesh files are YAML written by people, so every error must point at a line. PyYAML composes the
document into nodes (which carry their start marks); we build the Python value from the same nodes
and keep a map from JSON path to position. Two deliberate departures from plain `yaml.safe_load`:

* timestamps stay strings: ODCS/ODPS declare dates as strings (`format: date`), and a YAML
  `2024-01-31` turned into a `datetime.date` would fail the official schema for no user error;
* duplicate keys are reported, not silently resolved to the last one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from meshplane.diagnostics import Diagnostic, JsonPath, Position, Severity, render_json_path

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


def parse_yaml(text: str, file: str) -> tuple[YamlDocument | None, list[Diagnostic]]:
    """Parse one YAML document. Returns the document (None if unusable) and problems found."""
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
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Diagnostic(Severity.ERROR, "file-unreadable", f"cannot read file: {exc.strerror or exc}", name)]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [Diagnostic(Severity.ERROR, "file-encoding", "the file is not valid UTF-8", name, line)]
    return parse_yaml(text, name)

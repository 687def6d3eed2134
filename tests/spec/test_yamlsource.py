"""YAML with positions: values and keys keep their line/column; timestamps stay strings."""

from __future__ import annotations

from pathlib import Path

from meshplane.diagnostics import Position, Severity, render_json_path
from meshplane.spec.yamlsource import parse_yaml, read_yaml_file

TEXT = """\
# a comment
apiVersion: v3.1.0
schema:
  - name: orders
    properties:
      - name: order_id
        tags: [a, b]
created: 2024-01-31
changed: 2024-01-31T10:00:00Z
"""


def test_positions_of_values_and_keys() -> None:
    doc, problems = parse_yaml(TEXT, "x.yaml")
    assert problems == []
    assert doc is not None
    assert doc.positions[()] == Position(2, 1)
    assert doc.positions[("apiVersion",)] == Position(2, 13)
    assert doc.key_positions[("apiVersion",)] == Position(2, 1)
    assert doc.positions[("schema", 0)] == Position(4, 5)
    assert doc.positions[("schema", 0, "properties", 0, "name")] == Position(6, 15)
    assert doc.positions[("schema", 0, "properties", 0, "tags", 1)] == Position(7, 19)
    assert doc.key_positions[("schema", 0, "properties", 0, "tags")] == Position(7, 9)


def test_locate_falls_back_to_the_nearest_ancestor() -> None:
    doc, _ = parse_yaml(TEXT, "x.yaml")
    assert doc is not None
    assert doc.locate(("schema", 0, "properties", 0, "missing")) == Position(6, 9)
    assert doc.locate(("schema", 0, "properties", 0, "tags"), key=True) == Position(7, 9)
    assert doc.locate(("nope", 3)) == Position(2, 1)


def test_diagnostic_carries_file_line_column_and_path() -> None:
    doc, _ = parse_yaml(TEXT, "x.yaml")
    assert doc is not None
    diag = doc.diagnostic(("schema", 0, "properties", 0, "name"), "bad name", code="test")
    assert (diag.file, diag.line, diag.column, diag.path) == ("x.yaml", 6, 15, "$.schema[0].properties[0].name")
    assert diag.severity is Severity.ERROR
    assert str(diag) == "x.yaml:6:15: error: bad name at $.schema[0].properties[0].name [test]"


def test_timestamps_and_dates_stay_strings() -> None:
    doc, _ = parse_yaml(TEXT, "x.yaml")
    assert doc is not None
    assert doc.data["created"] == "2024-01-31"
    assert doc.data["changed"] == "2024-01-31T10:00:00Z"


def test_other_scalars_keep_their_yaml_types() -> None:
    doc, _ = parse_yaml("a: 1\nb: 1.5\nc: true\nd: null\ne: '1'\nf: 1.0.0\n", "x.yaml")
    assert doc is not None
    assert doc.data == {"a": 1, "b": 1.5, "c": True, "d": None, "e": "1", "f": "1.0.0"}


def test_every_duplicate_key_is_reported_with_both_lines() -> None:
    text = "a: 1\nb:\n  c: 1\n  c: 2\na: 3\n"
    doc, problems = parse_yaml(text, "x.yaml")
    assert doc is not None
    assert [(p.code, p.line, p.column, p.path) for p in problems] == [
        ("yaml-duplicate-key", 4, 3, "$.b.c"),
        ("yaml-duplicate-key", 5, 1, "$.a"),
    ]
    assert problems[0].message == "duplicate key 'c' (first defined on line 3)"
    assert problems[1].message == "duplicate key 'a' (first defined on line 1)"


def test_merge_keys_are_not_duplicates() -> None:
    text = "base: &b\n  x: 1\nother:\n  <<: *b\n  y: 2\n"
    doc, problems = parse_yaml(text, "x.yaml")
    assert problems == []
    assert doc is not None
    assert doc.data["other"] == {"x": 1, "y": 2}


def test_empty_and_comment_only_files() -> None:
    for text in ("", "\n\n", "# only a comment\n"):
        doc, problems = parse_yaml(text, "x.yaml")
        assert doc is None
        assert [(p.code, p.line) for p in problems] == [("yaml-empty", 1)]


def test_scalar_document_is_not_a_mapping() -> None:
    doc, problems = parse_yaml("just text\n", "x.yaml")
    assert doc is None
    assert [(p.code, p.line, p.path) for p in problems] == [("yaml-not-mapping", 1, "$")]
    assert "found a str value" in problems[0].message


def test_second_document_is_a_syntax_error_on_its_line() -> None:
    doc, problems = parse_yaml("a: 1\n---\nb: 2\n", "x.yaml")
    assert doc is None
    assert [(p.code, p.line) for p in problems] == [("yaml-syntax", 2)]
    assert "single document" in problems[0].message


def test_non_utf8_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.odcs.yaml"
    path.write_bytes(b"a: 1\nb: caf\xe9\n")
    doc, problems = read_yaml_file(path, "bad.odcs.yaml")
    assert doc is None
    assert [(p.code, p.file, p.line) for p in problems] == [("file-encoding", "bad.odcs.yaml", 2)]


def test_unreadable_path_is_a_diagnostic(tmp_path: Path) -> None:
    doc, problems = read_yaml_file(tmp_path, "folder")
    assert doc is None
    assert [(p.code, p.file) for p in problems] == [("file-unreadable", "folder")]
    assert "Errno" not in problems[0].message


def test_render_json_path() -> None:
    assert render_json_path(()) == "$"
    assert render_json_path(("schema", 0, "properties", 2, "name")) == "$.schema[0].properties[2].name"
    assert render_json_path(("x-extra", "it's")) == "$['x-extra']['it\\'s']"

"""parse -> dump -> parse for the example mesh and the corpus base mesh: same model, same document."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from meshplane.spec.loader import dump_document, load_file, load_text
from meshplane.spec.meshfiles import MeshConfig

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_MESH = REPO / "examples" / "holding"
BASE_MESH = REPO / "tests" / "corpus" / "meshes" / "_base"


def _mesh_files(root: Path) -> list[Path]:
    return sorted(
        p for p in root.rglob("*") if p.is_file() and p.name.endswith((".yaml", ".yml")) and "lake" not in p.parts
    )


EXAMPLE_FILES = _mesh_files(EXAMPLE_MESH) if EXAMPLE_MESH.is_dir() else []
BASE_FILES = _mesh_files(BASE_MESH)


def _round_trip(path: Path) -> None:
    first = load_file(path)
    assert first.ok, [str(d) for d in first.diagnostics]
    assert first.model is not None and first.document is not None
    text = dump_document(first.model)
    second = load_text(text, path.name, first.kind)
    assert second.ok, [str(d) for d in second.diagnostics]
    assert second.model == first.model
    assert second.document is not None
    assert second.document.data == first.document.data
    assert dump_document(second.model) == text


def test_example_mesh_has_files_to_round_trip() -> None:
    if not (EXAMPLE_MESH / "mesh.yaml").is_file():
        pytest.skip("examples/holding/mesh.yaml does not exist yet (the example mesh is being written)")
    names = {p.name for p in EXAMPLE_FILES}
    assert "mesh.yaml" in names and "domain.yaml" in names
    assert any(n.endswith(".odps.yaml") for n in names) and any(n.endswith(".odcs.yaml") for n in names)


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.relative_to(EXAMPLE_MESH).as_posix() for p in EXAMPLE_FILES])
def test_example_mesh_file_round_trips(path: Path) -> None:
    _round_trip(path)


@pytest.mark.parametrize("path", BASE_FILES, ids=[p.relative_to(BASE_MESH).as_posix() for p in BASE_FILES])
def test_corpus_base_mesh_file_round_trips(path: Path) -> None:
    _round_trip(path)


def test_dump_keeps_only_what_was_written_in_the_standards_spelling() -> None:
    loaded = load_text("apiVersion: meshplane/v1\nkind: Mesh\nname: m\n", "mesh.yaml")
    assert isinstance(loaded.model, MeshConfig)
    # defaults (lake.root, defaultEngine) are not written back
    assert yaml.safe_load(dump_document(loaded.model)) == {"apiVersion": "meshplane/v1", "kind": "Mesh", "name": "m"}


def test_dump_quotes_strings_that_would_change_type() -> None:
    text = (
        "apiVersion: v3.1.0\nkind: DataContract\nid: c\nversion: '1.0'\nstatus: 'yes'\n"
        "contractCreatedTs: 2024-01-31T10:00:00Z\n"
        "schema:\n  - name: t\n    properties:\n      - name: '123'\n        examples: ['null', 'true', 2024-01-31]\n"
    )
    first = load_text(text, "c.odcs.yaml")
    assert first.ok, [str(d) for d in first.diagnostics]
    assert first.model is not None and first.document is not None
    second = load_text(dump_document(first.model), "c.odcs.yaml")
    assert second.document is not None
    assert second.document.data == first.document.data
    assert second.document.data["version"] == "1.0"
    assert second.document.data["contractCreatedTs"] == "2024-01-31T10:00:00Z"
    assert second.document.data["schema"][0]["properties"][0]["examples"] == ["null", "true", "2024-01-31"]

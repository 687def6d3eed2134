"""A mesh folder as a bundle: exactly the files `load_mesh` reads, files named back as locally."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from meshplane.api.client import PROBLEM_TYPE_BASE
from meshplane.api.problems import TYPE_BASE
from meshplane.diagnostics import MeshplaneError
from meshplane.mesh.repository import load_mesh
from meshplane.service.bundles import localise_files, read_bundle
from meshplane.service.publishing import bundle_path_problem

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def mesh(tmp_path: Path) -> Path:
    return Path(shutil.copytree(REPO / "examples/holding", tmp_path / "holding", ignore=shutil.ignore_patterns("lake")))


def test_a_bundle_holds_the_files_the_loader_reads_and_nothing_else(mesh: Path) -> None:
    (mesh / ".meshplane").mkdir(exist_ok=True)
    (mesh / ".meshplane" / "state.yaml").write_text("x: 1\n", encoding="utf-8")
    (mesh / "lake").mkdir()
    (mesh / "lake" / "stray.yaml").write_text("x: 1\n", encoding="utf-8")
    (mesh / ".github").mkdir()
    (mesh / ".github" / "ci.yml").write_text("on: push\n", encoding="utf-8")
    (mesh / "domains" / "retail" / "notes.yaml").write_text("x: 1\n", encoding="utf-8")
    files = read_bundle(mesh)
    repo = load_mesh(mesh)
    read = {"mesh.yaml"} | {Path(d.folder, "domain.yaml") for d in repo.domains}
    read |= {Path(p.folder, Path(p.file).name) for p in repo.products} | {c.path for c in repo.contracts}
    expected = {"mesh.yaml"} | {Path(p).resolve().relative_to(mesh.resolve()).as_posix() for p in read - {"mesh.yaml"}}
    assert set(files) == expected
    assert files["mesh.yaml"] == (mesh / "mesh.yaml").read_text(encoding="utf-8")
    assert all(bundle_path_problem(path) is None for path in files), "the server takes every path"


def test_a_folder_without_mesh_yaml_or_with_a_binary_file_is_exit_2(mesh: Path, tmp_path: Path) -> None:
    with pytest.raises(MeshplaneError, match="is not a mesh") as no_mesh:
        read_bundle(tmp_path / "holding" / "domains")
    assert no_mesh.value.exit_code == 2
    with pytest.raises(MeshplaneError, match="no such file or folder"):
        read_bundle(tmp_path / "nowhere")
    (mesh / "domains/retail/domain.yaml").write_bytes(b"name: \xff\xfe\n")
    with pytest.raises(MeshplaneError, match=r"domain\.yaml: not UTF-8 text \(byte 6\)"):
        read_bundle(mesh)


def test_files_named_by_the_server_read_as_local_paths(mesh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(mesh.parent)
    files = read_bundle(mesh)
    answer = {
        "errors": [{"file": "domains/retail/domain.yaml", "message": "domains/retail/domain.yaml stays in messages"}],
        "changes": [{"file": "domains/retail/products/new"}, {"file": "/elsewhere/x.yaml"}, {"file": "../x.yaml"}],
    }
    local = localise_files(answer, mesh, files)
    assert local["errors"][0]["file"] == os.path.join("holding", "domains", "retail", "domain.yaml")
    assert local["errors"][0]["message"] == answer["errors"][0]["message"]
    assert local["changes"][0]["file"] == os.path.join("holding", "domains", "retail", "products", "new")
    assert local["changes"][1:] == answer["changes"][1:], "paths outside the bundle are left alone"


def test_the_client_knows_the_servers_problem_types() -> None:
    assert PROBLEM_TYPE_BASE == TYPE_BASE

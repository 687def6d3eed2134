"""A mesh repository as a bundle: the files `POST /api/v1/apply` takes, read from a mesh folder.

A bundle maps each file's path relative to the mesh folder (with ``/``) to its text. It holds
exactly the files `meshplane.mesh.repository.load_mesh` reads, and only those: ``mesh.yaml``,
``domains/<d>/domain.yaml``, each product's ``*.odps.yaml`` and its ``contracts/*.odcs.yaml``
(hidden folders skipped). Anything else in the folder (the lake, ``.meshplane``, CI files) stays
on the machine.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from meshplane.diagnostics import MeshplaneError
from meshplane.mesh.repository import MESH_FILE, display_path

_DESCRIPTORS = (".odps.yaml", ".odps.yml")
_CONTRACTS = (".odcs.yaml", ".odcs.yml")


def _folders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _files(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(suffixes))


def mesh_files(root: Path) -> Iterator[Path]:
    """The files of the mesh at `root` that `load_mesh` reads, in its order."""
    yield root / MESH_FILE
    domains = root / "domains"
    if not domains.is_dir():
        return
    for domain in _folders(domains):
        if (domain / "domain.yaml").is_file():
            yield domain / "domain.yaml"
        products = domain / "products"
        if not products.is_dir():
            continue
        for product in _folders(products):
            yield from _files(product, _DESCRIPTORS)
            if (product / "contracts").is_dir():
                yield from _files(product / "contracts", _CONTRACTS)


def read_bundle(path: Path) -> dict[str, str]:
    """The bundle of the mesh folder at `path`: relative path → text.

    Exit 2 (`MeshplaneError`) when `path` is no mesh or one of its files cannot be read as UTF-8.
    """
    root = path.resolve()
    if not root.exists():
        raise MeshplaneError(f"no such file or folder: {path}")
    if not (root / MESH_FILE).is_file():
        raise MeshplaneError(f"{path} is not a mesh: it has no {MESH_FILE} (create one with `meshplane init`)")
    files: dict[str, str] = {}
    for file in mesh_files(root):
        try:
            files[file.relative_to(root).as_posix()] = file.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise MeshplaneError(
                f"{display_path(file)}: not UTF-8 text (byte {exc.start}); mesh files are UTF-8"
            ) from None
        except OSError as exc:
            raise MeshplaneError(f"{display_path(file)}: cannot be read: {exc.strerror}") from None
    return files


def _in_bundle(path: str, files: Mapping[str, str]) -> bool:
    """Whether `path` names a file or folder of the bundle (a relative path inside it)."""
    if path in files:
        return True
    parts = PurePosixPath(path).parts
    return (
        bool(parts)
        and not PurePosixPath(path).is_absolute()
        and ".." not in parts
        and parts[0] in {PurePosixPath(f).parts[0] for f in files}
    )


def localise_files(value: Any, root: Path, files: Mapping[str, str]) -> Any:
    """`value` (a server's answer) with each ``file`` that names a bundle file shown as a local path.

    A server names files by their bundle path (``domains/retail/domain.yaml``); here they read as
    the local commands name them (relative to the working directory, `display_path`).
    """
    if isinstance(value, list):
        return [localise_files(item, root, files) for item in value]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "file" and isinstance(item, str) and _in_bundle(item, files):
                out[key] = display_path(root.resolve().joinpath(*PurePosixPath(item).parts))
            else:
                out[key] = localise_files(item, root, files)
        return out
    return value


__all__ = ["localise_files", "mesh_files", "read_bundle"]

"""Reading and validating mesh files: ODCS contracts, ODPS product descriptors, domain.yaml, mesh.yaml.

Pure models and loading; no I/O beyond reading the files it is given.
"""

from __future__ import annotations

from meshplane.spec.loader import (
    FileKind,
    LoadedFile,
    detect_kind,
    dump_document,
    load_contract,
    load_domain,
    load_file,
    load_mesh_config,
    load_product,
)
from meshplane.spec.meshfiles import Domain, MeshConfig
from meshplane.spec.odcs import Contract
from meshplane.spec.odps import DataProduct

__all__ = [
    "Contract",
    "DataProduct",
    "Domain",
    "FileKind",
    "LoadedFile",
    "MeshConfig",
    "detect_kind",
    "dump_document",
    "load_contract",
    "load_domain",
    "load_file",
    "load_mesh_config",
    "load_product",
]

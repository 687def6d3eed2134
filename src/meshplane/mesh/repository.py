"""Load a whole mesh folder (GitOps repository) into memory.

Layout (ARCHITECTURE.md §1)::

    mesh.yaml
    domains/<domain>/domain.yaml
    domains/<domain>/products/<product>/product.odps.yaml
    domains/<domain>/products/<product>/contracts/<contract>.odcs.yaml

Loading never stops at the first bad file: each file's diagnostics are collected, and what did
load is still available to the cross-file checks (`mesh.crosscheck`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from meshplane.diagnostics import Diagnostic, MeshplaneError, Severity
from meshplane.spec.loader import FileKind, LoadedFile, load_contract, load_domain, load_mesh_config, load_product
from meshplane.spec.meshfiles import Domain, MeshConfig
from meshplane.spec.odcs import Contract
from meshplane.spec.odps import DataProduct
from meshplane.spec.yamlsource import YamlDocument

MESH_FILE = "mesh.yaml"


def display_path(path: Path) -> str:
    """How a file is named in messages: relative to the working directory when below it."""
    try:
        return os.path.relpath(path) if path.resolve().is_relative_to(Path.cwd().resolve()) else str(path)
    except (OSError, ValueError):
        return str(path)


@dataclass
class DomainEntry:
    """A domain folder and its loaded domain.yaml."""

    id: str
    folder: Path
    file: str
    loaded: LoadedFile[Domain] | None

    @property
    def model(self) -> Domain | None:
        """The domain model when domain.yaml loaded cleanly."""
        return self.loaded.model if self.loaded else None


@dataclass
class ContractEntry:
    """A contract file, the product folder it sits in, and its model."""

    file: str
    path: Path
    domain: str
    product_folder: str
    loaded: LoadedFile[Contract]
    product_id: str | None = None

    @property
    def contract(self) -> Contract | None:
        """The contract model when the file loaded."""
        return self.loaded.model

    @property
    def document(self) -> YamlDocument | None:
        """The parsed YAML (for positions)."""
        return self.loaded.document


@dataclass
class ProductEntry:
    """A product folder, its descriptor and its contracts."""

    folder: Path
    file: str
    domain: str
    folder_name: str
    loaded: LoadedFile[DataProduct] | None
    contracts: list[ContractEntry] = field(default_factory=list)

    @property
    def product(self) -> DataProduct | None:
        """The product model when the descriptor loaded."""
        return self.loaded.model if self.loaded else None

    @property
    def id(self) -> str | None:
        """The product id declared in the descriptor."""
        return self.product.id if self.product else None


@dataclass
class MeshRepository:
    """Everything in a mesh folder, as loaded. Cross-file checks live in `mesh.crosscheck`."""

    root: Path
    config_file: LoadedFile[MeshConfig]
    domains: list[DomainEntry] = field(default_factory=list)
    products: list[ProductEntry] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    lake_base: Path | None = None
    """Where a relative ``lake.root`` resolves when not against the mesh folder (a bundle applied through a server)."""

    @property
    def config(self) -> MeshConfig | None:
        """The mesh.yaml model when it loaded."""
        return self.config_file.model

    @property
    def lake_root(self) -> Path:
        """Folder relative `local` server paths resolve against (a relative root: below `lake_base` or the mesh)."""
        root = self.config.lake.root if self.config else "lake"
        path = Path(root)
        return path if path.is_absolute() else ((self.lake_base or self.root) / path)

    @property
    def contracts(self) -> list[ContractEntry]:
        """Every contract file of the mesh, in folder order."""
        return [c for p in self.products for c in p.contracts]

    def file_diagnostics(self) -> list[Diagnostic]:
        """Diagnostics of the individual files (parse, schema, model)."""
        out = list(self.config_file.diagnostics)
        for dom in self.domains:
            if dom.loaded:
                out.extend(dom.loaded.diagnostics)
        for prod in self.products:
            if prod.loaded:
                out.extend(prod.loaded.diagnostics)
            for con in prod.contracts:
                out.extend(con.loaded.diagnostics)
        return out + self.diagnostics

    def contract_by_id(self, contract_id: str) -> ContractEntry | None:
        """The (first) contract with this id."""
        for entry in self.contracts:
            if entry.contract and entry.contract.id == contract_id:
                return entry
        return None

    def product_by_id(self, product_id: str) -> ProductEntry | None:
        """The (first) product with this id."""
        for entry in self.products:
            if entry.id == product_id:
                return entry
        return None

    def domain_by_id(self, domain_id: str) -> DomainEntry | None:
        """The domain folder with this id."""
        for entry in self.domains:
            if entry.id == domain_id:
                return entry
        return None


def find_mesh_root(start: Path) -> Path | None:
    """The nearest folder at or above `start` that holds a mesh.yaml."""
    here = start.resolve()
    if here.is_file():
        here = here.parent
    for folder in (here, *here.parents):
        if (folder / MESH_FILE).is_file():
            return folder
    return None


MESH_FILE_SUFFIXES = (".odcs.yaml", ".odcs.yml", ".odps.yaml", ".odps.yml")
MESH_FILE_NAMES = ("domain.yaml", "domain.yml", MESH_FILE)
WALK_MAX_FOLDERS = 5000
"""How many folders a search for loose mesh files visits before it stops (and says so)."""
WALK_MAX_BARREN = 3
"""How many nested folders without a mesh file a search goes through (domains/<d>/products/<p> has at most 2)."""
_NEVER_WALKED = frozenset({"node_modules", "__pycache__", "site-packages", "venv", "lake"})


def is_mesh_file(path: Path) -> bool:
    """True for a file meshplane reads: *.odcs.yaml, *.odps.yaml, domain.yaml, mesh.yaml."""
    name = path.name.lower()
    return name.endswith(MESH_FILE_SUFFIXES) or name in MESH_FILE_NAMES


@dataclass
class MeshFileSearch:
    """The mesh files found below a folder that is not a mesh, and whether the search stopped at its cap."""

    files: list[Path]
    folders: int
    capped: bool


def find_mesh_files(start: Path, *, max_folders: int = WALK_MAX_FOLDERS) -> MeshFileSearch:
    """Mesh files below `start`, without walking unrelated trees.

    Hidden folders, vendored ones (node_modules, virtual environments, a lake) and symbolic links are skipped;
    a folder is entered only when fewer than `WALK_MAX_BARREN` folders above it (up to `start`) in a row held
    no mesh file; at most `max_folders` folders are read (`capped` then says the search stopped).
    """
    files: list[Path] = []
    pending: list[tuple[Path, int]] = [(start, 0)]
    folders = 0
    while pending:
        if folders >= max_folders:
            return MeshFileSearch(sorted(files), folders, True)
        folder, barren_above = pending.pop()
        folders += 1
        found: list[Path] = []
        below: list[Path] = []
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        if not entry.name.startswith(".") and entry.name not in _NEVER_WALKED:
                            below.append(Path(entry.path))
                    elif entry.is_file() and is_mesh_file(Path(entry.name)):
                        found.append(Path(entry.path))
        except OSError:  # unreadable folder: nothing to lint there
            continue
        files += found
        barren = 0 if found else barren_above + 1
        if barren < WALK_MAX_BARREN:
            pending += [(child, barren) for child in sorted(below, reverse=True)]
    return MeshFileSearch(sorted(files), folders, False)


def _yaml_files(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(suffixes))


def _load_product_folder(folder: Path, domain: str) -> ProductEntry:
    descriptors = _yaml_files(folder, (".odps.yaml", ".odps.yml"))
    diags: list[Diagnostic] = []
    loaded = None
    file = display_path(folder / "product.odps.yaml")
    if descriptors:
        file = display_path(descriptors[0])
        loaded = load_product(descriptors[0], file)
        for extra in descriptors[1:]:
            diags.append(
                Diagnostic(
                    Severity.ERROR,
                    "extra-product-descriptor",
                    f"a product folder holds one descriptor; also found {extra.name}",
                    display_path(extra),
                )
            )
    else:
        diags.append(
            Diagnostic(
                Severity.ERROR,
                "missing-product-descriptor",
                f"product folder '{folder.name}' has no product.odps.yaml",
                display_path(folder),
            )
        )
    entry = ProductEntry(folder, file, domain, folder.name, loaded)
    contracts_dir = folder / "contracts"
    if contracts_dir.is_dir():
        for path in _yaml_files(contracts_dir, (".odcs.yaml", ".odcs.yml")):
            shown = display_path(path)
            entry.contracts.append(ContractEntry(shown, path, domain, folder.name, load_contract(path, shown)))
    for contract in entry.contracts:
        contract.product_id = entry.id
    if loaded is not None:
        loaded.diagnostics.extend(diags)
    else:
        entry.loaded = LoadedFile(file, FileKind.PRODUCT, None, None, diags)
    return entry


def load_mesh(path: Path, *, lake_base: Path | None = None) -> MeshRepository:
    """Load the mesh at `path` (a folder holding mesh.yaml); a relative lake root resolves below `lake_base` if given.

    Raises `MeshplaneError` (exit 2) only when there is no mesh to load; problems inside files
    are diagnostics on the returned repository.
    """
    root = path.resolve()
    if not root.exists():
        raise MeshplaneError(f"no such file or folder: {path}")
    if not (root / MESH_FILE).is_file():
        raise MeshplaneError(f"{path} is not a mesh: it has no {MESH_FILE} (create one with `meshplane init`)")
    repo = MeshRepository(
        root=root,
        config_file=load_mesh_config(root / MESH_FILE, display_path(root / MESH_FILE)),
        lake_base=lake_base.resolve() if lake_base is not None else None,
    )
    domains_dir = root / "domains"
    if not domains_dir.is_dir():
        return repo
    for folder in sorted(p for p in domains_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        domain_file = folder / "domain.yaml"
        shown = display_path(domain_file)
        loaded = load_domain(domain_file, shown) if domain_file.is_file() else None
        if loaded is None:
            repo.diagnostics.append(
                Diagnostic(
                    Severity.ERROR, "missing-domain-file", f"domain folder '{folder.name}' has no domain.yaml", shown
                )
            )
        repo.domains.append(DomainEntry(folder.name, folder, shown, loaded))
        products_dir = folder / "products"
        if products_dir.is_dir():
            for product_folder in sorted(
                p for p in products_dir.iterdir() if p.is_dir() and not p.name.startswith(".")
            ):
                repo.products.append(_load_product_folder(product_folder, folder.name))
    return repo

"""Load one mesh file: YAML with positions -> official JSON Schema -> typed model.

Every problem is returned as a diagnostic (never raised), all of a file's problems at once.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml
from pydantic import ValidationError

from meshplane.diagnostics import Diagnostic, Severity, has_errors
from meshplane.spec.base import UNKNOWN_FIELDS, SpecModel
from meshplane.spec.meshfiles import Domain, MeshConfig
from meshplane.spec.odcs import Contract
from meshplane.spec.odps import DataProduct
from meshplane.spec.validation import (
    admits_unknown_fields,
    validate_contract,
    validate_domain,
    validate_mesh,
    validate_product,
)
from meshplane.spec.yamlsource import YamlDocument, parse_yaml, read_yaml_file

M = TypeVar("M", bound=SpecModel)


class FileKind(enum.StrEnum):
    """What a mesh file is."""

    CONTRACT = "contract"
    PRODUCT = "product"
    DOMAIN = "domain"
    MESH = "mesh"


_BY_KIND_FIELD = {
    "DataContract": FileKind.CONTRACT,
    "DataProduct": FileKind.PRODUCT,
    "Domain": FileKind.DOMAIN,
    "Mesh": FileKind.MESH,
}


@dataclass
class LoadedFile(Generic[M]):
    """The outcome of loading one file: the model when it is valid, and every diagnostic."""

    file: str
    kind: FileKind | None
    document: YamlDocument | None
    model: M | None
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the file produced a model and has no errors (warnings allowed)."""
        return self.model is not None and not has_errors(self.diagnostics)


def detect_kind(path: Path, data: Any = None) -> FileKind | None:
    """Tell the kind of a file from its name, else from its `kind` field."""
    name = path.name.lower()
    if name.endswith((".odcs.yaml", ".odcs.yml")):
        return FileKind.CONTRACT
    if name.endswith((".odps.yaml", ".odps.yml")):
        return FileKind.PRODUCT
    if name in ("domain.yaml", "domain.yml"):
        return FileKind.DOMAIN
    if name in ("mesh.yaml", "mesh.yml"):
        return FileKind.MESH
    if isinstance(data, dict):
        return _BY_KIND_FIELD.get(str(data.get("kind")))
    return None


_VALIDATORS: dict[FileKind, tuple[Callable[[YamlDocument], list[Diagnostic]], type[SpecModel]]] = {
    FileKind.CONTRACT: (validate_contract, Contract),
    FileKind.PRODUCT: (validate_product, DataProduct),
    FileKind.DOMAIN: (validate_domain, Domain),
    FileKind.MESH: (validate_mesh, MeshConfig),
}


def _model_errors(doc: YamlDocument, exc: ValidationError) -> list[Diagnostic]:
    """What the model refused, in the words of a file's author (never pydantic's own wording)."""
    out = []
    for err in exc.errors():
        loc = tuple(part for part in err["loc"] if isinstance(part, str | int))
        kind = err["type"]
        if kind == "unknown_field":
            message = (
                f"{err['msg']}: not a field of this document's standard version; remove it or use customProperties"
            )
        elif kind == "missing":
            message = "missing required field"
        else:
            message = f"value not accepted ({err['msg'][:1].lower()}{err['msg'][1:]})"
        out.append(doc.diagnostic(loc, message, code="model"))
    return out


def load_document(doc: YamlDocument, kind: FileKind) -> LoadedFile[Any]:
    """Validate a parsed document of a known kind and build its model.

    The model admits the fields the document's own version admits (ODCS v3.0.x leaves its objects
    open; `spec.base.UNKNOWN_FIELDS`).
    """
    validate, model_type = _VALIDATORS[kind]
    diagnostics = validate(doc)
    model = None
    if not has_errors(diagnostics):
        context = {UNKNOWN_FIELDS: kind is FileKind.CONTRACT and admits_unknown_fields(doc)}
        try:
            model = model_type.model_validate(doc.data, by_alias=True, context=context)
        except ValidationError as exc:
            diagnostics.extend(_model_errors(doc, exc))
    return LoadedFile(doc.file, kind, doc, model, diagnostics)


def _finish(
    doc: YamlDocument | None, problems: list[Diagnostic], file: str, path: Path, kind: FileKind | None
) -> LoadedFile[Any]:
    if doc is None:
        return LoadedFile(file, kind, None, None, problems)
    kind = kind or detect_kind(path, doc.data)
    if kind is None:
        problems.append(
            doc.diagnostic(
                ("kind",),
                "cannot tell what this file is: name it *.odcs.yaml, *.odps.yaml, domain.yaml or mesh.yaml, "
                "or set kind: DataContract | DataProduct | Domain | Mesh",
                code="unknown-file-kind",
            )
        )
        return LoadedFile(file, None, doc, None, problems)
    loaded = load_document(doc, kind)
    loaded.diagnostics[:0] = problems
    if has_errors(problems):
        loaded.model = None
    return loaded


def load_file(path: Path, kind: FileKind | None = None, display: str | None = None) -> LoadedFile[Any]:
    """Load any mesh file; its kind comes from `kind`, else its name, else its `kind` field."""
    file = display or str(path)
    doc, problems = read_yaml_file(path, file)
    return _finish(doc, problems, file, path, kind)


def load_text(text: str, name: str, kind: FileKind | None = None) -> LoadedFile[Any]:
    """Load a mesh file given as text (e.g. from an API request); `name` is used in messages."""
    doc, problems = parse_yaml(text, name)
    return _finish(doc, problems, name, Path(name), kind)


def load_contract(path: Path, display: str | None = None) -> LoadedFile[Contract]:
    """Load an ODCS contract file."""
    return load_file(path, FileKind.CONTRACT, display)


def load_product(path: Path, display: str | None = None) -> LoadedFile[DataProduct]:
    """Load an ODPS product descriptor."""
    return load_file(path, FileKind.PRODUCT, display)


def load_domain(path: Path, display: str | None = None) -> LoadedFile[Domain]:
    """Load a domain.yaml."""
    return load_file(path, FileKind.DOMAIN, display)


def load_mesh_config(path: Path, display: str | None = None) -> LoadedFile[MeshConfig]:
    """Load a mesh.yaml."""
    return load_file(path, FileKind.MESH, display)


def dump_document(model: SpecModel) -> str:
    """A model as YAML in the standard's shape (keys in model order, only what was set)."""
    return yaml.safe_dump(model.to_document(), sort_keys=False, allow_unicode=True)


__all__ = [
    "Diagnostic",
    "FileKind",
    "LoadedFile",
    "Severity",
    "detect_kind",
    "dump_document",
    "load_contract",
    "load_document",
    "load_domain",
    "load_file",
    "load_mesh_config",
    "load_product",
    "load_text",
]

"""Where the registry lives: one function resolves the database URL for a mesh.

Order (first match wins):

1. ``MESHPLANE_DATABASE_URL`` (the settings object),
2. ``registry:`` in the mesh's ``mesh.yaml``,
3. ``sqlite:///<mesh>/.meshplane/registry.db``.

PostgreSQL URLs are normalised to the psycopg 3 driver: ``postgres://`` and ``postgresql://``
become ``postgresql+psycopg://``. A relative SQLite path in ``mesh.yaml`` is relative to the mesh.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from meshplane.diagnostics import MeshplaneError
from meshplane.settings import get_settings

DEFAULT_SQLITE_FILE = Path(".meshplane") / "registry.db"


class UrlSource(enum.StrEnum):
    """Where a registry URL came from."""

    ENVIRONMENT = "MESHPLANE_DATABASE_URL"
    MESH_FILE = "mesh.yaml"
    DEFAULT = "default"


@dataclass(frozen=True)
class RegistryUrl:
    """A resolved registry URL and where it came from."""

    url: str
    source: UrlSource

    @property
    def explicit(self) -> bool:
        """True when someone set the URL (environment or mesh.yaml), not the default."""
        return self.source is not UrlSource.DEFAULT

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.url.split(":", 1)[0].split("+", 1)[0]

    @property
    def sqlite_file(self) -> Path | None:
        """The database file of a SQLite URL (None for PostgreSQL or in-memory SQLite)."""
        if self.dialect != "sqlite":
            return None
        rest = self.url.split(":///", 1)[1] if ":///" in self.url else ""
        rest = rest.split("?", 1)[0]
        if not rest or rest == ":memory:":
            return None
        return Path(rest)

    @property
    def display(self) -> str:
        """The URL with any password masked, for messages."""
        return mask_password(self.url)


def mask_password(url: str) -> str:
    """``postgresql+psycopg://user:secret@host/db`` → ``postgresql+psycopg://user:***@host/db``."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    if ":" not in creds:
        return url
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


def normalise_url(url: str, base: Path | None = None) -> str:
    """Accept the usual spellings and return a SQLAlchemy URL meshplane can open.

    ``postgres://`` / ``postgresql://`` get the psycopg 3 driver; a relative SQLite path is made
    absolute against `base` (the mesh folder) when given. Anything else is refused with a message.
    """
    text = url.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        raise MeshplaneError(
            f"registry URL '{mask_password(text)}' is not a URL "
            "(expected sqlite:///path/registry.db or postgresql+psycopg://user@host/db)"
        )
    scheme = scheme.lower()
    if scheme in ("postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg3"):
        return f"postgresql+psycopg://{rest}"
    if scheme in ("sqlite", "sqlite+pysqlite"):
        path = rest[1:] if rest.startswith("/") else rest
        query = ""
        if "?" in path:
            path, query = path.split("?", 1)
            query = "?" + query
        if path and path != ":memory:" and base is not None and not Path(path).is_absolute():
            path = str((base / path).resolve())
        return f"sqlite:///{path}{query}"
    raise MeshplaneError(
        f"registry URL scheme '{scheme}' is not supported: use sqlite:/// or postgresql+psycopg:// "
        "(postgres:// and postgresql:// are accepted too)"
    )


def resolve_registry_url(mesh_root: Path | None, mesh_registry: str | None = None) -> RegistryUrl:
    """The registry URL for a mesh (see the module docstring for the order).

    `mesh_root` is the mesh folder (None when there is no mesh, e.g. `meshplane db` run with only
    the environment variable); `mesh_registry` is the `registry` value of its mesh.yaml.
    """
    env_url = get_settings().database_url
    if env_url:
        return RegistryUrl(normalise_url(env_url, Path.cwd()), UrlSource.ENVIRONMENT)
    if mesh_registry:
        return RegistryUrl(normalise_url(mesh_registry, mesh_root), UrlSource.MESH_FILE)
    if mesh_root is None:
        raise MeshplaneError(
            "no registry configured: set MESHPLANE_DATABASE_URL or run inside a mesh folder (one holding mesh.yaml)"
        )
    return RegistryUrl(f"sqlite:///{(mesh_root / DEFAULT_SQLITE_FILE).resolve()}", UrlSource.DEFAULT)


def registry_configured(resolved: RegistryUrl) -> bool:
    """Whether `meshplane test` should record runs: the URL was set explicitly, or the default file exists."""
    if resolved.explicit:
        return True
    file = resolved.sqlite_file
    return file is not None and file.is_file()

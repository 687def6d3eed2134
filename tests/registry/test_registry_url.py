"""Registry URL resolution: environment, then mesh.yaml, then the default SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshplane.diagnostics import MeshplaneError
from meshplane.registry import UrlSource, mask_password, normalise_url, registry_configured, resolve_registry_url
from meshplane.settings import get_settings


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("POSTGRESQL://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////abs/registry.db", "sqlite:////abs/registry.db"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
    ],
)
def test_normalise_url(given: str, expected: str) -> None:
    assert normalise_url(given) == expected


def test_relative_sqlite_path_is_relative_to_the_base(tmp_path: Path) -> None:
    assert normalise_url("sqlite:///state/reg.db", tmp_path) == f"sqlite:///{(tmp_path / 'state/reg.db').resolve()}"


@pytest.mark.parametrize("bad", ["mysql://u@h/db", "registry.db", "http://example/db"])
def test_unsupported_urls_are_refused_with_a_message(bad: str) -> None:
    with pytest.raises(MeshplaneError) as info:
        normalise_url(bad)
    assert "sqlite" in info.value.message and "postgresql" in info.value.message


def test_mask_password() -> None:
    assert mask_password("postgresql+psycopg://me:secret@db:5432/x") == "postgresql+psycopg://me:***@db:5432/x"
    assert mask_password("postgresql+psycopg://me@db/x") == "postgresql+psycopg://me@db/x"
    assert mask_password("sqlite:////tmp/r.db") == "sqlite:////tmp/r.db"


def test_default_is_sqlite_inside_the_mesh(tmp_path: Path) -> None:
    resolved = resolve_registry_url(tmp_path, None)
    assert resolved.source is UrlSource.DEFAULT
    assert resolved.url == f"sqlite:///{(tmp_path / '.meshplane' / 'registry.db').resolve()}"
    assert resolved.sqlite_file == (tmp_path / ".meshplane" / "registry.db").resolve()
    assert not resolved.explicit


def test_mesh_yaml_beats_the_default(tmp_path: Path) -> None:
    resolved = resolve_registry_url(tmp_path, "postgres://u@h/db")
    assert (resolved.url, resolved.source) == ("postgresql+psycopg://u@h/db", UrlSource.MESH_FILE)


def test_environment_beats_mesh_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESHPLANE_DATABASE_URL", "postgresql://env@h/db")
    get_settings.cache_clear()
    resolved = resolve_registry_url(tmp_path, "sqlite:///other.db")
    assert (resolved.url, resolved.source) == ("postgresql+psycopg://env@h/db", UrlSource.ENVIRONMENT)
    assert resolved.explicit


def test_no_mesh_and_no_environment_is_a_clear_error() -> None:
    with pytest.raises(MeshplaneError, match="MESHPLANE_DATABASE_URL"):
        resolve_registry_url(None, None)


def test_configured_for_test_recording(tmp_path: Path) -> None:
    default = resolve_registry_url(tmp_path, None)
    assert not registry_configured(default)
    default.sqlite_file.parent.mkdir(parents=True)  # type: ignore[union-attr]
    default.sqlite_file.touch()  # type: ignore[union-attr]
    assert registry_configured(default)
    assert registry_configured(resolve_registry_url(tmp_path, "sqlite:///elsewhere.db"))


@pytest.mark.parametrize("url", ["postgresql://u@h:notaport/db"])
def test_malformed_urls_are_messages(url: str) -> None:
    from meshplane.registry import Registry

    with pytest.raises(MeshplaneError, match="not valid"):
        Registry(url)

"""Migrations: packaged, applied on first use and by `upgrade`, identical to the models, on both databases."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from meshplane.diagnostics import MeshplaneError
from meshplane.registry import Registry, migrate
from meshplane.registry.models import load_all_models

TABLES = {
    "alembic_version",
    "audit_log",
    "teams",
    "team_members",
    "domains",
    "products",
    "product_descriptors",
    "output_ports",
    "input_ports",
    "contracts",
    "contract_versions",
    "test_runs",
    "check_results",
}


def test_migrations_ship_inside_the_package() -> None:
    folder = migrate.migrations_dir()
    assert (folder / "env.py").is_file()
    assert any(p.name.endswith(".py") for p in (folder / "versions").iterdir())
    assert migrate.head_revision() in migrate.known_revisions()


def test_first_use_migrates_to_head(registry_url: str) -> None:
    with Registry(registry_url, auto_upgrade=False) as reg:
        assert reg.status().current is None
    with Registry(registry_url) as reg:
        status = reg.status()
        assert status.up_to_date and status.current == migrate.head_revision()
        assert set(sa.inspect(reg.engine).get_table_names()) >= TABLES  # later migrations add more


def test_migrated_schema_matches_the_models(registry: Registry) -> None:
    with registry.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, load_all_models()) == []


def test_upgrade_is_idempotent_and_reports_the_state_before(registry_url: str) -> None:
    with Registry(registry_url, auto_upgrade=False) as reg:
        before = reg.upgrade()
        assert before.current is None and not before.up_to_date
        again = reg.upgrade()
        assert again.up_to_date


def test_downgrade_to_base_and_back(registry: Registry) -> None:
    with registry.engine.connect() as conn, conn.begin():
        command.downgrade(migrate.alembic_config(conn), "base")
    assert set(sa.inspect(registry.engine).get_table_names()) <= {"alembic_version"}
    registry.upgrade()
    assert registry.status().up_to_date


def test_a_newer_schema_is_refused(registry: Registry, registry_url: str) -> None:
    with registry.engine.connect() as conn, conn.begin():
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'from_the_future'"))
    with pytest.raises(MeshplaneError, match="newer meshplane"):
        Registry(registry_url)


def test_concurrent_first_use_migrates_once(registry_url: str) -> None:
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            with Registry(registry_url) as reg:
                assert reg.status().up_to_date
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    with Registry(registry_url) as reg, reg.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM alembic_version")).scalar_one() == 1


def test_sqlite_pragmas(tmp_path) -> None:
    with Registry(f"sqlite:///{tmp_path / 'r.db'}") as reg, reg.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() >= 1000


def test_sqlite_folder_is_created(tmp_path) -> None:
    with Registry(f"sqlite:///{tmp_path / 'deep' / 'er' / 'r.db'}") as reg:
        assert reg.status().up_to_date
    assert (tmp_path / "deep" / "er" / "r.db").is_file()


def test_unreachable_postgres_is_a_clear_error() -> None:
    with pytest.raises(MeshplaneError, match="cannot open the registry"):
        Registry("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")

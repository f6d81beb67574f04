"""Migrations on both backends: idempotent upgrade, head == SQLAlchemy metadata, clean
downgrade."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import inspect

from grove_jobs.cli import main
from grove_jobs.db import migrate
from grove_jobs.db.engine import make_engine
from grove_jobs.db.metadata import metadata


def _head() -> str:
    head = ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def _schema_diff(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(context, metadata)
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_db_upgrade_is_idempotent(database_url: str) -> None:
    runner = CliRunner()
    assert migrate.current_revision(database_url) is None
    for _ in range(2):
        result = runner.invoke(main, ["--database-url", database_url, "db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert result.output.strip() == f"database at revision {_head()}"
    current = runner.invoke(main, ["--database-url", database_url, "db", "current"])
    assert current.output.strip() == _head()


def test_head_matches_the_metadata(database_url: str) -> None:
    migrate.upgrade(database_url)
    assert _schema_diff(database_url) == []
    assert _tables(database_url) == {*metadata.tables, "alembic_version"}


def test_downgrade_to_base_and_back(database_url: str) -> None:
    migrate.upgrade(database_url)
    migrate.downgrade(database_url, "base")
    assert _tables(database_url) == {"alembic_version"}
    assert migrate.current_revision(database_url) is None
    migrate.upgrade(database_url)
    assert migrate.current_revision(database_url) == _head()
    assert _schema_diff(database_url) == []

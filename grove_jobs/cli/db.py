"""``grove-jobs db``: the database schema (Alembic migrations)."""

from __future__ import annotations

import click

from grove_jobs.cli.common import CliContext, pass_cli


@click.group("db")
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@pass_cli
def db_upgrade(cli: CliContext, revision: str) -> None:
    """Migrate the database to the latest schema; safe to run any number of times."""
    from grove_jobs.db import migrate

    migrate.upgrade(cli.database_url, revision)
    click.echo(f"database at revision {migrate.current_revision(cli.database_url)}")


@db.command("current")
@pass_cli
def db_current(cli: CliContext) -> None:
    """Print the revision the database is at ("none" when it was never migrated)."""
    from grove_jobs.db import migrate

    click.echo(migrate.current_revision(cli.database_url) or "none")

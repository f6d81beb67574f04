"""The ``grove-jobs`` command line: the root group and the helpers every sub-command shares.

Sub-command groups live in their own modules and are loaded lazily (see ``COMMAND_MODULES``):
adding one is a new module plus one line here, and ``--help`` stays fast.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

import click
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError

from grove_jobs.db.engine import Database
from grove_jobs.exceptions import GroveError, ValidationFailed
from grove_jobs.settings import Settings, load_settings

# name -> "module:attribute" of a click command or group, imported on first use.
COMMAND_MODULES: dict[str, str] = {
    "configs": "grove_jobs.cli_configs:configs",
    "demo": "grove_jobs.cli_configs:demo",
    "scheduler": "grove_jobs.cli_engine:scheduler",
    "run": "grove_jobs.cli_engine:run",
    "executions": "grove_jobs.cli_engine:executions",
    "schedule": "grove_jobs.cli_engine:schedule_group",
    "tokens": "grove_jobs.cli_auth:tokens_group",
    "users": "grove_jobs.cli_auth:users_group",
    "api": "grove_jobs.cli_auth:api",
    "render": "grove_jobs.cli_render:render",
}


# --------------------------------------------------------------------------- shared helpers


@dataclass
class CliContext:
    """The click context object: settings loaded once, a database opened on first use."""

    settings: Settings
    _db: Database | None = field(default=None, repr=False)

    @property
    def database_url(self) -> str:
        return self.settings.effective_database_url

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = Database(self.database_url)
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()
            self._db = None


pass_cli = click.make_pass_decorator(CliContext)


def cli_actor() -> str:
    """Who a CLI write is recorded as: ``$GROVE_ACTOR``, else ``$USER@cli``, else ``cli``."""
    if actor := os.environ.get("GROVE_ACTOR"):
        return actor
    if user := os.environ.get("USER"):
        return f"{user}@cli"
    return "cli"


def dump_json(data: Any) -> str:
    """The JSON every ``--json`` flag prints: indented, UTF-8, keys in model order."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def echo_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout."""
    click.echo(dump_json(data), nl=False)


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print a plain, left-aligned text table (no colours, so it greps and pipes well)."""
    cells = [[str(h) for h in headers], *[["" if c is None else str(c) for c in r] for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def fail(message: str) -> NoReturn:
    """Stop with exit code 1 and ``message`` on stderr."""
    raise click.ClickException(message)


class ValidationErrors(click.ClickException):
    """Every field error, one ``FILE: path: message`` line each, then exit 1."""

    def __init__(self, exc: ValidationFailed, note: str = ""):
        super().__init__(str(exc))
        self.errors = exc.errors
        self.note = note

    def show(self, file: Any = None) -> None:
        for error in self.errors:
            click.echo(str(error), err=True, file=file)
        count = len(self.errors)
        summary = f"{count} error{'s' if count != 1 else ''}"
        click.echo(f"{summary}, {self.note}" if self.note else summary, err=True, file=file)


def translate_errors(func: Callable[[], Any]) -> Any:
    """Run ``func``, turning grove-jobs errors into click exceptions (exit 1, message on stderr)."""
    try:
        return func()
    except ValidationFailed as exc:
        raise ValidationErrors(exc) from exc
    except GroveError as exc:  # NotFound, VersionConflict, AlreadyExists, ...
        raise click.ClickException(str(exc)) from exc
    except DBAPIError as exc:
        # The driver's own message is the useful part; the SQL and parameters are noise here.
        message = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        hint = ""
        if "no such table" in message or ("relation" in message and "does not exist" in message):
            hint = " (run `grove-jobs db upgrade` first)"
        raise click.ClickException(f"database error: {message}{hint}") from exc


class GroveGroup(click.Group):
    """A group that loads ``COMMAND_MODULES`` lazily and turns GroveErrors into exit code 1."""

    def __init__(self, *args: Any, lazy_commands: dict[str, str] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lazy_commands = lazy_commands or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy_commands:
            module_name, _, attribute = self.lazy_commands[cmd_name].partition(":")
            command = getattr(importlib.import_module(module_name), attribute)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        return translate_errors(lambda: super(GroveGroup, self).invoke(ctx))


# --------------------------------------------------------------------------- root group


@click.group(
    cls=GroveGroup,
    lazy_commands=COMMAND_MODULES,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--database-url",
    metavar="URL",
    help="Database to use; overrides GROVE_DATABASE_URL (default: SQLite in GROVE_DATA_DIR).",
)
@click.pass_context
def main(ctx: click.Context, database_url: str | None) -> None:
    """grove-jobs: declarative job configs, a sidecar scheduler and a dashboard."""
    overrides = {"database_url": database_url} if database_url else {}
    try:
        settings = load_settings(**overrides)
    except ValidationError as exc:
        fail(f"invalid settings: {exc}")
    cli = CliContext(settings)
    ctx.obj = cli
    ctx.call_on_close(cli.close)


# --------------------------------------------------------------------------- db


@main.group()
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


if __name__ == "__main__":
    # Under ``python -m grove_jobs.cli`` this file is ``__main__``; hand over to the importable
    # module so lazily loaded command modules and this entry point share one ``main``.
    from grove_jobs.cli import main as _main

    sys.exit(_main(prog_name="grove-jobs"))

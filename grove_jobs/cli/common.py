"""What every ``grove-jobs`` sub-command shares: the context object, output helpers and the
translation of grove-jobs errors into exit codes."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NoReturn

import click
from sqlalchemy.exc import DBAPIError

from grove_jobs.db.engine import Database
from grove_jobs.exceptions import GroveError, ValidationFailed
from grove_jobs.settings import Settings


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


def load_job_types(settings: Settings) -> None:
    """Discover the job types (built-in, GROVE_JOB_MODULES, entry points); a plugin that
    cannot be loaded stops the command, naming the module and the error."""
    from grove_jobs.jobs.discovery import discover

    try:
        discover(settings.job_modules)
    except GroveError as exc:  # PluginError, or a JobTypeError such as a duplicate name
        fail(str(exc))


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


def short_time(value: datetime | None) -> str:
    """A timestamp to the minute for tables, or ``-`` when there is none."""
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def parse_instant(value: str | None, field_name: str) -> datetime | None:
    """An ISO 8601 option value as an aware datetime (UTC when it names no offset)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        fail(f"{field_name}: {value!r} is not an ISO 8601 time such as 2026-12-01T02:00Z")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

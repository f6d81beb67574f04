"""The ``grove-jobs`` command line: the root group, which loads its sub-commands lazily.

Each sub-command lives in the module of this package named after it (``configs.py`` defines
``grove-jobs configs``), found by listing the package, so adding a command is adding one
module; ``common.py`` holds what they share. A command's module is imported only when that
command (or the full ``--help``) needs it.
"""

from __future__ import annotations

import importlib
import logging
import os
from typing import Any

import click

# Modules of this package that are not commands.
NOT_COMMANDS = frozenset({"common"})
# Commands that never touch job types start without importing any plugin.
NO_JOB_TYPES = frozenset(
    {"db", "maintenance", "pause", "resume", "schedule", "status", "tokens", "users"}
)

# Each command's short help, so that ``grove-jobs --help`` lists the commands without importing
# every command module (and through them SQLAlchemy and pydantic): that took a second and more.
# tests/unit/test_cli_startup.py checks that these match the commands' own help.
SHORT_HELP = {
    "api": "Serve the HTTP API without a scheduler (the sidecar serves it too, by default).",
    "backfill": "Queue one run of CONFIG_ID per fire time of its schedule in [--from, --to).",
    "configs": "Job configs (and any other registered object type) as data.",
    "db": "Database schema (Alembic migrations).",
    "demo": "Demo data.",
    "executions": "Execution history: list, show (with logs), cancel.",
    "job-types": "The installed job types: built-in, GROVE_JOB_MODULES, entry points.",
    "maintenance": "Maintenance windows: during one, the configs it covers behave as paused.",
    "pause": "Pause the scheduler on every sidecar sharing this database.",
    "render": "Print EXECUTION_ID's status tree, a config's history tree, or validate a tree file.",
    "resume": (
        "End the global pause; the next fire times run again (maintenance windows still apply)."
    ),
    "run": "Queue a run of CONFIG_ID now (a sidecar must be running to execute it).",
    "schedule": "Cron schedules: preview fire times.",
    "scheduler": "Run the sidecar: fire schedules, run jobs, retry, rescue.",
    "status": (
        "Paused or running, since when, by whom, until when, and active maintenance windows."
    ),
    "tokens": "API bearer tokens (stored hashed; the secret is shown once, at creation).",
    "users": "Dashboard roles by email: viewer, operator, editor, admin.",
}


def command_names() -> list[str]:
    """The sub-commands: every public module of this package except the shared helpers
    (``job_types.py`` defines ``grove-jobs job-types``)."""
    # A plain directory listing: pkgutil costs more to import than the rest of --help.
    names = {
        entry.removesuffix(".py").replace("_", "-")
        for directory in __path__
        for entry in os.listdir(directory)
        if entry.endswith(".py")
    }
    return sorted(n for n in names if not n.startswith("-") and n not in NOT_COMMANDS)


def load_command(name: str) -> click.Command:
    """Import ``grove_jobs.cli.NAME`` and return the click command called NAME it defines."""
    module = importlib.import_module(f"{__name__}.{name.replace('-', '_')}")
    for value in vars(module).values():
        if isinstance(value, click.Command) and value.name == name:
            return value
    raise LookupError(f"{module.__name__} defines no click command named {name!r}")


class GroveGroup(click.Group):
    """A group that loads its sub-commands lazily and turns GroveErrors into exit code 1."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *command_names()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in command_names():
            self.add_command(load_command(cmd_name), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from SHORT_HELP; a command missing there is loaded for its help."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            text = SHORT_HELP.get(name)
            if text is None or name in self.commands:
                command = self.get_command(ctx, name)
                if command is None or command.hidden:
                    continue
                text = command.get_short_help_str(limit)
            else:  # the same shortening click applies to a loaded command's help
                text = click.Command(name, help=text).get_short_help_str(limit)
            rows.append((name, text))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        from grove_jobs.cli.common import translate_errors  # SQLAlchemy: not needed for --help

        return translate_errors(lambda: super(GroveGroup, self).invoke(ctx))


@click.group(
    cls=GroveGroup,
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
    from pydantic import ValidationError

    from grove_jobs.cli.common import CliContext, fail, load_job_types
    from grove_jobs.observability.logs import LogFormatError, configure_logging
    from grove_jobs.settings import load_settings

    overrides = {"database_url": database_url} if database_url else {}
    try:
        settings = load_settings(**overrides)
        # Commands print their results; log lines are for warnings (the sidecar and the API
        # configure their own level).
        configure_logging(max(logging.WARNING, logging.getLevelName(settings.log_level.upper())))
    except (ValidationError, LogFormatError) as exc:
        fail(f"invalid settings: {exc}")
    if ctx.invoked_subcommand not in NO_JOB_TYPES:
        load_job_types(settings)
    cli = CliContext(settings)
    ctx.obj = cli
    ctx.call_on_close(cli.close)

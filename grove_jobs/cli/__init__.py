"""The ``grove-jobs`` command line: the root group, which loads its sub-commands lazily.

Each sub-command lives in the module of this package named after it (``configs.py`` defines
``grove-jobs configs``), found by listing the package, so adding a command is adding one
module; ``common.py`` holds what they share. A command's module is imported only when that
command (or the full ``--help``) needs it.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import click
from pydantic import ValidationError

from grove_jobs.cli.common import CliContext, fail, load_job_types, translate_errors
from grove_jobs.settings import load_settings

# Modules of this package that are not commands.
NOT_COMMANDS = frozenset({"common"})
# Commands that never touch job types start without importing any plugin.
NO_JOB_TYPES = frozenset(
    {"db", "maintenance", "pause", "resume", "schedule", "status", "tokens", "users"}
)


def command_names() -> list[str]:
    """The sub-commands: every public module of this package except the shared helpers
    (``job_types.py`` defines ``grove-jobs job-types``)."""
    return sorted(
        info.name.replace("_", "-")
        for info in pkgutil.iter_modules(__path__)
        if not info.name.startswith("_") and info.name not in NOT_COMMANDS
    )


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

    def invoke(self, ctx: click.Context) -> Any:
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
    overrides = {"database_url": database_url} if database_url else {}
    try:
        settings = load_settings(**overrides)
    except ValidationError as exc:
        fail(f"invalid settings: {exc}")
    if ctx.invoked_subcommand not in NO_JOB_TYPES:
        load_job_types(settings)
    cli = CliContext(settings)
    ctx.obj = cli
    ctx.call_on_close(cli.close)

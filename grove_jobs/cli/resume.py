"""``grove-jobs resume``: end the global pause."""

from __future__ import annotations

import click

from grove_jobs.cli.common import CliContext, cli_actor, pass_cli
from grove_jobs.pauses.store import resume


@click.command("resume")
@pass_cli
def resume_command(cli: CliContext) -> None:
    """End the global pause; the next fire times run again (maintenance windows still apply)."""
    if resume(cli.db, by=cli_actor(), source="cli"):
        click.echo("resumed: schedules run again")
    else:
        click.echo("not paused; nothing to resume")

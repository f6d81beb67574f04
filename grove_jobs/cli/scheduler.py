"""``grove-jobs scheduler``: run the sidecar in the foreground."""

from __future__ import annotations

import logging

import click

from grove_jobs.cli.common import CliContext, pass_cli


@click.command("scheduler")
@click.option("--workers", type=int, help="Worker processes (default GROVE_WORKERS).")
@pass_cli
def scheduler(cli: CliContext, workers: int | None) -> None:
    """Run the sidecar: fire schedules, run jobs, retry, rescue. Stops on SIGTERM/SIGINT."""
    from scheduler.loop import Sidecar

    settings = cli.settings
    if workers is not None:
        settings = settings.model_copy(update={"workers": workers})
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    sidecar = Sidecar(settings, cli.db)
    sidecar.install_signal_handlers()
    sidecar.run()

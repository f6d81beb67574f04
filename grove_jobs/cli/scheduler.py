"""``grove-jobs scheduler``: run the sidecar in the foreground."""

from __future__ import annotations

import click

from grove_jobs.cli.common import CliContext, pass_cli
from grove_jobs.observability.logs import configure_logging


@click.command("scheduler")
@click.option("--workers", type=int, help="Worker processes (default GROVE_WORKERS).")
@pass_cli
def scheduler(cli: CliContext, workers: int | None) -> None:
    """Run the sidecar: fire schedules, run jobs, retry, rescue. Stops on SIGTERM/SIGINT."""
    from grove_jobs.gc_tuning import tune_after_imports
    from scheduler.loop import Sidecar

    settings = cli.settings
    if workers is not None:
        settings = settings.model_copy(update={"workers": workers})
    configure_logging(settings.log_level, worker_id=settings.worker_id)
    sidecar = Sidecar(settings, cli.db)
    tune_after_imports()
    sidecar.install_signal_handlers()
    sidecar.run()

"""``grove-jobs api``: serve the HTTP API on its own, without a scheduler."""

from __future__ import annotations

import click

from grove_jobs.cli.common import CliContext, pass_cli
from grove_jobs.observability.logs import configure_logging


@click.command("api")
@click.option("--host", help="Listen address (default GROVE_API_HOST).")
@click.option("--port", type=int, help="Listen port (default GROVE_API_PORT).")
@pass_cli
def api(cli: CliContext, host: str | None, port: int | None) -> None:
    """Serve the HTTP API without a scheduler (the sidecar serves it too, by default)."""
    import uvicorn

    from grove_jobs.gc_tuning import tune_after_imports
    from scheduler.api.app import create_app

    settings = cli.settings
    configure_logging(settings.log_level)
    app = create_app(cli.db, settings)
    tune_after_imports()
    uvicorn.run(
        app,
        host=host or settings.api_host,
        port=settings.api_port if port is None else port,
        log_level=settings.log_level.lower(),
        log_config=None,
    )

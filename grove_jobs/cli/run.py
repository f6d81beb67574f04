"""``grove-jobs run``: Run Now from the command line, optionally waiting for the result."""

from __future__ import annotations

import json
import sys
import time

import click

from grove_jobs.cli._completion import complete_config_ids
from grove_jobs.cli.common import CliContext, cli_actor, echo_json, fail, pass_cli
from grove_jobs.cli.executions import print_execution
from grove_jobs.db.records import execution_json
from grove_jobs.engine.enqueue import run_now
from grove_jobs.executions.queries import get_execution
from grove_jobs.schema.execution import Execution


def _parse_params(pairs: tuple[str, ...]) -> dict:
    """``key=value`` pairs; values are parsed as JSON when they can be (numbers, booleans,
    lists), otherwise kept as strings."""
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            fail(f"--param expects key=value, got {pair!r}")
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params


@click.command("run")
@click.argument("config_id", shell_complete=complete_config_ids)
@click.option("--wait", is_flag=True, help="Wait for the run to end; exit 0 only on success.")
@click.option("--timeout", type=float, default=None, help="With --wait: give up after S seconds.")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="Parameter override.")
@click.option("--request-id", help="Idempotency key: the same key returns the same run.")
@click.option(
    "--allow-destructive",
    is_flag=True,
    help="Allow --param to change a destructive parameter (dryRun: false, a threshold).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the execution as JSON.")
@pass_cli
def run(
    cli: CliContext, config_id, wait, timeout, params, request_id, allow_destructive, as_json
) -> None:
    """Queue a run of CONFIG_ID now (a sidecar must be running to execute it)."""
    execution = run_now(
        cli.db,
        config_id,
        requested_by=cli_actor(),
        request_id=request_id,
        parameter_overrides=_parse_params(params) or None,
        # The CLI can reach the database and so edit the config anyway; the flag only makes
        # a destructive one-off run a deliberate act rather than a typo.
        allow_destructive=allow_destructive,
    )
    if wait:
        execution = _wait(
            cli, execution, timeout, show_progress=not as_json and sys.stderr.isatty()
        )
    if as_json:
        echo_json(execution_json(execution))
    else:
        print_execution(execution)
    if wait and execution.status not in ("success", "partial"):
        sys.exit(1)


def _wait(cli: CliContext, execution: Execution, timeout: float | None, show_progress: bool):
    deadline = time.monotonic() + timeout if timeout else None
    delay = 0.02
    while execution.is_active:
        if deadline is not None and time.monotonic() > deadline:
            if show_progress:
                click.echo("", err=True)
            click.echo(f"still {execution.status} after {timeout:g}s", err=True)
            return execution
        time.sleep(delay)
        delay = min(delay * 1.5, 0.25)
        execution = get_execution(cli.db, execution.id)
        if show_progress:
            click.echo("\r" + _progress_line(execution), nl=False, err=True)
    if show_progress:
        click.echo("", err=True)
    return execution


def _progress_line(execution: Execution, width: int = 30) -> str:
    done, total = execution.items_processed, execution.items_total
    if total:
        filled = int(width * min(done, total) / total)
        bar = "#" * filled + "-" * (width - filled)
        return f"[{bar}] {done}/{total}  {execution.status:<9} attempt {execution.attempt}"
    return f"{execution.status:<9} attempt {execution.attempt}  items {done}"

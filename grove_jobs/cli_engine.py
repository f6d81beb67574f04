"""CLI for running things: the sidecar, Run Now, executions and schedule previews."""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime

import click

from grove_jobs import schedule as cron
from grove_jobs import services
from grove_jobs.cli import CliContext, cli_actor, echo_json, echo_table, fail, pass_cli
from grove_jobs.db.records import execution_json
from grove_jobs.engine.enqueue import cancel_execution, run_now
from grove_jobs.schema.execution import Execution

# --------------------------------------------------------------------------- scheduler


@click.command("scheduler")
@click.option("--workers", type=int, help="Worker processes (default GROVE_WORKERS).")
@pass_cli
def scheduler(cli: CliContext, workers: int | None) -> None:
    """Run the sidecar: fire schedules, run jobs, retry, rescue. Stops on SIGTERM/SIGINT."""
    from scheduler.sidecar import Sidecar

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


# --------------------------------------------------------------------------- run


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
@click.argument("config_id")
@click.option("--wait", is_flag=True, help="Wait for the run to end; exit 0 only on success.")
@click.option("--timeout", type=float, default=None, help="With --wait: give up after S seconds.")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="Parameter override.")
@click.option("--request-id", help="Idempotency key: the same key returns the same run.")
@click.option("--json", "as_json", is_flag=True, help="Print the execution as JSON.")
@pass_cli
def run(cli: CliContext, config_id, wait, timeout, params, request_id, as_json) -> None:
    """Queue a run of CONFIG_ID now (a sidecar must be running to execute it)."""
    execution = run_now(
        cli.db,
        config_id,
        requested_by=cli_actor(),
        request_id=request_id,
        parameter_overrides=_parse_params(params) or None,
    )
    if wait:
        execution = _wait(
            cli, execution, timeout, show_progress=not as_json and sys.stderr.isatty()
        )
    if as_json:
        echo_json(execution_json(execution))
    else:
        _print_execution(execution)
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
        execution = services.get_execution(cli.db, execution.id)
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


def _print_execution(execution: Execution) -> None:
    duration = execution.duration_seconds
    click.echo(f"execution {execution.id} of {execution.job_config_id}: {execution.status}")
    click.echo(
        f"  trigger {execution.trigger}, attempt {execution.attempt}/{execution.max_attempts}"
    )
    if duration is not None:
        click.echo(f"  took {cron.humanize_duration(duration)}")
    if execution.items_total is not None or execution.items_processed:
        click.echo(
            f"  items {execution.items_processed}/{execution.items_total or '?'} "
            f"({execution.items_failed} failed)"
        )
    if execution.error:
        click.echo(f"  error: {execution.error.strip().splitlines()[-1]}")


# --------------------------------------------------------------------------- executions


@click.group("executions")
def executions() -> None:
    """Execution history: list, show (with logs), cancel."""


@executions.command("list")
@click.argument("config_id", required=False)
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def executions_list(cli: CliContext, config_id: str | None, limit: int, as_json: bool) -> None:
    """Executions, newest first (of CONFIG_ID, or of every config)."""
    if config_id:
        services.get_config(cli.db, config_id)  # a typo should say "not found", not print []
    page = services.execution_history(cli.db, config_id, limit=limit)
    if as_json:
        echo_json([execution_json(e) for e in page.items])
        return
    echo_table(
        ["id", "config", "status", "trigger", "attempt", "started", "duration", "items"],
        [
            [
                e.id,
                e.job_config_id,
                e.status,
                e.trigger,
                f"{e.attempt}/{e.max_attempts}",
                e.started_at.strftime("%Y-%m-%d %H:%M:%S") if e.started_at else "",
                cron.humanize_duration(e.duration_seconds)
                if e.duration_seconds is not None
                else "",
                f"{e.items_processed}/{e.items_total}" if e.items_total is not None else "",
            ]
            for e in page.items
        ],
    )


@executions.command("show")
@click.argument("execution_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def executions_show(cli: CliContext, execution_id: int, as_json: bool) -> None:
    """One execution with its log lines."""
    execution = services.get_execution(cli.db, execution_id)
    logs = services.execution_logs(cli.db, execution_id)
    if as_json:
        echo_json(execution_json(execution, logs))
        return
    _print_execution(execution)
    if execution.error:
        click.echo("error:")
        click.echo(execution.error)
    for line in logs:
        click.echo(f"{line.at:%H:%M:%S} {line.level:<5} [{line.attempt}] {line.message}")


@executions.command("cancel")
@click.argument("execution_id", type=int)
@pass_cli
def executions_cancel(cli: CliContext, execution_id: int) -> None:
    """Cancel a queued, retrying or running execution."""
    execution = cancel_execution(cli.db, execution_id, requested_by=cli_actor())
    state = "cancelled" if execution.status == "cancelled" else "cancel requested"
    click.echo(f"execution {execution_id}: {state}")


# --------------------------------------------------------------------------- schedule


@click.group("schedule")
def schedule_group() -> None:
    """Cron schedules: preview fire times."""


@schedule_group.command("preview")
@click.argument("cron_expression")
@click.option("--tz", "timezone", default="UTC", show_default=True, help="IANA timezone.")
@click.option("-n", "count", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--from", "start", help="ISO 8601 instant to start from (default: now).")
@click.option("--json", "as_json", is_flag=True)
def schedule_preview(cron_expression, timezone, count, start, as_json) -> None:
    """Print the next fire times of CRON_EXPRESSION in TIMEZONE."""
    try:
        cron.validate_cron(cron_expression)
    except ValueError as exc:
        fail(f"cronExpression: {exc}")
    try:
        cron.validate_timezone(timezone)
    except ValueError as exc:
        fail(f"timezone: {exc}")
    at = datetime.now(UTC)
    if start:
        try:
            at = datetime.fromisoformat(start.replace("Z", "+00:00"))
        except ValueError:
            fail(f"--from: {start!r} is not an ISO 8601 instant")
        if at.tzinfo is None:
            fail("--from: give a UTC offset or Z (e.g. 2026-03-08T00:00:00Z)")
    fires = cron.preview(cron_expression, timezone, at, count)
    if as_json:
        echo_json(
            [
                {
                    "utc": f.utc.isoformat().replace("+00:00", "Z"),
                    "local": f.local.isoformat(),
                }
                for f in fires
            ]
        )
        return
    click.echo(cron.describe(cron_expression, timezone))
    for fire in fires:
        flag = "  (DST change)" if fire.dst_change else ""
        click.echo(f"{fire.local:%a %Y-%m-%d %H:%M %Z}  {fire.utc:%Y-%m-%dT%H:%MZ}{flag}")

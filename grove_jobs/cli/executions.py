"""``grove-jobs executions``: execution history, one execution with its logs, cancel."""

from __future__ import annotations

import click

from grove_jobs.cli._completion import complete_config_ids, complete_execution_ids
from grove_jobs.cli.common import CliContext, cli_actor, echo_json, echo_table, pass_cli
from grove_jobs.clock import humanize_duration
from grove_jobs.configs.store import get_config
from grove_jobs.db.records import execution_json
from grove_jobs.engine.enqueue import cancel_execution
from grove_jobs.executions.queries import execution_history, execution_logs, get_execution
from grove_jobs.schema.execution import Execution


def print_execution(execution: Execution) -> None:
    """A few lines about one execution: status, trigger, attempt, duration, items, error."""
    duration = execution.duration_seconds
    click.echo(f"execution {execution.id} of {execution.job_config_id}: {execution.status}")
    click.echo(
        f"  trigger {execution.trigger}, attempt {execution.attempt}/{execution.max_attempts}"
    )
    if duration is not None:
        click.echo(f"  took {humanize_duration(duration)}")
    if execution.items_total is not None or execution.items_processed:
        click.echo(
            f"  items {execution.items_processed}/{execution.items_total or '?'} "
            f"({execution.items_failed} failed)"
        )
    if execution.error:
        click.echo(f"  {error_label(execution)}: {execution.error.strip().splitlines()[-1]}")


def error_label(execution: Execution) -> str:
    """``error``, or ``error (permanent)`` for a failure that was not retried on purpose."""
    return "error (permanent)" if execution.error_kind == "permanent" else "error"


@click.group("executions")
def executions() -> None:
    """Execution history: list, show (with logs), cancel."""


@executions.command("list")
@click.argument("config_id", required=False, shell_complete=complete_config_ids)
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def executions_list(cli: CliContext, config_id: str | None, limit: int, as_json: bool) -> None:
    """Executions, newest first (of CONFIG_ID, or of every config)."""
    if config_id:
        get_config(cli.db, config_id)  # a typo should say "not found", not print []
    page = execution_history(cli.db, config_id, limit=limit)
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
                humanize_duration(e.duration_seconds) if e.duration_seconds is not None else "",
                f"{e.items_processed}/{e.items_total}" if e.items_total is not None else "",
            ]
            for e in page.items
        ],
    )


@executions.command("show")
@click.argument("execution_id", type=int, shell_complete=complete_execution_ids)
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def executions_show(cli: CliContext, execution_id: int, as_json: bool) -> None:
    """One execution with its log lines."""
    execution = get_execution(cli.db, execution_id)
    logs = execution_logs(cli.db, execution_id)
    if as_json:
        echo_json(execution_json(execution, logs))
        return
    print_execution(execution)
    if execution.error:
        click.echo(f"{error_label(execution)}:")
        click.echo(execution.error)
    for line in logs:
        click.echo(f"{line.at:%H:%M:%S} {line.level:<5} [{line.attempt}] {line.message}")


@executions.command("cancel")
@click.argument("execution_id", type=int, shell_complete=complete_execution_ids)
@pass_cli
def executions_cancel(cli: CliContext, execution_id: int) -> None:
    """Cancel a queued, retrying or running execution."""
    execution = cancel_execution(cli.db, execution_id, requested_by=cli_actor())
    state = "cancelled" if execution.status == "cancelled" else "cancel requested"
    click.echo(f"execution {execution_id}: {state}")

"""``grove-jobs render``: status and history trees as RenderTree JSON, and a tree validator."""

from __future__ import annotations

import json
from pathlib import Path

import click

from grove_jobs.cli._completion import complete_config_ids, complete_execution_ids
from grove_jobs.cli.common import CliContext, echo_json, fail, pass_cli
from grove_jobs.clock import utcnow
from grove_jobs.configs.store import get_config
from grove_jobs.executions.queries import execution_history, execution_logs, get_execution
from grove_jobs.render import JOB_HISTORY, execution_tree, history_tree, validate_tree
from grove_jobs.schema.job_config import JobConfigPayload


def _timezone(record) -> str:
    payload = record.object.payload
    return payload.schedule.timezone if isinstance(payload, JobConfigPayload) else "UTC"


@click.command("render")
@click.argument("execution_id", type=int, required=False, shell_complete=complete_execution_ids)
@click.option(
    "--history",
    "history_id",
    metavar="CONFIG_ID",
    help="Render a config's history.",
    shell_complete=complete_config_ids,
)
@click.option(
    "--validate",
    "validate_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Validate a RenderTree JSON file; exit 1 listing every error with its path.",
)
@click.option("--lenient", is_flag=True, help="With --validate: unknown components only warn.")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the tree as JSON (the default).")
@pass_cli
def render(cli: CliContext, execution_id, history_id, validate_file, lenient, limit, as_json):
    """Print EXECUTION_ID's status tree, a config's history tree, or validate a tree file."""
    del as_json  # trees are JSON; the flag is accepted for symmetry with other commands
    if validate_file is not None:
        try:
            try:
                tree = json.loads(validate_file.read_text())
            except ValueError as exc:
                fail(f"{validate_file}: not JSON: {exc}")
            errors = validate_tree(tree, JOB_HISTORY, strict=not lenient)
        except RecursionError:  # both the JSON parser and the validator recurse per level
            fail(f"{validate_file}: nested too deeply to be a RenderTree")
        for error in errors:
            click.echo(f"{error.severity}: {error.path}: [{error.code}] {error.message}", err=True)
        if any(e.severity == "error" for e in errors):
            raise SystemExit(1)
        click.echo(f"{validate_file}: valid")
        return
    at = utcnow()
    if history_id:
        record = get_config(cli.db, history_id)
        page = execution_history(cli.db, history_id, limit=limit)
        echo_json(history_tree(page.items, timezone=_timezone(record), at=at).to_json_dict())
        return
    if execution_id is None:
        fail("give an EXECUTION_ID, --history CONFIG_ID or --validate FILE")
    execution = get_execution(cli.db, execution_id)
    record = get_config(cli.db, execution.job_config_id)
    logs = execution_logs(cli.db, execution_id, limit=20, tail=True)
    tree = execution_tree(
        execution, logs, next_run_at=record.next_run_at, timezone=_timezone(record), at=at
    )
    echo_json(tree.to_json_dict())

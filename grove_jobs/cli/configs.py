"""``grove-jobs configs ...``: configs as files, in and out."""

from __future__ import annotations

from pathlib import Path

import click
import yaml

from grove_jobs.cli._completion import complete_config_ids
from grove_jobs.cli._config_files import (
    changes_json,
    echo_changes,
    echo_view,
    enabled_text,
    load_objects,
    next_run_text,
    object_title,
    timestamp_text,
    value_text,
)
from grove_jobs.cli.common import (
    CliContext,
    ValidationErrors,
    cli_actor,
    dump_json,
    echo_json,
    echo_table,
    pass_cli,
)
from grove_jobs.clock import utcnow
from grove_jobs.configs import query as config_query
from grove_jobs.configs import store as config_store
from grove_jobs.configs.query import ConfigQuery, ConfigView, job_type_problem, last_runs
from grove_jobs.configs.revisions import list_revisions
from grove_jobs.configs.store import (
    archive_config,
    find_config,
    get_config,
    set_enabled,
)
from grove_jobs.configs.transfer import (
    apply_objects,
    diff_json,
    export_objects,
)
from grove_jobs.exceptions import NotFound, ValidationFailed


@click.group()
def configs() -> None:
    """Job configs (and any other registered object type) as data."""


@configs.command("list")
@click.option("--type", "type_name", metavar="TYPE", help="Only objects of this type.")
@click.option("--job-type", metavar="JOB_TYPE", help="Only job configs of this job type.")
@click.option("--enabled/--disabled", default=None, help="Only enabled (or disabled) objects.")
@click.option("--tag", help="Only objects carrying this tag.")
@click.option("--search", "text", metavar="TEXT", help="Case-insensitive text search.")
@click.option("--sort", metavar="KEY", help="A sort option of the type (lastRun, title, ...).")
@click.option("--all", "include_archived", is_flag=True, help="Include archived objects.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of GroveObjects.")
@pass_cli
def list_configs(
    cli: CliContext,
    type_name: str | None,
    job_type: str | None,
    enabled: bool | None,
    tag: str | None,
    text: str | None,
    sort: str | None,
    include_archived: bool,
    as_json: bool,
) -> None:
    """List stored configs with their next and last run.

    With --json, each GroveObject carries a top-level "state" key (version, nextRunAt,
    lastRunAt, lastStatus, lastExecutionId).
    """
    query = ConfigQuery(
        type=type_name,
        enabled=enabled,
        tag=tag,
        text=text,
        include_archived=include_archived,
        filters={"jobType": job_type} if job_type else {},
        sort=sort,
    )
    views = config_query.list_configs(cli.db, query)
    if as_json:
        echo_json([v.to_json() for v in views])
        return
    if not views:
        click.echo("no configs (create some with `grove-jobs configs apply FILE`)")
        return
    now = utcnow()
    rows = [
        (
            v.record.id,
            v.record.type,
            object_title(v.record.object)
            + (" [job type not installed]" if job_type_problem(v.record) else ""),
            enabled_text(v.record.object),
            next_run_text(v.record.next_run_at, now, v.record.object),
            v.last_run.status if v.last_run else "-",
        )
        for v in views
    ]
    echo_table(("ID", "TYPE", "TITLE", "ENABLED", "NEXT RUN", "LAST STATUS"), rows)


@configs.command("show")
@click.argument("config_id", metavar="ID", shell_complete=complete_config_ids)
@click.option("--json", "as_json", is_flag=True, help="Print the GroveObject with a state key.")
@pass_cli
def show_config(cli: CliContext, config_id: str, as_json: bool) -> None:
    """Show one config: its settings, schedule in words, next fire times and last run."""
    record = get_config(cli.db, config_id)
    view = ConfigView(record, last_runs(cli.db, [record.id]).get(record.id))
    if as_json:
        echo_json(view.to_json())
    else:
        echo_view(view, utcnow())


@configs.command("validate")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
def validate_configs(files: tuple[str, ...]) -> None:
    """Check files (YAML or JSON; - for stdin) without touching the database.

    Every error of every file is printed as FILE: field.path: message; the exit code is 1 when
    there is any.
    """
    objects = load_objects(files)
    click.echo(f"ok: {len(objects)} object{'s' if len(objects) != 1 else ''} valid")


@configs.command("apply")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("--dry-run", is_flag=True, help="Print the field-level diff; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the changes as JSON.")
@pass_cli
def apply_configs(cli: CliContext, files: tuple[str, ...], dry_run: bool, as_json: bool) -> None:
    """Create or update configs from files, upserting by meta.id.

    All or nothing: every file is validated first and all objects are written in one
    transaction, so one invalid object means nothing is written.
    """
    try:
        objects = load_objects(files)
        changes = apply_objects(cli.db, objects, actor=cli_actor(), source="cli", dry_run=dry_run)
    except ValidationFailed as exc:
        raise ValidationErrors(exc, note="nothing written") from exc
    if as_json:
        echo_json(changes_json(changes))
    else:
        echo_changes(changes, dry_run=dry_run)


@configs.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True
)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to FILE, not stdout.")
@pass_cli
def export_configs(cli: CliContext, fmt: str, output: str | None) -> None:
    """Export every stored object (archived included) ordered by id.

    Applying the export changes nothing, and exporting again gives identical bytes.
    """
    objects = export_objects(cli.db)
    if fmt == "json":
        text = dump_json(objects)
    else:
        text = yaml.safe_dump(objects, sort_keys=False, allow_unicode=True, width=100)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"exported {len(objects)} objects to {output}", err=True)
    else:
        click.echo(text, nl=False)


@configs.command("delete")
@click.argument("config_id", metavar="ID", shell_complete=complete_config_ids)
@click.option("--hard", is_flag=True, help="Delete the row and its executions for good.")
@pass_cli
def delete_config(cli: CliContext, config_id: str, hard: bool) -> None:
    """Archive a config (no more runs, history kept); --hard deletes it and its executions.

    The revision trail keeps what was deleted either way.
    """
    if hard:
        config_store.delete_config(cli.db, config_id, actor=cli_actor(), source="cli")
        click.echo(f"deleted {config_id}")
    else:
        record = archive_config(cli.db, config_id, actor=cli_actor(), source="cli")
        click.echo(f"archived {config_id} (version {record.version})")


def _set_enabled(cli: CliContext, config_id: str, enabled: bool) -> None:
    before = get_config(cli.db, config_id)
    record = set_enabled(
        cli.db, config_id, enabled, expected_version=before.version, actor=cli_actor(), source="cli"
    )
    word = "enabled" if enabled else "disabled"
    if record.version == before.version:
        click.echo(f"{config_id} is already {word}")
        return
    next_run = timestamp_text(record.next_run_at) if record.next_run_at else "none"
    click.echo(f"{word} {config_id} (version {record.version}, next run {next_run})")


@configs.command("enable")
@click.argument("config_id", metavar="ID", shell_complete=complete_config_ids)
@pass_cli
def enable_config(cli: CliContext, config_id: str) -> None:
    """Turn a config's schedule on; the next run is computed from now (no backfill)."""
    _set_enabled(cli, config_id, True)


@configs.command("disable")
@click.argument("config_id", metavar="ID", shell_complete=complete_config_ids)
@pass_cli
def disable_config(cli: CliContext, config_id: str) -> None:
    """Turn a config's schedule off (Run Now still works)."""
    _set_enabled(cli, config_id, False)


@configs.command("history")
@click.argument("config_id", metavar="ID", shell_complete=complete_config_ids)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@click.option("--diff", "show_diff", is_flag=True, help="Print each change field by field.")
@click.option("--json", "as_json", is_flag=True, help="Print revisions (before/after) as JSON.")
@pass_cli
def config_history(
    cli: CliContext, config_id: str, limit: int, show_diff: bool, as_json: bool
) -> None:
    """Who changed a config, when, from where (ui, cli, api), and what; newest first."""
    revisions = list_revisions(cli.db, config_id, limit=limit)
    if not revisions and find_config(cli.db, config_id) is None:
        raise NotFound("config", config_id)
    if as_json:
        echo_json([r.model_dump(mode="json", by_alias=True) for r in revisions])
        return
    rows = []
    diffs = []
    for rev in revisions:
        diff = diff_json(rev.before, rev.after)
        if rev.before is None:
            change = "created"
        elif rev.after is None:
            change = "deleted"
        else:
            paths = [p for p, _, _ in diff]
            change = ", ".join(paths[:3]) + (f" (+{len(paths) - 3} more)" if len(paths) > 3 else "")
        rows.append((rev.version, timestamp_text(rev.at), rev.actor, rev.source, change))
        diffs.append(diff if rev.before is not None and rev.after is not None else [])
    if not show_diff:
        echo_table(("VERSION", "AT", "ACTOR", "SOURCE", "CHANGE"), rows)
        return
    for row, diff in zip(rows, diffs, strict=True):
        click.echo(f"version {row[0]}  {row[1]}  {row[2]} ({row[3]})  {row[4]}")
        for path, before, after in diff:
            click.echo(f"  {path}: {value_text(before)} -> {value_text(after)}")

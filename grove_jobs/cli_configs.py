"""``grove-jobs configs ...`` and ``grove-jobs demo seed``: configs as files, in and out."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
import yaml

from grove_jobs import schedule, services
from grove_jobs.cli import (
    CliContext,
    ValidationErrors,
    cli_actor,
    dump_json,
    echo_json,
    echo_table,
    pass_cli,
)
from grove_jobs.clock import utcnow
from grove_jobs.exceptions import FieldError, NotFound, ValidationFailed
from grove_jobs.schema.grove_object import GroveObject
from grove_jobs.schema.registry import get_type, json_path_get
from grove_jobs.services import ApplyChange, ConfigQuery, ConfigView

STDIN = "-"
NEXT_FIRES_SHOWN = 5

# --------------------------------------------------------------------------- reading files


def read_document(path: str) -> Any:
    """Load one file: JSON for ``.json``, YAML for ``.yaml``/``.yml`` and for ``-`` (stdin;
    YAML also accepts JSON). Problems come back as ValidationFailed naming the file."""
    name = "<stdin>" if path == STDIN else path
    suffix = Path(path).suffix.lower()
    if path != STDIN and suffix not in (".json", ".yaml", ".yml"):
        raise ValidationFailed([FieldError("", "expected a .yaml, .yml or .json file", name)])
    try:
        text = sys.stdin.read() if path == STDIN else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationFailed([FieldError("", f"cannot read: {exc}", name)]) from exc
    try:
        if suffix == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        message = f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        raise ValidationFailed([FieldError("", message, name)]) from exc
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())
        raise ValidationFailed([FieldError("", f"invalid YAML: {detail}", name)]) from exc


def load_objects(paths: tuple[str, ...]) -> list[GroveObject]:
    """Parse every file before anything is written; raise one ValidationFailed holding every
    error of every file, including an id defined twice (in one file or across files)."""
    if list(paths).count(STDIN) > 1:
        raise ValidationFailed([FieldError("", "stdin (-) can be read only once", "<stdin>")])
    errors: list[FieldError] = []
    located: list[tuple[str, str, GroveObject]] = []  # (file, path prefix, object)
    for path in paths:
        name = "<stdin>" if path == STDIN else path
        try:
            data = read_document(path)
            objects = services.parse_objects(data, source=name)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
            continue
        for index, obj in enumerate(objects):
            located.append((name, f"[{index}]." if isinstance(data, list) else "", obj))
    first_seen: dict[str, tuple[str, str]] = {}
    for name, prefix, obj in located:
        if obj.id in first_seen:
            other_file, other_prefix = first_seen[obj.id]
            where = f"{other_file} ({other_prefix.rstrip('.') or 'the object'})"
            errors.append(
                FieldError(f"{prefix}meta.id", f"{obj.id!r} is also defined in {where}", name)
            )
        else:
            first_seen[obj.id] = (name, prefix)
    if errors:
        raise ValidationFailed(errors)
    return [obj for _, _, obj in located]


# --------------------------------------------------------------------------- formatting


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def echo_changes(changes: list[ApplyChange], *, dry_run: bool) -> None:
    """Print ``+ create id``, ``~ update id`` (then ``  path: before -> after`` lines) or
    ``= unchanged id`` per object, then a summary line."""
    marks = {"create": "+", "update": "~", "unchanged": "="}
    for change in changes:
        click.echo(f"{marks[change.action]} {change.action} {change.id}")
        if change.action == "update":
            for path, before, after in change.diff:
                click.echo(f"  {path}: {_value(before)} -> {_value(after)}")
    counts = {action: sum(c.action == action for c in changes) for action in marks}
    summary = f"{counts['create']} to create, {counts['update']} to update, "
    if not dry_run:
        summary = f"{counts['create']} created, {counts['update']} updated, "
    summary += f"{counts['unchanged']} unchanged"
    click.echo(summary + (" (dry run: nothing written)" if dry_run else ""))


def changes_json(changes: list[ApplyChange]) -> list[dict[str, Any]]:
    return [
        {
            "id": c.id,
            "action": c.action,
            "diff": [{"path": p, "before": b, "after": a} for p, b, a in c.diff],
        }
        for c in changes
    ]


def _title(obj: GroveObject) -> str:
    if obj.meta.title:
        return obj.meta.title
    title_path = get_type(obj.type).title_path
    found = json_path_get(obj.to_json_dict(), title_path) if title_path else None
    return str(found) if found else obj.id


def _enabled_text(obj: GroveObject) -> str:
    if obj.meta.status != "active":
        return obj.meta.status
    enabled_path = get_type(obj.type).enabled_path
    if not enabled_path:
        return "-"
    return "yes" if json_path_get(obj.to_json_dict(), enabled_path) else "no"


def _when(value: datetime | None, now: datetime, obj: GroveObject) -> str:
    """A humanised next-run time in the config's own timezone."""
    if value is None:
        return "-"
    spec = getattr(obj.payload, "schedule", None)
    return schedule.humanize_next_run(value, now, getattr(spec, "timezone", "UTC"))


def _timestamp(value: datetime | None, tz: str | None = None) -> str:
    if value is None:
        return "-"
    text = value.strftime("%Y-%m-%d %H:%M:%S UTC")
    if tz and tz != "UTC":
        text += f"  ({value.astimezone(ZoneInfo(tz)).strftime('%Y-%m-%d %H:%M %Z')})"
    return text


def echo_view(view: ConfigView, now: datetime) -> None:
    """The human summary of one config for ``configs show``."""
    record, obj = view.record, view.record.object
    data = obj.to_json_dict()
    rows: list[tuple[str, str]] = [
        ("Title", _title(obj)),
        ("Type", f"{obj.type} ({get_type(obj.type).label})"),
        ("Status", obj.meta.status),
        ("Version", str(record.version)),
        ("Tags", ", ".join(obj.meta.tags) or "-"),
    ]
    if obj.meta.description:
        rows.append(("Description", obj.meta.description))
    spec = getattr(obj.payload, "schedule", None)
    if get_type(obj.type).schedulable and spec is not None:
        payload = data["payload"]
        rows.append(("Job type", str(payload.get("jobType"))))
        rows.append(("Enabled", _enabled_text(obj)))
        rows.append(("Schedule", spec.cron_expression))
        rows.append(("", schedule.describe(spec.cron_expression, spec.timezone)))
        next_run = _when(record.next_run_at, now, obj)
        if record.next_run_at is not None:
            next_run += f"  ({_timestamp(record.next_run_at)})"
        rows.append(("Next run", next_run))
        label = "Next fires" if record.next_run_at else "Next fires (if enabled)"
        fires = schedule.preview(spec.cron_expression, spec.timezone, now, NEXT_FIRES_SHOWN)
        for i, fire in enumerate(fires):
            shift = "  (UTC offset changes)" if fire.dst_change else ""
            rows.append((label if i == 0 else "", _timestamp(fire.utc, spec.timezone) + shift))
        for key in ("retry", "limits", "parameters"):
            if key in payload:
                rows.append((key.capitalize(), _inline(payload[key])))
    else:
        rows.append(("Payload", _inline(data["payload"])))
    last = view.last_run
    if last is not None:
        rows.append(("Last run", f"{last.status} (execution {last.execution_id}, {last.trigger})"))
        rows.append(("", _timestamp(last.started_at or last.queued_at)))
        if last.error:
            rows.append(("", last.error.splitlines()[0][:200]))
    else:
        rows.append(("Last run", "never"))
    rows.append(("Created", f"{_timestamp(record.created_at)} by {obj.meta.created_by or '-'}"))
    rows.append(("Updated", _timestamp(record.updated_at)))
    click.echo(obj.id)
    width = max(len(k) for k, _ in rows) + 2
    for key, value in rows:
        click.echo(f"  {(key + ':') if key else '':<{width}}{value}")


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={_value(v)}" for k, v in value.items())
    return _value(value)


# --------------------------------------------------------------------------- configs


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
    views = services.list_configs(cli.db, query)
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
            _title(v.record.object),
            _enabled_text(v.record.object),
            _when(v.record.next_run_at, now, v.record.object),
            v.last_run.status if v.last_run else "-",
        )
        for v in views
    ]
    echo_table(("ID", "TYPE", "TITLE", "ENABLED", "NEXT RUN", "LAST STATUS"), rows)


@configs.command("show")
@click.argument("config_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print the GroveObject with a state key.")
@pass_cli
def show_config(cli: CliContext, config_id: str, as_json: bool) -> None:
    """Show one config: its settings, schedule in words, next fire times and last run."""
    record = services.get_config(cli.db, config_id)
    view = ConfigView(record, services.last_runs(cli.db, [record.id]).get(record.id))
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
        changes = services.apply_objects(
            cli.db, objects, actor=cli_actor(), source="cli", dry_run=dry_run
        )
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
    objects = services.export_objects(cli.db)
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
@click.argument("config_id", metavar="ID")
@click.option("--hard", is_flag=True, help="Delete the row and its executions for good.")
@pass_cli
def delete_config(cli: CliContext, config_id: str, hard: bool) -> None:
    """Archive a config (no more runs, history kept); --hard deletes it and its executions.

    The revision trail keeps what was deleted either way.
    """
    if hard:
        services.delete_config(cli.db, config_id, actor=cli_actor(), source="cli")
        click.echo(f"deleted {config_id}")
    else:
        record = services.archive_config(cli.db, config_id, actor=cli_actor(), source="cli")
        click.echo(f"archived {config_id} (version {record.version})")


def _set_enabled(cli: CliContext, config_id: str, enabled: bool) -> None:
    before = services.get_config(cli.db, config_id)
    record = services.set_enabled(
        cli.db, config_id, enabled, expected_version=before.version, actor=cli_actor(), source="cli"
    )
    word = "enabled" if enabled else "disabled"
    if record.version == before.version:
        click.echo(f"{config_id} is already {word}")
        return
    next_run = _timestamp(record.next_run_at) if record.next_run_at else "none"
    click.echo(f"{word} {config_id} (version {record.version}, next run {next_run})")


@configs.command("enable")
@click.argument("config_id", metavar="ID")
@pass_cli
def enable_config(cli: CliContext, config_id: str) -> None:
    """Turn a config's schedule on; the next run is computed from now (no backfill)."""
    _set_enabled(cli, config_id, True)


@configs.command("disable")
@click.argument("config_id", metavar="ID")
@pass_cli
def disable_config(cli: CliContext, config_id: str) -> None:
    """Turn a config's schedule off (Run Now still works)."""
    _set_enabled(cli, config_id, False)


@configs.command("history")
@click.argument("config_id", metavar="ID")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@click.option("--diff", "show_diff", is_flag=True, help="Print each change field by field.")
@click.option("--json", "as_json", is_flag=True, help="Print revisions (before/after) as JSON.")
@pass_cli
def config_history(
    cli: CliContext, config_id: str, limit: int, show_diff: bool, as_json: bool
) -> None:
    """Who changed a config, when, from where (ui, cli, api), and what; newest first."""
    revisions = services.list_revisions(cli.db, config_id, limit=limit)
    if not revisions and services.find_config(cli.db, config_id) is None:
        raise NotFound("config", config_id)
    if as_json:
        echo_json([r.model_dump(mode="json", by_alias=True) for r in revisions])
        return
    rows = []
    diffs = []
    for rev in revisions:
        diff = services.diff_json(rev.before, rev.after)
        if rev.before is None:
            change = "created"
        elif rev.after is None:
            change = "deleted"
        else:
            paths = [p for p, _, _ in diff]
            change = ", ".join(paths[:3]) + (f" (+{len(paths) - 3} more)" if len(paths) > 3 else "")
        rows.append((rev.version, _timestamp(rev.at), rev.actor, rev.source, change))
        diffs.append(diff if rev.before is not None and rev.after is not None else [])
    if not show_diff:
        echo_table(("VERSION", "AT", "ACTOR", "SOURCE", "CHANGE"), rows)
        return
    for row, diff in zip(rows, diffs, strict=True):
        click.echo(f"version {row[0]}  {row[1]}  {row[2]} ({row[3]})  {row[4]}")
        for path, before, after in diff:
            click.echo(f"  {path}: {_value(before)} -> {_value(after)}")


# --------------------------------------------------------------------------- demo


@click.group()
def demo() -> None:
    """Demo data."""


@demo.command("seed")
@pass_cli
def demo_seed(cli: CliContext) -> None:
    """Create the demo configs (one per job type, the original mock config, synthetic jobs).

    Idempotent: upserts by id, so running it again changes nothing.
    """
    from grove_jobs import demo as demo_data

    changes = demo_data.seed(cli.db, actor=cli_actor(), source="cli")
    echo_changes(changes, dry_run=False)

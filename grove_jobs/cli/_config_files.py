"""Reading config files and printing configs and changes, for ``grove-jobs configs``."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
import yaml

from grove_jobs import schedule
from grove_jobs.configs.query import ConfigView
from grove_jobs.configs.transfer import (
    ApplyChange,
    parse_objects,
)
from grove_jobs.configs.yaml_loader import load_yaml
from grove_jobs.exceptions import FieldError, ValidationFailed
from grove_jobs.schema.grove_object import GroveObject
from grove_jobs.schema.limits import TOO_DEEP
from grove_jobs.schema.registry import get_type, json_path_get

STDIN = "-"
NEXT_FIRES_SHOWN = 5


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
        return load_yaml(text)
    except RecursionError as exc:  # json's C parser recurses per nesting level
        raise ValidationFailed([FieldError("", TOO_DEEP, name)]) from exc
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
            objects = parse_objects(data, source=name)
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


def value_text(value: Any) -> str:
    """A value as JSON text, for diffs."""
    return json.dumps(value, ensure_ascii=False)


def echo_changes(changes: list[ApplyChange], *, dry_run: bool) -> None:
    """Print ``+ create id``, ``~ update id`` (then ``  path: before -> after`` lines) or
    ``= unchanged id`` per object, then a summary line."""
    marks = {"create": "+", "update": "~", "unchanged": "="}
    for change in changes:
        click.echo(f"{marks[change.action]} {change.action} {change.id}")
        if change.action == "update":
            for path, before, after in change.diff:
                click.echo(f"  {path}: {value_text(before)} -> {value_text(after)}")
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


def object_title(obj: GroveObject) -> str:
    """The object's title, from its type's title path."""
    if obj.meta.title:
        return obj.meta.title
    title_path = get_type(obj.type).title_path
    found = json_path_get(obj.to_json_dict(), title_path) if title_path else None
    return str(found) if found else obj.id


def enabled_text(obj: GroveObject) -> str:
    """yes/no for the enabled column."""
    if obj.meta.status != "active":
        return obj.meta.status
    enabled_path = get_type(obj.type).enabled_path
    if not enabled_path:
        return "-"
    return "yes" if json_path_get(obj.to_json_dict(), enabled_path) else "no"


def next_run_text(value: datetime | None, now: datetime, obj: GroveObject) -> str:
    """A humanised next-run time in the config's own timezone."""
    if value is None:
        return "-"
    spec = getattr(obj.payload, "schedule", None)
    return schedule.humanize_next_run(value, now, getattr(spec, "timezone", "UTC"))


def timestamp_text(value: datetime | None, tz: str | None = None) -> str:
    """A UTC timestamp, with the local time of ``tz`` beside it when given."""
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
        ("Title", object_title(obj)),
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
        rows.append(("Enabled", enabled_text(obj)))
        rows.append(("Schedule", spec.cron_expression))
        rows.append(("", schedule.describe(spec.cron_expression, spec.timezone)))
        next_run = next_run_text(record.next_run_at, now, obj)
        if record.next_run_at is not None:
            next_run += f"  ({timestamp_text(record.next_run_at)})"
        rows.append(("Next run", next_run))
        label = "Next fires" if record.next_run_at else "Next fires (if enabled)"
        fires = schedule.preview(spec.cron_expression, spec.timezone, now, NEXT_FIRES_SHOWN)
        for i, fire in enumerate(fires):
            shift = "  (UTC offset changes)" if fire.dst_change else ""
            rows.append((label if i == 0 else "", timestamp_text(fire.utc, spec.timezone) + shift))
        for key in ("retry", "limits", "parameters"):
            if key in payload:
                rows.append((key.capitalize(), inline_text(payload[key])))
    else:
        rows.append(("Payload", inline_text(data["payload"])))
    last = view.last_run
    if last is not None:
        rows.append(("Last run", f"{last.status} (execution {last.execution_id}, {last.trigger})"))
        rows.append(("", timestamp_text(last.started_at or last.queued_at)))
        if last.error:
            rows.append(("", last.error.splitlines()[0][:200]))
    else:
        rows.append(("Last run", "never"))
    rows.append(("Created", f"{timestamp_text(record.created_at)} by {obj.meta.created_by or '-'}"))
    rows.append(("Updated", timestamp_text(record.updated_at)))
    click.echo(obj.id)
    width = max(len(k) for k, _ in rows) + 2
    for key, value in rows:
        click.echo(f"  {(key + ':') if key else '':<{width}}{value}")


def inline_text(value: Any) -> str:
    """A payload value on one line."""
    if isinstance(value, dict):
        return ", ".join(f"{k}={value_text(v)}" for k, v in value.items())
    return value_text(value)

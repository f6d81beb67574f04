"""Configs as files: parse, apply (upsert, all or nothing, with a field-level diff) and export."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from grove_jobs.clock import utcnow
from grove_jobs.configs.query import ConfigQuery, list_configs
from grove_jobs.configs.revisions import Source
from grove_jobs.configs.store import insert_config, replace_config
from grove_jobs.db.engine import Database
from grove_jobs.db.records import (
    config_record,
)
from grove_jobs.db.tables import (
    JobConfigRow,
)
from grove_jobs.exceptions import (
    FieldError,
    ValidationFailed,
)
from grove_jobs.schema.grove_object import GroveObject, parse_grove_object
from grove_jobs.schema.registry import get_type


@dataclass(frozen=True)
class ApplyChange:
    """What apply did (or would do) to one object."""

    id: str
    action: Literal["create", "update", "unchanged"]
    diff: list[tuple[str, Any, Any]]  # (path, before, after)


def diff_json(before: Any, after: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Field-level differences between two JSON values, as (dotted path, before, after)."""
    if isinstance(before, dict) and isinstance(after, dict):
        changes = []
        for key in sorted(set(before) | set(after), key=str):
            sub = f"{path}.{key}" if path else str(key)
            changes.extend(diff_json(before.get(key), after.get(key), sub))
        return changes
    return [] if before == after else [(path, before, after)]


def apply_objects(
    db: Database,
    objects: Sequence[GroveObject],
    *,
    actor: str,
    source: Source,
    dry_run: bool = False,
    at: datetime | None = None,
) -> list[ApplyChange]:
    """Upsert by meta.id, all or nothing: one transaction for every object."""
    at = at or utcnow()
    seen: set[str] = set()
    duplicates = [o.id for o in objects if o.id in seen or seen.add(o.id)]  # type: ignore[func-returns-value]
    if duplicates:
        raise ValidationFailed(
            [FieldError("meta.id", f"{d!r} appears more than once") for d in duplicates]
        )
    changes: list[ApplyChange] = []
    with db.write() as session:
        for obj in objects:
            row = session.get(JobConfigRow, obj.id)
            if row is None:
                changes.append(ApplyChange(obj.id, "create", diff_json(None, obj.comparable())))
                if not dry_run:
                    insert_config(session, obj, actor=actor, source=source, at=at)
                continue
            current = config_record(row).object
            obj = obj.model_copy(
                update={"meta": obj.meta.model_copy(update={"created_by": current.meta.created_by})}
            )
            diff = diff_json(current.comparable(), obj.comparable())
            changes.append(ApplyChange(obj.id, "update" if diff else "unchanged", diff))
            if diff and not dry_run:
                replace_config(session, obj, None, actor=actor, source=source, at=at)
        if dry_run:
            session.rollback()
    return changes


def export_objects(db: Database, *, include_archived: bool = True) -> list[dict[str, Any]]:
    """Every stored object as GroveObject JSON (no runtime state), ordered by id."""
    query = ConfigQuery(include_archived=include_archived)
    return [v.record.object.to_json_dict() for v in list_configs(db, query)]


def parse_objects(data: Any, *, source: str | None = None) -> list[GroveObject]:
    """Parse one GroveObject or a list of them, collecting every error with its index."""
    items = data if isinstance(data, list) else [data]
    objects, errors = [], []
    for index, item in enumerate(items):
        try:
            objects.append(parse_grove_object(item, source=source))
        except ValidationFailed as exc:
            prefix = f"[{index}]." if isinstance(data, list) else ""
            errors.extend(FieldError(prefix + e.path, e.message, e.source) for e in exc.errors)
    if errors:
        raise ValidationFailed(errors)
    return objects


def new_object(
    type_name: str,
    config_id: str,
    *,
    title: str | None = None,
    payload: dict[str, Any] | None = None,
    **defaults,
) -> GroveObject:
    """A new object of a registered type: ``payload`` (JSON) when given, else the
    registry's default payload. ValidationFailed names every bad field."""
    experience = get_type(type_name)
    if payload is None:
        payload = experience.default_payload(**defaults).model_dump(mode="json", by_alias=True)
    meta = {"id": config_id, "type": type_name, "icon": experience.emoji, "color": experience.color}
    if title is not None:
        meta["title"] = title
        if "displayName" in payload:
            payload = {**payload, "displayName": title[:120]}
    # Through the parser, so a bad id is a ValidationFailed naming meta.id like any other input.
    return parse_grove_object({"meta": meta, "payload": payload})

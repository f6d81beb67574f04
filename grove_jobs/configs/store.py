"""Stored configs: create, read, replace, switch, archive, delete and duplicate."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from grove_jobs import schedule as cron
from grove_jobs.clock import utcnow
from grove_jobs.configs.revisions import Source, record_revision, row_json
from grove_jobs.db.engine import Database
from grove_jobs.db.records import (
    ConfigRecord,
    config_record,
)
from grove_jobs.db.tables import (
    JobConfigRow,
)
from grove_jobs.exceptions import (
    AlreadyExists,
    FieldError,
    NotFound,
    ValidationFailed,
    VersionConflict,
)
from grove_jobs.schema.grove_object import GroveObject, parse_grove_object
from grove_jobs.schema.registry import get_type, json_path_get

_MANAGED_META_KEYS = ("createdAt", "updatedAt")


def _stored_meta(obj: GroveObject) -> dict[str, Any]:
    """meta JSON as stored: timestamps live in their own columns."""
    meta = obj.meta.model_dump(mode="json", by_alias=True)
    for key in _MANAGED_META_KEYS:
        meta.pop(key, None)
    return meta


def _enabled(obj: GroveObject) -> bool:
    path = get_type(obj.type).enabled_path
    return bool(json_path_get(obj.to_json_dict(), path)) if path else obj.meta.status == "active"


def _schedule_key(obj: GroveObject) -> tuple | None:
    """What determines fire times; None when the object is not scheduled at all."""
    if not get_type(obj.type).schedulable or obj.meta.status != "active":
        return None
    spec = obj.payload.schedule  # type: ignore[attr-defined]
    if not spec.is_enabled:
        return None
    return (spec.cron_expression, spec.timezone)


def compute_next_run(obj: GroveObject, at: datetime) -> datetime | None:
    """The next fire time strictly after ``at``, or None for unscheduled/disabled objects."""
    key = _schedule_key(obj)
    return cron.next_fire(key[0], key[1], at) if key else None


def _apply_to_row(row: JobConfigRow, obj: GroveObject, at: datetime, next_run_at) -> None:
    row.type = obj.type
    row.meta = _stored_meta(obj)
    row.payload = obj.payload.model_dump(mode="json", by_alias=True)
    row.status = obj.meta.status
    row.enabled = _enabled(obj)
    row.next_run_at = next_run_at
    row.updated_at = at


def create_config(
    db: Database,
    obj: GroveObject,
    *,
    actor: str,
    source: Source,
    at: datetime | None = None,
) -> ConfigRecord:
    """Store a new object; AlreadyExists when its id is taken."""
    at = at or utcnow()
    with db.write() as session:
        return insert_config(session, obj, actor=actor, source=source, at=at)


def insert_config(session: Session, obj: GroveObject, *, actor, source, at) -> ConfigRecord:
    if session.get(JobConfigRow, obj.id) is not None:
        raise AlreadyExists("config", obj.id)
    obj = obj.model_copy(update={"meta": obj.meta.model_copy(update={"created_by": actor})})
    row = JobConfigRow(id=obj.id, created_at=at)
    _apply_to_row(row, obj, at, compute_next_run(obj, at))
    session.add(row)
    session.flush()
    record_revision(
        session,
        config_id=obj.id,
        version=1,
        actor=actor,
        source=source,
        at=at,
        before=None,
        after=row_json(row),
    )
    return config_record(row)


def get_config(db: Database, config_id: str) -> ConfigRecord:
    """One stored object by its slug."""
    with db.read() as session:
        row = session.get(JobConfigRow, config_id)
        if row is None:
            raise NotFound("config", config_id)
        return config_record(row)


def find_config(db: Database, config_id: str) -> ConfigRecord | None:
    """Like get_config, but None when it does not exist."""
    try:
        return get_config(db, config_id)
    except NotFound:
        return None


def update_config(
    db: Database,
    obj: GroveObject,
    *,
    expected_version: int | None,
    actor: str,
    source: Source,
    at: datetime | None = None,
) -> ConfigRecord:
    """Replace a stored object. With ``expected_version``, a stale version raises
    VersionConflict naming both versions and writes nothing."""
    at = at or utcnow()
    with db.write() as session:
        return replace_config(session, obj, expected_version, actor=actor, source=source, at=at)


def replace_config(session: Session, obj: GroveObject, expected_version, *, actor, source, at):
    row = session.get(JobConfigRow, obj.id)
    if row is None:
        raise NotFound("config", obj.id)
    if expected_version is not None and row.version != expected_version:
        raise VersionConflict(obj.id, expected_version, row.version)
    current = config_record(row)
    if obj.type != row.type:
        raise ValidationFailed(
            [FieldError("meta.type", f"cannot change type from {row.type!r} to {obj.type!r}")]
        )
    # createdBy is the server's record of who created it; keep it whatever the input says.
    obj = obj.model_copy(
        update={"meta": obj.meta.model_copy(update={"created_by": current.object.meta.created_by})}
    )
    if obj.comparable() == current.object.comparable():
        return current  # nothing a user edits changed: no new version, no revision
    before = row_json(row)
    schedule_changed = _schedule_key(obj) != _schedule_key(current.object)
    # Saving a new schedule (or re-enabling) never backfills: fire times restart from now.
    next_run_at = compute_next_run(obj, at) if schedule_changed else row.next_run_at
    _apply_to_row(row, obj, at, next_run_at)
    try:
        # The mapper's version column repeats the check inside the UPDATE itself, so a writer
        # that slipped in between our read and our write makes this fail instead of being lost.
        session.flush()
    except StaleDataError as exc:
        raise VersionConflict(obj.id, current.version, current.version + 1) from exc
    record_revision(
        session,
        config_id=obj.id,
        version=row.version,
        actor=actor,
        source=source,
        at=at,
        before=before,
        after=row_json(row),
    )
    return config_record(row)


def set_enabled(
    db: Database,
    config_id: str,
    enabled: bool,
    *,
    expected_version: int | None = None,
    actor: str,
    source: Source,
    at: datetime | None = None,
) -> ConfigRecord:
    """Switch a config's schedule (or a rule's isEnabled) on or off."""
    record = get_config(db, config_id)
    path = get_type(record.type).enabled_path
    if not path:
        raise ValidationFailed([FieldError("payload", f"{record.type} has no enabled switch")])
    data = record.object.to_json_dict()
    _set_path(data, path, enabled)
    return update_config(
        db,
        parse_grove_object(data),
        expected_version=expected_version if expected_version is not None else record.version,
        actor=actor,
        source=source,
        at=at,
    )


def archive_config(
    db: Database, config_id: str, *, actor: str, source: Source, at: datetime | None = None
) -> ConfigRecord:
    """Soft delete: status archived, no more scheduled runs, history kept."""
    record = get_config(db, config_id)
    meta = record.object.meta.model_copy(update={"status": "archived"})
    return update_config(
        db,
        record.object.model_copy(update={"meta": meta}),
        expected_version=record.version,
        actor=actor,
        source=source,
        at=at,
    )


def delete_config(
    db: Database, config_id: str, *, actor: str, source: Source, at: datetime | None = None
) -> None:
    """Hard delete a config and its executions; the revision trail keeps what it was."""
    at = at or utcnow()
    with db.write() as session:
        row = session.get(JobConfigRow, config_id)
        if row is None:
            raise NotFound("config", config_id)
        record_revision(
            session,
            config_id=config_id,
            version=row.version + 1,
            actor=actor,
            source=source,
            at=at,
            before=row_json(row),
            after=None,
        )
        session.delete(row)


def duplicate_config(
    db: Database,
    config_id: str,
    *,
    new_id: str | None = None,
    actor: str,
    source: Source,
    at: datetime | None = None,
) -> ConfigRecord:
    """Copy a config under a new id, disabled so the copy never fires by surprise."""
    record = get_config(db, config_id)
    data = record.object.to_json_dict()
    data["meta"]["id"] = new_id or _free_copy_id(db, config_id)
    title = data["meta"].get("title")
    if title:
        data["meta"]["title"] = f"{title} (copy)"[:200]
    path = get_type(record.type).enabled_path
    if path:
        _set_path(data, path, False)
    return create_config(db, parse_grove_object(data), actor=actor, source=source, at=at)


def _set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted path (``payload.schedule.isEnabled``) inside nested dicts."""
    *parents, leaf = path.split(".")
    for part in parents:
        data = data[part]
    data[leaf] = value


def _free_copy_id(db: Database, config_id: str) -> str:
    base = f"{config_id[:56]}-copy"
    candidate, n = base, 1
    while find_config(db, candidate) is not None:
        n += 1
        candidate = f"{base}-{n}"
    return candidate

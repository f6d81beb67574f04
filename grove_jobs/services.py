"""Use cases shared by the CLI, the HTTP API and the dashboard."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from grove_jobs import schedule as cron
from grove_jobs.clock import utcnow
from grove_jobs.db.engine import Database
from grove_jobs.db.records import (
    ConfigRecord,
    LastRun,
    config_record,
    execution_record,
    log_record,
    revision_record,
)
from grove_jobs.db.tables import (
    ConfigRevisionRow,
    ExecutionLogRow,
    JobConfigRow,
    JobExecutionRow,
)
from grove_jobs.exceptions import (
    AlreadyExists,
    FieldError,
    NotFound,
    ValidationFailed,
    VersionConflict,
)
from grove_jobs.schema.execution import Execution, LogLine, Revision
from grove_jobs.schema.grove_object import GroveObject, parse_grove_object
from grove_jobs.schema.registry import get_type, json_path_get

Source = Literal["ui", "cli", "api", "system"]
_MANAGED_META_KEYS = ("createdAt", "updatedAt")


# --------------------------------------------------------------------------- helpers


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


def _record_revision(
    session: Session,
    *,
    config_id: str,
    version: int,
    actor: str,
    source: Source,
    at: datetime,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    session.add(
        ConfigRevisionRow(
            config_id=config_id,
            version=version,
            actor=actor,
            source=source,
            at=at,
            before=before,
            after=after,
        )
    )


def _row_json(row: JobConfigRow) -> dict[str, Any]:
    return {"meta": {**row.meta}, "payload": row.payload}


def _apply_to_row(row: JobConfigRow, obj: GroveObject, at: datetime, next_run_at) -> None:
    row.type = obj.type
    row.meta = _stored_meta(obj)
    row.payload = obj.payload.model_dump(mode="json", by_alias=True)
    row.status = obj.meta.status
    row.enabled = _enabled(obj)
    row.next_run_at = next_run_at
    row.updated_at = at


# --------------------------------------------------------------------------- configs


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
        return _create(session, obj, actor=actor, source=source, at=at)


def _create(session: Session, obj: GroveObject, *, actor, source, at) -> ConfigRecord:
    if session.get(JobConfigRow, obj.id) is not None:
        raise AlreadyExists("config", obj.id)
    obj = obj.model_copy(update={"meta": obj.meta.model_copy(update={"created_by": actor})})
    row = JobConfigRow(id=obj.id, created_at=at)
    _apply_to_row(row, obj, at, compute_next_run(obj, at))
    session.add(row)
    session.flush()
    _record_revision(
        session,
        config_id=obj.id,
        version=1,
        actor=actor,
        source=source,
        at=at,
        before=None,
        after=_row_json(row),
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


@dataclass(frozen=True)
class ConfigQuery:
    """Filters and sort for list_configs; all optional."""

    type: str | None = None
    enabled: bool | None = None
    tag: str | None = None
    text: str | None = None
    include_archived: bool = False
    filters: dict[str, str] = field(default_factory=dict)  # registry FilterSpec key -> value
    sort: str | None = None  # registry SortOption key


@dataclass(frozen=True)
class ConfigView:
    """A stored object with its runtime state, as lists and cards show it."""

    record: ConfigRecord
    last_run: LastRun | None

    def to_json(self) -> dict[str, Any]:
        data = self.record.object.to_json_dict()
        data["state"] = config_state(self.record, self.last_run)
        return data


def config_state(record: ConfigRecord, last_run: LastRun | None) -> dict[str, Any]:
    """Runtime facts shown beside the editable payload (the ``state`` key of CLI/API JSON)."""
    state: dict[str, Any] = {
        "version": record.version,
        "nextRunAt": _json_time(record.next_run_at),
        "lastRunAt": None,
        "lastStatus": None,
        "lastExecutionId": None,
    }
    if last_run is not None:
        state.update(
            lastRunAt=_json_time(last_run.started_at or last_run.queued_at),
            lastStatus=last_run.status,
            lastExecutionId=last_run.execution_id,
        )
    return state


def _json_time(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def list_configs(db: Database, query: ConfigQuery | None = None) -> list[ConfigView]:
    """Stored objects matching ``query``, with their last run, sorted as asked."""
    query = query or ConfigQuery()
    stmt = select(JobConfigRow)
    if query.type:
        stmt = stmt.where(JobConfigRow.type == query.type)
    if query.enabled is not None:
        stmt = stmt.where(JobConfigRow.enabled == query.enabled)
    if not query.include_archived:
        stmt = stmt.where(JobConfigRow.status != "archived")
    stmt = stmt.order_by(JobConfigRow.id)
    with db.read() as session:
        records = [config_record(row) for row in session.scalars(stmt)]
        last_runs = _last_runs(session, [r.id for r in records])
    views = [ConfigView(r, last_runs.get(r.id)) for r in records]
    views = [v for v in views if _matches(v, query)]
    return _sorted(views, query)


def _matches(view: ConfigView, query: ConfigQuery) -> bool:
    obj = view.record.object
    if query.tag and query.tag not in obj.meta.tags:
        return False
    if not query.filters and not query.text:
        return True
    experience = get_type(obj.type)
    data = view.to_json()
    for key, wanted in query.filters.items():
        spec = next((f for f in experience.filters if f.key == key), None)
        if spec is None:
            continue  # a filter of another type does not apply to this one
        if str(json_path_get(data, spec.path)).lower() != str(wanted).lower():
            return False
    if query.text:
        needle = query.text.lower()
        haystack = " ".join(_flatten(json_path_get(data, p)) for p in experience.search_fields)
        if needle not in haystack.lower():
            return False
    return True


def _flatten(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(_flatten(v) for v in value)
    return str(value)


def _sorted(views: list[ConfigView], query: ConfigQuery) -> list[ConfigView]:
    if not query.sort:
        return views
    options = {o.key: o for v in views for o in get_type(v.record.type).sort_options}
    option = options.get(query.sort)
    if option is None:
        raise ValidationFailed([FieldError("sort", f"unknown sort option {query.sort!r}")])
    keyed = [(json_path_get(v.to_json(), option.field), v) for v in views]
    present = [kv for kv in keyed if kv[0] is not None]
    missing = [v for k, v in keyed if k is None]
    present.sort(key=lambda kv: _sort_key(kv[0]), reverse=option.descending)
    return [v for _, v in present] + missing  # objects without the value go last either way


def _sort_key(value: Any) -> tuple:
    # Numbers sort as numbers, everything else as case-insensitive text (ISO timestamps sort
    # correctly as text); numbers first so mixed columns still have a total order.
    if isinstance(value, bool):
        return (1, str(value))
    if isinstance(value, int | float):
        return (0, value)
    return (1, str(value).lower())


def _last_runs(session: Session, config_ids: Sequence[str]) -> dict[str, LastRun]:
    """Newest execution per config in one query (index-backed max(id) per config)."""
    if not config_ids:
        return {}
    newest = (
        select(func.max(JobExecutionRow.id))
        .where(JobExecutionRow.config_id == JobConfigRow.id)
        .correlate(JobConfigRow)
        .scalar_subquery()
    )
    result: dict[str, LastRun] = {}
    for chunk_start in range(0, len(config_ids), 500):
        chunk = list(config_ids[chunk_start : chunk_start + 500])
        stmt = (
            select(JobExecutionRow)
            .join(JobConfigRow, JobExecutionRow.id == newest)
            .where(JobConfigRow.id.in_(chunk))
        )
        for row in session.scalars(stmt):
            result[row.config_id] = LastRun(
                config_id=row.config_id,
                execution_id=row.id,
                status=row.status,
                trigger=row.trigger,
                started_at=row.started_at,
                completed_at=row.completed_at,
                queued_at=row.queued_at,
                items_processed=row.items_processed,
                items_total=row.items_total,
                error=row.error,
            )
    return result


def last_runs(db: Database, config_ids: Sequence[str]) -> dict[str, LastRun]:
    """The newest execution of each config, in one query."""
    with db.read() as session:
        return _last_runs(session, config_ids)


def get_enabled_jobs(db: Database) -> list[ConfigRecord]:
    """Active job configs whose schedule is enabled."""
    return [v.record for v in list_configs(db, ConfigQuery(type="job-config", enabled=True))]


def get_jobs_by_type(db: Database, job_type: str) -> list[ConfigRecord]:
    """Job configs (archived excluded) of one job type."""
    query = ConfigQuery(type="job-config", filters={"jobType": job_type})
    return [v.record for v in list_configs(db, query)]


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
        return _update(session, obj, expected_version, actor=actor, source=source, at=at)


def _update(session: Session, obj: GroveObject, expected_version, *, actor, source, at):
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
    before = _row_json(row)
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
    _record_revision(
        session,
        config_id=obj.id,
        version=row.version,
        actor=actor,
        source=source,
        at=at,
        before=before,
        after=_row_json(row),
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
        _record_revision(
            session,
            config_id=config_id,
            version=row.version + 1,
            actor=actor,
            source=source,
            at=at,
            before=_row_json(row),
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


# --------------------------------------------------------------------------- apply / export


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
                    _create(session, obj, actor=actor, source=source, at=at)
                continue
            current = config_record(row).object
            obj = obj.model_copy(
                update={"meta": obj.meta.model_copy(update={"created_by": current.meta.created_by})}
            )
            diff = diff_json(current.comparable(), obj.comparable())
            changes.append(ApplyChange(obj.id, "update" if diff else "unchanged", diff))
            if diff and not dry_run:
                _update(session, obj, None, actor=actor, source=source, at=at)
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
    type_name: str, config_id: str, *, title: str | None = None, **defaults
) -> GroveObject:
    """A new object of a registered type from the registry's default payload."""
    experience = get_type(type_name)
    payload = experience.default_payload(**defaults)
    meta = {"id": config_id, "type": type_name, "icon": experience.emoji, "color": experience.color}
    if title is not None:
        meta["title"] = title
    # Through the parser, so a bad id is a ValidationFailed naming meta.id like any other input.
    return parse_grove_object(
        {"meta": meta, "payload": payload.model_dump(mode="json", by_alias=True)}
    )


# --------------------------------------------------------------------------- revisions


def list_revisions(db: Database, config_id: str, *, limit: int = 100) -> list[Revision]:
    """A config's change history, newest first."""
    stmt = (
        select(ConfigRevisionRow)
        .where(ConfigRevisionRow.config_id == config_id)
        .order_by(ConfigRevisionRow.id.desc())
        .limit(limit)
    )
    with db.read() as session:
        return [revision_record(r) for r in session.scalars(stmt)]


# --------------------------------------------------------------------------- executions


@dataclass(frozen=True)
class ExecutionPage:
    """One page of history, newest first; ``next_before_id`` fetches the following page."""

    items: list[Execution]
    total: int
    next_before_id: int | None


def execution_history(
    db: Database,
    config_id: str | None = None,
    *,
    limit: int = 50,
    before_id: int | None = None,
    statuses: Iterable[str] | None = None,
) -> ExecutionPage:
    """Executions newest first, keyset-paged by id (uses the (config_id, id) index)."""
    limit = max(1, min(limit, 1000))
    stmt = select(JobExecutionRow)
    count = select(func.count()).select_from(JobExecutionRow)
    if config_id is not None:
        stmt = stmt.where(JobExecutionRow.config_id == config_id)
        count = count.where(JobExecutionRow.config_id == config_id)
    if statuses:
        stmt = stmt.where(JobExecutionRow.status.in_(list(statuses)))
        count = count.where(JobExecutionRow.status.in_(list(statuses)))
    if before_id is not None:
        stmt = stmt.where(JobExecutionRow.id < before_id)
    stmt = stmt.order_by(JobExecutionRow.id.desc()).limit(limit + 1)
    with db.read() as session:
        rows = list(session.scalars(stmt))
        total = session.scalar(count) or 0
    items = [execution_record(r) for r in rows[:limit]]
    return ExecutionPage(items, total, items[-1].id if len(rows) > limit else None)


def get_execution(db: Database, execution_id: int) -> Execution:
    """One execution by id."""
    with db.read() as session:
        row = session.get(JobExecutionRow, execution_id)
        if row is None:
            raise NotFound("execution", execution_id)
        return execution_record(row)


def execution_logs(
    db: Database, execution_id: int, *, limit: int = 1000, tail: bool = False
) -> list[LogLine]:
    """Log lines of an execution in order; ``tail`` returns the last ``limit`` lines."""
    stmt = select(ExecutionLogRow).where(ExecutionLogRow.execution_id == execution_id)
    stmt = stmt.order_by(ExecutionLogRow.id.desc() if tail else ExecutionLogRow.id).limit(limit)
    with db.read() as session:
        lines = [log_record(r) for r in session.scalars(stmt)]
    return lines[::-1] if tail else lines


def new_request_id() -> str:
    """A fresh idempotency key for a Run Now click."""
    return uuid.uuid4().hex

"""Reading configs as lists and cards show them: filters, text search, sort, last runs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grove_jobs.clock import iso_z
from grove_jobs.db.engine import Database
from grove_jobs.db.records import (
    RECORD_COLUMNS,
    ConfigRecord,
    LastRun,
    config_record,
)
from grove_jobs.db.tables import (
    JobConfigRow,
    JobExecutionRow,
)
from grove_jobs.exceptions import (
    FieldError,
    ValidationFailed,
)
from grove_jobs.jobs.registry import UnknownJobType
from grove_jobs.schema.job_config import JobConfigPayload
from grove_jobs.schema.registry import get_type, json_path_get


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
        "nextRunAt": iso_z(record.next_run_at),
        "lastRunAt": None,
        "lastStatus": None,
        "lastExecutionId": None,
    }
    if last_run is not None:
        state.update(
            lastRunAt=iso_z(last_run.started_at or last_run.queued_at),
            lastStatus=last_run.status,
            lastExecutionId=last_run.execution_id,
        )
    if (problem := job_type_problem(record)) is not None:
        state["jobTypeProblem"] = problem
    return state


def job_type_problem(record: ConfigRecord) -> str | None:
    """Why a job config cannot run in this process (its type is not installed), else None."""
    payload = record.object.payload
    if isinstance(payload, JobConfigPayload) and not payload.installed:
        return str(UnknownJobType(payload.job_type))
    return None


def list_configs(db: Database, query: ConfigQuery | None = None) -> list[ConfigView]:
    """Stored objects matching ``query``, with their last run, sorted as asked."""
    query = query or ConfigQuery()
    stmt = select(*RECORD_COLUMNS)
    if query.type:
        stmt = stmt.where(JobConfigRow.type == query.type)
    if query.enabled is not None:
        stmt = stmt.where(JobConfigRow.enabled == query.enabled)
    if not query.include_archived:
        stmt = stmt.where(JobConfigRow.status != "archived")
    stmt = stmt.order_by(JobConfigRow.id)
    with db.read() as session:
        records = [config_record(row) for row in session.execute(stmt)]
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
    E = JobExecutionRow
    # Only the columns a card shows: whole rows would decode every run's payload snapshot and
    # result JSON, which at 10,000 configs is most of the console's uncached rerun.
    columns = (
        E.config_id,
        E.id,
        E.status,
        E.trigger,
        E.started_at,
        E.completed_at,
        E.queued_at,
        E.items_processed,
        E.items_total,
        E.error,
    )
    result: dict[str, LastRun] = {}
    for chunk_start in range(0, len(config_ids), 500):
        chunk = list(config_ids[chunk_start : chunk_start + 500])
        stmt = select(*columns).join(JobConfigRow, E.id == newest).where(JobConfigRow.id.in_(chunk))
        for row in session.execute(stmt):
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


def earliest_next_run(session: Session) -> datetime | None:
    """The soonest ``next_run_at`` of any config (None when nothing is scheduled)."""
    return session.scalar(select(func.min(JobConfigRow.next_run_at)))


def schedule_lag_seconds(session: Session, at: datetime) -> float:
    """How late the most overdue schedule is: ``at - min(next_run_at)`` over configs whose
    next run has passed, else 0. A healthy sidecar keeps it below a tick interval."""
    oldest = session.scalar(
        select(func.min(JobConfigRow.next_run_at)).where(JobConfigRow.next_run_at <= at)
    )
    return max(0.0, (at - oldest).total_seconds()) if oldest is not None else 0.0


def count_by_type(db: Database) -> dict[str, int]:
    """Non-archived objects per type (one GROUP BY; the console's type buttons)."""
    stmt = (
        select(JobConfigRow.type, func.count())
        .where(JobConfigRow.status != "archived")
        .group_by(JobConfigRow.type)
    )
    with db.read() as session:
        return {type_: count for type_, count in session.execute(stmt)}


def config_choices(db: Database) -> list[tuple[str, str, str]]:
    """``(id, type, title)`` of every non-archived object, by id (pickers list these)."""
    stmt = (
        select(JobConfigRow.id, JobConfigRow.type, JobConfigRow.meta, JobConfigRow.payload)
        .where(JobConfigRow.status != "archived")
        .order_by(JobConfigRow.id)
    )
    with db.read() as session:
        rows = session.execute(stmt).all()
    return [
        (r.id, r.type, str(r.meta.get("title") or r.payload.get("displayName") or r.id))
        for r in rows
    ]

"""Runs across every job: filtered, newest first, keyset-paged; fast with millions of rows.

Every query walks an index newest first and stops after one page:

- the time window becomes an id range with one probe of ``ix_job_executions_queued_at``
  (ids grow with queue time), so the primary-key walk never leaves the window;
- a job or job-type filter becomes ``config_id IN (...)`` (``ix_job_executions_history``);
- status, trigger and text filter the rows the walk meets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, or_, select

from grove_jobs.db.engine import Database
from grove_jobs.db.records import execution_record
from grove_jobs.db.tables import JobConfigRow
from grove_jobs.db.tables import JobExecutionRow as E
from grove_jobs.schema.execution import Execution

MAX_PAGE = 500
# Counting stops here: "10,000+" is all a filter bar needs, and an exact count of a million
# rows would cost more than the page itself.
COUNT_CAP = 10_000


@dataclass(frozen=True)
class RunFilter:
    """What the Runs page shows; every field optional (empty means no restriction)."""

    statuses: tuple[str, ...] = ()
    config_ids: tuple[str, ...] = ()
    job_types: tuple[str, ...] = ()
    triggers: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None  # a run id ("#42" or "42"), or part of a job id, actor or error


@dataclass(frozen=True)
class RunsPage:
    """One page, newest first. ``next_before_id`` fetches the following (older) page;
    ``count`` is the number of matching runs, at most COUNT_CAP (then ``capped``)."""

    items: list[Execution]
    next_before_id: int | None
    count: int
    capped: bool


def list_runs(
    db: Database, runs: RunFilter, *, limit: int = 50, before_id: int | None = None
) -> RunsPage:
    """A page of runs matching ``runs``, newest first, older than ``before_id`` if given."""
    limit = max(1, min(limit, MAX_PAGE))
    with db.read() as session:
        stmt = _filtered(session, runs)
        if stmt is None:
            return RunsPage([], None, 0, False)
        page = stmt.where(E.id < before_id) if before_id is not None else stmt
        rows = list(session.scalars(page.order_by(E.id.desc()).limit(limit + 1)))
        counted = select(func.count()).select_from(
            stmt.with_only_columns(E.id).limit(COUNT_CAP + 1).subquery()
        )
        count = session.scalar(counted) or 0
    items = [execution_record(r) for r in rows[:limit]]
    next_before = items[-1].id if len(rows) > limit else None
    return RunsPage(items, next_before, min(count, COUNT_CAP), count > COUNT_CAP)


def job_types_of(db: Database) -> dict[str, str]:
    """Config id -> job type, for every job config (the Runs page's type filter and column)."""
    stmt = select(JobConfigRow.id, JobConfigRow.payload).where(JobConfigRow.type == "job-config")
    with db.read() as session:
        return {row.id: str(row.payload.get("jobType", "")) for row in session.execute(stmt)}


def _filtered(session, runs: RunFilter) -> Select | None:
    """The filtered statement, or None when the filters exclude everything."""
    stmt = select(E)
    config_ids = _config_ids(session, runs)
    if config_ids is not None:
        if not config_ids:
            return None
        stmt = stmt.where(E.config_id.in_(sorted(config_ids)))
    if runs.since is not None:
        first = session.scalar(
            select(E.id).where(E.queued_at >= runs.since).order_by(E.queued_at).limit(1)
        )
        if first is None:
            return None
        stmt = stmt.where(E.id >= first, E.queued_at >= runs.since)
    if runs.until is not None:
        stmt = stmt.where(E.queued_at < runs.until)
    if runs.statuses:
        stmt = stmt.where(E.status.in_(runs.statuses))
    if runs.triggers:
        stmt = stmt.where(E.trigger.in_(runs.triggers))
    text = (runs.text or "").strip()
    if text:
        stmt = stmt.where(_text_clause(text))
    return stmt


def _config_ids(session, runs: RunFilter) -> set[str] | None:
    """The configs the job and type filters allow; None when neither restricts."""
    allowed: set[str] | None = set(runs.config_ids) if runs.config_ids else None
    if runs.job_types:
        wanted = set(runs.job_types)
        rows = session.execute(
            select(JobConfigRow.id, JobConfigRow.payload).where(JobConfigRow.type == "job-config")
        )
        typed = {row.id for row in rows if row.payload.get("jobType") in wanted}
        allowed = typed if allowed is None else allowed & typed
    return allowed


def _text_clause(text: str):
    digits = text.removeprefix("#")
    if digits.isdigit():
        return E.id == int(digits)
    pattern = f"%{_escape_like(text.lower())}%"
    columns: Sequence = (E.config_id, E.requested_by, E.error)
    return or_(*(func.lower(column).like(pattern, escape="\\") for column in columns))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

"""Reading executions: history pages, one execution, its log lines."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from grove_jobs.db.engine import Database
from grove_jobs.db.records import (
    execution_record,
    log_record,
)
from grove_jobs.db.tables import (
    API_REQUEST_SQL,
    ExecutionLogRow,
    JobExecutionRow,
    SchedulerNodeRow,
)
from grove_jobs.exceptions import (
    NotFound,
)
from grove_jobs.schema.execution import Execution, LogLine


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


def execution_by_api_request(db: Database, request_id: str) -> Execution | None:
    """The execution an API ``request_id`` (``api:...``) created, on whichever job."""
    with db.read() as session:
        row = session.scalars(
            select(JobExecutionRow).where(
                JobExecutionRow.request_id == request_id,
                text(API_REQUEST_SQL),  # lets PostgreSQL use the partial unique index
            )
        ).first()
        return execution_record(row) if row is not None else None


def execution_logs(
    db: Database, execution_id: int, *, limit: int = 1000, tail: bool = False
) -> list[LogLine]:
    """Log lines of an execution in order; ``tail`` returns the last ``limit`` lines."""
    stmt = select(ExecutionLogRow).where(ExecutionLogRow.execution_id == execution_id)
    stmt = stmt.order_by(ExecutionLogRow.id.desc() if tail else ExecutionLogRow.id).limit(limit)
    with db.read() as session:
        lines = [log_record(r) for r in session.scalars(stmt)]
    return lines[::-1] if tail else lines


def counts_by_status(session: Session) -> dict[str, int]:
    """How many executions the table holds in each status."""
    return dict(
        session.execute(
            select(JobExecutionRow.status, func.count()).group_by(JobExecutionRow.status)
        ).all()
    )


def counts_by_config_and_status(session: Session) -> list[tuple[str, str, int]]:
    """``(config_id, status, count)`` for every pair present, ordered by config then status."""
    rows = session.execute(
        select(JobExecutionRow.config_id, JobExecutionRow.status, func.count())
        .group_by(JobExecutionRow.config_id, JobExecutionRow.status)
        .order_by(JobExecutionRow.config_id, JobExecutionRow.status)
    ).all()
    return [tuple(row) for row in rows]


def latest_recorded_tick(session: Session) -> tuple[datetime, float | None] | None:
    """The freshest tick any sidecar recorded on its node row: ``(at, duration_ms)``."""
    row = session.execute(
        select(SchedulerNodeRow.last_tick_at, SchedulerNodeRow.last_tick_ms)
        .where(SchedulerNodeRow.last_tick_at.is_not(None))
        .order_by(SchedulerNodeRow.last_tick_at.desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else None

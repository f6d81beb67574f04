"""Runs nothing can take: their job type is installed in no live sidecar.

Each sidecar claims only runs of the types it has (see the claim), so a run of a type no
sidecar has would wait forever. After a lease's grace, so a sidecar that is just starting or
being upgraded can still take it, such a run fails, naming the type and how types are found.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from grove_jobs.db.dialect import lock_rows
from grove_jobs.db.engine import Database
from grove_jobs.db.tables import (
    JobConfigRow,
    JobExecutionRow,
    SchedulerNodeRow,
)
from grove_jobs.engine.dispatch import WAITING
from grove_jobs.engine.leases import end_attempt
from grove_jobs.jobs.registry import UnknownJobType
from grove_jobs.schema.execution import ExecutionStatus

E = JobExecutionRow


def live_job_types(session: Session, *, lease_seconds: float, at: datetime) -> set[str]:
    """The job types of the sidecars that heartbeat within the lease."""
    cutoff = at - timedelta(seconds=lease_seconds)
    rows = session.scalars(
        select(SchedulerNodeRow.job_types).where(SchedulerNodeRow.heartbeat_at >= cutoff)
    )
    return {name for types in rows if types for name in types}


def fail_unclaimable(db: Database, *, lease_seconds: float, at: datetime) -> list[int]:
    """Fail waiting runs that were due a lease ago and whose job type no live sidecar has:
    nothing would ever take them. The error names the type and how types are found."""
    cutoff = at - timedelta(seconds=lease_seconds)
    job_type = JobConfigRow.payload["jobType"].as_string()
    failed: list[int] = []
    with db.write() as session:
        live_types = live_job_types(session, lease_seconds=lease_seconds, at=at)
        if not live_types:  # sidecars not yet registered, or older ones: nothing to judge by
            return []
        stmt = (
            select(E.id, E.status, E.attempt, job_type.label("job_type"))
            .join(JobConfigRow, JobConfigRow.id == E.config_id)
            .where(E.status.in_(WAITING), E.run_after <= cutoff)
            .order_by(E.id)
            .where(job_type.not_in(sorted(live_types)))
            .limit(500)
        )
        for row in session.execute(lock_rows(session, stmt, of=E)).all():
            error = (
                f"no running sidecar can run job type {row.job_type!r}: "
                f"{UnknownJobType(row.job_type)}"
            )
            values = {
                "status": ExecutionStatus.FAILED.value,
                "completed_at": at,
                "error": error,
                "error_kind": "permanent",
            }
            if end_attempt(session, row.id, row.status, row.attempt, values, error, at):
                failed.append(row.id)
    return failed

"""Leases on running executions: heartbeats, cancel requests, rescue of runs whose sidecar
stopped heartbeating, and hand-back on shutdown.

Like claiming, every change is a guarded UPDATE, so a late write from a worker presumed dead
changes nothing. Heartbeats and rescue read the time from the database (one clock for every
sidecar); the ``at`` arguments exist for tests that need a chosen instant.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, select, tuple_, update

from grove_jobs.db.dialect import database_now, lock_rows
from grove_jobs.db.engine import Database
from grove_jobs.db.tables import ExecutionLogRow, JobExecutionRow
from grove_jobs.engine.dispatch import Outcome, final_values
from grove_jobs.schema.execution import ExecutionStatus

E = JobExecutionRow


def heartbeat(
    db: Database,
    *,
    worker_id: str,
    running: list[tuple[int, int]],
    at: datetime | None = None,
) -> set[tuple[int, int]]:
    """Extend the lease of this sidecar's runs; returns the (execution, attempt) pairs renewed.

    A run missing from the answer is no longer this sidecar's (rescued, or finished by someone
    else): its worker must stop at once. Cancel requests are polled separately, more often, by
    :func:`cancel_requested`."""
    if not running:
        return set()
    with db.write() as session:
        stamp = at or database_now(session)
        rows = session.execute(
            update(E)
            .where(
                tuple_(E.id, E.attempt).in_(running),
                E.status == "running",
                E.worker_id == worker_id,
            )
            .values(heartbeat_at=stamp)
            .returning(E.id, E.attempt)
            .execution_options(synchronize_session=False)
        ).all()
    return {(row.id, row.attempt) for row in rows}


def cancel_requested(db: Database, execution_ids: list[int]) -> set[int]:
    """Which of these runs have a pending cancel request (cheap read, polled often)."""
    if not execution_ids:
        return set()
    with db.read() as session:
        return set(
            session.scalars(
                select(E.id).where(E.id.in_(execution_ids), E.cancel_requested.is_(True))
            ).all()
        )


def rescue(
    db: Database, *, lease_seconds: float, at: datetime | None = None, limit: int = 500
) -> list[int]:
    """Runs whose heartbeat is older than the lease belong to a dead sidecar: give each its
    next attempt (after the policy's delay) or fail it when none are left. Returns their ids.

    Its worker stopped the handler (lease - margin) after its last renewal began, so by now
    nothing runs the old attempt any more."""
    rescued = []
    with db.write() as session:
        at = at or database_now(session)
        cutoff = at - timedelta(seconds=lease_seconds)
        stale = session.execute(
            lock_rows(
                session,
                select(E.id, E.attempt, E.max_attempts, E.worker_id, E.payload_snapshot)
                .where(E.status == ExecutionStatus.RUNNING.value, E.heartbeat_at < cutoff)
                .order_by(E.id)
                .limit(limit),
            )
        ).all()
        for row in stale:
            outcome = Outcome(
                execution_id=row.id,
                attempt=row.attempt,
                status="failed",
                error=f"worker {row.worker_id} stopped heartbeating (lease of "
                f"{lease_seconds:g}s expired); attempt {row.attempt} abandoned",
                max_attempts=row.max_attempts,
                retry=(row.payload_snapshot or {}).get("retry"),
            )
            values = final_values(outcome, at)
            # keep whatever progress the dead worker reported
            for key in ("items_processed", "items_total", "items_failed", "result"):
                values.pop(key)
            if end_attempt(session, row.id, "running", row.attempt, values, outcome.error, at):
                rescued.append(row.id)
    return rescued


def end_attempt(
    session, execution_id: int, status: str, attempt: int, values: dict, message: str, at
) -> bool:
    """A guarded state change (``WHERE id, status, attempt``) and, if it took, the engine's
    log line saying why. False when someone else changed the run first."""
    result = session.execute(
        update(E)
        .where(E.id == execution_id, E.status == status, E.attempt == attempt)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:
        return False
    session.add(
        ExecutionLogRow(
            execution_id=execution_id, attempt=attempt, at=at, level="error", message=message
        )
    )
    return True


def hand_back(db: Database, *, worker_id: str, running: list[tuple[int, int]], at: datetime) -> int:
    """On shutdown: return unfinished runs to the queue without spending an attempt."""
    return _unclaim(
        db,
        worker_id,
        running,
        status=ExecutionStatus.RETRYING.value,
        run_after=at,
        error="sidecar shut down; run handed back for another sidecar",
    )


def release_unstarted(db: Database, *, worker_id: str, claimed: list[tuple[int, int]]) -> int:
    """Return runs this sidecar claimed but never handed to a worker to the queue, as they
    were: the attempt is not spent, no error is recorded, and their place in the queue
    (``run_after``) is kept. Returns how many were still this sidecar's."""
    first_attempt = E.attempt == 1
    return _unclaim(
        db,
        worker_id,
        claimed,
        status=case(
            (first_attempt, ExecutionStatus.QUEUED.value),
            else_=ExecutionStatus.RETRYING.value,
        ),
        started_at=case((first_attempt, None), else_=E.started_at),
        heartbeat_at=None,
    )


def _unclaim(db: Database, worker_id: str, runs: list[tuple[int, int]], **values: Any) -> int:
    """Runs ``(id, attempt)`` still running for ``worker_id`` leave it with their attempt
    unspent, and ``values`` set; how many did."""
    if not runs:
        return 0
    with db.write() as session:
        result = session.execute(
            update(E)
            .where(
                tuple_(E.id, E.attempt).in_(runs),
                E.status == ExecutionStatus.RUNNING.value,
                E.worker_id == worker_id,
            )
            .values(attempt=E.attempt - 1, worker_id=None, **values)
            .execution_options(synchronize_session=False)
        )
    return result.rowcount

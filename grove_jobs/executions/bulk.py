"""Retry or cancel many runs at once, each checked on its own and audited on the run itself.

Each run goes through the same service call as a single click (``retry_execution``,
``cancel_execution``), which re-reads its status and refuses what no longer applies (a run
that finished while the operator was looking is not cancelled, an active one is not retried).
What was done, by whom, is written as a log line of the run acted on, so its history says it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import insert, select

from grove_jobs.clock import utcnow
from grove_jobs.db.engine import Database
from grove_jobs.db.tables import ExecutionLogRow, JobExecutionRow
from grove_jobs.engine.enqueue import cancel_execution, retry_execution
from grove_jobs.exceptions import GroveError


@dataclass
class BulkOutcome:
    """Per run: what it became (``done``: id -> new run id or status) or why it was refused."""

    done: dict[int, str] = field(default_factory=dict)
    refused: dict[int, str] = field(default_factory=dict)


def retry_runs(
    db: Database, execution_ids: Iterable[int], *, actor: str, request_prefix: str
) -> BulkOutcome:
    """Start a new run for each finished run; ``request_prefix`` makes a repeat idempotent."""
    outcome = BulkOutcome()
    for execution_id in _unique(execution_ids):
        try:
            new = retry_execution(
                db,
                execution_id,
                requested_by=actor,
                request_id=f"{request_prefix}-{execution_id}",
            )
        except GroveError as exc:
            outcome.refused[execution_id] = str(exc)
            continue
        outcome.done[execution_id] = f"#{new.id}"
        _audit(db, execution_id, f"retried by {actor} (bulk action) as run #{new.id}")
    return outcome


def cancel_runs(db: Database, execution_ids: Iterable[int], *, actor: str) -> BulkOutcome:
    """Cancel each waiting or running run; finished ones are refused, not touched."""
    outcome = BulkOutcome()
    for execution_id in _unique(execution_ids):
        try:
            run = cancel_execution(db, execution_id, requested_by=actor)
        except GroveError as exc:
            outcome.refused[execution_id] = str(exc)
            continue
        state = "cancelled" if run.status == "cancelled" else "cancel requested"
        outcome.done[execution_id] = state
        _audit(db, execution_id, f"{state} by {actor} (bulk action)")
    return outcome


def _unique(ids: Iterable[int]) -> list[int]:
    return sorted(set(ids))


def _audit(db: Database, execution_id: int, message: str) -> None:
    with db.write() as session:
        attempt = session.scalar(
            select(JobExecutionRow.attempt).where(JobExecutionRow.id == execution_id)
        )
        session.execute(
            insert(ExecutionLogRow).values(
                execution_id=execution_id,
                attempt=max(1, attempt or 1),
                at=utcnow(),
                level="info",
                message=message,
            )
        )

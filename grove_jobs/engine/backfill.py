"""Backfill: one run per fire time of a config's schedule in a past (or any) range.

Backfill rows are ticks like any other: ``scheduled_for`` is the fire time, the same unique
(config, tick) index applies, so running a backfill twice, or over real ticks, adds nothing.
A tick whose only row is ``skipped`` (a misfire, an overlap, a pause) is run: its row becomes
a queued backfill run, since re-running the days that were missed is the point. Backfill
runs queue under maxConcurrent, oldest first, and never make a live tick skip or wait (see
the claim).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update

from grove_jobs import schedule as cron
from grove_jobs.clock import iso_z, utcnow
from grove_jobs.db.dialect import insert_ignore, notify
from grove_jobs.db.engine import Database
from grove_jobs.db.tables import TICK_TRIGGERS_SQL, ExecutionLogRow, JobExecutionRow
from grove_jobs.engine.enqueue import runnable_payload
from grove_jobs.exceptions import FieldError, ValidationFailed
from grove_jobs.jobs.registry import UnknownJobType, find_job_type
from grove_jobs.schema.execution import ExecutionStatus
from grove_jobs.schema.job_config import JobConfigPayload

E = JobExecutionRow
DEFAULT_MAX = 1000
MAX_MAX = 100_000
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class BackfillResult:
    """What a backfill created, what was already there, and the fire times it covered."""

    fire_times: list[datetime]
    created: list[int] = field(default_factory=list)
    existing: list[int] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "created": self.created,
            "existing": self.existing,
            "fireTimes": [iso_z(t) for t in self.fire_times],
        }


def parse_bound(value: str | datetime, timezone: str, name: str) -> datetime:
    """An ISO instant with an offset or ``Z``, or a date meaning local midnight in the
    config's zone; ValidationFailed naming ``name`` otherwise."""
    if isinstance(value, datetime):
        instant = value
    else:
        text = str(value).strip()
        try:
            if _DATE.match(text):
                # fold=0 places a midnight inside a DST gap at the gap's end, the first
                # instant that exists, as the schedule rules do.
                midnight = datetime.combine(date.fromisoformat(text), time(), ZoneInfo(timezone))
                return midnight.astimezone(UTC)
            instant = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ValidationFailed(
                [FieldError(name, f"expected an ISO instant or a YYYY-MM-DD date, got {text!r}")]
            ) from None
    if instant.tzinfo is None:
        raise ValidationFailed(
            [FieldError(name, "needs an offset or Z (or give a YYYY-MM-DD date)")]
        )
    return instant.astimezone(UTC)


def backfill(
    db: Database,
    config_id: str,
    start: str | datetime,
    end: str | datetime,
    *,
    requested_by: str,
    dry_run: bool = False,
    max_runs: int = DEFAULT_MAX,
    at: datetime | None = None,
) -> BackfillResult:
    """Create one ``backfill`` run per fire time in [start, end) of the config's schedule."""
    at = at or utcnow()
    if not 1 <= max_runs <= MAX_MAX:
        raise ValidationFailed([FieldError("max", f"must be between 1 and {MAX_MAX}")])
    with db.read() as session:
        payload = runnable_payload(session, config_id)
    # Unlike a single Run Now (which records a failed run naming the type), refuse outright:
    # a range of runs that can only fail helps nobody.
    if find_job_type(payload.job_type) is None:
        raise ValidationFailed(
            [FieldError("payload.jobType", str(UnknownJobType(payload.job_type)))]
        )
    zone = payload.schedule.timezone
    low, high = parse_bound(start, zone, "from"), parse_bound(end, zone, "to")
    if high <= low:
        raise ValidationFailed([FieldError("to", "must be after from")])
    fires = cron.fires_between(
        payload.schedule.cron_expression, zone, _just_before(low), _just_before(high), max_runs + 1
    )
    if len(fires) > max_runs:
        raise ValidationFailed(
            [
                FieldError(
                    "max",
                    f"the range has more than {max_runs} fire times; narrow it or raise max",
                )
            ]
        )
    if dry_run or not fires:
        rows = _rows_for(db, config_id, fires).values()
        # A skipped tick would be run, so it does not count as already there.
        existing = sorted(r.id for r in rows if r.status != ExecutionStatus.SKIPPED.value)
        return BackfillResult(fires, existing=existing)
    return _create(db, config_id, payload, fires, requested_by=requested_by, at=at)


def _just_before(instant: datetime) -> datetime:
    # fires_between covers (start, end]; a backfill covers [from, to).
    return instant - timedelta(microseconds=1)


def _rows_for(db: Database, config_id: str, fires: list[datetime]) -> dict[datetime, E]:
    if not fires:
        return {}
    with db.read() as session:
        return _tick_rows(session, config_id, fires)


def _tick_rows(session, config_id: str, fires: list[datetime]) -> dict:
    rows = session.execute(
        select(E.id, E.scheduled_for, E.status, E.error).where(
            E.config_id == config_id,
            E.scheduled_for.in_(fires),
            E.trigger.in_(("schedule", "misfire", "backfill")),
        )
    ).all()
    return {r.scheduled_for: r for r in rows}


def _create(
    db: Database,
    config_id: str,
    payload: JobConfigPayload,
    fires: list[datetime],
    *,
    requested_by: str,
    at: datetime,
) -> BackfillResult:
    with db.write() as session:
        before = _tick_rows(session, config_id, fires)
        # Inserted oldest first with one run_after, so the queue (run_after, id) runs them in
        # fire-time order.
        insert_ignore(
            session,
            E.__table__,
            [
                _row(config_id, payload, fire, requested_by, at)
                for fire in fires
                if fire not in before
            ],
            ["config_id", "scheduled_for"],
            index_where=TICK_TRIGGERS_SQL,
        )
        rerun = [r for r in before.values() if r.status == ExecutionStatus.SKIPPED.value]
        for old in rerun:
            _requeue_skipped(session, old, payload, requested_by, at)
        after = _tick_rows(session, config_id, fires)
        if len(after) > len(before) or rerun:
            notify(session, "backfill")
    rerun_ids = {r.id for r in rerun}
    created = sorted(r.id for f, r in after.items() if f not in before or r.id in rerun_ids)
    existing = sorted(r.id for f, r in before.items() if r.id not in rerun_ids)
    return BackfillResult(fires, created=created, existing=existing)


def _row(config_id: str, payload: JobConfigPayload, fire: datetime, who: str, at: datetime):
    return {
        "config_id": config_id,
        "trigger": "backfill",
        "status": ExecutionStatus.QUEUED.value,
        "attempt": 0,
        "max_attempts": payload.retry.max_attempts,
        "scheduled_for": fire,
        "requested_by": who,
        "queued_at": at,
        "run_after": at,
        "items_processed": 0,
        "items_failed": 0,
        "cancel_requested": False,
    }


def _requeue_skipped(session, old, payload: JobConfigPayload, who: str, at: datetime) -> None:
    """A skipped tick becomes a queued backfill run (guarded: only if still skipped)."""
    result = session.execute(
        update(E)
        .where(E.id == old.id, E.status == ExecutionStatus.SKIPPED.value)
        .values(
            trigger="backfill",
            status=ExecutionStatus.QUEUED.value,
            attempt=0,
            max_attempts=payload.retry.max_attempts,
            requested_by=who,
            run_after=at,
            completed_at=None,
            error=None,
            error_kind=None,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        session.execute(
            insert(ExecutionLogRow).values(
                execution_id=old.id,
                attempt=0,
                at=at,
                level="info",
                message=f"re-run by a backfill of {who}; it was {old.error or 'skipped'}",
            )
        )

"""The tick: turn due schedules into execution rows, exactly once per (config, fire time)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, func, select, text, update

from grove_jobs import schedule as cron
from grove_jobs.db.dialect import insert_ignore, lock_rows, notify, unnest_rows
from grove_jobs.db.engine import Database
from grove_jobs.db.tables import TICK_TRIGGERS_SQL, JobConfigRow, JobExecutionRow
from grove_jobs.pauses.blackout import Blackouts, load_blackouts
from grove_jobs.schema.execution import ACTIVE_STATUSES, ExecutionStatus
from grove_jobs.schema.job_config import Limits, RetryPolicy, ScheduleSpec

E = JobExecutionRow
_EXECUTIONS = JobExecutionRow.__table__
MAX_FIRES_PER_TICK = 100  # per config: a long outage under run_all does not flood the queue


class _Schedule(NamedTuple):
    cron_expression: str
    timezone: str
    misfire_policy: str
    misfire_grace_seconds: int


class _Limits(NamedTuple):
    max_concurrent: int
    overlap_policy: str


class _Retry(NamedTuple):
    max_attempts: int


class TickPayload(NamedTuple):
    """The parts of a stored payload the tick reads, with the models' defaults. Stored rows
    were validated on write, so the tick reads them as they are instead of validating 1,000
    payloads (cron parsing included) on every burst."""

    schedule: _Schedule
    limits: _Limits
    retry: _Retry

    @classmethod
    def of(cls, row: Any) -> TickPayload:
        """From a row of :data:`_DUE_COLUMNS` (a missing field takes the model's default)."""

        def get(name: str) -> Any:
            value = getattr(row, name)
            return _DEFAULTS[name] if value is None else value

        return cls(
            _Schedule(
                row.cronExpression,
                row.timezone,
                get("misfirePolicy"),
                int(get("misfireGraceSeconds")),
            ),
            _Limits(int(get("maxConcurrent")), get("overlapPolicy")),
            _Retry(int(get("maxAttempts"))),
        )


_DEFAULTS = {
    **{f.alias: f.default for f in ScheduleSpec.model_fields.values() if f.alias},
    **{f.alias: f.default for f in Limits.model_fields.values() if f.alias},
    **{f.alias: f.default for f in RetryPolicy.model_fields.values() if f.alias},
}


def _field(*path: str):
    return JobConfigRow.payload[path].as_string().label(path[-1])


# Its live runs still active (queued, running or retrying), which the overlap policy counts;
# backfill runs never make a live tick skip: they yield to it instead.
_ACTIVE = (
    select(func.count())
    .where(
        E.config_id == JobConfigRow.id,
        E.status.in_([s.value for s in ACTIVE_STATUSES]),
        E.trigger != "backfill",
    )
    .correlate(JobConfigRow)
    .scalar_subquery()
    .label("active")
)

# A due config as the tick reads it: the payload's fields as text, extracted by the database
# (decoding 1,000 whole payloads, parameters and all, was a fifth of a burst's tick), and its
# active runs counted in the same statement (an IN list of 1,000 ids, rendered and parsed on
# every burst, cost the tick a tenth of its time and a round trip).
_DUE_COLUMNS = (
    JobConfigRow.id,
    JobConfigRow.next_run_at,
    JobConfigRow.meta["tags"].label("tags"),
    _field("schedule", "cronExpression"),
    _field("schedule", "timezone"),
    _field("schedule", "misfirePolicy"),
    _field("schedule", "misfireGraceSeconds"),
    _field("limits", "maxConcurrent"),
    _field("limits", "overlapPolicy"),
    _field("retry", "maxAttempts"),
    _ACTIVE,
)


@dataclass(frozen=True)
class TickResult:
    configs: int
    queued: int
    skipped: int
    duration_ms: float


def due_fires(payload: TickPayload, due_at: datetime, at: datetime) -> list[datetime]:
    """The fire times in [due_at, at] (the newest MAX_FIRES_PER_TICK)."""
    spec = payload.schedule
    fires = [due_at]
    # Cron fire times are whole minutes apart, so a tick less than a minute late can only
    # owe due_at itself; skipping the search keeps the common case cheap.
    if (at - due_at).total_seconds() >= 60:
        fires += cron.fires_between(spec.cron_expression, spec.timezone, due_at, at, limit=10_000)
    return fires[-MAX_FIRES_PER_TICK:]


def plan_fires(
    payload: TickPayload, due_at: datetime, at: datetime, fires: list[datetime] | None = None
):
    """Split the fire times in [due_at, at] (or ``fires``) into (run, missed) by the misfire
    policy.

    On-time fires (within misfireGraceSeconds) always run. Late ones: ``skip`` records them as
    skipped; ``run_once`` runs only the newest when nothing on time runs; ``run_all`` runs them
    all (up to MAX_FIRES_PER_TICK).
    """
    spec = payload.schedule
    fires = due_fires(payload, due_at, at) if fires is None else fires
    grace = spec.misfire_grace_seconds
    on_time = [f for f in fires if (at - f).total_seconds() <= grace]
    late = [f for f in fires if (at - f).total_seconds() > grace]
    if spec.misfire_policy == "run_all":
        return late + on_time, []
    if spec.misfire_policy == "run_once" and late and not on_time:
        return [late[-1]], late[:-1]
    return on_time, late


def tick(db: Database, *, at: datetime, limit: int = 1000) -> TickResult:
    """Fire every config whose next_run_at has come, then advance next_run_at past ``at``.

    A unique (config_id, scheduled_for) constraint makes this idempotent across sidecars and
    retries; on PostgreSQL due configs are row-locked with SKIP LOCKED so sidecars share them.
    """
    started = time.perf_counter()
    queued = skipped = 0
    with db.write() as session:
        due = session.execute(
            lock_rows(
                session,
                select(*_DUE_COLUMNS)
                .where(JobConfigRow.next_run_at <= at)
                .order_by(JobConfigRow.next_run_at)
                .limit(limit),
            )
        ).all()
        if not due:
            return TickResult(0, 0, 0, (time.perf_counter() - started) * 1000)
        # Every fire time inside a pause or window is skipped, however late this tick is, so
        # ticks owed from before an outage never run through the misfire policy.
        blackouts = load_blackouts(session, min(row.next_run_at for row in due), at)
        rows: list[dict] = []
        advances: list[dict] = []
        next_fires: dict[tuple[str, str], datetime] = {}  # configs often share a schedule
        for row in due:
            # Read as stored (validated on write); a type not installed here still ticks (its
            # runs fail, naming the type, unless another sidecar has it).
            payload = TickPayload.of(row)
            fires = due_fires(payload, row.next_run_at, at)
            if blackouts:
                tags = frozenset(row.tags or [])
                fires = _skip_blacked_out(row.id, payload, fires, at, blackouts, tags, rows)
            rows.extend(_plan_rows(row.id, payload, row.next_run_at, at, row.active, fires))
            key = (payload.schedule.cron_expression, payload.schedule.timezone)
            if key not in next_fires:
                next_fires[key] = cron.next_fire(*key, at)
            advances.append({"cid": row.id, "old": row.next_run_at, "new": next_fires[key]})
        if insert_ignore(
            session,
            _EXECUTIONS,
            rows,
            ["config_id", "scheduled_for"],
            index_where=TICK_TRIGGERS_SQL,
        ):
            queued = sum(1 for r in rows if r["status"] == "queued")
            skipped = len(rows) - queued
        _advance(session, advances)
        if queued:
            notify(session, "tick")
    return TickResult(len(due), queued, skipped, (time.perf_counter() - started) * 1000)


def _advance(session, advances: list[dict]) -> None:
    """Move each config's next_run_at on, guarded by the value it was due at."""
    configs = JobConfigRow.__table__
    if session.bind.dialect.name == "postgresql":
        # One set-based statement instead of 1,000 (the floor a burst is measured against).
        time_type = configs.c.next_run_at.type
        kinds = {"id": configs.c.id.type, "old": time_type, "new": time_type}
        rows = [{"id": a["cid"], "old": a["old"], "new": a["new"]} for a in advances]
        v, source, params = unnest_rows(session, kinds, rows, key=["id"])
        session.execute(
            text(
                f"UPDATE job_configs AS c SET next_run_at = {v['new']} FROM {source} "
                f"WHERE c.id = {v['id']} AND c.next_run_at = {v['old']}"
            ),
            params,
        )
        return
    session.execute(
        update(configs)
        .where(configs.c.id == bindparam("cid"), configs.c.next_run_at == bindparam("old"))
        .values(next_run_at=bindparam("new")),
        advances,
    )


def _skip_blacked_out(config_id, payload, fires, at, blackouts: Blackouts, tags, rows) -> list:
    """Append a skipped row for each fire inside a pause or window; return the other fires."""
    kept = []
    for fire in fires:
        hit = blackouts.blocking(fire, tags)
        if hit is None:
            kept.append(fire)
        else:
            rows.append(
                _row(config_id, payload, fire, at, ExecutionStatus.SKIPPED, "schedule", hit.reason)
            )
    return kept


def _plan_rows(config_id, payload: TickPayload, due_at, at, active: int, fires=None) -> list[dict]:
    """Execution rows for one due config: missed fires as skipped, the rest queued or skipped
    by the overlap policy."""
    to_run, missed = plan_fires(payload, due_at, at, fires)
    rows = [
        _row(
            config_id,
            payload,
            fire,
            at,
            ExecutionStatus.SKIPPED,
            "misfire",
            _missed_reason(payload, fire, at),
        )
        for fire in missed
    ]
    capacity = payload.limits.max_concurrent - active
    for fire in to_run:
        late = (at - fire).total_seconds() > payload.schedule.misfire_grace_seconds
        trigger = "misfire" if late else "schedule"
        if capacity > 0 or payload.limits.overlap_policy == "queue":
            rows.append(_row(config_id, payload, fire, at, ExecutionStatus.QUEUED, trigger))
            capacity -= 1
        else:
            reason = (
                f"skipped: maxConcurrent {payload.limits.max_concurrent} runs still active "
                "(overlapPolicy skip)"
            )
            rows.append(
                _row(config_id, payload, fire, at, ExecutionStatus.SKIPPED, trigger, reason)
            )
    return rows


def _missed_reason(payload: TickPayload, fire: datetime, at: datetime) -> str:
    late = int((at - fire).total_seconds())
    return (
        f"missed: no sidecar fired this tick within {payload.schedule.misfire_grace_seconds}s "
        f"(noticed {late}s late; misfirePolicy {payload.schedule.misfire_policy})"
    )


def _row(config_id, payload, fire, at, status, trigger, error=None) -> dict:
    final = status == ExecutionStatus.SKIPPED
    return {
        "config_id": config_id,
        "trigger": trigger,
        "status": status.value,
        "attempt": 0,
        "max_attempts": payload.retry.max_attempts,
        "scheduled_for": fire,
        "requested_by": "scheduler",
        "queued_at": at,
        "run_after": at,
        "completed_at": at if final else None,
        "items_processed": 0,
        "items_failed": 0,
        "error": error,
        "cancel_requested": False,
    }

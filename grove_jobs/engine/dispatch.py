"""Claiming and completing executions (leases, rescue and hand-back are in ``leases``).

Every state change is a guarded UPDATE (``WHERE id = … AND status = … AND attempt = …``), so a
late write from a worker that was presumed dead changes nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, literal, select, update
from sqlalchemy.orm import Session

from grove_jobs.db.dialect import database_now, notify
from grove_jobs.db.engine import Database
from grove_jobs.db.tables import ExecutionLogRow, JobExecutionRow
from grove_jobs.engine import claim_statements as sql
from grove_jobs.engine.retry import retry_delay
from grove_jobs.pauses.hold import startable
from grove_jobs.schema.execution import ExecutionStatus
from grove_jobs.schema.job_config import RetryPolicy

E = JobExecutionRow
WAITING = sql.WAITING
RETRY_LOG_PREFIX = "retry scheduled"


@dataclass(frozen=True)
class ClaimedRun:
    """A run this sidecar now owns, with everything a worker needs to execute it."""

    execution_id: int
    config_id: str
    attempt: int
    max_attempts: int
    job_type: str
    parameters: dict[str, Any]
    batch_size: int
    timeout_seconds: int
    retry: dict[str, Any]
    # The run's logical time: its tick, else when it was requested (see JobContext).
    scheduled_for: datetime | None = None
    trigger: str = "manual"
    cron_expression: str | None = None
    timezone: str | None = None
    ready_at: datetime | None = None  # when it became claimable (run_after): for queue wait
    trace_parent: str | None = None  # the W3C traceparent of the API call that queued it


@dataclass(frozen=True)
class Claimed:
    """What one complete-and-claim transaction handed out, and when to look again."""

    runs: list[ClaimedRun]
    # Known only when the claim left slots empty: when the next waiting run comes due, or in
    # a moment when due runs were passed over because their configs' rows were locked.
    next_due: datetime | None = None
    at: datetime | None = None  # the transaction's instant (the database's clock)


@dataclass(frozen=True)
class Outcome:
    """How an attempt ended, reported by the worker pool."""

    execution_id: int
    attempt: int
    status: str  # success | partial | failed | timed_out | cancelled
    items_processed: int = 0
    items_total: int | None = None
    items_failed: int = 0
    result: dict[str, Any] | None = None
    error: str | None = None
    max_attempts: int = 1
    retry: dict[str, Any] | None = None
    error_kind: str | None = None  # "permanent": no retry, whatever attempts are left


@dataclass(frozen=True)
class LogEntry:
    execution_id: int
    attempt: int
    at: datetime
    level: str
    message: str


def claim(
    db: Database,
    *,
    worker_id: str,
    limit: int,
    at: datetime | None = None,
    job_types: Collection[str] | None = None,
) -> list[ClaimedRun]:
    """Take up to ``limit`` due runs, never exceeding any config's maxConcurrent.

    The configs of the candidates are row-locked (PostgreSQL) while their running count is
    checked and the runs are marked, so two sidecars cannot both admit a run of the same config
    past its limit; configs another sidecar is claiming for are skipped this round. With
    ``job_types`` only runs of those types are taken (a sidecar claims what it can run).
    """
    if limit <= 0:
        return []
    with db.write() as session:
        at, held = _claim_instant(session, at)
        runs, _ = _claim(
            session, worker_id=worker_id, limit=limit, at=at, job_types=job_types, held=held
        )
        return runs


def _claim_instant(session: Session, at: datetime | None) -> tuple[datetime, bool | None]:
    """The claim's instant (a lease starts by the database's clock unless ``at`` is given)
    and, on PostgreSQL, whether a pause or window may hold runs back, read in the same round
    trip: the claim runs for every batch, and there is usually nothing to hold."""
    if at is None and _postgres(session):
        now, held, _ = session.execute(sql.instant()).one()
        return now.astimezone(UTC), held
    return at or database_now(session), None


def _postgres(session: Session) -> bool:
    return session.bind.dialect.name == "postgresql"


# A claim first reads candidates for just the runs it wants: each candidate locks its config's
# row, and locking (and reading) twice the configs it admits made every claim of a burst, where
# each run has a config of its own, a fifth slower. When some of them were of configs at their
# maxConcurrent, it reads on past the configs it found full, twice the runs still wanted at a
# time, for a few rounds at most: otherwise the runs of every other config would wait behind a
# backlog of one config at its limit.
WINDOW = 2
ROUNDS = 4
# A due run passed over only because another transaction held its config's row (a save, a
# tick, another sidecar's claim) is looked for again this soon, not at the next poll.
LOCKED_RETRY_SECONDS = 0.05


def _candidates(
    session: Session,
    at: datetime,
    window: int,
    job_types,
    allowed,
    *,
    backfill: bool,
    excluded: Collection[str] = (),
):
    typed = job_types is not None
    stmt = sql.candidates(
        backfill=backfill, typed=typed, locking=_postgres(session), excluding=bool(excluded)
    )
    if allowed is not None:
        stmt = stmt.where(allowed)
    return session.execute(stmt, {**_filter_params(at, job_types, excluded), "lim": window}).all()


def _filter_params(at: datetime, job_types, full: Collection[str]) -> dict[str, Any]:
    params: dict[str, Any] = {"at": at}
    if job_types is not None:
        params["types"] = sorted(job_types)
    if full:
        params["full"] = sorted(full)
    return params


class _Admission:
    """The runs one claim admits, against each config's maxConcurrent: live runs count only
    live runs, backfill runs fill what the live ones leave free."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.ids: list[int] = []
        self.full: set[str] = set()  # configs at their limit (for the kind of run read so far)
        self._caps: dict[str, int] = {}
        self._busy: dict[tuple[str, bool], int] = {}  # (config, backfill?) -> running + admitted

    @property
    def wanted(self) -> int:
        return self.limit - len(self.ids)

    def read_configs(self, session: Session, config_ids: set[str]) -> None:
        """Caps and running counts of configs not read yet (their rows are locked by now)."""
        new = sorted(config_ids - self._caps.keys())
        if not new:
            return
        for row in session.execute(sql.admission(), {"ids": new}):
            self._caps[row.id] = row.cap
            self._busy[(row.id, False)], self._busy[(row.id, True)] = row.live, row.backfill

    def offer(self, config_id: str, execution_id: int, backfill: bool) -> None:
        if self.wanted <= 0 or config_id in self.full:
            return
        cap = self._caps.get(config_id)
        busy = self._busy.get((config_id, False), 0)
        if backfill:
            busy += self._busy.get((config_id, True), 0)
        if cap is None or busy >= cap:
            self.full.add(config_id)
            return
        self.ids.append(execution_id)
        self._busy[(config_id, backfill)] = self._busy.get((config_id, backfill), 0) + 1


def _claim(
    session: Session,
    *,
    worker_id: str,
    limit: int,
    at: datetime,
    job_types=None,
    held: bool | None = None,
) -> tuple[list[ClaimedRun], bool]:
    """The runs claimed, and whether due runs were passed over only because other
    transactions held their configs' rows (PostgreSQL)."""
    # What a pause or a maintenance window holds back (see grove_jobs.pauses); None: nothing.
    allowed = startable(session, at, possibly_held=held)
    admission = _Admission(limit)
    read_all = True  # whether every due run not held back by a lock was read
    # Live runs first: a backlog of backfill runs never delays a live tick or a Run Now.
    for backfill in (False, True):
        for round_ in range(ROUNDS):
            window = admission.wanted * (WINDOW if round_ else 1)
            excluded = set(admission.full)
            candidates = _candidates(
                session, at, window, job_types, allowed, backfill=backfill, excluded=excluded
            )
            admission.read_configs(session, {c.config_id for c in candidates})
            for candidate in candidates:
                admission.offer(candidate.config_id, candidate.id, backfill)
            if not admission.wanted or len(candidates) < window or admission.full == excluded:
                break
        read_all = read_all and len(candidates) < window
        if not admission.wanted:
            break
    rows = (
        session.execute(
            sql.mark_running(), {"ids": admission.ids, "at": at, "worker": worker_id}
        ).all()
        if admission.ids
        else []
    )
    # Slots left empty although every due run was read: a run still waiting and due, of a
    # config not found full, was skipped because its config's row was locked.
    locked_out = (
        bool(admission.wanted)
        and read_all
        and _postgres(session)
        and _due_elsewhere(session, at, job_types, allowed, admission.full)
    )
    claimed: list[ClaimedRun] = []
    for row in rows:
        payload = row.payload_snapshot
        claimed.append(
            ClaimedRun(
                execution_id=row.id,
                config_id=row.config_id,
                attempt=row.attempt,
                max_attempts=row.max_attempts,
                job_type=payload["jobType"],
                parameters={**payload["parameters"], **(row.parameter_overrides or {})},
                batch_size=payload["limits"]["batchSize"],
                timeout_seconds=payload["limits"]["timeoutSeconds"],
                retry=payload.get("retry", {}),
                scheduled_for=row.scheduled_for or row.queued_at,
                trigger=row.trigger,
                cron_expression=payload["schedule"]["cronExpression"],
                timezone=payload["schedule"]["timezone"],
                ready_at=row.run_after,
                trace_parent=row.trace_parent,
            )
        )
    claimed.sort(key=lambda run: run.execution_id)
    return claimed, locked_out


def _due_elsewhere(session: Session, at: datetime, job_types, allowed, full: set[str]) -> bool:
    """Whether a due waiting run this claim could take is left (its config was locked)."""
    stmt = sql.due_waiting(typed=job_types is not None, excluding=bool(full))
    if allowed is not None:
        stmt = stmt.where(allowed)
    return session.execute(stmt, _filter_params(at, job_types, full)).first() is not None


_FINAL_COLUMNS = (
    "items_processed",
    "items_total",
    "items_failed",
    "result",
    "error",
    "completed_at",
    "status",
    "run_after",
    "error_kind",
)


def storable(value: Any) -> Any:
    """Handler output with NUL characters replaced: PostgreSQL rejects them in text and JSONB,
    and one bad log line must not keep a batch of results from being written."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable(v) for v in value]
    return value


def final_values(outcome: Outcome, at: datetime) -> dict[str, Any]:
    """Column values for an attempt's end: a retry (durable, via run_after) or a final state."""
    values: dict[str, Any] = {
        "items_processed": outcome.items_processed,
        "items_total": outcome.items_total,
        "items_failed": outcome.items_failed,
        "result": storable(outcome.result),
        "error": storable(outcome.error),
        "completed_at": at,
        "status": outcome.status,
        "run_after": at,
        "error_kind": outcome.error_kind,
    }
    retryable = outcome.status in ("failed", "timed_out") and outcome.error_kind != "permanent"
    if retryable and outcome.attempt < outcome.max_attempts:
        policy = RetryPolicy.model_validate(outcome.retry or {})
        values["status"] = ExecutionStatus.RETRYING.value
        values["run_after"] = at + timedelta(seconds=retry_delay(policy, outcome.attempt))
    return values


def complete(
    db: Database,
    outcomes: list[Outcome],
    logs: list[LogEntry],
    progress: dict[tuple[int, int], tuple[int, int | None]],
    *,
    worker_id: str,
    at: datetime | None = None,
) -> int:
    """Record finished attempts, log lines and progress in one transaction. Returns how many
    outcomes were accepted (a run rescued meanwhile by another sidecar is not)."""
    with db.write() as session:
        at = at or database_now(session)
        return _complete(session, outcomes, logs, progress, worker_id=worker_id, at=at)


def complete_and_claim(
    db: Database,
    outcomes: list[Outcome],
    logs: list[LogEntry],
    progress: dict[tuple[int, int], tuple[int, int | None]],
    *,
    worker_id: str,
    limit: int,
    at: datetime | None = None,
    job_types: Collection[str] | None = None,
) -> Claimed:
    """Record finished work and claim the next runs in ONE transaction: at full load a sidecar
    pays one commit per batch of runs, not two. Without ``at``, the database's clock."""
    with db.write() as session:
        at, held = _claim_instant(session, at)
        _complete(session, outcomes, logs, progress, worker_id=worker_id, at=at)
        runs, locked_out = (
            _claim(session, worker_id=worker_id, limit=limit, at=at, job_types=job_types, held=held)
            if limit > 0
            else ([], False)
        )
        # A slot left empty means nothing admissible is due now: say when the next waiting run
        # (typically a retry) comes due, so the sidecar wakes for it instead of for a poll.
        upcoming = next_due(session, at) if len(runs) < limit else None
        if locked_out:
            soon = at + timedelta(seconds=LOCKED_RETRY_SECONDS)
            upcoming = soon if upcoming is None else min(upcoming, soon)
        return Claimed(runs, upcoming, at)


def next_due(session: Session, at: datetime) -> datetime | None:
    """The not-before of the earliest waiting run that is not due yet (None if there is none)."""
    return session.scalar(sql.next_due(), {"at": at})


def _complete(session: Session, outcomes, logs, progress, *, worker_id: str, at: datetime) -> int:
    accepted = 0
    if logs:
        session.execute(
            insert(ExecutionLogRow),
            [
                {
                    "execution_id": e.execution_id,
                    "attempt": e.attempt,
                    "at": e.at,
                    "level": e.level,
                    "message": storable(e.message)[:10_000],
                }
                for e in logs
            ],
        )
    if progress:
        table = JobExecutionRow.__table__
        session.execute(
            update(table)
            .where(
                table.c.id == bindparam("eid"),
                table.c.attempt == bindparam("att"),
                table.c.status == ExecutionStatus.RUNNING.value,
            )
            .values(items_processed=bindparam("done"), items_total=bindparam("total")),
            [
                {"eid": eid, "att": att, "done": done, "total": total}
                for (eid, att), (done, total) in progress.items()
            ],
        )
    if outcomes:
        finals = [final_values(o, at) for o in outcomes]
        table = JobExecutionRow.__table__
        # executemany of one guarded UPDATE: psycopg pipelines it into a single round trip.
        # Rows a rescue took over meanwhile simply don't match the guard.
        result = session.execute(
            update(table)
            .where(
                table.c.id == bindparam("eid"),
                table.c.status == ExecutionStatus.RUNNING.value,
                table.c.attempt == bindparam("att"),
                table.c.worker_id == worker_id,
            )
            .values(
                {name: bindparam(f"v_{name}", type_=table.c[name].type) for name in _FINAL_COLUMNS}
            ),
            [
                {"eid": o.execution_id, "att": o.attempt, **{f"v_{k}": v for k, v in f.items()}}
                for o, f in zip(outcomes, finals, strict=True)
            ],
        )
        accepted = result.rowcount
        if _log_retries(session, outcomes, finals, worker_id=worker_id, at=at):
            # Other sidecars learn the retry's not-before from their next claim; waking them
            # now means one with a free slot runs it on time even if this sidecar is full.
            notify(session, "retry")
    return accepted


def _log_retries(session: Session, outcomes, finals, *, worker_id: str, at: datetime) -> int:
    """An engine log line per attempt that became a retry: when it ended and when the next may
    start. The row keeps only its last attempt's times; this line is the attempt history.
    Inserted from a guarded SELECT, so an outcome the UPDATE rejected logs nothing. Returns
    how many outcomes asked for a retry."""
    rows = [
        {
            "eid": o.execution_id,
            "att": o.attempt,
            "after": f["run_after"],
            "at_": at,
            "msg": f"{RETRY_LOG_PREFIX}: attempt {o.attempt} {o.status}; attempt "
            f"{o.attempt + 1} not before {f['run_after'].isoformat()} "
            f"(in {(f['run_after'] - at).total_seconds():g}s)",
        }
        for o, f in zip(outcomes, finals, strict=True)
        if f["status"] == ExecutionStatus.RETRYING.value
    ]
    if not rows:
        return 0
    logs = ExecutionLogRow.__table__
    source = select(
        E.id,
        E.attempt,
        bindparam("at_", type_=logs.c.at.type),
        literal("warn"),
        bindparam("msg", type_=logs.c.message.type),
    ).where(
        E.id == bindparam("eid"),
        E.attempt == bindparam("att"),
        E.status == ExecutionStatus.RETRYING.value,
        E.worker_id == worker_id,
        E.run_after == bindparam("after", type_=E.run_after.type),
    )
    session.execute(
        insert(logs).from_select(["execution_id", "attempt", "at", "level", "message"], source),
        rows,
    )
    return len(rows)

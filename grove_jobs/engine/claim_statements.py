"""The claim's SQL, built once.

A sidecar claims for every batch of runs on its one dispatcher thread. Building a statement,
then computing its cache key, costs that thread about as much as the round trip that runs it,
so the hot statements are built once with bound parameters and reused (SQLAlchemy memoises a
statement's cache key on the object). They are Core statements on the tables: the ORM's
per-execution bookkeeping buys nothing for rows that are never loaded as objects.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import Integer, Select, bindparam, func, select, update
from sqlalchemy.sql.dml import Update

from grove_jobs.db.dialect import skip_locked
from grove_jobs.db.tables import JobConfigRow, JobExecutionRow
from grove_jobs.pauses.hold import may_hold
from grove_jobs.schema.execution import ExecutionStatus

EXECUTIONS = JobExecutionRow.__table__
CONFIGS = JobConfigRow.__table__
WAITING = (ExecutionStatus.QUEUED.value, ExecutionStatus.RETRYING.value)
RUNNING = ExecutionStatus.RUNNING.value

_X, _C = EXECUTIONS.c, CONFIGS.c


@cache
def instant() -> Select:
    """PostgreSQL's ``now()`` and :func:`may_hold` at it, in one round trip; it also turns off
    explicit sorts for the rest of the claim's transaction (see below)."""
    # The queue is read in (run_after, id) order, which its index has. But statistics lag a
    # burst (thousands of runs queued since the last ANALYZE), and then the planner expects a
    # handful of waiting runs: it reads every one of them through the configs and sorts them
    # all, so each claim costs in proportion to the queue. With sorts off it walks the queue
    # index in order and stops after its batch. Nothing else in the claim sorts.
    no_sorts = func.set_config("enable_sort", "off", True)
    return select(func.now(), may_hold(func.now()), no_sorts)


@cache
def candidates(*, backfill: bool, typed: bool, locking: bool, excluding: bool = False) -> Select:
    """Due waiting runs joined to their configs, oldest first: live runs or backfill runs.

    Parameters: ``at``, ``lim``, ``types`` when ``typed`` and, when ``excluding``, ``full``:
    configs whose runs to pass over (found at their limit). ``locking`` (PostgreSQL) locks
    the configs' rows, skipping those another sidecar is admitting for right now, so sidecars
    take different configs instead of queueing on one row (see ``dialect.lock_rows``).
    """
    stmt = (
        select(_X.id, _X.config_id, _X.trigger)
        .join(CONFIGS, _C.id == _X.config_id)
        .where(
            _X.status.in_(WAITING),
            _X.run_after <= bindparam("at", type_=_X.run_after.type),
            (_X.trigger == "backfill") if backfill else (_X.trigger != "backfill"),
        )
        .order_by(_X.run_after, _X.id)
        .limit(bindparam("lim", type_=Integer))
    )
    stmt = _filtered(stmt, typed=typed, excluding=excluding)
    if locking:
        stmt = skip_locked(stmt, of=CONFIGS)
    return stmt


@cache
def due_waiting(*, typed: bool, excluding: bool) -> Select:
    """One due waiting run, live or backfill, of the types ``types`` (when ``typed``) and not of
    the configs ``full`` (when ``excluding``), without locking anything: after a claim that
    read every candidate, such a run was skipped because its config's row was locked."""
    stmt = (
        select(_X.id)
        .join(CONFIGS, _C.id == _X.config_id)
        .where(_X.status.in_(WAITING), _X.run_after <= bindparam("at", type_=_X.run_after.type))
        .limit(1)
    )
    return _filtered(stmt, typed=typed, excluding=excluding)


def _filtered(stmt: Select, *, typed: bool, excluding: bool) -> Select:
    """Only runs of the job types ``types``, and none of the configs ``full``."""
    if typed:
        stmt = stmt.where(_C.payload["jobType"].as_string().in_(bindparam("types", expanding=True)))
    if excluding:
        stmt = stmt.where(_X.config_id.not_in(bindparam("full", expanding=True)))
    return stmt


@cache
def admission() -> Select:
    """For configs ``ids``: maxConcurrent (``cap``) and how many runs are running, live and
    backfill. Not the payload: a claim reads configs for a window of candidates but admits a
    batch, and each admitted run returns its snapshot of the payload (:func:`mark_running`)."""

    def running(backfill: bool):
        return (
            select(func.count())
            .where(
                _X.config_id == _C.id,
                _X.status == RUNNING,
                (_X.trigger == "backfill") if backfill else (_X.trigger != "backfill"),
            )
            .scalar_subquery()
        )

    cap = func.coalesce(_C.payload["limits"]["maxConcurrent"].as_integer(), 1)
    return select(
        _C.id, cap.label("cap"), running(False).label("live"), running(True).label("backfill")
    ).where(_C.id.in_(bindparam("ids", expanding=True)))


@cache
def mark_running() -> Update:
    """Runs ``ids`` (still waiting) become attempts of ``worker`` started ``at``; each
    snapshots its config's current payload and returns it (the attempt runs that snapshot)."""
    at = bindparam("at", type_=_X.started_at.type)
    snapshot = select(_C.payload).where(_C.id == _X.config_id).scalar_subquery()
    return (
        update(EXECUTIONS)
        .where(_X.id.in_(bindparam("ids", expanding=True)), _X.status.in_(WAITING))
        .values(
            status=RUNNING,
            attempt=_X.attempt + 1,
            started_at=at,
            heartbeat_at=at,
            completed_at=None,
            worker_id=bindparam("worker", type_=_X.worker_id.type),
            payload_snapshot=snapshot,
        )
        .returning(
            _X.id,
            _X.config_id,
            _X.attempt,
            _X.max_attempts,
            _X.parameter_overrides,
            _X.trigger,
            _X.scheduled_for,
            _X.queued_at,
            _X.run_after,
            _X.trace_parent,
            _X.payload_snapshot,
        )
    )


@cache
def next_due() -> Select:
    """The not-before of the earliest waiting run that is not due ``at``."""
    return select(func.min(_X.run_after)).where(
        _X.status.in_(WAITING), _X.run_after > bindparam("at", type_=_X.run_after.type)
    )

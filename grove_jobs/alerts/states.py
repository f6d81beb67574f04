"""Loading what the rules need: configs with their newest runs, all of them or a few, and
which configs have anything new since a given instant (for incremental passes)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from grove_jobs.alerts.rules import ConfigState, Run
from grove_jobs.db.dialect import one_of
from grove_jobs.db.engine import Database
from grove_jobs.db.tables import JobConfigRow, JobExecutionRow
from grove_jobs.schema.job_config import Alerts

E = JobExecutionRow
C = JobConfigRow
# Enough runs for a p95 of durations and the default streak of failures; a config asking for
# a longer streak widens the window (up to MAX_RUN_WINDOW). The rules see no further back.
RUN_WINDOW = 20
MAX_RUN_WINDOW = 1000
_RUN_COLUMNS = (E.id, E.status, E.trigger, E.scheduled_for, E.started_at, E.completed_at)


def load_states(
    db: Database, config_ids: Collection[str] | None = None, *, window: int = RUN_WINDOW
) -> list[ConfigState]:
    """Active job configs (all, or those of ``config_ids``) with their alert policy and their
    newest executions (at least ``window``, more when a failure streak needs them)."""
    # Only the two parts of the payload used here: a pass after a burst reads a thousand
    # configs, and decoding whole payloads (parameters and all) was most of its cost.
    stmt = select(
        C.id,
        C.payload["alerts"].label("alerts"),
        C.payload["schedule"].label("schedule"),
        C.enabled,
        C.next_run_at,
        C.updated_at,
    ).where(C.type == "job-config", C.status == "active")
    if config_ids is not None and not config_ids:
        return []
    with db.read() as session:
        if config_ids is not None:
            stmt = stmt.where(one_of(session, C.id, config_ids))
        configs = session.execute(stmt.order_by(C.id)).all()
        policies = {c.id: Alerts.model_validate(c.alerts or {}) for c in configs}
        streaks = [p.consecutive_failures for p in policies.values()]
        window = min(MAX_RUN_WINDOW, max([window, *streaks]))
        runs = _recent_runs(session, config_ids, window)
    states = []
    for config in configs:
        schedule = config.schedule or {}
        states.append(
            ConfigState(
                config_id=config.id,
                alerts=policies[config.id],
                runs=runs.get(config.id, []),
                enabled=bool(config.enabled),
                cron_expression=schedule.get("cronExpression"),
                timezone=schedule.get("timezone", "UTC"),
                next_run_at=config.next_run_at,
                schedule_since=config.updated_at,
            )
        )
    return states


def _recent_runs(
    session: Session, config_ids: Collection[str] | None, window: int
) -> dict[str, list[Run]]:
    if session.bind.dialect.name == "postgresql":
        # One index range scan per config on (config_id, id): cost follows configs x window,
        # not the length of history, which a window function over every row would.
        recent = (
            select(*_RUN_COLUMNS)
            .where(E.config_id == C.id)
            .order_by(E.id.desc())
            .limit(window)
            .lateral("recent")
        )
        stmt = select(C.id.label("config_id"), *recent.c).join(recent, true())
        stmt = stmt.where(C.type == "job-config", C.status == "active")
        if config_ids is not None:
            stmt = stmt.where(one_of(session, C.id, config_ids))
        rows = session.execute(stmt.order_by(C.id, recent.c.id.desc()))
    else:  # SQLite has no LATERAL; one sidecar and smaller histories
        rank = func.row_number().over(partition_by=E.config_id, order_by=E.id.desc())
        inner = select(E.config_id, *_RUN_COLUMNS, rank.label("rank"))
        if config_ids is not None:
            inner = inner.where(E.config_id.in_(list(config_ids)))
        ranked = inner.subquery()
        rows = session.execute(
            select(ranked)
            .where(ranked.c.rank <= window)
            .order_by(ranked.c.config_id, ranked.c.id.desc())
        )
    runs: dict[str, list[Run]] = {}
    for row in rows:
        runs.setdefault(row.config_id, []).append(
            Run(
                id=row.id,
                status=row.status,
                trigger=row.trigger,
                scheduled_for=row.scheduled_for,
                started_at=row.started_at,
                completed_at=row.completed_at,
            )
        )
    return runs


def changed_since(db: Database, since: datetime) -> set[str]:
    """Configs with a run finished at or after ``since``, a run running now, or saved since:
    the only ones whose rules can have changed other than by the passing of time. Each is an
    index range scan (completed_at, the active-runs partial index, updated_at)."""
    with db.read() as session:
        finished = select(E.config_id).where(E.completed_at >= since)
        running = select(E.config_id).where(E.status == "running")
        saved = select(C.id).where(C.updated_at >= since)
        return set(session.scalars(finished.union(running, saved)))

"""History retention: keep each config's last N executions and at most D days of them.

Pruning runs in the sidecar in small batches. It never deletes an active execution, and never
a config's newest execution however old, so a weekly job never loses its history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select

from grove_jobs.db.engine import Database
from grove_jobs.db.tables import JobConfigRow, JobExecutionRow
from grove_jobs.schema.execution import ACTIVE_STATUSES
from grove_jobs.schema.job_config import Retention

E = JobExecutionRow
_ACTIVE = [s.value for s in ACTIVE_STATUSES]


@dataclass(frozen=True)
class PruneResult:
    configs: int
    deleted: int


def prune(
    db: Database, *, at: datetime, batch_size: int = 500, max_batches: int = 20
) -> PruneResult:
    """Delete executions (and, by cascade, their log lines) beyond each config's retention.
    Stops after ``max_batches`` deletions so one pass never holds the database for long; the
    next pass continues."""
    C = JobConfigRow
    # One aggregate pass finds the configs that have anything to prune, so a pass over
    # thousands of configs costs one query, not thousands; only each config's retention is
    # read (payload -> retention), not its whole payload.
    stats = (
        select(E.config_id, func.count().label("runs"), func.min(E.queued_at).label("oldest"))
        .group_by(E.config_id)
        .having(func.count() > 1)
        .subquery()
    )
    stmt = select(stats.c.config_id, stats.c.runs, stats.c.oldest, C.payload["retention"]).join(
        C, C.id == stats.c.config_id
    )
    with db.read() as session:
        rows = session.execute(stmt.where(C.type == "job-config")).all()
    configs = []
    policies: dict[str, Retention] = {}  # most configs share a few retention policies
    for config_id, count, oldest, spec in rows:
        key = json.dumps(spec, sort_keys=True)
        if key not in policies:
            policies[key] = Retention.model_validate(spec or {})
        retention = policies[key]
        if count > retention.keep_last or oldest < at - timedelta(days=retention.keep_days):
            configs.append((config_id, retention))
    deleted = batches = 0
    for config_id, retention in configs:
        while batches < max_batches:
            batch = _prune_batch(db, config_id, retention, at, batch_size)
            if batch == 0:
                break
            deleted += batch
            batches += 1
    return PruneResult(len(configs), deleted)


def _prune_batch(db: Database, config_id: str, retention: Retention, at, batch_size) -> int:
    with db.write() as session:
        newest = session.scalar(select(func.max(E.id)).where(E.config_id == config_id))
        if newest is None:
            return 0
        # The keepLast-th newest id: anything older is beyond the count limit.
        boundary = session.scalar(
            select(E.id)
            .where(E.config_id == config_id)
            .order_by(E.id.desc())
            .offset(retention.keep_last - 1)
            .limit(1)
        )
        too_old = E.queued_at < at - timedelta(days=retention.keep_days)
        beyond = E.id < boundary if boundary is not None else None
        condition = or_(too_old, beyond) if beyond is not None else too_old
        ids = session.scalars(
            select(E.id)
            .where(
                E.config_id == config_id,
                E.id != newest,
                E.status.not_in(_ACTIVE),
                condition,
            )
            .order_by(E.id)
            .limit(batch_size)
        ).all()
        if ids:
            session.execute(delete(E).where(E.id.in_(ids), E.status.not_in(_ACTIVE)))
        return len(ids)

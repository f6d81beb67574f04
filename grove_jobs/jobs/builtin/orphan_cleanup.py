"""``orphan-cleanup``: delete or archive what is older than ``orphanThresholdDays``.

Entity types:

- ``executions``: finished executions (and their log lines) that completed before the cutoff;
  never an active one, never the newest execution of a config however old (a weekly job keeps
  its last run);
- ``notifications``: outbox rows sent before the cutoff are deleted (unsent ones are kept).

Other packages add entity types with :func:`cleanup_target` (the content domain adds
``documents``).

``batchSize`` bounds the items of one run across all entity types; the rest waits for the next
run. Work is done in chunks, one transaction each, so a stop never leaves an execution without
its log lines or the other way round. ``dryRun`` reports counts and ids and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import Field, field_validator
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from grove_jobs.clock import iso_z, utcnow
from grove_jobs.db.engine import Database
from grove_jobs.db.tables import ExecutionLogRow, JobExecutionRow
from grove_jobs.engine.context import JobCancelled, JobContext, JobResult
from grove_jobs.jobs.database import database_for
from grove_jobs.jobs.registry import job_type
from grove_jobs.notifications.tables import NotificationRow
from grove_jobs.schema.base import CamelModel, unique_items
from grove_jobs.schema.execution import TERMINAL_STATUSES
from grove_jobs.schema.markers import Destructive

CHUNK = 500
MAX_IDS_REPORTED = 1000

Finder = Callable[[Session, datetime, int], list]
Applier = Callable[[Session, list, datetime, datetime], None]


@dataclass(frozen=True)
class CleanupTarget:
    """An entity type the cleanup knows: how to find old items and what to do with them."""

    name: str
    find: Finder  # (session, cutoff, limit) -> ids, oldest first
    apply: Applier  # (session, ids, cutoff, at); re-checks the conditions in its transaction
    action: str = "deleted"  # past tense, for the report
    verb: str = "delete"


TARGETS: dict[str, CleanupTarget] = {}


def cleanup_target(target: CleanupTarget) -> CleanupTarget:
    """Make ``target`` an entity type of ``orphan-cleanup`` (extensions call this on import)."""
    TARGETS[target.name] = target
    return target


class UnknownEntityType(ValueError):
    """The config names an entity type this job does not know (a typo would otherwise be a
    cleanup that silently does nothing)."""


class OrphanCleanupParameters(CamelModel):
    """Delete or archive what is older than a threshold."""

    entity_types: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        min_length=1, max_length=20
    )
    orphan_threshold_days: Annotated[int, Field(ge=1, le=3650), Destructive]
    dry_run: Annotated[bool, Destructive] = False

    _check_unique = field_validator("entity_types")(unique_items)


@job_type(
    "orphan-cleanup",
    parameters=OrphanCleanupParameters,
    title="Orphan Cleanup",
    description="Deletes old executions and sent notifications (and what extensions add, such "
    "as never-signalled documents); dryRun only reports.",
    defaults={"entityTypes": ["executions"], "orphanThresholdDays": 90},
)
def run(params: OrphanCleanupParameters, ctx: JobContext) -> JobResult:
    """Clean up each requested entity type, oldest first, within ``ctx.batch_size`` items."""
    unknown = [t for t in params.entity_types if t not in TARGETS]
    if unknown:
        message = f"unknown entity types {unknown}; expected some of {', '.join(TARGETS)}"
        ctx.log.error(message)
        raise UnknownEntityType(message)
    db = database_for(ctx)
    at = utcnow()
    cutoff = at - timedelta(days=params.orphan_threshold_days)
    verb = "would" if params.dry_run else "will"
    ctx.log.info(
        f"cutoff {iso_z(cutoff, timespec='seconds')} ({params.orphan_threshold_days} days); "
        "at most "
        f"{ctx.batch_size} items{'; dry run, nothing is changed' if params.dry_run else ''}"
    )
    budget = ctx.batch_size
    report: dict[str, dict[str, Any]] = {}
    found: dict[str, list] = {}
    with db.read() as session:
        for entity in params.entity_types:
            ids = TARGETS[entity].find(session, cutoff, budget)
            found[entity] = ids
            budget -= len(ids)
    total = sum(len(ids) for ids in found.values())
    ctx.progress(0, total)
    done = 0
    try:
        for entity in params.entity_types:
            ids = found[entity]
            entry: dict[str, Any] = {
                "count": len(ids),
                "action": TARGETS[entity].action,
                "ids": ids[:MAX_IDS_REPORTED],
                "idsTruncated": len(ids) > MAX_IDS_REPORTED,
            }
            if entity == "executions":
                entry["logLines"] = _count_logs(db, ids)
            report[entity] = entry
            ctx.log.info(f"{entity}: {verb} {TARGETS[entity].verb} {len(ids)}{_extra(entry)}")
            if params.dry_run:
                continue
            for start in range(0, len(ids), CHUNK):
                ctx.check()
                chunk = ids[start : start + CHUNK]
                with db.write() as session:
                    TARGETS[entity].apply(session, chunk, cutoff, at)
                done += len(chunk)
                ctx.progress(done, total)
    except JobCancelled:
        ctx.log.warn(f"stopped early after {done} of {total} items")
        raise
    if params.dry_run:
        ctx.progress(total, total)  # reporting was the work
    else:
        ctx.log.info(f"cleaned up {done} items")
    return JobResult(
        items_processed=total if params.dry_run else done,
        items_total=total,
        data={
            "dryRun": params.dry_run,
            "thresholdDays": params.orphan_threshold_days,
            "cutoff": iso_z(cutoff, timespec="seconds"),
            "entities": report,
        },
    )


def _extra(entry: dict[str, Any]) -> str:
    return f" (and {entry['logLines']} log lines)" if "logLines" in entry else ""


# --------------------------------------------------------------------------- executions


def _newest_per_config():
    return select(func.max(JobExecutionRow.id)).group_by(JobExecutionRow.config_id)


def _old_executions_clause(cutoff: datetime):
    E = JobExecutionRow
    finished_at = func.coalesce(E.completed_at, E.queued_at)
    return (
        E.status.in_(sorted(TERMINAL_STATUSES)),
        finished_at < cutoff,
        E.id.not_in(_newest_per_config()),
    )


def _find_executions(session: Session, cutoff: datetime, limit: int) -> list[int]:
    if limit <= 0:
        return []
    E = JobExecutionRow
    stmt = select(E.id).where(*_old_executions_clause(cutoff)).order_by(E.id).limit(limit)
    return list(session.scalars(stmt))


def _count_logs(db: Database, execution_ids: list[int]) -> int:
    total = 0
    with db.read() as session:
        for start in range(0, len(execution_ids), CHUNK):
            chunk = execution_ids[start : start + CHUNK]
            total += session.scalar(
                select(func.count()).where(ExecutionLogRow.execution_id.in_(chunk))
            )
    return total


def _delete_executions(session: Session, ids: list[int], cutoff: datetime, at: datetime) -> None:
    E = JobExecutionRow
    # Re-check the conditions inside the transaction: a run retried or re-queued since the
    # scan, or one that became the newest of its config, is left alone.
    keep = select(E.id).where(E.id.in_(ids), *_old_executions_clause(cutoff))
    doomed = list(session.scalars(keep))
    if not doomed:
        return
    session.execute(delete(ExecutionLogRow).where(ExecutionLogRow.execution_id.in_(doomed)))
    session.execute(delete(E).where(E.id.in_(doomed)))


# --------------------------------------------------------------------------- notifications


def _find_notifications(session: Session, cutoff: datetime, limit: int) -> list[int]:
    if limit <= 0:
        return []
    N = NotificationRow
    stmt = (
        select(N.id)
        .where(N.sent_at.is_not(None), N.sent_at < cutoff)
        .order_by(N.sent_at, N.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def _delete_notifications(session: Session, ids: list[int], cutoff: datetime, at: datetime) -> None:
    N = NotificationRow
    session.execute(delete(N).where(N.id.in_(ids), N.sent_at < cutoff))


cleanup_target(CleanupTarget("executions", _find_executions, _delete_executions))
cleanup_target(CleanupTarget("notifications", _find_notifications, _delete_notifications))

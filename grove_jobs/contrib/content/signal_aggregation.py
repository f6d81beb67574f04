"""``signal-aggregation``: recompute every unarchived document's signal aggregates for the
requested periods from the signal events, ``batchSize`` documents at a time.

Each chunk (all periods of its documents) is one transaction of upserts, so a run that is
stopped leaves every document either fully refreshed or untouched.
"""

from __future__ import annotations

from pydantic import Field, field_validator
from sqlalchemy import func, select

from grove_jobs.clock import iso_z, utcnow
from grove_jobs.contrib.content.signals import refresh_aggregates
from grove_jobs.contrib.content.tables import DocumentRow
from grove_jobs.contrib.content.tiers import SignalPeriod
from grove_jobs.engine.context import JobCancelled, JobContext, JobResult
from grove_jobs.jobs.database import database_for
from grove_jobs.jobs.registry import job_type
from grove_jobs.schema.base import CamelModel, unique_items


class SignalAggregationParameters(CamelModel):
    """Recompute per-document signal aggregates for the given periods."""

    periods: list[SignalPeriod] = Field(min_length=1)

    _check_unique = field_validator("periods")(unique_items)


@job_type(
    "signal-aggregation",
    parameters=SignalAggregationParameters,
    title="Signal Aggregation",
    description="Recomputes per-document retrievals, citations, query diversity and utility "
    "for each period, batchSize documents at a time.",
    defaults={"periods": ["all_time", "last_30d", "last_7d"]},
)
def run(params: SignalAggregationParameters, ctx: JobContext) -> JobResult:
    """Aggregate signals per document and period as of the run's start, upserting."""
    db = database_for(ctx)
    at = utcnow()  # one instant for the whole run: every chunk uses the same windows
    D = DocumentRow
    with db.read() as session:
        total = session.scalar(select(func.count()).where(D.archived_at.is_(None))) or 0
    periods = list(params.periods)
    ctx.log.info(
        f"aggregating {', '.join(periods)} for {total} documents, {ctx.batch_size} at a time"
    )
    ctx.progress(0, total)
    done = rows = chunks = 0
    last_id: str | None = None
    try:
        while True:
            ctx.check()
            with db.write() as session:
                stmt = select(D.id).where(D.archived_at.is_(None)).order_by(D.id)
                if last_id is not None:
                    stmt = stmt.where(D.id > last_id)
                ids = list(session.scalars(stmt.limit(ctx.batch_size)))
                if not ids:
                    break
                rows += refresh_aggregates(session, ids, periods, at)
            done += len(ids)
            chunks += 1
            last_id = ids[-1]
            ctx.progress(done, max(total, done))
    except JobCancelled:
        ctx.log.warn(f"stopped early after {done} of {total} documents ({chunks} chunks)")
        raise
    ctx.log.info(f"upserted {rows} aggregates for {done} documents in {chunks} chunks")
    return JobResult(
        items_processed=done,
        items_total=max(total, done),
        data={
            "documents": done,
            "periods": periods,
            "aggregatesUpserted": rows,
            "chunks": chunks,
            "computedAt": iso_z(at),
        },
    )

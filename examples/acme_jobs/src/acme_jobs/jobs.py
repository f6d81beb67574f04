"""Two job types, registered with grove-jobs when this module is imported.

``acme-export`` exports the days before its scheduled time to a bucket: it processes the
run's logical day (``ctx.interval``), so a late run, a retry or a backfill of last Tuesday
exports last Tuesday. ``acme-reconcile`` shows what the dashboard's generated form handles:
enums, literals, lists, a nested model and optional values.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from grove_jobs import JobContext, JobResult, PermanentError, job_type


class BucketMissing(Exception):
    """The bucket does not exist; retrying will not create it."""


class ExportParams(BaseModel):
    bucket: str = Field(min_length=3, description="Where the export files go.")
    days: int = Field(default=1, ge=1, le=30, description="How many days end at the run's tick.")


def export_days(scheduled_for: datetime, days: int) -> list[date]:
    """The calendar days (UTC) a run for ``scheduled_for`` exports, oldest first."""
    last = (scheduled_for.astimezone(UTC) - timedelta(days=1)).date()
    return [last - timedelta(days=offset) for offset in range(days - 1, -1, -1)]


@job_type(
    "acme-export",
    parameters=ExportParams,
    title="ACME export",
    permanent=(BucketMissing,),
)
def acme_export(params: ExportParams, ctx: JobContext) -> JobResult:
    """Export the days that end at the run's scheduled time to a bucket."""
    if params.bucket.startswith("missing-"):
        raise BucketMissing(f"bucket {params.bucket!r} does not exist")
    days = export_days(ctx.scheduled_for, params.days)
    ctx.progress(0, len(days))
    for done, day in enumerate(days, start=1):
        ctx.check()  # stop at a day boundary when cancelled or out of time
        ctx.log.info(f"exported {day.isoformat()} to {params.bucket}")
        ctx.progress(done, len(days))
    return JobResult(
        items_processed=len(days),
        items_total=len(days),
        data={"bucket": params.bucket, "days": [d.isoformat() for d in days]},
    )


class Region(StrEnum):
    EU = "eu"
    US = "us"
    APAC = "apac"


class Thresholds(BaseModel):
    warn: float = Field(default=0.05, ge=0, le=1)
    fail: float = Field(default=0.2, ge=0, le=1)


class ReconcileParams(BaseModel):
    regions: list[Region] = Field(default_factory=lambda: [Region.EU], min_length=1)
    mode: Literal["strict", "lenient"] = "strict"
    thresholds: Thresholds = Field(default_factory=Thresholds)
    ledger: str | None = Field(default=None, max_length=40)
    max_rows: int = Field(default=1000, ge=1, le=1_000_000)
    dry_run: bool = False


@job_type(
    "acme-reconcile",
    parameters=ReconcileParams,
    title="ACME reconcile",
    defaults={"regions": ["eu", "us"]},
)
def acme_reconcile(params: ReconcileParams, ctx: JobContext) -> JobResult:
    """Compare the ledgers of each region; a strict run fails above the fail threshold."""
    if params.ledger == "retired":
        raise PermanentError("the retired ledger cannot be reconciled")
    rows = min(params.max_rows, ctx.batch_size)
    for region in params.regions:
        ctx.check()
        ctx.log.info(f"{region.value}: {rows} rows reconciled ({params.mode})")
    return JobResult(
        items_processed=rows * len(params.regions),
        data={"regions": [r.value for r in params.regions], "dryRun": params.dry_run},
    )

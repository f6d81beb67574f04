"""``synthetic``: a diagnostic job that succeeds, fails, hangs and reports progress on demand."""

from __future__ import annotations

import time

from pydantic import Field

from grove_jobs.engine.context import JobContext, JobResult
from grove_jobs.jobs.registry import job_type
from grove_jobs.schema.base import CamelModel


class SyntheticParameters(CamelModel):
    """A diagnostic job: sleeps, counts items, fails or hangs on demand."""

    duration_seconds: float = Field(default=0.0, ge=0, le=3600)
    items: int = Field(default=0, ge=0, le=1_000_000)
    fail_first_attempts: int = Field(default=0, ge=0, le=100)
    hang: bool = False


class SyntheticFailure(RuntimeError):
    """The failure a synthetic run was asked to produce."""


@job_type(
    "synthetic",
    parameters=SyntheticParameters,
    title="Synthetic Job",
    description="A diagnostic job for tests, benchmarks and demos: sleeps, counts items, "
    "fails or hangs on demand.",
    defaults={"items": 10},
)
def run(params: SyntheticParameters, ctx: JobContext) -> JobResult:
    """Fail the first ``failFirstAttempts`` attempts, hang if asked (ignoring cancellation, on
    purpose: it proves the sidecar's hard timeout), else process ``items`` over
    ``durationSeconds``."""
    if ctx.attempt <= params.fail_first_attempts:
        ctx.log.error(f"failing attempt {ctx.attempt} of {params.fail_first_attempts} on purpose")
        raise SyntheticFailure(f"synthetic failure on attempt {ctx.attempt}")
    if params.hang:
        ctx.log.warn("hanging on purpose; only the hard timeout will stop this run")
        while True:
            time.sleep(3600)
    total = min(params.items, ctx.batch_size) if params.items else 0
    if total == 0:
        if params.duration_seconds:
            ctx.sleep(params.duration_seconds)
        return JobResult()
    step = params.duration_seconds / total
    ctx.log.info(f"processing {total} items")
    for done in range(1, total + 1):
        if step:
            ctx.sleep(step)
        else:
            ctx.check()
        ctx.progress(done, total)
    ctx.log.info(f"processed {total} items")
    return JobResult(items_processed=total, items_total=total)

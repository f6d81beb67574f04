"""``synthetic``: a diagnostic job that succeeds, fails, hangs and reports progress on demand."""

from __future__ import annotations

import time

from grove_jobs.engine.context import JobContext, JobResult
from grove_jobs.schema.parameters import SyntheticParameters


class SyntheticFailure(RuntimeError):
    """The failure a synthetic run was asked to produce."""


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

"""``POST /api/jobs/{id}/backfill``: one run per fire time of a range of a config's schedule."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from grove_jobs.engine.backfill import backfill
from scheduler.api.endpoints.jobs import AUTH, E404, E422, Caller, ConfigId, Ctx, job_view
from scheduler.api.models import BackfillIn, BackfillOut
from scheduler.api.routes import RouteTable

routes = RouteTable(tags=["jobs"])


@routes.post(
    "/api/jobs/{config_id}/backfill",
    summary="Backfill runs for a range of fire times",
    status_code=201,
    responses={201: {"model": BackfillOut}, **AUTH, **E404, **E422},
    scope="run",
)
def backfill_job(ctx: Ctx, caller: Caller, config_id: ConfigId, body: BackfillIn) -> JSONResponse:
    """Queue one ``backfill`` run per fire time in [from, to) of the config's cron in its
    timezone; fire times that already have a run (other than a skipped one) are left alone.
    ``dryRun`` lists the fire times. 201 with ``{"created", "existing", "fireTimes"}``."""
    job_view(ctx, config_id)
    result = backfill(
        ctx.db,
        config_id,
        body.from_,
        body.to,
        requested_by=caller.actor,
        dry_run=body.dryRun,
        max_runs=body.max,
    )
    return JSONResponse(result.to_json(), status_code=201)

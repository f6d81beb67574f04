"""``/api/executions``: one run with its logs and RenderTree, and cancelling it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import Depends, Path, Query
from fastapi.responses import JSONResponse

from grove_jobs.configs.store import find_config
from grove_jobs.db.records import ConfigRecord, execution_json
from grove_jobs.engine.enqueue import cancel_execution
from grove_jobs.executions import queries
from grove_jobs.executions.queries import execution_logs
from grove_jobs.executions.redact import shown_to
from grove_jobs.schema.execution import Execution, LogLine
from scheduler.api.auth import Principal, current_principal
from scheduler.api.context import ApiContext, get_context
from scheduler.api.endpoints.jobs import AUTH, E422, MAX_ID
from scheduler.api.models import ErrorOut, ExecutionDetailOut, ExecutionOut
from scheduler.api.routes import RouteTable

log = logging.getLogger("grove_jobs.api")
routes = RouteTable(tags=["executions"])

Ctx = Annotated[ApiContext, Depends(get_context)]
Caller = Annotated[Principal, Depends(current_principal)]
ExecutionId = Annotated[int, Path(ge=1, le=MAX_ID)]
E404 = {404: {"model": ErrorOut, "description": "No such execution"}}


def render_tree(
    ctx: ApiContext, execution: Execution, logs: Sequence[LogLine]
) -> dict[str, Any] | None:
    """The run's JOB_STATUS RenderTree, or None when the render layer cannot provide one (the
    execution itself must still be served)."""
    try:
        from grove_jobs.render.transforms import execution_tree
    except ImportError:
        return None
    config = find_config(ctx.db, execution.job_config_id)
    try:
        tree = execution_tree(
            execution,
            logs,
            next_run_at=config.next_run_at if config else None,
            timezone=_timezone(execution, config),
            at=ctx.clock(),
        )
        return tree.to_json_dict()
    except Exception:
        log.exception("could not render execution %s; serving it without a tree", execution.id)
        return None


def _timezone(execution: Execution, config: ConfigRecord | None) -> str:
    snapshot = (execution.payload_snapshot or {}).get("schedule") or {}
    if isinstance(snapshot.get("timezone"), str):
        return snapshot["timezone"]
    schedule = getattr(config.object.payload, "schedule", None) if config else None
    return getattr(schedule, "timezone", None) or "UTC"


@routes.get(
    "/api/executions/{execution_id}",
    summary="One execution, with logs and its RenderTree",
    responses={200: {"model": ExecutionDetailOut}, **AUTH, **E404, **E422},
    scope="read",
)
def get_execution(
    ctx: Ctx,
    caller: Caller,
    execution_id: ExecutionId,
    log_limit: Annotated[int, Query(alias="logLimit", ge=0, le=5000)] = 500,
) -> JSONResponse:
    """The execution, its last ``logLimit`` log lines (oldest first) and ``renderTree``."""
    execution = shown_to(
        queries.get_execution(ctx.db, execution_id), full_errors=caller.sees_tracebacks
    )
    logs = execution_logs(ctx.db, execution_id, limit=log_limit, tail=True)
    data = execution_json(execution, logs)
    data["renderTree"] = render_tree(ctx, execution, logs)
    return JSONResponse(data)


@routes.post(
    "/api/executions/{execution_id}/cancel",
    summary="Cancel an execution",
    responses={
        200: {"model": ExecutionOut, "description": "Cancelled (it had not started)"},
        202: {"model": ExecutionOut, "description": "Running: its sidecar stops it shortly"},
        409: {"model": ErrorOut, "description": "Already finished"},
        **AUTH,
        **E404,
        **E422,
    },
    scope="run",
)
def cancel(ctx: Ctx, caller: Caller, execution_id: ExecutionId) -> JSONResponse:
    """Queued or retrying runs end at once; a running one is flagged and stopped by its sidecar
    (cooperatively, else by stopping its worker)."""
    execution = cancel_execution(ctx.db, execution_id, requested_by=caller.actor)
    execution = shown_to(execution, full_errors=caller.sees_tracebacks)
    return JSONResponse(execution_json(execution), 202 if execution.is_active else 200)

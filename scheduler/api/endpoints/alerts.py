"""``/api/alerts``: failure-alert incidents, open ones by default, for on-call tooling."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, Query
from fastapi.responses import JSONResponse

from grove_jobs.alerts.rules import RULE_LABELS
from grove_jobs.alerts.store import list_incidents
from grove_jobs.alerts.tables import AlertIncidentRow
from grove_jobs.clock import iso_z
from scheduler.api.context import ApiContext, get_context
from scheduler.api.endpoints.jobs import AUTH, E422, job_view
from scheduler.api.models import AlertListOut, ErrorOut
from scheduler.api.routes import RouteTable

routes = RouteTable(tags=["alerts"])
Ctx = Annotated[ApiContext, Depends(get_context)]


def alert_json(row: AlertIncidentRow) -> dict[str, Any]:
    """One incident as the API shows it (camelCase)."""
    details = row.details or {}
    return {
        "id": row.id,
        "configId": row.config_id,
        "rule": row.rule,
        "ruleLabel": RULE_LABELS.get(row.rule, row.rule),
        "summary": str(details.get("summary", "")),
        "openedAt": iso_z(row.opened_at),
        "resolvedAt": iso_z(row.resolved_at),
        "lastNotifiedAt": iso_z(row.last_notified_at),
        "executionId": row.execution_id,
        "details": details,
    }


@routes.get(
    "/api/alerts",
    summary="Alert incidents, newest first",
    responses={
        200: {"model": AlertListOut},
        404: {"model": ErrorOut, "description": "No such job"},
        **AUTH,
        **E422,
    },
    scope="read",
)
def list_alerts(
    ctx: Ctx,
    state: Annotated[Literal["open", "resolved", "all"], Query()] = "open",
    job: Annotated[str | None, Query(description="Only this job's incidents")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> JSONResponse:
    """Incidents opened by the alert rules (consecutive failures, slow run, missed schedule);
    an incident stays open until a run succeeds (or a later tick runs, for a missed one)."""
    if job is not None:
        job_view(ctx, job)  # 404 for a job that does not exist
    rows = list_incidents(ctx.db, config_id=job, state=state, limit=limit)
    return JSONResponse({"items": [alert_json(row) for row in rows]})

"""The scheduler's state: ``GET /api/status`` (read), ``POST /api/pause`` and
``POST /api/resume`` (admin scope). Pause changes are audited with the token as actor."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Body, Depends
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from grove_jobs.pauses.store import pause, pause_status, resume
from scheduler.api.auth import Principal, current_principal
from scheduler.api.context import ApiContext, get_context
from scheduler.api.models import ErrorOut, ValidationErrorOut
from scheduler.api.routes import RouteTable

routes = RouteTable(tags=["scheduler"])
Ctx = Annotated[ApiContext, Depends(get_context)]
Caller = Annotated[Principal, Depends(current_principal)]


class WindowOut(BaseModel):
    name: str
    start: str
    end: str | None
    tag: str | None


class StatusOut(BaseModel):
    """Same shape as ``grove-jobs status --json``."""

    paused: bool
    reason: str | None
    since: str | None
    until: str | None
    by: str | None
    hold_manual: bool = Field(alias="holdManual")
    active_windows: list[WindowOut] = Field(alias="activeWindows")


class PauseIn(BaseModel):
    """A pause request; ``reason`` is recorded on every tick skipped while paused."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    reason: str = Field(min_length=1, max_length=500)
    until: AwareDatetime | None = None
    hold_manual: bool = Field(False, alias="holdManual")


@routes.get(
    "/api/status",
    scope="read",
    summary="Paused or running, and active maintenance windows",
    responses={200: {"model": StatusOut}},
)
def get_status(ctx: Ctx) -> dict[str, Any]:
    return pause_status(ctx.db, at=ctx.clock()).to_json()


@routes.post(
    "/api/pause",
    scope="admin",
    summary="Pause every schedule",
    responses={200: {"model": StatusOut}, 422: {"model": ValidationErrorOut}},
)
def post_pause(ctx: Ctx, caller: Caller, body: Annotated[PauseIn, Body()]) -> dict[str, Any]:
    """Fire times from now on are recorded skipped (``paused: REASON``); queued and retrying
    runs wait; manual and API runs start unless ``holdManual``."""
    until: datetime | None = body.until
    status = pause(
        ctx.db,
        reason=body.reason,
        until=until,
        hold_manual=body.hold_manual,
        by=caller.actor,
        source="api",
        at=ctx.clock(),
    )
    return status.to_json()


@routes.post(
    "/api/resume",
    scope="admin",
    summary="End the global pause",
    responses={200: {"model": StatusOut}, 403: {"model": ErrorOut}},
)
def post_resume(ctx: Ctx, caller: Caller) -> JSONResponse:
    """Idempotent: ``resumed`` says whether a pause was in force."""
    at = ctx.clock()
    resumed = resume(ctx.db, by=caller.actor, source="api", at=at)
    return JSONResponse({"resumed": resumed, **pause_status(ctx.db, at=at).to_json()})

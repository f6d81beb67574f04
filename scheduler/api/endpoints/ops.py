"""Probes: ``/healthz`` for orchestrators and ``/metrics`` for Prometheus (unauthenticated)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from grove_jobs.clock import iso_z
from grove_jobs.configs.query import schedule_lag_seconds
from grove_jobs.executions.queries import latest_recorded_tick
from grove_jobs.observability.cluster import cluster_exposition
from grove_jobs.observability.metrics import exposition
from scheduler.api.context import ApiContext, get_context
from scheduler.api.models import HealthOut
from scheduler.api.routes import RouteTable

routes = RouteTable(tags=["operations"])
Ctx = Annotated[ApiContext, Depends(get_context)]


@dataclass(frozen=True)
class TickInfo:
    at: datetime | None
    duration_ms: float | None


def last_tick(ctx: ApiContext, session: Session) -> TickInfo:
    """From the sidecar serving this API, else the freshest tick any sidecar recorded."""
    if ctx.sidecar is not None:
        return TickInfo(ctx.sidecar.last_tick_at, ctx.sidecar.last_tick_ms)
    recorded = latest_recorded_tick(session)
    return TickInfo(*recorded) if recorded else TickInfo(None, None)


@routes.get(
    "/healthz",
    scope=None,
    summary="Liveness and readiness",
    responses={200: {"model": HealthOut}, 503: {"model": HealthOut}},
)
def healthz(ctx: Ctx) -> JSONResponse:
    """200 when the database answers and (with a sidecar) its tick loop is alive, else 503.
    Schedule lag is reported, not judged: a long lag with a live tick is a capacity issue."""
    at = ctx.clock()
    problems: list[str] = []
    lag: float | None = None
    tick = TickInfo(None, None)
    try:
        with ctx.db.read() as session:
            session.execute(text("SELECT 1"))
            lag = schedule_lag_seconds(session, at)
            tick = last_tick(ctx, session)
    except SQLAlchemyError as exc:
        problems.append(f"database unreachable: {type(exc).__name__}")
    age = (at - tick.at).total_seconds() if tick.at else None
    if ctx.sidecar is not None:
        stale_after = max(30.0, 10 * ctx.settings.tick_interval_seconds)
        if age is None:
            problems.append("the sidecar has not ticked yet")
        elif age > stale_after:
            problems.append(f"the last tick was {age:.0f}s ago (limit {stale_after:.0f}s)")
    body = {
        "status": "unavailable" if problems else "ok",
        "database": "unreachable" if lag is None else "ok",
        "lastTickAt": iso_z(tick.at),
        "lastTickAgeSeconds": round(age, 3) if age is not None else None,
        "scheduleLagSeconds": round(lag, 3) if lag is not None else None,
        "problems": problems,
    }
    return JSONResponse(body, 503 if problems else 200, headers={"Cache-Control": "no-store"})


# --------------------------------------------------------------------------- metrics


@routes.get(
    "/metrics",
    scope=None,
    summary="Prometheus metrics of this process",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
def metrics() -> Response:
    """This process's counters and histograms (attempt duration, claim latency, queue wait,
    tick duration, schedule lag) and prometheus_client's process metrics."""
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)


@routes.get(
    "/metrics/cluster",
    scope=None,
    summary="Database-wide Prometheus gauges",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
def cluster_metrics(ctx: Ctx) -> Response:
    """Runs by status, queue depth, schedule lag and the freshest tick, read from the
    database: scrape this from one target, not every sidecar."""
    return Response(cluster_exposition(ctx.db, ctx.clock()), media_type=CONTENT_TYPE_LATEST)

"""Probes: ``/healthz`` for orchestrators and ``/metrics`` for Prometheus (unauthenticated)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from grove_jobs.clock import iso_z
from grove_jobs.configs.query import schedule_lag_seconds
from grove_jobs.executions.queries import (
    counts_by_config_and_status,
    counts_by_status,
    latest_recorded_tick,
)
from grove_jobs.schema.execution import ExecutionStatus
from scheduler.api.context import ApiContext, get_context
from scheduler.api.models import HealthOut
from scheduler.api.routes import RouteTable

routes = RouteTable(tags=["operations"])
Ctx = Annotated[ApiContext, Depends(get_context)]
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


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


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _sample(name: str, value: float, labels: dict[str, str] | None = None) -> str:
    rendered = ",".join(f'{k}="{_escape(v)}"' for k, v in (labels or {}).items())
    number = repr(float(value)) if not float(value).is_integer() else str(int(value))
    return f"{name}{{{rendered}}} {number}" if rendered else f"{name} {number}"


def _family(name: str, kind: str, help_text: str, samples: Iterable[str]) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", *samples]


@routes.get(
    "/metrics",
    scope=None,
    summary="Prometheus metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {}}}},
)
def metrics(ctx: Ctx) -> PlainTextResponse:
    """Prometheus text format: executions by status, queue depth, schedule lag, last tick
    duration and executions by job. Counts come from the (pruned) execution table, so they
    are gauges."""
    at = ctx.clock()
    lines: list[str] = []
    try:
        with ctx.db.read() as session:
            by_status = counts_by_status(session)
            by_job = counts_by_config_and_status(session)
            lag = schedule_lag_seconds(session, at)
            tick = last_tick(ctx, session)
    except SQLAlchemyError:
        lines += _family(
            "grove_database_up", "gauge", "1 when the database answers.", ["grove_database_up 0"]
        )
        return PlainTextResponse("\n".join(lines) + "\n", media_type=PROMETHEUS_TEXT)
    lines += _family(
        "grove_database_up",
        "gauge",
        "1 when the database answers.",
        [_sample("grove_database_up", 1)],
    )
    lines += _family(
        "grove_executions",
        "gauge",
        "Executions in the database by status.",
        [
            _sample("grove_executions", by_status.get(s.value, 0), {"status": s.value})
            for s in ExecutionStatus
        ],
    )
    depth = by_status.get("queued", 0) + by_status.get("retrying", 0)
    lines += _family(
        "grove_queue_depth",
        "gauge",
        "Executions waiting to run (queued or retrying).",
        [_sample("grove_queue_depth", depth)],
    )
    lines += _family(
        "grove_schedule_lag_seconds",
        "gauge",
        "Seconds the most overdue schedule is late (0 when none is).",
        [_sample("grove_schedule_lag_seconds", round(lag, 3))],
    )
    if tick.duration_ms is not None:
        lines += _family(
            "grove_tick_duration_seconds",
            "gauge",
            "Duration of the last scheduler tick.",
            [_sample("grove_tick_duration_seconds", round(tick.duration_ms / 1000, 6))],
        )
    if tick.at is not None:
        lines += _family(
            "grove_last_tick_timestamp_seconds",
            "gauge",
            "Unix time of the last scheduler tick.",
            [_sample("grove_last_tick_timestamp_seconds", round(tick.at.timestamp(), 3))],
        )
    lines += _family(
        "grove_job_executions",
        "gauge",
        "Executions in the database by job and status.",
        [_sample("grove_job_executions", n, {"job": job, "status": st}) for job, st, n in by_job],
    )
    return PlainTextResponse("\n".join(lines) + "\n", media_type=PROMETHEUS_TEXT)

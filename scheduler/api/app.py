"""The HTTP API: ``create_app`` is its composition root (the sidecar and ``grove-jobs api``
both serve what it returns)."""

from __future__ import annotations

from fastapi import FastAPI

import grove_jobs
from grove_jobs.db.engine import Database
from grove_jobs.jobs.discovery import discover
from grove_jobs.settings import Settings
from scheduler.api.auth import AuthMiddleware
from scheduler.api.context import ApiContext, TickSource
from scheduler.api.endpoints import alerts, backfill, executions, jobs, ops, status
from scheduler.api.errors import install_error_handlers
from scheduler.api.limits import BodyLimitMiddleware

DESCRIPTION = """
Trigger and inspect grove-jobs runs, and read or replace job configs.

**Authentication.** Every route except `/healthz`, `/metrics` and these docs needs
`Authorization: Bearer <token>`, a token made with `grove-jobs tokens create --name NAME
--scope read|run|write|admin [--expires 30d]`. Without a valid token: 401. Without the
route's scope (`x-required-scope` on each operation): 403. Scopes are independent: `read`
lists and reads, `run` triggers and cancels, `write` replaces configs, `admin` pauses and
resumes the scheduler (`POST /api/pause`, `POST /api/resume`).

**Runs.** `POST /api/jobs/{id}/trigger` answers 202 with the queued execution. An
`Idempotency-Key` header makes retries safe: the same key from the same token returns the
first call's execution (200); the same key on another job, or with other parameters, is 409.
Trigger calls are rate-limited per token (429 + Retry-After).

**Edits.** `PUT /api/jobs/{id}` needs `If-Match` with the version from `GET` (its `ETag`);
without it 428, with a stale one 409 naming both versions. Invalid input is 422 with one
`{"path", "message"}` per field, e.g. `payload.schedule.cronExpression`.

**Limits.** Request bodies are at most 262144 bytes (256 KiB; 413 beyond); JSON may nest at
most 32 levels (422 beyond).
"""


def create_app(db: Database, settings: Settings, sidecar: TickSource | None = None) -> FastAPI:
    """The API app over ``db``; pass the running ``sidecar`` so /healthz can see its tick.
    Job types are discovered first: a plugin that cannot be loaded stops the API at start."""
    discover(settings.job_modules)
    app = FastAPI(
        title="grove-jobs",
        version=getattr(grove_jobs, "__version__", "0.1.0"),
        description=DESCRIPTION,
        openapi_tags=[
            {"name": "jobs", "description": "Job configs, triggers, history and revisions"},
            {"name": "executions", "description": "Single runs"},
            {"name": "alerts", "description": "Failure-alert incidents"},
            {"name": "scheduler", "description": "Global pause and maintenance status"},
            {"name": "operations", "description": "Unauthenticated probes"},
        ],
    )
    app.state.grove = ApiContext(db=db, settings=settings, sidecar=sidecar)
    install_error_handlers(app)
    app.add_middleware(AuthMiddleware)
    app.add_middleware(BodyLimitMiddleware)  # outermost: refused before anything reads it
    for table in (
        ops.routes,
        jobs.routes,
        backfill.routes,
        executions.routes,
        alerts.routes,
        status.routes,
    ):
        table.install(app)
    return app

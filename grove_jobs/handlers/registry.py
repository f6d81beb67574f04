"""The handler registry: job type -> handler. Jobs run only from here; a config is data and
nothing in it is evaluated as code."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

from grove_jobs.engine.context import JobContext, JobResult

Handler = Callable[[Any, JobContext], JobResult | None]

# job type -> "module:function". Adding a job type is one module plus one line here.
HANDLERS: dict[str, str] = {
    "synthetic": "grove_jobs.handlers.synthetic:run",
    "advancement-batch": "grove_jobs.handlers.advancement_batch:run",
    "signal-aggregation": "grove_jobs.handlers.signal_aggregation:run",
    "notification-digest": "grove_jobs.handlers.notification_digest:run",
    "orphan-cleanup": "grove_jobs.handlers.orphan_cleanup:run",
    "health-check": "grove_jobs.handlers.health_check:run",
}

_loaded: dict[str, Handler] = {}


def get_handler(job_type: str) -> Handler:
    """Import (once) and return the handler for ``job_type``."""
    if job_type not in _loaded:
        try:
            target = HANDLERS[job_type]
        except KeyError:
            raise LookupError(f"no handler registered for job type {job_type!r}") from None
        module_name, _, attr = target.partition(":")
        _loaded[job_type] = getattr(import_module(module_name), attr)
    return _loaded[job_type]


def has_handler(job_type: str) -> bool:
    return job_type in HANDLERS

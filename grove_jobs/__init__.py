"""grove-jobs: declarative job configuration.

The public API for writing job types::

    from grove_jobs import job_type, JobContext, JobResult, PermanentError, Destructive

Names are resolved on first use, so ``import grove_jobs`` stays cheap (the CLI's ``--help``
imports nothing else).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grove_jobs.engine.context import JobContext, JobResult
    from grove_jobs.exceptions import GroveError, PermanentError
    from grove_jobs.jobs.registry import job_type
    from grove_jobs.schema.markers import Destructive

_EXPORTS = {
    "job_type": "grove_jobs.jobs.registry",
    "JobContext": "grove_jobs.engine.context",
    "JobResult": "grove_jobs.engine.context",
    "PermanentError": "grove_jobs.exceptions",
    "GroveError": "grove_jobs.exceptions",
    "Destructive": "grove_jobs.schema.markers",
}

__all__ = ["Destructive", "GroveError", "JobContext", "JobResult", "PermanentError", "job_type"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'grove_jobs' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])

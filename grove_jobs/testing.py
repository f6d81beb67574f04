"""A test kit for a team's own job types: run a handler in-process with a real context.

::

    from grove_jobs.testing import run_job

    def test_export_processes_its_day():
        outcome = run_job("acme-export", {"bucket": "reports"},
                          scheduled_for=datetime(2026, 3, 1, 2, tzinfo=UTC))
        assert outcome.status == "success"
        assert "exported 2026-02-28" in outcome.messages

The parameters are validated by the type's own model (``pydantic.ValidationError`` on bad
input), the context writes real log lines, records progress, honours cancellation and the
deadline, and carries ``scheduled_for``, ``interval`` and ``trigger`` as the sidecar would set
them. A handler's exception propagates unless ``catch=True``.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from grove_jobs import schedule
from grove_jobs.engine.context import Interval, JobCancelled, JobContext, JobLog, JobResult
from grove_jobs.exceptions import PermanentError
from grove_jobs.jobs.discovery import discover
from grove_jobs.jobs.registry import get_job_type
from grove_jobs.schema.job_config import untagged_parameters

Status = Literal["success", "partial", "failed", "timed_out", "cancelled"]


@dataclass(frozen=True)
class LogRecord:
    """One log line the handler wrote."""

    level: str
    message: str


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended: its status, the handler's result and everything it logged."""

    status: Status
    result: JobResult | None
    logs: list[LogRecord] = field(default_factory=list)
    progress: list[tuple[int, int | None]] = field(default_factory=list)
    error: str | None = None
    error_kind: Literal["permanent"] | None = None

    @property
    def messages(self) -> str:
        """Every log message, one per line (handy for ``in`` assertions)."""
        return "\n".join(record.message for record in self.logs)


def run_job(
    name: str,
    parameters: dict[str, Any] | None = None,
    *,
    scheduled_for: datetime | None = None,
    cron: str | None = None,
    timezone: str = "UTC",
    trigger: str = "schedule",
    attempt: int = 1,
    batch_size: int = 100,
    timeout_seconds: float = 300,
    config_id: str = "test-config",
    execution_id: int = 1,
    cancel: threading.Event | Callable[[], bool] | None = None,
    database_url: str | None = None,
    settings: Any = None,
    catch: bool = False,
) -> RunOutcome:
    """Run job type ``name`` once, in this process, and say how it went.

    ``scheduled_for`` defaults to now; with ``cron`` the interval starts at the fire before
    it, as in the sidecar. ``cancel`` (an Event or a callable) is what ``ctx.cancelled()``
    reads. With ``catch=True`` an exception becomes a ``failed`` outcome (``error_kind``
    ``"permanent"`` for :class:`PermanentError` and the type's ``permanent`` classes).
    """
    discover()
    kind = get_job_type(name)
    params = kind.parameters.model_validate(untagged_parameters(name, parameters or {}))
    logs: list[LogRecord] = []
    progress: list[tuple[int, int | None]] = []
    at = (scheduled_for or datetime.now(UTC)).astimezone(UTC)
    is_cancelled = cancel.is_set if isinstance(cancel, threading.Event) else cancel
    ctx = JobContext(
        execution_id=execution_id,
        config_id=config_id,
        attempt=attempt,
        batch_size=batch_size,
        deadline=time.monotonic() + timeout_seconds,
        log=JobLog(lambda level, message: logs.append(LogRecord(level, str(message)))),
        report_progress=lambda done, total: progress.append((done, total)),
        is_cancelled=is_cancelled or (lambda: False),
        database_url=database_url,
        settings=settings,
        scheduled_for=at,
        interval_of=lambda: Interval(
            schedule.previous_fire(cron, timezone, at) if cron else None, at
        ),
        trigger=trigger,
    )
    try:
        result = kind.handler(params, ctx) or JobResult()
    except JobCancelled as exc:
        return RunOutcome(exc.reason, None, logs, progress, str(exc))
    except Exception as exc:
        if not catch:
            raise
        permanent = isinstance(exc, (PermanentError, *kind.permanent))
        error = "".join(traceback.format_exception(exc))
        return RunOutcome("failed", None, logs, progress, error, "permanent" if permanent else None)
    return RunOutcome(result.status, result, logs, progress)

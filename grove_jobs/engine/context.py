"""What a handler receives besides its parameters: limits, a log, progress and cancellation."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, Literal, NamedTuple

from grove_jobs.exceptions import GroveError


class JobCancelled(GroveError):
    """Raised by :meth:`JobContext.check` when the run was cancelled or hit its deadline."""

    def __init__(self, reason: Literal["cancelled", "timed_out"]):
        self.reason = reason
        super().__init__(f"run {reason.replace('_', ' ')}")


@dataclass(frozen=True)
class JobResult:
    """What a handler returns. ``status`` partial means some items failed but the run counts."""

    items_processed: int = 0
    items_total: int | None = None
    items_failed: int = 0
    status: Literal["success", "partial"] = "success"
    data: dict[str, Any] = field(default_factory=dict)


class JobLog:
    """Writes execution log lines (shipped to the sidecar, stored in execution_logs)."""

    def __init__(self, emit: Callable[[str, str], None]):
        self._emit = emit

    def info(self, message: str) -> None:
        self._emit("info", message)

    def warn(self, message: str) -> None:
        self._emit("warn", message)

    def error(self, message: str) -> None:
        self._emit("error", message)


class Interval(NamedTuple):
    """The span a run covers: from the cron fire before ``scheduled_for`` to it."""

    start: datetime | None
    end: datetime


@dataclass
class JobContext:
    """Per-run context. ``deadline`` is a ``time.monotonic()`` value.

    ``scheduled_for`` is the run's logical time (aware UTC): the tick it was created for
    (scheduled, misfire and backfill runs, and retries of them), else the time it was
    requested. ``interval`` ends there and starts at the cron fire before it (None when the
    schedule never fired before), so a job that processes "yesterday" processes the day of
    its tick even when it runs late or is re-run.
    """

    execution_id: int
    config_id: str
    attempt: int
    batch_size: int
    deadline: float
    log: JobLog
    report_progress: Callable[[int, int | None], None]
    is_cancelled: Callable[[], bool]
    database_url: str | None = None
    settings: Any = None
    scheduled_for: datetime | None = None
    trigger: str = "manual"
    # Computes ``interval`` on first use: most handlers never ask, and a cron search per run
    # costs a measurable share of a no-op run.
    interval_of: Callable[[], Interval | None] | None = field(default=None, repr=False)

    @cached_property
    def interval(self) -> Interval | None:
        """The span this run covers: (the cron fire before ``scheduled_for``, ``scheduled_for``)."""
        return self.interval_of() if self.interval_of is not None else None

    def progress(self, done: int, total: int | None = None) -> None:
        """Report items done (and the total when known); the sidecar throttles the writes."""
        self.report_progress(done, total)

    def cancelled(self) -> bool:
        """True once the run was cancelled; check it between items."""
        return self.is_cancelled()

    def remaining(self) -> float:
        """Seconds left before the hard timeout."""
        return self.deadline - time.monotonic()

    def check(self) -> None:
        """Raise JobCancelled when cancelled or past the deadline: call it between items so a
        batch stops cleanly at an item boundary instead of being killed mid-item."""
        if self.is_cancelled():
            raise JobCancelled("cancelled")
        if self.remaining() <= 0:
            raise JobCancelled("timed_out")

    def sleep(self, seconds: float) -> None:
        """Sleep, but wake early on cancellation or the deadline (raising JobCancelled)."""
        end = time.monotonic() + seconds
        while True:
            self.check()
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.05))

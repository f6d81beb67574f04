"""The worker process: runs one handler at a time on behalf of the sidecar.

Handlers run in their own process so that a hung handler, or one that ignores cancellation,
can be stopped for real (the sidecar kills the process and starts a fresh one).
Messages to the sidecar are tuples sent over a pipe:
``("log", eid, attempt, at_iso, level, message)``, ``("progress", eid, attempt, done, total)``,
``("done", eid, attempt, status, items_processed, items_total, items_failed, result, error,
error_kind)``, where ``error_kind`` is ``"permanent"`` when retrying cannot help, else None.
"""

from __future__ import annotations

import logging
import signal
import time
import traceback
import warnings
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from typing import Any

from pydantic import ValidationError

from grove_jobs import schedule
from grove_jobs.engine.context import Interval, JobCancelled, JobContext, JobLog, JobResult
from grove_jobs.engine.fencing import Watchdog, lease_guard
from grove_jobs.exceptions import PermanentError
from grove_jobs.jobs.discovery import discover
from grove_jobs.jobs.registry import UnknownJobType, get_job_type
from grove_jobs.observability.logs import bind_run, configure_logging
from grove_jobs.schema.job_config import untagged_parameters
from grove_jobs.settings import Settings, load_settings

MAX_ERROR_CHARS = 4000

# Each new worker runs the sidecar's main module again (multiprocessing's preparation of a
# child). The fork server has imported it already so that this is cheap (see
# scheduler.pool.forkserver_preload), which runpy reports in every worker under
# ``python -m grove_jobs.cli``; running it again is intended. This module is imported by the
# fork server before it forks, so the filter reaches the workers.
warnings.filterwarnings(
    "ignore",
    message=r"'grove_jobs\.cli' found in sys\.modules after import of package",
    category=RuntimeWarning,
)


def worker_main(
    conn: Connection, cancel: Event, database_url: str | None, fence: Any = None
) -> None:
    """Serve run requests until the pipe closes or a ``None`` request arrives. ``fence`` is the
    slot's lease deadline (see :mod:`grove_jobs.engine.fencing`)."""
    # The sidecar handles SIGINT/SIGTERM for the whole group; a worker only stops when told.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    configure_logging(logging.WARNING)  # GROVE_LOG_FORMAT, inherited from the sidecar
    settings = None
    watchdog = Watchdog(fence) if fence is not None else None
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        if settings is None:  # read once per worker process, from the sidecar's environment
            settings = load_settings()
            # Usually a no-op: the fork server imported the job-type modules already.
            discover()
        with lease_guard(watchdog, request):
            done = execute(request, conn, cancel, database_url, settings)
        conn.send(done)


def execute(
    request: dict[str, Any],
    conn: Connection,
    cancel: Event,
    database_url: str | None,
    settings: Settings | None = None,
) -> tuple:
    """Run one attempt and return its ``done`` message."""
    eid, attempt = request["execution_id"], request["attempt"]
    bind_run(execution_id=eid, config_id=request["config_id"], attempt=attempt)
    # The last progress report, kept so a run that fails or is cancelled still records how
    # far it got.
    last = {"done": 0, "total": None}

    def emit(level: str, message: str) -> None:
        conn.send(("log", eid, attempt, datetime.now(UTC).isoformat(), level, str(message)))

    def report(done: int, total: int | None) -> None:
        last["done"], last["total"] = int(done), None if total is None else int(total)
        conn.send(("progress", eid, attempt, int(done), None if total is None else int(total)))

    scheduled_for = _instant(request.get("scheduled_for"))
    ctx = JobContext(
        execution_id=eid,
        config_id=request["config_id"],
        attempt=attempt,
        batch_size=request["batch_size"],
        deadline=time.monotonic() + request["timeout_seconds"],
        log=JobLog(emit),
        report_progress=report,
        is_cancelled=cancel.is_set,
        database_url=database_url,
        settings=settings,
        scheduled_for=scheduled_for,
        interval_of=lambda: _interval(request, scheduled_for),
        trigger=request.get("trigger") or "manual",
    )
    permanent: tuple[type[BaseException], ...] = (PermanentError,)
    try:
        kind = get_job_type(request["job_type"])
        permanent += kind.permanent
        params = kind.parameters.model_validate(
            untagged_parameters(request["job_type"], request["parameters"])
        )
        outcome = kind.handler(params, ctx) or JobResult()
    except JobCancelled as exc:
        emit("warn", f"stopped: {exc}")
        return (
            "done",
            eid,
            attempt,
            exc.reason,
            last["done"],
            last["total"],
            0,
            None,
            str(exc),
            None,
        )
    except UnknownJobType as exc:
        return ("done", eid, attempt, "failed", 0, None, 0, None, str(exc), "permanent")
    except ValidationError as exc:
        error = f"invalid parameters: {exc}"
        return ("done", eid, attempt, "failed", 0, None, 0, None, error, "permanent")
    except Exception as exc:  # a handler's failure is data: it becomes the run's error
        detail = "".join(traceback.format_exception(exc))[-MAX_ERROR_CHARS:]
        error_kind = "permanent" if isinstance(exc, permanent) else None
        label = "permanent error" if error_kind else type(exc).__name__
        emit("error", f"{label}: {exc}")
        done = last["done"], last["total"]
        return ("done", eid, attempt, "failed", *done, 0, None, detail, error_kind)
    return (
        "done",
        eid,
        attempt,
        outcome.status,
        outcome.items_processed,
        outcome.items_total,
        outcome.items_failed,
        outcome.data or None,
        None,
        None,
    )


def _instant(value: str | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def _interval(request: dict[str, Any], scheduled_for: datetime | None) -> Interval | None:
    """The cron fire before ``scheduled_for`` up to it (a config without a usable schedule,
    or a schedule that never fired before, has no start)."""
    if scheduled_for is None:
        return None
    cron, zone = request.get("cron_expression"), request.get("timezone")
    start = None
    if cron and zone:
        try:
            start = schedule.previous_fire(cron, zone, scheduled_for)
        except ValueError:
            start = None
    return Interval(start, scheduled_for)

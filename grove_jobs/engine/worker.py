"""The worker process: runs one handler at a time on behalf of the sidecar.

Handlers run in their own process so that a hung handler, or one that ignores cancellation,
can be stopped for real (the sidecar kills the process and starts a fresh one).
Messages to the sidecar are tuples sent over a pipe:
``("log", eid, attempt, at_iso, level, message)``, ``("progress", eid, attempt, done, total)``,
``("done", eid, attempt, status, items_processed, items_total, items_failed, result, error)``.
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

from grove_jobs.engine.context import JobCancelled, JobContext, JobLog, JobResult
from grove_jobs.engine.fencing import Watchdog, lease_guard
from grove_jobs.handlers.registry import get_handler
from grove_jobs.schema.parameters import PARAMETER_MODELS
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
    logging.basicConfig(level=logging.WARNING)
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
    # The last progress report, kept so a run that fails or is cancelled still records how
    # far it got.
    last = {"done": 0, "total": None}

    def emit(level: str, message: str) -> None:
        conn.send(("log", eid, attempt, datetime.now(UTC).isoformat(), level, str(message)))

    def report(done: int, total: int | None) -> None:
        last["done"], last["total"] = int(done), None if total is None else int(total)
        conn.send(("progress", eid, attempt, int(done), None if total is None else int(total)))

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
    )
    try:
        params = PARAMETER_MODELS[request["job_type"]].model_validate(request["parameters"])
        outcome = get_handler(request["job_type"])(params, ctx) or JobResult()
    except JobCancelled as exc:
        emit("warn", f"stopped: {exc}")
        return ("done", eid, attempt, exc.reason, last["done"], last["total"], 0, None, str(exc))
    except ValidationError as exc:
        return ("done", eid, attempt, "failed", 0, None, 0, None, f"invalid parameters: {exc}")
    except Exception as exc:  # a handler's failure is data: it becomes the run's error
        detail = "".join(traceback.format_exception(exc))[-MAX_ERROR_CHARS:]
        emit("error", f"{type(exc).__name__}: {exc}")
        return ("done", eid, attempt, "failed", last["done"], last["total"], 0, None, detail)
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
    )

"""The scheduler sidecar: a tick loop driven by ``schedule``, a dispatcher feeding a worker
pool, a LISTEN/NOTIFY wake-up on PostgreSQL, and crash recovery."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections import deque
from datetime import datetime
from multiprocessing.connection import Pipe

import schedule as schedule_lib

from grove_jobs.alerts.evaluate import Courier
from grove_jobs.alerts.incremental import IncrementalEvaluator
from grove_jobs.clock import utcnow
from grove_jobs.configs.query import earliest_next_run
from grove_jobs.db.engine import Database
from grove_jobs.engine import leases, unclaimable
from grove_jobs.engine.dispatch import ClaimedRun, LogEntry, Outcome
from grove_jobs.engine.tick import tick
from grove_jobs.jobs.discovery import discover
from grove_jobs.jobs.registry import job_types
from grove_jobs.observability import metrics, traces
from grove_jobs.settings import Settings
from scheduler.claiming import Claiming
from scheduler.listener import Listener
from scheduler.maintenance import Maintenance
from scheduler.pool import WorkerPool
from scheduler.resilience import db_retry

log = logging.getLogger("grove_jobs.scheduler")


class Sidecar(Claiming, Maintenance):
    """One scheduler process. ``run()`` blocks until ``stop()`` (or SIGTERM/SIGINT)."""

    def __init__(self, settings: Settings, db: Database | None = None):
        self.settings = settings
        # A plugin that cannot be loaded stops the sidecar here, at start, not at a first run.
        discover(settings.job_modules)
        # What this sidecar claims: the installed types that can run here.
        self.job_types = frozenset(
            kind.name for kind in job_types() if kind.unavailable_reason(settings) is None
        )
        self.db = db or Database(settings.effective_database_url)
        self.worker_id = settings.worker_id
        self._stopping = threading.Event()
        self._wake_r, self._wake_w = Pipe(duplex=False)
        self._wake_lock = threading.Lock()
        self._wake_pending = False
        self._lock_file = None
        self._courier = Courier(self.db, settings)
        self._alerts = IncrementalEvaluator(self.db)
        self._next_due: datetime | None = None
        self._waiting_due: float | None = None  # monotonic: when the next waiting run comes due
        self.last_tick_at: datetime | None = None
        self.last_tick_ms: float | None = None
        self.pool: WorkerPool | None = None
        self._listener: Listener | None = None
        # Dispatcher buffers, kept on the instance so an error mid-flush loses nothing.
        self._outcomes: list[Outcome] = []
        self._logs: list[LogEntry] = []
        self._progress: dict[tuple[int, int], tuple[int, int | None]] = {}
        # Runs claimed ahead, not started yet: (run, monotonic instant their claim began, the
        # claim's trace context).
        self._ahead: deque[tuple[ClaimedRun, float, object]] = deque()
        self._slowest_run: float | None = None  # longest attempt finished since the last claim
        self._ahead_on = False  # whether the last claim claimed ahead

    # ------------------------------------------------------------------ lifecycle

    def run(self) -> None:
        """Start everything and block until stopped; hands unfinished runs back on the way out."""
        self._acquire_sqlite_lock()
        traces.setup("grove-jobs-sidecar")  # only when OTEL_* asks for it
        self.pool = WorkerPool(self.settings.workers, self.settings.effective_database_url)
        self._register_node()
        if self.db.dialect == "postgresql":
            self._listener = Listener(self.settings.effective_database_url, self.wake)
            self._listener.start()
        dispatcher = threading.Thread(target=self._dispatch_loop, name="dispatcher", daemon=True)
        dispatcher.start()
        maintenance = threading.Thread(
            target=self._maintenance_loop, name="maintenance", daemon=True
        )
        maintenance.start()
        log.info(
            "sidecar %s started: %d workers on %s", self.worker_id, self.pool.size, self.db.dialect
        )
        api = None
        if self.settings.api_enabled:
            from scheduler.api.server import ApiServer  # FastAPI loads only when the API is on

            api = ApiServer(self.settings, self.db, sidecar=self)
            try:
                api.start()
            except OSError as exc:  # scheduling matters more than the API: keep running
                log.error("API not started: %s (GROVE_API_HOST/GROVE_API_PORT)", exc)
                api = None
        try:
            self._main_loop()
        finally:
            if api is not None:
                api.stop()
            dispatcher.join()
            maintenance.join(timeout=30)
            if self._listener:
                self._listener.stop()
            self.pool.close()
            self._unregister_node()
            self._release_sqlite_lock()
            log.info("sidecar %s stopped", self.worker_id)

    def stop(self) -> None:
        """Stop claiming; running runs get the shutdown grace, then are handed back."""
        self._stopping.set()
        self.wake()

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop())

    def wake(self) -> None:
        """Make the dispatcher look for work now (Run Now, tick, cancel)."""
        with self._wake_lock:
            # One byte in the pipe is enough to wake it; a burst of notifications must not
            # fill the pipe and block the listener thread.
            if self._wake_pending:
                return
            self._wake_pending = True
            with contextlib.suppress(OSError):
                self._wake_w.send_bytes(b"!")

    # ------------------------------------------------------------------ main thread: schedule

    def _main_loop(self) -> None:
        jobs = schedule_lib.Scheduler()
        s = self.settings
        jobs.every(s.tick_interval_seconds).seconds.do(self._tick)
        jobs.every(max(1.0, s.lease_seconds / 3)).seconds.do(self._rescue)
        jobs.every(s.heartbeat_interval_seconds).seconds.do(self._node_heartbeat)
        jobs.run_all()
        while not self._stopping.is_set():
            jobs.run_pending()
            # Sleep until the next periodic job, or until the earliest next_run_at when that is
            # sooner, so a 02:00 schedule fires at 02:00:00.00x rather than up to a tick late.
            pause = jobs.idle_seconds or 0.0
            if self._next_due is not None:
                until_due = (self._next_due - utcnow()).total_seconds()
                if until_due < pause:
                    pause = max(0.0, until_due)
                    if pause == 0.0:
                        self._tick()
                        continue
            self._stopping.wait(max(0.0, min(pause, s.tick_interval_seconds)))

    @traces.traced("grove.tick")
    def _tick(self) -> None:
        try:
            started = utcnow()
            result = db_retry(60)(tick)(self.db, at=started)
            self.last_tick_at = utcnow()
            self.last_tick_ms = result.duration_ms
            metrics.tick_done(result.duration_ms, self._next_due, started)
            if result.queued:
                self.wake()
            if result.configs:
                log.info(
                    "tick: %d configs due, %d queued, %d skipped (%.1f ms)",
                    result.configs,
                    result.queued,
                    result.skipped,
                    result.duration_ms,
                )
            with self.db.read() as session:
                self._next_due = earliest_next_run(session)
        except Exception:
            log.exception("tick failed; next tick will try again")

    def _rescue(self) -> None:
        try:
            # By the database's clock: sidecars on hosts whose clocks disagree still agree.
            rescued = db_retry(60)(leases.rescue)(
                self.db, lease_seconds=self.settings.lease_seconds
            )
            if rescued:
                log.warning("rescued %d runs whose sidecar stopped heartbeating", len(rescued))
                self.wake()
            failed = db_retry(60)(unclaimable.fail_unclaimable)(
                self.db, lease_seconds=self.settings.lease_seconds, at=utcnow()
            )
            if failed:
                log.warning("failed %d runs whose job type no running sidecar has", len(failed))
        except Exception:
            log.exception("rescue failed; will try again")

"""The scheduler sidecar: a tick loop driven by ``schedule``, a dispatcher feeding a worker
pool, a LISTEN/NOTIFY wake-up on PostgreSQL, and crash recovery."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import socket
import threading
import time
from datetime import datetime
from multiprocessing.connection import Pipe, wait
from pathlib import Path

import schedule as schedule_lib
from sqlalchemy import delete, func, select
from sqlalchemy.engine import make_url

from grove_jobs.alerts.evaluate import Courier, evaluate_alerts
from grove_jobs.clock import utcnow
from grove_jobs.db.engine import Database
from grove_jobs.db.tables import JobConfigRow, SchedulerNodeRow
from grove_jobs.engine import dispatch
from grove_jobs.engine.dispatch import LogEntry, Outcome
from grove_jobs.engine.prune import prune
from grove_jobs.engine.tick import tick
from grove_jobs.exceptions import SchedulerLocked
from grove_jobs.settings import Settings
from scheduler.listener import Listener
from scheduler.pool import WorkerPool, WorkerSlot
from scheduler.resilience import db_retry

log = logging.getLogger("grove_jobs.scheduler")
PROGRESS_FLUSH_SECONDS = 0.5
CANCEL_POLL_SECONDS = 0.5
GATHER_SECONDS = 0.002
# Wake this long after a waiting run's not-before, so the claim's clock has passed it.
DUE_SLACK_SECONDS = 0.002


class Sidecar:
    """One scheduler process. ``run()`` blocks until ``stop()`` (or SIGTERM/SIGINT)."""

    def __init__(self, settings: Settings, db: Database | None = None):
        self.settings = settings
        self.db = db or Database(settings.effective_database_url)
        self.worker_id = settings.worker_id
        self._stopping = threading.Event()
        self._wake_r, self._wake_w = Pipe(duplex=False)
        self._wake_lock = threading.Lock()
        self._wake_pending = False
        self._lock_file = None
        self._courier = Courier(self.db, settings)
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

    # ------------------------------------------------------------------ lifecycle

    def run(self) -> None:
        """Start everything and block until stopped; hands unfinished runs back on the way out."""
        self._acquire_sqlite_lock()
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
            from scheduler.api_server import ApiServer  # FastAPI loads only when the API is on

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

    def _maintenance_loop(self) -> None:
        """Pruning and alert evaluation scan history; they get their own thread (and their own
        ``schedule`` loop) so they never delay a tick or a rescue."""
        jobs = schedule_lib.Scheduler()
        jobs.every(self.settings.prune_interval_seconds).seconds.do(self._prune)
        jobs.every(self.settings.alert_interval_seconds).seconds.do(self._evaluate_alerts)
        jobs.run_all()
        while not self._stopping.is_set():
            jobs.run_pending()
            self._stopping.wait(max(0.05, jobs.idle_seconds or 0.0))

    def _tick(self) -> None:
        try:
            result = db_retry(60)(tick)(self.db, at=utcnow())
            self.last_tick_at = utcnow()
            self.last_tick_ms = result.duration_ms
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
                self._next_due = session.scalar(select(func.min(JobConfigRow.next_run_at)))
        except Exception:
            log.exception("tick failed; next tick will try again")

    def _rescue(self) -> None:
        try:
            rescued = db_retry(60)(dispatch.rescue)(
                self.db, lease_seconds=self.settings.lease_seconds, at=utcnow()
            )
            if rescued:
                log.warning("rescued %d runs whose sidecar stopped heartbeating", len(rescued))
                self.wake()
        except Exception:
            log.exception("rescue failed; will try again")

    def _prune(self) -> None:
        try:
            result = prune(self.db, at=utcnow())
            if result.deleted:
                log.info("pruned %d executions beyond retention", result.deleted)
        except Exception:
            log.exception("prune failed; will try again")

    def _evaluate_alerts(self) -> None:
        try:
            courier = self._courier
            result = evaluate_alerts(self.db, at=utcnow(), deliverable=courier.enabled)
            if result.messages:
                log.warning("alerts: %d opened, %d resolved", result.opened, result.resolved)
                courier.send(result.messages)
            courier.redeliver_due(utcnow())
        except Exception:
            log.exception("alert evaluation failed; will try again")

    # ------------------------------------------------------------------ dispatcher thread

    def _dispatch_loop(self) -> None:
        while True:
            try:
                self._dispatch()
                return
            except Exception:
                # Never let the dispatcher die: the runs it owns would only be rescued after
                # their lease. Whatever it had not flushed is retried on the next pass.
                log.exception("dispatcher error; resuming")
                time.sleep(0.5)

    def _dispatch(self) -> None:
        assert self.pool is not None
        outcomes, logs, progress = self._outcomes, self._logs, self._progress
        last_progress_flush = last_cancel_poll = last_heartbeat = last_claim = 0.0
        self._waiting_due = None
        drain_deadline: float | None = None
        wanted = True  # look for work on the first pass
        while True:
            now = time.monotonic()
            if self._stopping.is_set() and drain_deadline is None:
                drain_deadline = now + self.settings.shutdown_grace_seconds
            busy = self.pool.busy()
            if drain_deadline is not None and (not busy or now >= drain_deadline):
                self._flush(outcomes, logs, progress)
                self._hand_back(busy)
                return
            timeout = self._wait_timeout(busy, now, last_claim)
            ready = wait([slot.conn for slot in busy] + [self._wake_r], timeout)
            if self._wake_r in ready:
                with self._wake_lock:
                    while self._wake_r.poll():
                        self._wake_r.recv_bytes()
                    self._wake_pending = False
                wanted = True
            for slot in busy:
                if slot.conn in ready:
                    self._read_messages(slot, outcomes, logs, progress)
            if outcomes and (still_busy := self.pool.busy()):
                # Results tend to arrive together: wait a moment for the rest, so one commit
                # records (and refills) several slots instead of one.
                for conn in wait([slot.conn for slot in still_busy], GATHER_SECONDS):
                    slot = next(s for s in still_busy if s.conn is conn)
                    self._read_messages(slot, outcomes, logs, progress)
            now = time.monotonic()
            self._enforce_deadlines(outcomes, now)
            if now - last_cancel_poll >= CANCEL_POLL_SECONDS and self.pool.busy():
                last_cancel_poll = now
                self._poll_cancels()
            if now - last_heartbeat >= self.settings.heartbeat_interval_seconds:
                last_heartbeat = now
                self._heartbeat()
            flush_due = bool(outcomes or logs) or (
                bool(progress) and now - last_progress_flush >= PROGRESS_FLUSH_SECONDS
            )
            if outcomes:
                wanted = True  # a slot freed up: there may be queued work
            poll_due = now - last_claim >= self.settings.poll_interval_seconds
            if self._waiting_due is not None and now >= self._waiting_due:
                poll_due = True  # a waiting run (a retry) has reached its not-before
            if drain_deadline is None and self.pool.idle() and (wanted or poll_due):
                # Results and the next claim share one transaction (one commit per batch).
                last_claim = last_progress_flush = now
                wanted = self._flush_and_claim(outcomes, logs, progress)
            elif flush_due:
                self._flush(outcomes, logs, progress)
                last_progress_flush = now

    def _wait_timeout(self, busy: list[WorkerSlot], now: float, last_claim: float) -> float:
        deadlines = [s.deadline for s in busy] + [
            s.cancel_deadline for s in busy if s.cancel_deadline is not None
        ]
        if self._waiting_due is not None and len(busy) < self.pool.size:
            deadlines.append(self._waiting_due)
        timeout = min(self.settings.poll_interval_seconds, CANCEL_POLL_SECONDS)
        if deadlines:
            timeout = min(timeout, max(0.0, min(deadlines) - now))
        return max(0.0, timeout)

    def _read_messages(self, slot, outcomes, logs, progress) -> None:
        while slot.run is not None:
            try:
                if not slot.conn.poll():
                    return
                message = slot.conn.recv()
            except (EOFError, OSError):
                run = slot.run
                log.error("worker %d died running execution %d", slot.index, run.execution_id)
                outcomes.append(self._outcome(run, "failed", error="worker process died"))
                self.pool.release(slot)
                self.pool.replace(slot)
                return
            kind = message[0]
            if kind == "log":
                _, eid, attempt, at_iso, level, text = message
                logs.append(LogEntry(eid, attempt, datetime.fromisoformat(at_iso), level, text))
            elif kind == "progress":
                _, eid, attempt, done, total = message
                progress[(eid, attempt)] = (done, total)
            elif kind == "done":
                _, eid, attempt, status, processed, total, failed, result, error = message
                run = slot.run
                if slot.cancel_deadline is not None and status not in ("success", "partial"):
                    status = "cancelled"
                outcomes.append(self._outcome(run, status, processed, total, failed, result, error))
                progress.pop((eid, attempt), None)
                self.pool.release(slot)

    def _outcome(self, run, status, processed=0, total=None, failed=0, result=None, error=None):
        return Outcome(
            execution_id=run.execution_id,
            attempt=run.attempt,
            status=status,
            items_processed=processed,
            items_total=total,
            items_failed=failed,
            result=result,
            error=error,
            max_attempts=run.max_attempts,
            retry=run.retry,
        )

    def _enforce_deadlines(self, outcomes: list[Outcome], now: float) -> None:
        for slot in self.pool.busy():
            run = slot.run
            if now >= slot.deadline:
                error = f"timed out after {run.timeout_seconds}s; worker process stopped"
                outcomes.append(self._outcome(run, "timed_out", error=error))
            elif slot.cancel_deadline is not None and now >= slot.cancel_deadline:
                outcomes.append(
                    self._outcome(run, "cancelled", error="cancelled; worker process stopped")
                )
            else:
                continue
            log.warning("stopping worker %d (execution %d)", slot.index, run.execution_id)
            self.pool.release(slot)
            self.pool.replace(slot)

    def _poll_cancels(self) -> None:
        busy = {slot.run.execution_id: slot for slot in self.pool.busy()}
        try:
            for eid in dispatch.cancel_requested(self.db, list(busy)):
                self.pool.request_cancel(busy[eid])
        except Exception:
            log.exception("could not poll cancel requests")

    def _heartbeat(self) -> None:
        running = [(s.run.execution_id, s.run.attempt) for s in self.pool.busy()]
        try:
            db_retry(30)(dispatch.heartbeat)(
                self.db, worker_id=self.worker_id, running=running, at=utcnow()
            )
        except Exception:
            log.exception("heartbeat failed")

    def _flush(self, outcomes, logs, progress) -> None:
        if not (outcomes or logs or progress):
            return
        db_retry()(dispatch.complete)(
            self.db,
            list(outcomes),
            list(logs),
            dict(progress),
            worker_id=self.worker_id,
            at=utcnow(),
        )
        outcomes.clear()
        logs.clear()
        progress.clear()

    def _flush_and_claim(self, outcomes, logs, progress) -> bool:
        """Record buffered results and claim a run for every idle slot, in one transaction.
        Returns True when the queue may hold more work."""
        idle = self.pool.idle()
        claimed = db_retry()(dispatch.complete_and_claim)(
            self.db,
            list(outcomes),
            list(logs),
            dict(progress),
            worker_id=self.worker_id,
            limit=len(idle),
            at=utcnow(),
        )
        outcomes.clear()
        logs.clear()
        progress.clear()
        for slot, run in zip(idle, claimed.runs, strict=False):
            self.pool.submit(slot, run)
        self._waiting_due = None
        if claimed.next_due is not None:
            wait = (claimed.next_due - utcnow()).total_seconds() + DUE_SLACK_SECONDS
            self._waiting_due = time.monotonic() + max(0.0, wait)
        return len(claimed.runs) == len(idle)

    def _hand_back(self, busy: list[WorkerSlot]) -> None:
        running = [(slot.run.execution_id, slot.run.attempt) for slot in busy]
        if running:
            handed = db_retry(30)(dispatch.hand_back)(
                self.db, worker_id=self.worker_id, running=running, at=utcnow()
            )
            log.warning("handed %d unfinished runs back to the queue", handed)
        for slot in busy:
            self.pool.release(slot)

    # ------------------------------------------------------------------ node registry

    def _register_node(self) -> None:
        now = utcnow()
        with self.db.write() as session:
            session.merge(
                SchedulerNodeRow(
                    id=self.worker_id,
                    hostname=socket.gethostname(),
                    pid=os.getpid(),
                    started_at=now,
                    heartbeat_at=now,
                )
            )

    def _node_heartbeat(self) -> None:
        try:
            with self.db.write() as session:
                node = session.get(SchedulerNodeRow, self.worker_id)
                if node is None:
                    return
                node.heartbeat_at = utcnow()
                node.last_tick_at = self.last_tick_at
                node.last_tick_ms = self.last_tick_ms
        except Exception:
            log.exception("node heartbeat failed")

    def _unregister_node(self) -> None:
        try:
            with self.db.write() as session:
                session.execute(
                    delete(SchedulerNodeRow).where(SchedulerNodeRow.id == self.worker_id)
                )
        except Exception:
            log.exception("could not unregister node")

    # ------------------------------------------------------------------ SQLite: one sidecar

    def _acquire_sqlite_lock(self) -> None:
        if not self.db.is_sqlite:
            return
        database = make_url(self.db.url).database or ""
        path = Path(f"{database}.sidecar.lock")
        handle = path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            handle.close()
            raise SchedulerLocked(
                f"another sidecar ({owner}) already runs on the SQLite database {database}; "
                "SQLite supports exactly one sidecar (use PostgreSQL to run several)"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{self.worker_id}\n")
        handle.flush()
        self._lock_file = handle

    def _release_sqlite_lock(self) -> None:
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

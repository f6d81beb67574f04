"""The sidecar's dispatcher thread: claims runs for idle worker slots, collects their
messages, enforces deadlines and cancels, and records outcomes in batches."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from datetime import datetime
from multiprocessing.connection import Connection, wait

from grove_jobs.clock import utcnow
from grove_jobs.db.engine import Database
from grove_jobs.engine import dispatch, leases
from grove_jobs.engine.dispatch import ClaimedRun, LogEntry, Outcome
from grove_jobs.observability import metrics, traces
from grove_jobs.observability.logs import run_fields
from grove_jobs.settings import Settings
from scheduler.pool import WorkerPool, WorkerSlot
from scheduler.resilience import db_retry

log = logging.getLogger("grove_jobs.scheduler")
PROGRESS_FLUSH_SECONDS = 0.5
CANCEL_POLL_SECONDS = 0.5
GATHER_SECONDS = 0.002
# Wake this long after a waiting run's not-before, so the claim's clock has passed it.
DUE_SLACK_SECONDS = 0.002
# Claiming ahead: while the runs being executed are this short, each claim also takes a run
# for every busy slot and one more for every slot, started as slots free, without a database
# round trip. A claim costs a few round trips whatever its size, so for runs shorter than the
# claim itself this halves the claims per run; a run claimed ahead waits two short runs at
# most, and counts against its config's maxConcurrent meanwhile.
SHORT_RUN_SECONDS = 0.05
# A run claimed ahead that has not started by then (the runs got longer) goes back to the queue
# for any sidecar to take; at most half the lease, so nobody rescues it meanwhile.
AHEAD_HOLD_SECONDS = 1.0


class Claiming:
    """The dispatcher half of ``Sidecar`` (a mixin: the state lives on the sidecar)."""

    settings: Settings
    db: Database
    worker_id: str
    pool: WorkerPool | None
    _stopping: threading.Event
    _wake_r: Connection
    _wake_lock: threading.Lock
    _wake_pending: bool
    _waiting_due: float | None
    _outcomes: list[Outcome]
    _logs: list[LogEntry]
    _progress: dict[tuple[int, int], tuple[int, int | None]]
    _ahead: deque[tuple[ClaimedRun, float, object]]
    _slowest_run: float | None
    _ahead_on: bool

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
                if self._ahead:  # nothing more starts here: another sidecar may take them
                    self._release_ahead()
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
            if outcomes and not self._ahead and (still_busy := self.pool.busy()):
                # Results tend to arrive together: wait a moment for the rest, so one commit
                # records (and refills) several slots instead of one.
                for conn in wait([slot.conn for slot in still_busy], GATHER_SECONDS):
                    slot = next(s for s in still_busy if s.conn is conn)
                    self._read_messages(slot, outcomes, logs, progress)
            now = time.monotonic()
            self._enforce_deadlines(outcomes, now)
            if self._ahead:
                self._start_ahead()
            if now - last_cancel_poll >= CANCEL_POLL_SECONDS and self.pool.busy():
                last_cancel_poll = now
                self._poll_cancels()
            if now - last_heartbeat >= self.settings.heartbeat_interval_seconds:
                last_heartbeat = now
                self._heartbeat()
            flush_late = now - last_progress_flush >= PROGRESS_FLUSH_SECONDS
            # While short runs claimed ahead keep the slots busy, results wait (a little) for
            # the claim that follows, so that one commit still serves the whole round.
            flush_due = (bool(outcomes or logs) and (not self._ahead_on or flush_late)) or (
                bool(progress) and flush_late
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
        if self._ahead:
            deadlines.append(self._ahead[0][1] + self._ahead_hold())
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
                if self.pool.fenced(slot):
                    # Its lease was not renewed in time (this sidecar paused, cut off or
                    # starved): the worker stopped the handler before anyone could rescue it.
                    log.error(
                        "worker %d stopped execution %d attempt %d: lease not renewed within %gs",
                        slot.index,
                        run.execution_id,
                        run.attempt,
                        self.settings.lease_budget,
                        extra=run_fields(run),
                    )
                    error = "lease not renewed in time; worker stopped the handler"
                else:
                    log.error(
                        "worker %d died running execution %d",
                        slot.index,
                        run.execution_id,
                        extra=run_fields(run),
                    )
                    error = "worker process died"
                outcomes.append(self._outcome(run, "failed", error=error))
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
                _, eid, attempt, status, processed, total, failed, result, error, kind = message
                run = slot.run
                if slot.cancel_deadline is not None and status not in ("success", "partial"):
                    status, kind = "cancelled", None
                outcomes.append(
                    self._outcome(run, status, processed, total, failed, result, error, kind)
                )
                progress.pop((eid, attempt), None)
                took = time.monotonic() - slot.started
                self._slowest_run = max(self._slowest_run or 0.0, took)
                self.pool.release(slot)

    def _outcome(
        self, run, status, processed=0, total=None, failed=0, result=None, error=None, kind=None
    ):
        metrics.attempt_finished(run, status)
        traces.attempt_finished(run, status)
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
            error_kind=kind,
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
            log.warning(
                "stopping worker %d (execution %d)",
                slot.index,
                run.execution_id,
                extra=run_fields(run),
            )
            self.pool.release(slot)
            self.pool.replace(slot)

    def _poll_cancels(self) -> None:
        busy = {slot.run.execution_id: slot for slot in self.pool.busy()}
        try:
            for eid in leases.cancel_requested(self.db, list(busy)):
                self.pool.request_cancel(busy[eid])
        except Exception:
            log.exception("could not poll cancel requests")

    def _heartbeat(self) -> None:
        """Renew the leases of running runs and move their workers' fences; a run whose lease
        was taken over meanwhile (rescued while this sidecar was paused or cut off) has its
        worker killed at once, so two attempts never run side by side."""
        busy = self.pool.busy()
        running = [(s.run.execution_id, s.run.attempt) for s in busy]
        if not running:
            return
        started = time.monotonic()

        def renew() -> set[tuple[int, int]]:
            nonlocal started
            started = time.monotonic()  # before the renewal is sent: the worker's count starts
            return leases.heartbeat(self.db, worker_id=self.worker_id, running=running)

        try:
            renewed = db_retry(30)(renew)()
        except Exception:
            log.exception("heartbeat failed")
            return
        fence_at = started + self.settings.lease_budget
        for slot in busy:
            run = slot.run
            if (run.execution_id, run.attempt) in renewed:
                self.pool.renew(slot, fence_at)
                continue
            log.error(
                "lease lost: execution %d attempt %d was taken over while this sidecar could "
                "not renew it; killing worker %d at once",
                run.execution_id,
                run.attempt,
                slot.index,
            )
            self.pool.release(slot)
            self.pool.replace(slot)

    def _flush(self, outcomes, logs, progress) -> None:
        if not (outcomes or logs or progress):
            return
        db_retry()(dispatch.complete)(
            self.db, list(outcomes), list(logs), dict(progress), worker_id=self.worker_id
        )
        outcomes.clear()
        logs.clear()
        progress.clear()

    @traces.traced("grove.claim")
    def _flush_and_claim(self, outcomes, logs, progress) -> bool:
        """Record buffered results and claim a run for every idle slot (and, for short runs,
        ahead: see :meth:`_claim_ahead`), in one transaction. Returns True when the queue may
        hold more work."""
        idle = self.pool.idle()
        ahead = self._claim_ahead()
        self._ahead_on = ahead > 0
        limit = len(idle) + ahead
        started = time.monotonic()

        def attempt() -> dispatch.Claimed:
            nonlocal started
            started = time.monotonic()  # the lease of what this claims starts no earlier
            return dispatch.complete_and_claim(
                self.db,
                list(outcomes),
                list(logs),
                dict(progress),
                worker_id=self.worker_id,
                limit=limit,
                job_types=self.job_types,
            )

        with metrics.CLAIM_LATENCY.time():
            claimed = db_retry()(attempt)()
        outcomes.clear()
        logs.clear()
        progress.clear()
        self._slowest_run = None
        claim = traces.current()  # runs claimed ahead start later, as children of this claim
        runs = iter(claimed.runs)
        for slot, run in zip(idle, runs, strict=False):
            self._submit(slot, run, started, claim)
        self._ahead.extend((run, started, claim) for run in runs)
        self._waiting_due = None
        if claimed.next_due is not None and claimed.at is not None:
            # Both instants are the database's: no host clock enters the wait.
            wait = (claimed.next_due - claimed.at).total_seconds() + DUE_SLACK_SECONDS
            self._waiting_due = started + max(0.0, wait)
        return len(claimed.runs) == limit

    def _claim_ahead(self) -> int:
        """How many runs to claim beyond the idle slots: while every run seen since the last
        claim, finished or still going, has been short, one for each busy slot and one more
        for every slot; else none."""
        if not self.settings.claim_ahead:
            return 0
        if self._slowest_run is None or self._slowest_run > SHORT_RUN_SECONDS:
            return 0
        now = time.monotonic()
        busy = self.pool.busy()
        if any(now - slot.started > SHORT_RUN_SECONDS for slot in busy):
            return 0
        # A run for each busy slot, which frees in a moment, and one more round for all.
        return len(busy) + self.pool.size

    def _submit(self, slot, run: ClaimedRun, claimed_at: float, claim: object) -> None:
        # The lease began with the claim, so the handler's fence counts from there.
        self.pool.submit(slot, run, claimed_at + self.settings.lease_budget)
        metrics.attempt_started(run)
        traces.attempt_started(run, claim)

    def _ahead_hold(self) -> float:
        return min(AHEAD_HOLD_SECONDS, self.settings.lease_budget / 2)

    def _start_ahead(self) -> None:
        """Hand runs claimed ahead to idle slots; give back those held too long."""
        # The clock is read here, not taken from the loop: a sidecar paused since the loop
        # read it must not hand over runs whose lease ran out meanwhile.
        if time.monotonic() - self._ahead[0][1] >= self._ahead_hold():
            self._release_ahead()
            return
        for slot in self.pool.idle():
            if not self._ahead:
                return
            self._submit(slot, *self._ahead.popleft())

    def _release_ahead(self) -> None:
        """Return every run claimed ahead to the queue, unstarted and with its attempt unspent."""
        claimed = [(run.execution_id, run.attempt) for run, _, _ in self._ahead]
        released = db_retry(30)(leases.release_unstarted)(
            self.db, worker_id=self.worker_id, claimed=claimed
        )
        self._ahead.clear()
        log.info("gave %d runs claimed ahead back to the queue", released)

    def _hand_back(self, busy: list[WorkerSlot]) -> None:
        running = [(slot.run.execution_id, slot.run.attempt) for slot in busy]
        if running:
            handed = db_retry(30)(leases.hand_back)(
                self.db, worker_id=self.worker_id, running=running, at=utcnow()
            )
            log.warning("handed %d unfinished runs back to the queue", handed)
        for slot in busy:
            self.pool.release(slot)

"""The sidecar's housekeeping: pruning and alert evaluation on their own thread, the node
registry row, and the lock that keeps a second sidecar off a SQLite database."""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import schedule as schedule_lib
from sqlalchemy import delete
from sqlalchemy.engine import make_url

from grove_jobs.alerts.evaluate import Courier
from grove_jobs.alerts.incremental import IncrementalEvaluator
from grove_jobs.clock import utcnow
from grove_jobs.db.engine import Database
from grove_jobs.db.tables import SchedulerNodeRow
from grove_jobs.engine.prune import prune
from grove_jobs.exceptions import SchedulerLocked
from grove_jobs.settings import Settings

log = logging.getLogger("grove_jobs.scheduler")


class Maintenance:
    """The housekeeping half of ``Sidecar`` (a mixin: the state lives on the sidecar)."""

    settings: Settings
    db: Database
    worker_id: str
    last_tick_at: datetime | None
    last_tick_ms: float | None
    _stopping: threading.Event
    _courier: Courier
    _alerts: IncrementalEvaluator
    _lock_file: Any

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
            result = self._alerts.run(utcnow(), deliverable=courier.enabled)
            if result.messages:
                log.warning("alerts: %d opened, %d resolved", result.opened, result.resolved)
                courier.send(result.messages)
            courier.redeliver_due(utcnow())
        except Exception:
            log.exception("alert evaluation failed; will try again")

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
                    job_types=sorted(self.job_types),
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

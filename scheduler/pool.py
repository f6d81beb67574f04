"""A pool of worker processes, each running one attempt at a time.

A slot whose handler overruns its deadline or ignores a cancel is killed and replaced, so a
hung handler never holds a worker slot for long.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection

from grove_jobs.engine.dispatch import ClaimedRun
from grove_jobs.engine.fencing import FENCED_EXIT_CODE
from grove_jobs.engine.worker import worker_main
from grove_jobs.jobs.registry import job_types

# How long a cancelled handler gets to notice before its process is killed.
CANCEL_GRACE_SECONDS = 1.0


@dataclass
class WorkerSlot:
    """One worker process and the run it is executing (if any)."""

    index: int
    process: mp.process.BaseProcess
    conn: Connection
    cancel: object  # multiprocessing Event
    fence: object  # RawValue("d"): monotonic instant the handler must stop by (engine.fencing)
    run: ClaimedRun | None = None
    deadline: float = 0.0
    started: float = 0.0  # monotonic instant the run was handed over
    cancel_deadline: float | None = None

    @property
    def busy(self) -> bool:
        return self.run is not None


def forkserver_preload() -> list[str]:
    """The modules the fork server imports once, so that each worker starts in milliseconds.

    Besides the worker itself this is what the main module imports: multiprocessing runs the
    main module again in every child (by path for the ``grove-jobs`` script, by name under
    ``python -m``), and without its imports cached that is the whole CLI, about a second of CPU
    each time a hung worker is replaced.
    """
    modules = ["grove_jobs.engine.worker", "grove_jobs.cli"]
    # The job types' modules too: importing them registers the types, so a fresh worker has
    # them without discovering anything.
    modules += sorted({kind.module for kind in job_types()})
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    # Under ``python -m pkg`` multiprocessing does not re-run ``pkg.__main__`` itself.
    if spec is not None and not spec.name.endswith("__main__"):
        modules.append(spec.name)
    return modules


class WorkerPool:
    """Fixed-size pool; the supervisor thread is its only user (no locking needed)."""

    def __init__(self, size: int, database_url: str | None, start_method: str = "forkserver"):
        self._ctx = mp.get_context(start_method)
        if start_method == "forkserver":
            self._ctx.set_forkserver_preload(forkserver_preload())
        self._database_url = database_url
        self.slots = [self._spawn(i) for i in range(size)]

    def _spawn(self, index: int) -> WorkerSlot:
        parent, child = self._ctx.Pipe()
        cancel = self._ctx.Event()
        fence = self._ctx.RawValue("d", 0.0)
        process = self._ctx.Process(
            target=worker_main,
            args=(child, cancel, self._database_url, fence),
            name=f"grove-worker-{index}",
            daemon=True,
        )
        process.start()
        child.close()
        return WorkerSlot(index=index, process=process, conn=parent, cancel=cancel, fence=fence)

    @property
    def size(self) -> int:
        return len(self.slots)

    def idle(self) -> list[WorkerSlot]:
        return [slot for slot in self.slots if not slot.busy]

    def busy(self) -> list[WorkerSlot]:
        return [slot for slot in self.slots if slot.busy]

    def submit(self, slot: WorkerSlot, run: ClaimedRun, fence_at: float) -> None:
        """Hand a claimed run to an idle slot; its handler stops by ``fence_at`` (monotonic)
        unless :meth:`renew` moves that later."""
        slot.fence.value = fence_at  # before the request: the worker arms on receiving it
        slot.cancel.clear()
        slot.run = run
        slot.started = time.monotonic()
        slot.deadline = slot.started + run.timeout_seconds
        slot.cancel_deadline = None
        slot.conn.send(
            {
                "execution_id": run.execution_id,
                "config_id": run.config_id,
                "attempt": run.attempt,
                "job_type": run.job_type,
                "parameters": run.parameters,
                "batch_size": run.batch_size,
                "timeout_seconds": run.timeout_seconds,
                "scheduled_for": run.scheduled_for,
                "trigger": run.trigger,
                "cron_expression": run.cron_expression,
                "timezone": run.timezone,
            }
        )

    def renew(self, slot: WorkerSlot, fence_at: float) -> None:
        """A heartbeat renewed the slot's lease: its handler may run until ``fence_at``."""
        slot.fence.value = max(slot.fence.value, fence_at)

    def fenced(self, slot: WorkerSlot) -> bool:
        """Whether the slot's process ended itself because its lease was not renewed."""
        slot.process.join(timeout=1.0)
        return slot.process.exitcode == FENCED_EXIT_CODE

    def request_cancel(self, slot: WorkerSlot) -> None:
        """Ask the handler to stop; it is killed if it has not after CANCEL_GRACE_SECONDS."""
        if slot.cancel_deadline is None:
            slot.cancel.set()
            slot.cancel_deadline = time.monotonic() + CANCEL_GRACE_SECONDS

    def release(self, slot: WorkerSlot) -> None:
        slot.run = None
        slot.cancel_deadline = None

    def replace(self, slot: WorkerSlot) -> None:
        """Kill the slot's process (it is hung or dead) and start a fresh one in its place."""
        self._kill(slot)
        self.slots[slot.index] = self._spawn(slot.index)

    def _kill(self, slot: WorkerSlot) -> None:
        with contextlib.suppress(OSError):
            slot.conn.close()
        if slot.process.is_alive():
            slot.process.kill()
        slot.process.join(timeout=5)

    def close(self, timeout: float = 2.0) -> None:
        """Stop every worker: politely, then by force."""
        for slot in self.slots:
            if not slot.busy:
                with contextlib.suppress(OSError):
                    slot.conn.send(None)
        end = time.monotonic() + timeout
        for slot in self.slots:
            slot.process.join(timeout=max(0.0, end - time.monotonic()))
            self._kill(slot)

"""Lease fencing inside the worker process: the handler stops before anyone may rescue its run.

The sidecar keeps, per worker slot, one shared double (a ``RawValue``): the monotonic instant
after which the worker must no longer run its handler. It is the start of the last renewal
that succeeded (the claim, then each heartbeat), plus the lease minus the margin. Linux's
monotonic clock is system-wide, so the number means the same in both processes, and it keeps
counting while the sidecar is paused, cut off from the database or starved of CPU: whatever
stops the renewals, a watchdog thread here ends the process (and so the handler) on time.

A rescue needs the database's clock to pass the last heartbeat stamp by the whole lease, and
that stamp is never earlier than the start of its renewal, so the handler has been stopped for
at least the margin when the next attempt may begin.

The value is a raw (lock-free) double on purpose: a sidecar paused while holding a lock would
otherwise freeze the watchdog too. An aligned 8-byte store is atomic on the platforms we run.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

# The exit status of a worker that stopped its handler because its lease was not renewed
# (EX_TEMPFAIL); the sidecar tells it apart from a crash.
FENCED_EXIT_CODE = 75
# How long the watchdog sleeps at most before looking again (a disarmed one waits for arm()).
MAX_NAP_SECONDS = 1.0
# Process groups a handler started (the ``command`` job type's): they die with the handler.
_child_groups: set[int] = set()


@contextmanager
def child_group(pgid: int) -> Iterator[None]:
    """While in the block, stopping this worker at its fence also kills process group
    ``pgid``: a process a handler started would otherwise outlive it and overlap the next
    attempt."""
    _child_groups.add(pgid)
    try:
        yield
    finally:
        _child_groups.discard(pgid)


class Watchdog:
    """Ends this process once the armed run's fence has passed (see the module docstring)."""

    def __init__(self, fence: Any):
        self._fence = fence  # a multiprocessing RawValue("d"), written by the sidecar
        self._armed: tuple[int, int] | None = None
        self._changed = threading.Event()
        threading.Thread(target=self._watch, name="lease-watchdog", daemon=True).start()

    @contextmanager
    def guard(self, execution_id: int, attempt: int) -> Iterator[None]:
        """Watch the fence while the handler of this attempt runs. A request whose fence has
        passed already (the sidecar paused between claiming the run and handing it over)
        never starts its handler: the run may have been rescued meanwhile."""
        overdue = time.monotonic() - self._fence.value
        if overdue >= 0:
            self._stop(execution_id, attempt, overdue)
        self._armed = (execution_id, attempt)
        # A disarmed watchdog looks again within MAX_NAP_SECONDS anyway: waking it for every
        # run would cost a thread switch per run, so only a fence nearer than that does.
        if self._fence.value - time.monotonic() < MAX_NAP_SECONDS:
            self._changed.set()
        try:
            yield
        finally:
            self._armed = None

    def _watch(self) -> None:
        while True:
            armed = self._armed
            if armed is None:
                self._changed.wait(MAX_NAP_SECONDS)
                self._changed.clear()
                continue
            remaining = self._fence.value - time.monotonic()
            if remaining > 0:
                # Renewals only move the fence later: waking at the old one and reading again
                # is enough.
                time.sleep(min(remaining, MAX_NAP_SECONDS))
            elif self._armed == armed:
                self._stop(*armed, overdue=-remaining)

    @staticmethod
    def _stop(execution_id: int, attempt: int, overdue: float) -> None:
        # os.write and os._exit: no locks, no buffers, nothing the handler thread may hold.
        line = (
            f"worker {os.getpid()}: lease of execution {execution_id} attempt {attempt} was not "
            f"renewed in time ({overdue:.2f}s past its fence); stopping the handler\n"
        )
        try:
            os.write(2, line.encode())
            for pgid in list(_child_groups):
                with suppress(OSError):  # gone already
                    os.killpg(pgid, signal.SIGKILL)
        finally:
            os._exit(FENCED_EXIT_CODE)


@contextmanager
def lease_guard(watchdog: Watchdog | None, request: dict[str, Any]) -> Iterator[None]:
    """``watchdog.guard`` for a run request, or nothing when the worker has no fence."""
    if watchdog is None:
        yield
        return
    with watchdog.guard(request["execution_id"], request["attempt"]):
        yield

"""Lease fencing in real worker processes, and the start-up check of the lease timing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import types

import pytest
from pydantic import ValidationError

from grove_jobs.engine.dispatch import ClaimedRun
from grove_jobs.settings import Settings
from scheduler.pool import WorkerPool


def _run(execution_id: int, **parameters) -> ClaimedRun:
    return ClaimedRun(
        execution_id=execution_id,
        config_id="c",
        attempt=1,
        max_attempts=1,
        job_type="synthetic",
        parameters={"jobType": "synthetic", **parameters},
        batch_size=100,
        timeout_seconds=120,
        retry={},
    )


@pytest.fixture
def pool(monkeypatch):
    # Workers re-run the parent's main module; stand in a plain one (see test_worker_pool).
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    workers = WorkerPool(1, None)
    yield workers
    workers.close()


def _messages(slot, timeout: float = 30.0) -> list[tuple]:
    """Every message until ``done`` or the end of the pipe (the worker ended itself)."""
    received = []
    while slot.conn.poll(timeout):
        try:
            message = slot.conn.recv()
        except EOFError:
            break
        received.append(message)
        if message[0] == "done":
            break
    return received


def test_a_handler_whose_lease_is_not_renewed_is_stopped_at_its_fence(pool):
    slot = pool.slots[0]
    pool.submit(slot, _run(1, items=40, durationSeconds=40), time.monotonic() + 1.0)
    received = _messages(slot)
    stopped = time.monotonic()
    assert received[0][4:] == ("info", "processing 40 items")
    assert not any(m[0] == "done" for m in received)
    assert pool.fenced(slot)
    # Stopped at its fence, not at the end of the 40 s run.
    assert stopped - slot.fence.value < 20


def test_a_request_whose_fence_has_passed_never_starts_its_handler(pool):
    # The sidecar was paused between claiming the run and handing it over: its lease may
    # have run out and the run been rescued meanwhile.
    slot = pool.slots[0]
    pool.submit(slot, _run(3, items=5, durationSeconds=1), time.monotonic() - 0.5)
    assert _messages(slot) == []  # not one line from the handler
    assert pool.fenced(slot)


def test_renewals_keep_a_handler_running_to_the_end(pool):
    slot = pool.slots[0]
    pool.submit(slot, _run(2, items=6, durationSeconds=3), time.monotonic() + 1.0)
    done = None
    while done is None:
        pool.renew(slot, time.monotonic() + 1.0)  # as heartbeats would
        if slot.conn.poll(0.2):
            message = slot.conn.recv()
            done = message if message[0] == "done" else None
    assert done[1:4] == (2, 1, "success")
    assert slot.process.is_alive()


def test_an_idle_worker_past_its_fence_is_left_alone(pool):
    slot = pool.slots[0]
    pool.submit(slot, _run(3, items=1), time.monotonic() + 5.0)
    assert _messages(slot)[-1][0] == "done"
    pool.release(slot)
    slot.fence.value = time.monotonic() - 1  # long past, but no handler runs
    time.sleep(1.5)  # longer than the watchdog's nap: it has looked
    assert slot.process.is_alive()


@pytest.mark.parametrize(
    ("lease", "heartbeat", "margin"), [(6, 1, None), (30, 5, None), (3, 0.5, None), (60, 5, 30)]
)
def test_lease_timings_that_leave_three_heartbeats_per_budget_pass(lease, heartbeat, margin):
    settings = Settings(
        lease_seconds=lease, heartbeat_interval_seconds=heartbeat, lease_margin_seconds=margin
    )
    assert settings.lease_budget / 3 >= heartbeat


def test_the_default_margin_is_the_smaller_of_five_seconds_and_a_third_of_the_lease():
    assert Settings(lease_seconds=6, heartbeat_interval_seconds=1).lease_margin == 2
    assert Settings().lease_margin == 5


@pytest.mark.parametrize(
    ("lease", "heartbeat", "margin", "field"),
    [
        (6, 2, None, "GROVE_HEARTBEAT_INTERVAL_SECONDS"),
        (30, 9, None, "GROVE_HEARTBEAT_INTERVAL_SECONDS"),
        (10, 1, 10, "GROVE_LEASE_MARGIN_SECONDS"),
    ],
)
def test_lease_timings_without_room_for_three_heartbeats_are_refused(
    lease, heartbeat, margin, field
):
    with pytest.raises(ValidationError, match=field):
        Settings(
            lease_seconds=lease, heartbeat_interval_seconds=heartbeat, lease_margin_seconds=margin
        )


def test_the_scheduler_refuses_to_start_with_a_too_slow_heartbeat(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "GROVE_DATA_DIR": str(tmp_path),
        "GROVE_LEASE_SECONDS": "6",
        "GROVE_HEARTBEAT_INTERVAL_SECONDS": "2",
    }
    result = subprocess.run(
        [sys.executable, "-m", "grove_jobs.cli", "scheduler"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "GROVE_HEARTBEAT_INTERVAL_SECONDS (2) must be at most" in result.stderr
    assert not (tmp_path / "grove.db").exists()  # refused before touching anything


def test_a_worker_stopped_at_its_fence_kills_the_process_groups_its_handler_started() -> None:
    probe = (
        "import subprocess, sys\n"
        "from grove_jobs.engine.fencing import Watchdog, child_group\n"
        "child = subprocess.Popen(['sleep', '60'], start_new_session=True)\n"
        "print(child.pid, flush=True)\n"
        "with child_group(child.pid):\n"
        "    Watchdog._stop(1, 1, overdue=0.0)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 75  # FENCED_EXIT_CODE
    pid = int(done.stdout.split()[0])
    deadline = time.monotonic() + 10
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        # A killed child of a gone parent is reaped by init; until then it is a zombie.
        with open(f"/proc/{pid}/stat") as stat:
            if stat.read().split()[2] == "Z":
                break
        assert time.monotonic() < deadline, "the handler's process group outlived the worker"
        time.sleep(0.05)

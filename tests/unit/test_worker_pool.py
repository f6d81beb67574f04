"""The worker pool: real worker processes, replaced when hung, started from a warm fork server."""

from __future__ import annotations

import sys
import time
import types
from importlib.machinery import ModuleSpec

import pytest

from grove_jobs.engine.dispatch import ClaimedRun
from grove_jobs.jobs.registry import job_types
from scheduler.pool import WorkerPool, forkserver_preload


def _run(execution_id: int, **parameters) -> ClaimedRun:
    return ClaimedRun(
        execution_id=execution_id,
        config_id="c",
        attempt=1,
        max_attempts=1,
        job_type="synthetic",
        parameters={"jobType": "synthetic", **parameters},
        batch_size=10,
        timeout_seconds=30,
        retry={},
    )


def _done(pool: WorkerPool, index: int, timeout: float = 20.0) -> tuple:
    slot = pool.slots[index]
    while True:
        assert slot.conn.poll(timeout), "the worker did not answer"
        message = slot.conn.recv()
        if message[0] == "done":
            pool.release(slot)
            return message


def test_a_replaced_worker_runs_the_next_attempt(monkeypatch):
    # Workers re-run the parent's main module; inside pytest that may be a script another
    # test left behind (Streamlit's AppTest), so stand in a plain one, as ``python -c`` has.
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    pool = WorkerPool(1, None)
    try:
        pool.submit(pool.slots[0], _run(1, hang=True), time.monotonic() + 600)
        conn = pool.slots[0].conn
        assert conn.poll(20)
        assert conn.recv()[4:] == (
            "warn",
            "hanging on purpose; only the hard timeout will stop this run",
        )
        assert not conn.poll(0.3)  # hung, as asked
        pool.release(pool.slots[0])
        pool.replace(pool.slots[0])
        pool.submit(pool.slots[0], _run(2, items=2), time.monotonic() + 600)
        message = _done(pool, 0)
        assert message[1:4] == (2, 1, "success")
        assert message[4:6] == (2, 2)
    finally:
        pool.close()


@pytest.mark.parametrize(
    ("main_spec", "extra"),
    [
        ("grove_jobs.cli", ["grove_jobs.cli"]),  # python -m of a plain module: re-run by name
        ("grove_jobs.cli.__main__", []),  # python -m grove_jobs.cli: a package's __main__
        ("scheduler.__main__", []),  # multiprocessing never re-runs a package's __main__
        (None, []),  # the grove-jobs script: re-run by path, its imports already loaded
    ],
)
def test_the_fork_server_preloads_what_each_worker_would_otherwise_import(
    monkeypatch, main_spec, extra
):
    main = types.ModuleType("__main__")
    main.__spec__ = ModuleSpec(main_spec, None) if main_spec else None
    monkeypatch.setitem(sys.modules, "__main__", main)
    # The job types' modules too, so a fresh worker has every type without discovering them.
    plugins = sorted({kind.module for kind in job_types()})
    assert "acme_jobs.jobs" in plugins and "grove_jobs.jobs.builtin.synthetic" in plugins
    assert forkserver_preload() == ["grove_jobs.engine.worker", "grove_jobs.cli", *plugins, *extra]

"""A global pause honoured by two real sidecars sharing PostgreSQL: a running run goes on,
queued scheduled runs wait while a manual run starts, and resume lets the waiting run start."""

from __future__ import annotations

import subprocess
import sys

import pytest

from grove_jobs.engine.enqueue import run_now
from grove_jobs.executions.queries import get_execution
from tests.factories import create, synthetic_config
from tests.reliability.conftest import ROOT, wait_for

pytestmark = pytest.mark.slow
ONLY_POSTGRES = pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
CLI = [sys.executable, "-m", "grove_jobs.cli"]


def _cli(db, *args: str) -> None:
    subprocess.run([*CLI, "--database-url", db.url, *args], cwd=ROOT, check=True)


@ONLY_POSTGRES
def test_two_sidecars_honour_a_pause_set_from_the_cli(db, start_sidecar):
    create(db, synthetic_config("slow", items=4, duration=2.0))
    create(db, synthetic_config("quick", items=1, max_concurrent=5))
    start_sidecar()
    start_sidecar()
    running = run_now(db, "slow", requested_by="test")
    wait_for(db, running.id, {"running"})

    _cli(db, "pause", "--reason", "pg migration")
    waiting = run_now(db, "quick", requested_by="scheduler", trigger="schedule")
    manual = run_now(db, "quick", requested_by="ann", request_id="manual-1")
    assert wait_for(db, manual.id, {"success", "failed"}).status == "success"
    # Both sidecars claimed at least once after the pause (one of them took the manual run,
    # and the running one has finished or is heartbeating); the scheduled run still waits.
    assert get_execution(db, waiting.id).status == "queued"
    assert wait_for(db, running.id, {"success", "failed"}).status == "success"
    assert get_execution(db, waiting.id).status == "queued"

    _cli(db, "resume")
    assert wait_for(db, waiting.id, {"success", "failed"}).status == "success"

"""Real sidecar processes for the reliability tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from grove_jobs.db.engine import Database
from grove_jobs.executions.queries import get_execution

ROOT = Path(__file__).resolve().parents[2]


class SidecarHung(subprocess.TimeoutExpired):
    """A sidecar did not exit after SIGTERM; the message carries the end of its log, which is
    what says where it was stuck."""

    def __str__(self) -> str:
        tail = (self.output or "")[-6000:]
        return f"sidecar did not exit within {self.timeout:g}s of SIGTERM; its log ends:\n{tail}"


class SidecarProcess:
    """``grove-jobs scheduler`` in a subprocess, its output captured to a log file."""

    def __init__(self, url: str, log_path: Path, **env: str):
        self.url = url
        self.log_path = log_path
        self.env = {
            **os.environ,
            "GROVE_DATABASE_URL": url,
            "GROVE_WORKERS": "2",
            "GROVE_TICK_INTERVAL_SECONDS": "0.5",
            "GROVE_POLL_INTERVAL_SECONDS": "0.2",
            "GROVE_HEARTBEAT_INTERVAL_SECONDS": "0.5",
            "GROVE_LEASE_SECONDS": "3",
            "GROVE_SHUTDOWN_GRACE_SECONDS": "2",
            "GROVE_API_ENABLED": "false",
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.process: subprocess.Popen | None = None
        self.command = [sys.executable, "-m", "grove_jobs.cli", "scheduler"]

    def start(self) -> SidecarProcess:
        with self.log_path.open("a") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill() takes the workers too
            )
        self.wait_for_log("started")
        return self

    def wait_for_log(self, text: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return
            if self.process and self.process.poll() is not None:
                raise AssertionError(f"sidecar exited early:\n{self.output()}")
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not seen within {timeout}s:\n{self.output()}")

    def output(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def terminate(self, timeout: float = 15.0) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise SidecarHung(exc.cmd, timeout, self.output()) from None

    def kill(self) -> None:
        """SIGKILL the sidecar and its workers: a machine dying mid-run."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            try:
                self.terminate()
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def sidecars(tmp_path: Path) -> Iterator[list[SidecarProcess]]:
    """Started sidecars are collected here and stopped after the test."""
    started: list[SidecarProcess] = []
    yield started
    for sidecar in started:
        sidecar.stop()


@pytest.fixture
def start_sidecar(sidecars, tmp_path: Path, migrated_url: str):
    """Start another sidecar on the test's database."""

    def start(**env: str) -> SidecarProcess:
        sidecar = SidecarProcess(migrated_url, tmp_path / f"sidecar-{len(sidecars)}.log", **env)
        sidecars.append(sidecar)
        return sidecar.start()

    return start


def wait_for(db: Database, execution_id: int, statuses: set[str], timeout: float = 30.0):
    """Poll until the execution reaches one of ``statuses``; returns it."""
    deadline = time.monotonic() + timeout
    execution = get_execution(db, execution_id)
    while execution.status not in statuses:
        if time.monotonic() > deadline:
            raise AssertionError(f"execution {execution_id} still {execution.status}")
        time.sleep(0.05)
        execution = get_execution(db, execution_id)
    return execution

"""The API as served by a real ``grove-jobs scheduler`` process: 401 without a token, 202 with
a run-scoped one, and the run reaches success; SIGTERM stops the API with the sidecar."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from grove_jobs.auth.tokens import create_token
from grove_jobs.db import migrate
from grove_jobs.db.engine import Database
from grove_jobs.demo import seed
from grove_jobs.jobs.registry import find_job_type
from grove_jobs.schema.execution import TERMINAL_STATUSES

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Prometheus text, parsed by prometheus_client: (name, labels) -> value."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _grove_jobs() -> list[str]:
    script = Path(sys.executable).with_name("grove-jobs")
    return [str(script)] if script.exists() else [sys.executable, "-m", "grove_jobs.cli"]


@pytest.fixture
def sidecar(tmp_path: Path) -> Iterator[tuple[str, Database, subprocess.Popen]]:
    url = f"sqlite:///{tmp_path / 'grove.db'}"
    migrate.upgrade(url)
    db = Database(url)
    seed(db, actor="test")
    port = _free_port()
    log = (tmp_path / "sidecar.log").open("w")
    env = {
        **os.environ,
        "GROVE_DATABASE_URL": url,
        "GROVE_DATA_DIR": str(tmp_path),
        "GROVE_API_HOST": "127.0.0.1",
        "GROVE_API_PORT": str(port),
        "GROVE_API_ENABLED": "true",
        "GROVE_WORKERS": "2",
        "GROVE_TICK_INTERVAL_SECONDS": "0.5",
        "GROVE_POLL_INTERVAL_SECONDS": "0.2",
        "GROVE_SHUTDOWN_GRACE_SECONDS": "2",
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [*_grove_jobs(), "scheduler"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, process, tmp_path / "sidecar.log")
        yield base, db, process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()
        db.dispose()


def _wait_healthy(base: str, process: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"sidecar exited:\n{log.read_text()}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"API not healthy within {timeout}s:\n{log.read_text()}")


def _wait_terminal(base: str, reader: str, execution_id: int, timeout: float = 60) -> dict:
    headers = {"Authorization": f"Bearer {reader}"}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = httpx.get(f"{base}/api/executions/{execution_id}", headers=headers).json()
        if body["status"] in TERMINAL_STATUSES:
            return body
        time.sleep(0.2)
    raise AssertionError(f"execution {execution_id} still {body['status']} after {timeout}s")


def test_trigger_through_a_running_sidecar(sidecar: tuple[str, Database, subprocess.Popen]) -> None:
    base, db, process = sidecar
    _, runner = create_token(db, name="ci", scopes={"run"}, created_by="test")
    _, reader = create_token(db, name="watch", scopes={"read"}, created_by="test")
    url = f"{base}/api/jobs/mock-health-check/trigger"

    denied = httpx.post(url)
    assert denied.status_code == 401
    assert denied.headers["WWW-Authenticate"].startswith("Bearer")

    response = httpx.post(url, headers={"Authorization": f"Bearer {runner}"})
    assert response.status_code == 202, response.text
    execution = response.json()
    assert execution["requestedBy"] == "token:ci"
    # Scopes are independent: a run-only token cannot read the execution back.
    forbidden = httpx.get(
        f"{base}/api/executions/{execution['id']}", headers={"Authorization": f"Bearer {runner}"}
    )
    assert forbidden.status_code == 403

    assert find_job_type("health-check") is not None
    done = _wait_terminal(base, reader, execution["id"])
    assert done["status"] == "success", done
    assert done["renderTree"]["children"][0]["props"]["phase"] == "complete"

    # The sidecar's own metrics, read with prometheus_client's parser; at least our run (its
    # */5 schedule may have fired during the test as well).
    samples = _samples(httpx.get(f"{base}/metrics").text)
    ours = {"job_type": "health-check", "status": "success"}
    assert samples[("grove_attempt_duration_seconds_count", frozenset(ours.items()))] >= 1
    assert samples[("grove_queue_wait_seconds_count", frozenset({("job_type", "health-check")}))]
    assert samples[("grove_claim_latency_seconds_count", frozenset())] >= 1
    assert samples[("grove_tick_duration_seconds_count", frozenset())] >= 1
    assert samples[("process_cpu_seconds_total", frozenset())] > 0
    cluster = _samples(httpx.get(f"{base}/metrics/cluster").text)
    assert cluster[("grove_runs", frozenset({("status", "success")}))] >= 1
    health = httpx.get(f"{base}/healthz").json()
    assert health["status"] == "ok" and health["lastTickAgeSeconds"] < 30

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base}/healthz", timeout=1)

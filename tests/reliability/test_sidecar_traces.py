"""OpenTelemetry spans from a real sidecar process (traced_sidecar.py records them with the
SDK's in-memory exporter and writes them out on SIGTERM): tick, claim, and one span per
attempt carrying the run's identity."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import httpx
import pytest

from grove_jobs.auth.tokens import create_token
from grove_jobs.engine.enqueue import run_now
from grove_jobs.observability import traces
from tests.factories import create, synthetic_config
from tests.integration.test_api_process import _free_port, _wait_healthy
from tests.reliability.conftest import SidecarProcess, wait_for

pytestmark = pytest.mark.slow
ONLY_SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _traced_sidecar(url: str, tmp_path: Path, **env: str) -> tuple[SidecarProcess, Path]:
    """A started sidecar recording its spans; they are written to the returned path when it
    stops."""
    out = tmp_path / "spans.json"
    sidecar = SidecarProcess(url, tmp_path / "sidecar.log", **env)
    sidecar.command = [sys.executable, "-m", "tests.reliability.traced_sidecar", str(out)]
    return sidecar.start(), out


@ONLY_SQLITE
def test_tick_claim_and_attempt_spans(db, migrated_url, tmp_path) -> None:
    create(db, synthetic_config("quick", items=2))
    create(db, synthetic_config("broken", fail_first=5))
    sidecar, out = _traced_sidecar(migrated_url, tmp_path, GROVE_WORKERS="1")
    try:
        ok = run_now(db, "quick", requested_by="test")
        failed = run_now(db, "broken", requested_by="test")
        done = wait_for(db, ok.id, {"success", "failed"}, timeout=30)
        assert done.status == "success", done.error
        assert wait_for(db, failed.id, {"failed"}, timeout=30).status == "failed"
        assert sidecar.terminate() == 0
    finally:
        sidecar.stop()
    spans = json.loads(out.read_text())
    assert {"grove.tick", "grove.claim", "grove.attempt"} <= {span["name"] for span in spans}
    attempts = {
        s["attributes"]["grove.config_id"]: s for s in spans if s["name"] == "grove.attempt"
    }
    good, bad = attempts["quick"], attempts["broken"]
    assert (
        good["attributes"].items()
        >= {
            "grove.execution_id": ok.id,
            "grove.job_type": "synthetic",
            "grove.attempt": 1,
            "grove.status": "success",
        }.items()
    )
    assert good["ok"] and not bad["ok"]
    assert bad["attributes"]["grove.status"] == "failed"
    # An attempt is a child of the claim that handed it out.
    claims = {s["span_id"]: s for s in spans if s["name"] == "grove.claim"}
    assert good["parent_id"] in claims
    assert claims[good["parent_id"]]["trace_id"] == good["trace_id"]


@ONLY_SQLITE
def test_runs_claimed_ahead_are_children_of_their_claim(db, migrated_url, tmp_path) -> None:
    create(db, synthetic_config("quick", max_concurrent=16))
    sidecar, out = _traced_sidecar(migrated_url, tmp_path, GROVE_WORKERS="2")
    try:
        runs = [run_now(db, "quick", requested_by="test", request_id=f"r{n}") for n in range(60)]
        for run in runs:
            assert wait_for(db, run.id, {"success"}, timeout=60)
        assert sidecar.terminate() == 0
    finally:
        sidecar.stop()
    spans = json.loads(out.read_text())
    claims = {s["span_id"] for s in spans if s["name"] == "grove.claim"}
    parents = [s["parent_id"] for s in spans if s["name"] == "grove.attempt"]
    assert len(parents) == 60 and set(parents) <= claims
    assert max(Counter(parents).values()) > 2  # a claim handed out more runs than slots


@ONLY_SQLITE
def test_an_api_trigger_carries_its_traceparent_into_the_run(db, migrated_url, tmp_path) -> None:
    create(db, synthetic_config("traced"))
    _, secret = create_token(db, name="ci", scopes={"run"}, created_by="test")
    port = _free_port()
    api = {"GROVE_API_ENABLED": "true", "GROVE_API_PORT": str(port)}
    sidecar, out = _traced_sidecar(migrated_url, tmp_path, GROVE_WORKERS="1", **api)
    trace_id, caller_span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    url = f"http://127.0.0.1:{port}/api/jobs/traced/trigger"
    auth = {"Authorization": f"Bearer {secret}"}
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", sidecar.process, sidecar.log_path)
        joined = httpx.post(url, headers={**auth, "traceparent": f"00-{trace_id}-{caller_span}-01"})
        malformed = httpx.post(url, headers={**auth, "traceparent": "00-not-a-trace-01"})
        assert (joined.status_code, malformed.status_code) == (202, 202), joined.text
        for response in (joined, malformed):
            assert wait_for(db, response.json()["id"], {"success"}, timeout=30)
        assert sidecar.terminate() == 0
    finally:
        sidecar.stop()
    spans = json.loads(out.read_text())
    attempts = {
        s["attributes"]["grove.execution_id"]: s for s in spans if s["name"] == "grove.attempt"
    }
    claims = {s["span_id"]: s for s in spans if s["name"] == "grove.claim"}
    inside = attempts[joined.json()["id"]]
    # The caller's trace and span are the attempt's; the claim that handed it out is a link.
    assert (inside["trace_id"], inside["parent_id"]) == (int(trace_id, 16), int(caller_span, 16))
    assert len(inside["links"]) == 1 and inside["links"][0] in claims
    # A malformed header is ignored: the attempt is the claim's child, as without one.
    assert attempts[malformed.json()["id"]]["parent_id"] in claims


def test_tracing_is_off_unless_otel_variables_ask(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT",
                 "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    assert not traces.configured() and not traces.setup()
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    assert not traces.configured()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:4318/v1/traces")
    assert traces.configured()

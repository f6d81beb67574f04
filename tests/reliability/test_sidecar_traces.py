"""OpenTelemetry spans from a real sidecar (run in-process, so the in-memory exporter sees
them): tick, claim, and one span per attempt carrying the run's identity."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from grove_jobs.engine.enqueue import run_now
from grove_jobs.observability import traces
from grove_jobs.settings import load_settings
from scheduler.loop import Sidecar
from tests.factories import create, synthetic_config
from tests.reliability.conftest import wait_for

pytestmark = pytest.mark.slow
ONLY_SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    spans = InMemorySpanExporter()
    assert traces.setup("grove-jobs-test", exporter=spans)
    yield spans
    traces.shutdown()


@ONLY_SQLITE
def test_tick_claim_and_attempt_spans(db, tmp_path, exporter) -> None:
    create(db, synthetic_config("quick", items=2))
    create(db, synthetic_config("broken", fail_first=5))
    settings = load_settings(
        database_url=db.url,
        data_dir=tmp_path,
        workers=1,
        api_enabled=False,
        tick_interval_seconds=0.2,
        poll_interval_seconds=0.1,
    )
    sidecar = Sidecar(settings, db)
    thread = threading.Thread(target=sidecar.run, name="sidecar-under-test")
    thread.start()
    try:
        ok = run_now(db, "quick", requested_by="test")
        failed = run_now(db, "broken", requested_by="test")
        assert wait_for(db, ok.id, {"success"}, timeout=30).status == "success"
        assert wait_for(db, failed.id, {"failed"}, timeout=30).status == "failed"
    finally:
        sidecar.stop()
        thread.join(timeout=30)
    spans = exporter.get_finished_spans()
    names = {span.name for span in spans}
    assert {"grove.tick", "grove.claim", "grove.attempt"} <= names
    attempts = {s.attributes["grove.config_id"]: s for s in spans if s.name == "grove.attempt"}
    good, bad = attempts["quick"], attempts["broken"]
    assert (
        dict(good.attributes).items()
        >= {
            "grove.execution_id": ok.id,
            "grove.job_type": "synthetic",
            "grove.attempt": 1,
            "grove.status": "success",
        }.items()
    )
    assert good.status.is_ok and not bad.status.is_ok
    assert bad.attributes["grove.status"] == "failed"
    # An attempt is a child of the claim that handed it out.
    claims = {s.context.span_id: s for s in spans if s.name == "grove.claim"}
    assert good.parent is not None and good.parent.span_id in claims
    assert claims[good.parent.span_id].context.trace_id == good.context.trace_id


def test_tracing_is_off_unless_otel_variables_ask(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT",
                 "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    assert not traces.configured() and not traces.setup()
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    assert not traces.configured()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:4318/v1/traces")
    assert traces.configured()

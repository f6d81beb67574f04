"""A real sidecar process recording spans with the SDK's in-memory exporter; on SIGTERM it
writes them as JSON to the path given as its argument (run by test_sidecar_traces.py)."""

from __future__ import annotations

import json
import sys

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from grove_jobs.observability import traces
from grove_jobs.observability.logs import configure_logging
from grove_jobs.settings import load_settings
from scheduler.loop import Sidecar


def _span(span) -> dict:
    parent = span.parent.span_id if span.parent is not None else None
    return {
        "name": span.name,
        "trace_id": span.context.trace_id,
        "span_id": span.context.span_id,
        "parent_id": parent,
        "ok": span.status.is_ok,
        "links": [link.context.span_id for link in span.links],
        "attributes": dict(span.attributes),
    }


def main(out: str) -> None:
    spans = InMemorySpanExporter()
    traces.setup("grove-jobs-test", exporter=spans)
    settings = load_settings()
    configure_logging(settings.log_level)
    sidecar = Sidecar(settings)
    sidecar.install_signal_handlers()
    sidecar.run()
    with open(out, "w") as file:
        json.dump([_span(s) for s in spans.get_finished_spans()], file)


if __name__ == "__main__":
    main(sys.argv[1])

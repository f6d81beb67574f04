"""OpenTelemetry spans for ticks, claims and attempts, only when tracing is configured.

Tracing starts when ``OTEL_TRACES_EXPORTER`` (other than ``none``) or an
``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set; the rest of
the standard ``OTEL_*`` variables (service name, resource attributes, sampler, OTLP headers)
are read by the SDK itself. Without them nothing here imports OpenTelemetry, so processes that
do not trace do not pay for it.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Callable
from typing import Any

log = logging.getLogger("grove_jobs.traces")
_tracer: Any = None  # an opentelemetry Tracer once set up
_attempts: dict[tuple[int, int], Any] = {}
# W3C Trace Context, version 00: trace id and parent id must not be all zeros.
_TRACEPARENT = re.compile(r"00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}")


def valid_traceparent(header: str | None) -> str | None:
    """``header`` when it is a W3C ``traceparent`` we can continue, else None: per the
    specification a malformed one is ignored, never an error for the caller."""
    if header is None:
        return None
    header = header.strip()  # the specification's hex digits are lower case only
    return header if _TRACEPARENT.fullmatch(header) else None


def configured() -> bool:
    """Whether the environment asks for traces."""
    exporter = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    endpoints = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    return (exporter not in ("", "none")) or any(os.environ.get(name) for name in endpoints)


def _exporter() -> Any:
    name = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() or "otlp"
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if name != "otlp":
        raise ValueError(f"OTEL_TRACES_EXPORTER: 'otlp', 'console' or 'none', not {name!r}")
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError as exc:  # optional: pip install 'grove-jobs[otlp]'
        raise ValueError(
            "OTEL_TRACES_EXPORTER=otlp needs opentelemetry-exporter-otlp-proto-http installed"
        ) from exc
    return OTLPSpanExporter()


def setup(service_name: str = "grove-jobs", exporter: Any = None) -> bool:
    """Start tracing when configured (or with an explicit ``exporter``, as tests do).
    Returns whether spans are now recorded."""
    global _tracer
    if exporter is None and not configured():
        return False
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    resource = Resource.create({"service.name": service_name})  # OTEL_SERVICE_NAME overrides
    provider = TracerProvider(resource=resource)
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        provider.add_span_processor(BatchSpanProcessor(_exporter()))
    _tracer = provider.get_tracer("grove_jobs")
    log.info("tracing on")
    return True


def shutdown() -> None:
    """Stop recording (flushes the exporter)."""
    global _tracer
    if _tracer is not None:
        provider = getattr(_tracer, "_provider", None)  # set by the SDK's get_tracer
        _tracer = None
        if provider is not None:
            provider.shutdown()


def traced(name: str) -> Callable:
    """Decorator: run the function inside a span called ``name`` when tracing is on."""

    def wrap(func: Callable) -> Callable:
        @functools.wraps(func)
        def inner(*args: Any, **kwargs: Any) -> Any:
            if _tracer is None:
                return func(*args, **kwargs)
            with _tracer.start_as_current_span(name):
                return func(*args, **kwargs)

        return inner

    return wrap


def current() -> Any:
    """The active trace context (the claim's, inside it), to start an attempt from later;
    None when tracing is off."""
    if _tracer is None:
        return None
    from opentelemetry import context

    return context.get_current()


def attempt_started(run: Any, claim: Any = None) -> None:
    """Open the attempt's span (ended by attempt_finished): a child of the API call that
    queued the run when it sent a ``traceparent`` (linked to the claim), else of the claim:
    ``claim``, a context from :func:`current` taken in the claim, else the active one."""
    if _tracer is None:
        return
    attributes = {
        "grove.execution_id": run.execution_id,
        "grove.config_id": run.config_id,
        "grove.job_type": run.job_type,
        "grove.attempt": run.attempt,
    }
    if (trigger := getattr(run, "trigger", None)) is not None:
        attributes["grove.trigger"] = trigger
    context, links = claim, None
    if parent := getattr(run, "trace_parent", None):
        from opentelemetry import trace
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        context = TraceContextTextMapPropagator().extract({"traceparent": parent})
        links = [trace.Link(trace.get_current_span(claim).get_span_context())]
    _attempts[(run.execution_id, run.attempt)] = _tracer.start_span(
        "grove.attempt", context=context, attributes=attributes, links=links
    )


def attempt_finished(run: Any, status: str) -> None:
    """End the attempt's span with its status."""
    span = _attempts.pop((run.execution_id, run.attempt), None)
    if span is None:
        return
    from opentelemetry.trace import Status, StatusCode

    span.set_attribute("grove.status", status)
    if status not in ("success", "partial", "skipped"):
        span.set_status(Status(StatusCode.ERROR, status))
    span.end()

"""This process's Prometheus metrics (prometheus_client's default registry).

Each sidecar exposes its own counters and histograms on ``/metrics``, beside the library's
process metrics; the database-wide gauges live in ``cluster.py`` so that summing over
sidecars does not multiply them. Per-config series exist only with
``GROVE_METRICS_PER_CONFIG=1``: a label per config is unbounded cardinality.
"""

from __future__ import annotations

import os
import time
from datetime import datetime

from prometheus_client import REGISTRY, Counter, Histogram, generate_latest

from grove_jobs.clock import utcnow

# Jobs run from milliseconds to hours.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900,
                    3600)  # fmt: skip
FAST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

ATTEMPT_DURATION = Histogram(
    "grove_attempt_duration_seconds",
    "Duration of attempts this sidecar ran, from hand-off to a worker to the outcome.",
    ["job_type", "status"],
    buckets=DURATION_BUCKETS,
)
CLAIM_LATENCY = Histogram(
    "grove_claim_latency_seconds",
    "Duration of one record-and-claim transaction.",
    buckets=FAST_BUCKETS,
)
QUEUE_WAIT = Histogram(
    "grove_queue_wait_seconds",
    "From a run becoming claimable (queued, or a retry's not-before) to a worker starting it.",
    ["job_type"],
    buckets=DURATION_BUCKETS,
)
TICK_DURATION = Histogram(
    "grove_tick_duration_seconds", "Duration of this sidecar's ticks.", buckets=FAST_BUCKETS
)
SCHEDULE_LAG = Histogram(
    "grove_schedule_lag_seconds",
    "How late a tick started after the earliest schedule it found due.",
    buckets=FAST_BUCKETS,
)
CONFIG_ATTEMPTS = Counter(
    "grove_config_attempts",
    "Attempts finished by config and status (only with GROVE_METRICS_PER_CONFIG=1).",
    ["config_id", "status"],
)

_started: dict[tuple[int, int], float] = {}


def per_config_enabled() -> bool:
    """Whether per-config series are on (``GROVE_METRICS_PER_CONFIG=1``)."""
    return os.environ.get("GROVE_METRICS_PER_CONFIG", "").strip().lower() in ("1", "true", "yes")


def attempt_started(run) -> None:
    """A claimed run went to a worker: remember when, and observe its queue wait."""
    _started[(run.execution_id, run.attempt)] = time.monotonic()
    if run.ready_at is not None:
        wait = (utcnow() - run.ready_at).total_seconds()
        QUEUE_WAIT.labels(run.job_type).observe(max(0.0, wait))


def attempt_finished(run, status: str) -> None:
    """An attempt has its outcome (success, failure, timeout, cancel, worker death)."""
    started = _started.pop((run.execution_id, run.attempt), None)
    if started is not None:
        ATTEMPT_DURATION.labels(run.job_type, status).observe(time.monotonic() - started)
    if per_config_enabled():
        CONFIG_ATTEMPTS.labels(run.config_id, status).inc()


def tick_done(duration_ms: float, due: datetime | None, started: datetime) -> None:
    """A tick finished; ``due`` is the earliest next_run_at known before it started."""
    TICK_DURATION.observe(duration_ms / 1000)
    if due is not None and due <= started:
        SCHEDULE_LAG.observe((started - due).total_seconds())


def exposition() -> bytes:
    """This process's metrics in the Prometheus text format."""
    return generate_latest(REGISTRY)

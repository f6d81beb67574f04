"""The database-wide gauges, exposed once (``/metrics/cluster``) rather than by every sidecar:
runs by status, queue depth, schedule lag, the freshest tick, and per-config counts with
``GROVE_METRICS_PER_CONFIG=1``."""

from __future__ import annotations

from datetime import datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy.exc import SQLAlchemyError

from grove_jobs.configs.query import schedule_lag_seconds
from grove_jobs.db.engine import Database
from grove_jobs.executions.queries import (
    counts_by_config_and_status,
    counts_by_status,
    latest_recorded_tick,
)
from grove_jobs.observability.metrics import per_config_enabled
from grove_jobs.schema.execution import ExecutionStatus


class ClusterCollector:
    """Reads the gauges from the database at every scrape."""

    def __init__(self, db: Database, at: datetime):
        self.db, self.at = db, at

    def collect(self):
        up = GaugeMetricFamily("grove_database_up", "1 when the database answers.")
        try:
            with self.db.read() as session:
                by_status = counts_by_status(session)
                lag = schedule_lag_seconds(session, self.at)
                tick = latest_recorded_tick(session)
                by_config = counts_by_config_and_status(session) if per_config_enabled() else []
        except SQLAlchemyError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        runs = GaugeMetricFamily(
            "grove_runs", "Executions in the database by status.", labels=["status"]
        )
        for status in ExecutionStatus:
            runs.add_metric([status.value], by_status.get(status.value, 0))
        yield runs
        depth = by_status.get("queued", 0) + by_status.get("retrying", 0)
        yield GaugeMetricFamily(
            "grove_queue_depth", "Executions waiting to run (queued or retrying).", value=depth
        )
        yield GaugeMetricFamily(
            "grove_cluster_schedule_lag_seconds",
            "Seconds the most overdue schedule is late (0 when none is).",
            value=round(lag, 3),
        )
        if tick is not None:
            yield GaugeMetricFamily(
                "grove_last_tick_timestamp_seconds",
                "Unix time of the freshest tick any sidecar recorded.",
                value=tick[0].timestamp(),
            )
        if per_config_enabled():
            family = GaugeMetricFamily(
                "grove_config_runs",
                "Executions in the database by config and status.",
                labels=["config_id", "status"],
            )
            for config_id, status, count in by_config:
                family.add_metric([config_id, status], count)
            yield family


def cluster_exposition(db: Database, at: datetime) -> bytes:
    """The database-wide gauges in the Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ClusterCollector(db, at))
    return generate_latest(registry)

"""Domain -> tree: turn executions and their log lines into RenderTrees.

Pure functions: the instant to render for is passed in as ``at``; nothing here reads the clock.
Trees carry instants in UTC; renderers convert them to the timezone the tree names.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from grove_jobs.clock import humanize_duration
from grove_jobs.render.catalog import Catalog, Props
from grove_jobs.render.catalogs import (
    JOB_HISTORY,
    JOB_STATUS,
    DurationChartProps,
    DurationRun,
    ExecutionTimelineProps,
    JobErrorAlertProps,
    JobLogEntryProps,
    JobMetricRowProps,
    JobPhaseIndicatorProps,
    JobProgressBarProps,
    MetricColor,
    MetricItem,
    NextRunCountdownProps,
    StatusCountsProps,
    SuccessRateProps,
    TextProps,
    TimelineRun,
)
from grove_jobs.render.model import RenderElement, RenderMeta, RenderTree
from grove_jobs.schema.execution import (
    FAILURE_STATUSES,
    STATUS_LABELS,
    TERMINAL_STATUSES,
    Execution,
    ExecutionStatus,
    LogLine,
    phase_of,
)

S = ExecutionStatus
STATUS_COLORS: dict[ExecutionStatus, MetricColor] = {
    S.QUEUED: "default",
    S.RUNNING: "blue",
    S.RETRYING: "amber",
    S.SUCCESS: "green",
    S.PARTIAL: "amber",
    S.SKIPPED: "default",
    S.FAILED: "red",
    S.TIMED_OUT: "red",
    S.CANCELLED: "default",
}
# Shown when a run ended badly without recording why, so the alert is never empty.
_DEFAULT_ERRORS = {
    S.FAILED: "The run failed without an error message.",
    S.TIMED_OUT: "The run exceeded its timeout.",
    S.CANCELLED: "The run was cancelled.",
    S.RETRYING: "The attempt failed without an error message.",
}
# Partial runs finished (some items failed); they count as succeeded, like a completed phase.
_SUCCEEDED = frozenset({S.SUCCESS, S.PARTIAL})
NO_VALUE = "—"


def execution_tree(
    execution: Execution,
    logs: Sequence[LogLine],
    *,
    next_run_at: datetime | None,
    timezone: str,
    at: datetime,
    log_limit: int = 20,
) -> RenderTree:
    """The JOB_STATUS tree for one run: phase, progress, metrics, error, next run, latest logs."""
    _require_aware(at, "at")
    _require_timezone(timezone)
    if log_limit < 0:
        raise ValueError("log_limit must not be negative")
    status = execution.status
    children = [
        _element(
            "JobPhaseIndicator",
            "phase",
            JobPhaseIndicatorProps(
                phase=phase_of(status),
                status=status.value,
                started_at=_utc(execution.started_at),
                completed_at=_utc(execution.completed_at),
                **_next_attempt(execution),
            ),
        )
    ]
    if execution.items_total is not None:
        children.append(_element("JobProgressBar", "progress", _progress(execution)))
    children.append(_element("JobMetricRow", "metrics", _metrics(execution, at)))
    alert = _error_alert(execution)
    if alert is not None:
        children.append(_element("JobErrorAlert", "error", alert))
    if next_run_at is not None:
        _require_aware(next_run_at, "next_run_at")
        countdown = NextRunCountdownProps(next_run_at=_utc(next_run_at), timezone=timezone)
        children.append(_element("NextRunCountdown", "next-run", countdown))
    children.extend(_log_elements(logs, log_limit))
    return _tree(JOB_STATUS, children, at)


def history_tree(executions: Sequence[Execution], *, timezone: str, at: datetime) -> RenderTree:
    """The JOB_HISTORY tree for many runs: timeline, durations with p50/p95, success, counts."""
    _require_aware(at, "at")
    _require_timezone(timezone)
    runs = sorted(executions, key=lambda e: (_start_of(e), e.id))
    timeline = ExecutionTimelineProps(
        runs=[
            TimelineRun(
                id=e.id,
                status=e.status.value,
                started_at=_start_of(e),
                completed_at=_utc(e.completed_at),
                duration_seconds=_elapsed(e, at),
                trigger=e.trigger,
                attempt=e.attempt,
            )
            for e in runs
        ],
        timezone=timezone,
    )
    finished = [e for e in runs if e.status in TERMINAL_STATUSES and e.duration_seconds is not None]
    durations = [max(0.0, e.duration_seconds or 0.0) for e in finished]
    chart = DurationChartProps(
        runs=[
            DurationRun(id=e.id, status=e.status.value, started_at=_start_of(e), duration_seconds=d)
            for e, d in zip(finished, durations, strict=True)
        ],
        p50=percentile(durations, 0.5) if durations else None,
        p95=percentile(durations, 0.95) if durations else None,
        timezone=timezone,
    )
    succeeded = sum(e.status in _SUCCEEDED for e in runs)
    failed = sum(e.status in FAILURE_STATUSES for e in runs)
    total = succeeded + failed
    rate = SuccessRateProps(
        succeeded=succeeded, failed=failed, total=total, rate=succeeded / total if total else 0.0
    )
    present = {e.status for e in runs}
    counts = StatusCountsProps(
        counts={s.value: sum(e.status == s for e in runs) for s in ExecutionStatus if s in present}
    )
    children = [
        _element("ExecutionTimeline", "timeline", timeline),
        _element("DurationChart", "durations", chart),
        _element("SuccessRate", "success-rate", rate),
        _element("StatusCounts", "status-counts", counts),
    ]
    return _tree(JOB_HISTORY, children, at)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Linear-interpolation percentile (numpy's default), ``fraction`` in [0, 1]."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * fraction
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _next_attempt(execution: Execution) -> dict[str, object]:
    """Which attempt comes next and when, for a run waiting between attempts."""
    if execution.status != S.RETRYING:
        return {}
    return {"attempt": execution.attempt + 1, "next_attempt_at": _utc(execution.run_after)}


def _progress(execution: Execution) -> JobProgressBarProps:
    total = execution.items_total or 0
    processed = execution.items_processed
    if total:
        percentage = min(100.0, max(0.0, processed / total * 100))
    else:
        # Nothing to process: the bar is full once the run is over, empty before.
        percentage = 100.0 if phase_of(execution.status) == "complete" else 0.0
    return JobProgressBarProps(items_processed=processed, items_total=total, percentage=percentage)


def _metrics(execution: Execution, at: datetime) -> JobMetricRowProps:
    elapsed = _elapsed(execution, at)
    items: str | int = execution.items_processed
    if execution.items_total is not None:
        items = f"{execution.items_processed} / {execution.items_total}"
    return JobMetricRowProps(
        metrics=[
            MetricItem(
                label="Duration",
                value=NO_VALUE if elapsed is None else humanize_duration(elapsed),
            ),
            MetricItem(label="Items", value=items),
            MetricItem(
                label="Failed items",
                value=execution.items_failed,
                color="red" if execution.items_failed else "default",
            ),
            MetricItem(
                label="Attempt",
                value=f"{execution.attempt} of {execution.max_attempts}",
                color="amber" if execution.attempt > 1 else "default",
            ),
            MetricItem(label="Trigger", value=execution.trigger),
            MetricItem(
                label="Status",
                value=STATUS_LABELS[execution.status],
                color=STATUS_COLORS[execution.status],
            ),
        ]
    )


def _error_alert(execution: Execution) -> JobErrorAlertProps | None:
    status = execution.status
    if status not in FAILURE_STATUSES and not (status == S.RETRYING and execution.error):
        return None
    # Only a failed attempt comes back; a timeout or a cancel is final (DESIGN.md).
    retryable = execution.retries_left and status in {S.RETRYING, S.FAILED}
    return JobErrorAlertProps(
        error=execution.error or _DEFAULT_ERRORS[status],
        retryable=retryable,
        retry_count=execution.attempt - 1,
        status=status.value,
    )


def _log_elements(logs: Sequence[LogLine], limit: int) -> list[RenderElement]:
    latest = sorted(logs, key=lambda line: (line.at, line.id))[-limit:] if limit else []
    elements = []
    if len(latest) < len(logs):
        note = TextProps(text=f"Latest {len(latest)} of {len(logs)} log lines", variant="caption")
        elements.append(_element("Text", "log-note", note))
    for line in latest:
        entry = JobLogEntryProps(timestamp=_utc(line.at), level=line.level, message=line.message)
        elements.append(_element("JobLogEntry", f"log-{line.id}", entry))
    return elements


def _elapsed(execution: Execution, at: datetime) -> float | None:
    """Seconds run so far (running) or in total (finished); ``None`` if it never started."""
    if execution.started_at is None:
        return None
    if execution.completed_at is not None:
        end = execution.completed_at
    elif execution.status == S.RUNNING:
        end = at
    else:
        return None
    return max(0.0, (end - execution.started_at).total_seconds())


def _start_of(execution: Execution) -> datetime:
    return (execution.started_at or execution.queued_at).astimezone(UTC)


def _element(type_: str, key: str, props: Props) -> RenderElement:
    return RenderElement(type=type_, key=key, props=props.to_json_dict())


def _tree(catalog: Catalog, children: list[RenderElement], at: datetime) -> RenderTree:
    meta = RenderMeta(catalog=catalog.name, version=catalog.version, generated_at=at)
    return RenderTree(children=children, meta=meta)


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def _require_timezone(timezone: str) -> None:
    # Fail here, on the caller's input, rather than later in a renderer.
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{timezone!r} is not an IANA timezone") from None


def _utc(value: datetime | None) -> datetime | None:
    # Trees carry UTC only ("...Z"); which zone to show is the renderer's business.
    return None if value is None else value.astimezone(UTC)

"""The built-in catalogs: BASE layout primitives, JOB_STATUS (one run), JOB_HISTORY (many runs).

Props are strict where JSON is ambiguous: a number must be a JSON number (not ``"5"`` or
``true``), a flag must be a JSON boolean; timestamps are ISO 8601 strings with an offset.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AwareDatetime,
    Field,
    PlainValidator,
    StrictBool,
    StrictInt,
    StrictStr,
    model_validator,
)

from grove_jobs.render.catalog import Catalog, Props
from grove_jobs.schema.execution import LogLevel, Phase, Trigger

# Mirrors ExecutionStatus; a Literal keeps props plain strings (a test pins the two together).
StatusName = Literal[
    "queued",
    "running",
    "retrying",
    "success",
    "partial",
    "failed",
    "timed_out",
    "cancelled",
    "skipped",
]
MetricColor = Literal["default", "green", "red", "amber", "blue"]
BadgeColor = Literal["default", "green", "red", "amber", "blue", "gray"]


def _number_check(*, ge: float | None = None, le: float | None = None) -> Callable[[Any], Any]:
    # A plain validator instead of ``int | float``: a union would tag its errors with member
    # names (``value.int``, ``value.float``) and break the exact JSON paths validation promises.
    def check(value: Any) -> int | float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("must be a number")
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        if ge is not None and value < ge:
            raise ValueError(f"must be at least {ge:g}")
        if le is not None and value > le:
            raise ValueError(f"must be at most {le:g}")
        return value

    return check


def _scalar(value: Any) -> str | int | float:
    if isinstance(value, str):
        return value
    try:
        return _number_check()(value)
    except ValueError:
        raise ValueError("must be a string or a number") from None


def _run_id(value: Any) -> str | int:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("must be a string or an integer")
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA timezone") from None
    return value


Number = Annotated[int | float, PlainValidator(_number_check(), json_schema_input_type=float)]
NonNegativeNumber = Annotated[
    int | float, PlainValidator(_number_check(ge=0), json_schema_input_type=float)
]
Percentage = Annotated[
    int | float, PlainValidator(_number_check(ge=0, le=100), json_schema_input_type=float)
]
Fraction = Annotated[
    int | float, PlainValidator(_number_check(ge=0, le=1), json_schema_input_type=float)
]
Scalar = Annotated[str | int | float, PlainValidator(_scalar, json_schema_input_type=str | float)]
RunId = Annotated[str | int, PlainValidator(_run_id, json_schema_input_type=str | int)]
Count = Annotated[StrictInt, Field(ge=0)]
Timezone = Annotated[StrictStr, AfterValidator(_timezone)]
# Elements are plain JSON here; the tree walker checks each child as an element of its own.
Children = list[Any]


# --- base ------------------------------------------------------------------------------------


class StackProps(Props):
    """Lays its children out in a column (vertical) or a row (horizontal)."""

    direction: Literal["vertical", "horizontal"] = "vertical"
    gap: Literal["small", "medium", "large"] | None = None
    children: Children = Field(default_factory=list)


class TextProps(Props):
    """Plain text; never interpreted as markup."""

    text: StrictStr
    variant: Literal["body", "caption", "heading", "code"] = "body"


class MetricProps(Props):
    """A labelled value with an optional change."""

    label: StrictStr
    value: Scalar
    delta: Scalar | None = None


class BadgeProps(Props):
    """A short coloured label."""

    label: StrictStr
    color: BadgeColor = "default"


class DividerProps(Props):
    """A horizontal rule."""


BASE = Catalog(
    "base",
    "1",
    {
        "Stack": StackProps,
        "Text": TextProps,
        "Metric": MetricProps,
        "Badge": BadgeProps,
        "Divider": DividerProps,
    },
)


# --- job status --------------------------------------------------------------------------------


class JobPhaseIndicatorProps(Props):
    """Where a run is: queued, retrying, running, complete or failed, with its start and end.

    While ``retrying``, ``attempt`` is the attempt that comes next and ``nextAttemptAt`` when
    (version 2 of the catalog added the phase and these two props). ``status`` is the run's
    own status within its phase, so a badge can say "Timed out" rather than "Failed"
    (version 3).
    """

    phase: Phase
    status: StatusName | None = None
    started_at: AwareDatetime | None = None
    completed_at: AwareDatetime | None = None
    attempt: Annotated[StrictInt, Field(ge=1)] | None = None
    next_attempt_at: AwareDatetime | None = None


class JobProgressBarProps(Props):
    """Items processed out of the known total."""

    items_processed: Count
    items_total: Count
    percentage: Percentage


class MetricItem(Props):
    """One cell of a JobMetricRow."""

    label: StrictStr
    value: Scalar
    color: MetricColor = "default"


class JobMetricRowProps(Props):
    """A row of small metrics (duration, items, attempt, trigger, status)."""

    metrics: list[MetricItem] = Field(min_length=1)


class JobLogEntryProps(Props):
    """One log line of a run."""

    timestamp: AwareDatetime
    level: LogLevel
    message: StrictStr


class JobErrorAlertProps(Props):
    """Why a run failed, and whether another attempt will follow. ``status`` (version 3) lets
    the box say the run timed out or was cancelled rather than failed."""

    error: StrictStr = Field(min_length=1)
    retryable: StrictBool
    retry_count: Count | None = None
    status: StatusName | None = None


class NextRunCountdownProps(Props):
    """When the config runs next, shown in its own timezone."""

    next_run_at: AwareDatetime
    timezone: Timezone


JOB_STATUS = Catalog(
    "job-status",
    # 2: the retrying phase, JobPhaseIndicator.attempt / nextAttemptAt;
    # 3: JobPhaseIndicator.status and JobErrorAlert.status (the run's own status word)
    "3",
    {
        "JobPhaseIndicator": JobPhaseIndicatorProps,
        "JobProgressBar": JobProgressBarProps,
        "JobMetricRow": JobMetricRowProps,
        "JobLogEntry": JobLogEntryProps,
        "JobErrorAlert": JobErrorAlertProps,
        "NextRunCountdown": NextRunCountdownProps,
    },
    extends=BASE,
)


# --- job history -------------------------------------------------------------------------------


class TimelineRun(Props):
    """One bar of an ExecutionTimeline. ``startedAt`` is the queue time for runs never started."""

    id: RunId
    status: StatusName
    started_at: AwareDatetime
    completed_at: AwareDatetime | None = None
    duration_seconds: NonNegativeNumber | None = None
    trigger: Trigger
    attempt: Annotated[StrictInt, Field(ge=0)]  # 0: never started (queued, skipped)


class ExecutionTimelineProps(Props):
    """Runs over time, one bar each, coloured by status."""

    runs: list[TimelineRun]
    timezone: Timezone


class DurationRun(Props):
    """One point of a DurationChart (finished runs only)."""

    id: RunId
    status: StatusName
    started_at: AwareDatetime
    duration_seconds: NonNegativeNumber


class DurationChartProps(Props):
    """Duration per finished run with its median and 95th percentile (absent without runs)."""

    runs: list[DurationRun]
    p50: NonNegativeNumber | None = None
    p95: NonNegativeNumber | None = None
    timezone: Timezone

    @model_validator(mode="after")
    def _ordered(self) -> DurationChartProps:
        if self.p50 is not None and self.p95 is not None and self.p95 < self.p50:
            raise ValueError("p95 is below p50")
        return self


class SuccessRateProps(Props):
    """Succeeded and failed finished runs; ``rate`` is succeeded / total (0 when total is 0)."""

    succeeded: Count
    failed: Count
    total: Count
    rate: Fraction

    @model_validator(mode="after")
    def _consistent(self) -> SuccessRateProps:
        if self.succeeded + self.failed > self.total:
            raise ValueError("succeeded + failed exceeds total")
        return self


class StatusCountsProps(Props):
    """How many runs are in each status."""

    counts: dict[StatusName, Count]


JOB_HISTORY = Catalog(
    "job-history",
    "1",
    {
        "ExecutionTimeline": ExecutionTimelineProps,
        "DurationChart": DurationChartProps,
        "SuccessRate": SuccessRateProps,
        "StatusCounts": StatusCountsProps,
    },
    extends=JOB_STATUS,
)

CATALOGS: dict[str, Catalog] = {c.name: c for c in (BASE, JOB_STATUS, JOB_HISTORY)}

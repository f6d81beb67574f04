"""Renderers for the BASE and JOB_STATUS components (and the small JOB_HISTORY summaries).

Text that comes from data is drawn with ``st.text`` / ``st.code`` (never parsed) or, where only a
markdown-taking element fits (labels, captions), escaped first. Markdown written here is
constant apart from numbers and validated enum values.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import streamlit as st

from dashboard.render.registry import escape_markdown, renders
from grove_jobs.clock import humanize_duration
from grove_jobs.render.catalogs import (
    BadgeProps,
    DividerProps,
    JobErrorAlertProps,
    JobLogEntryProps,
    JobMetricRowProps,
    JobPhaseIndicatorProps,
    JobProgressBarProps,
    MetricProps,
    NextRunCountdownProps,
    StackProps,
    StatusCountsProps,
    SuccessRateProps,
    TextProps,
)
from grove_jobs.schedule import humanize_next_run
from grove_jobs.schema.execution import STATUS_LABELS

if TYPE_CHECKING:
    from dashboard.render.registry import RenderContext

# Catalog colours -> st.badge / markdown colour names ("amber" is Streamlit's "orange").
BADGE_COLORS = {
    "default": "primary",
    "green": "green",
    "red": "red",
    "amber": "orange",
    "blue": "blue",
    "gray": "gray",
}
# A phase's badge, for a tree that names no status (a version 2 tree).
PHASES = {
    "queued": ("Queued", "gray", ":material/schedule:"),
    "retrying": ("Retrying", "orange", ":material/replay:"),
    "running": ("Running", "blue", ":material/autorenew:"),
    "complete": ("Complete", "green", ":material/check_circle:"),
    "failed": ("Failed", "red", ":material/error:"),
}
_STATUS_STYLES = {
    "queued": ("gray", ":material/schedule:"),
    "running": ("blue", ":material/autorenew:"),
    "retrying": ("orange", ":material/replay:"),
    "success": ("green", ":material/check_circle:"),
    "partial": ("orange", ":material/rule:"),
    "failed": ("red", ":material/error:"),
    "timed_out": ("red", ":material/timer_off:"),
    "cancelled": ("gray", ":material/cancel:"),
    "skipped": ("gray", ":material/skip_next:"),
}
# (label, colour, icon) of a run's status: the same badge on every page (one state everywhere).
EXECUTION_BADGES: dict[str, tuple[str, str, str]] = {
    status: (STATUS_LABELS[status], color, icon) for status, (color, icon) in _STATUS_STYLES.items()
}
# The error box's heading for a run that ended badly.
_ENDED_BADLY = {"timed_out": "Run timed out", "cancelled": "Run cancelled"}
# Errors longer than this many lines show their last line, the rest behind "Show traceback".
TRACEBACK_LINES = 4
LOG_BADGES = {
    "info": ":blue-badge[INFO]",
    "warn": ":orange-badge[WARN]",
    "error": ":red-badge[ERROR]",
}
STATUS_BADGE_COLORS = {
    "queued": "gray",
    "running": "blue",
    "retrying": "orange",
    "success": "green",
    "partial": "orange",
    "failed": "red",
    "timed_out": "red",
    "cancelled": "gray",
    "skipped": "gray",
}


def local_time(value: datetime, timezone: str, fmt: str = "%Y-%m-%d %H:%M:%S %Z") -> str:
    """An instant as wall-clock time in ``timezone``."""
    return value.astimezone(ZoneInfo(timezone)).strftime(fmt)


# --- base ------------------------------------------------------------------------------------


@renders("base/Stack")
def render_stack(props: StackProps, ctx: RenderContext) -> None:
    with st.container(horizontal=props.direction == "horizontal", gap=props.gap or "small"):
        ctx.render_children()


@renders("base/Text")
def render_text(props: TextProps, ctx: RenderContext) -> None:
    if props.variant == "code":
        st.code(props.text, language=None, wrap_lines=True)
    elif props.variant == "heading":
        st.subheader(escape_markdown(props.text), anchor=False)
    elif props.variant == "caption":
        st.caption(escape_markdown(props.text))
    else:
        st.text(props.text)


@renders("base/Metric")
def render_metric(props: MetricProps, ctx: RenderContext) -> None:
    delta = props.delta
    st.metric(escape_markdown(props.label), str(props.value), None if delta is None else str(delta))


@renders("base/Badge")
def render_badge(props: BadgeProps, ctx: RenderContext) -> None:
    st.badge(escape_markdown(props.label), color=BADGE_COLORS[props.color])


@renders("base/Divider")
def render_divider(props: DividerProps, ctx: RenderContext) -> None:
    st.divider()


# --- job status ------------------------------------------------------------------------------


@renders("job-status/JobPhaseIndicator")
def render_phase(props: JobPhaseIndicatorProps, ctx: RenderContext) -> None:
    label, color, icon = EXECUTION_BADGES[props.status] if props.status else PHASES[props.phase]
    st.badge(retrying_label(props, ctx.timezone) or label, color=color, icon=icon)
    parts = []
    if props.started_at:
        parts.append(f"Started {local_time(props.started_at, ctx.timezone)}")
    if props.completed_at:
        parts.append(f"completed {local_time(props.completed_at, ctx.timezone)}")
    if props.started_at and props.completed_at:
        took = (props.completed_at - props.started_at).total_seconds()
        parts.append(f"took {humanize_duration(took)}")
    if parts:
        st.caption(escape_markdown(" · ".join(parts)))


def retrying_label(props: JobPhaseIndicatorProps, timezone: str) -> str | None:
    """'Retrying · attempt 2 at 00:24:44' for a run between attempts, else None."""
    if props.phase != "retrying":
        return None
    parts = ["Retrying"]
    if props.attempt is not None:
        parts.append(f"attempt {props.attempt}")
    if props.next_attempt_at is not None:
        at = local_time(props.next_attempt_at, timezone, "%H:%M:%S")
        parts[-1] = f"{parts[-1]} at {at}" if props.attempt is not None else f"next at {at}"
    return " · ".join(parts)


@renders("job-status/JobProgressBar")
def render_progress(props: JobProgressBarProps, ctx: RenderContext) -> None:
    text = f"{props.items_processed:,} / {props.items_total:,} items · {props.percentage:.0f}%"
    st.progress(props.percentage / 100, text=text)


@renders("job-status/JobMetricRow")
def render_metric_row(props: JobMetricRowProps, ctx: RenderContext) -> None:
    # Each metric as wide as its value, wrapping to a new line when the row is full: equal
    # columns cut words such as "Timed out" or "schedule" short.
    with st.container(horizontal=True, gap="large"):
        for item in props.metrics:
            label = escape_markdown(item.label)
            if item.color != "default":
                label = f":{BADGE_COLORS[item.color]}[{label}]"
            st.metric(label, str(item.value), width="content")


@renders("job-status/JobLogEntry")
def render_log_entry(props: JobLogEntryProps, ctx: RenderContext) -> None:
    with st.container(horizontal=True, gap="small", vertical_alignment="center"):
        st.markdown(LOG_BADGES[props.level], width="content")
        st.text(local_time(props.timestamp, ctx.timezone, "%H:%M:%S"))
        st.text(props.message)


@renders("job-status/JobErrorAlert")
def render_error_alert(props: JobErrorAlertProps, ctx: RenderContext) -> None:
    retries = props.retry_count or 0
    so_far = f" ({retries} {'retry' if retries == 1 else 'retries'} so far)" if retries else ""
    if props.retryable:
        failed = f"Attempt {retries + 1} failed; retrying"
        st.warning(f"**{failed}**{so_far}", icon=":material/replay:")
    else:
        heading = _ENDED_BADLY.get(props.status or "", "Run failed")
        st.error(f"**{heading}**{so_far}", icon=":material/error:")
    # The error text itself is data: shown verbatim, never parsed.
    lines = props.error.strip().splitlines()
    if len(lines) <= TRACEBACK_LINES:
        st.code(props.error, language=None, wrap_lines=True)
        return
    # A traceback's last line says what went wrong; the frames are there on demand.
    summary = next((line for line in reversed(lines) if line.strip()), lines[-1])
    st.code(summary, language=None, wrap_lines=True)
    with st.expander("Show traceback", icon=":material/code:"):
        st.code(props.error, language=None, wrap_lines=True)


@renders("job-status/NextRunCountdown")
def render_next_run(props: NextRunCountdownProps, ctx: RenderContext) -> None:
    text = humanize_next_run(props.next_run_at, ctx.now, props.timezone)
    countdown, _, when = text.partition(" · ")
    st.metric("Next run", countdown)
    local = local_time(props.next_run_at, props.timezone, "%Y-%m-%d %H:%M %Z")
    st.caption(escape_markdown(f"{when or local} ({props.timezone})"))


# --- job history summaries (the charts live in charts.py) ---------------------------------------


@renders("job-history/SuccessRate")
def render_success_rate(props: SuccessRateProps, ctx: RenderContext) -> None:
    st.metric("Success rate", f"{props.rate:.0%}" if props.total else "—")
    st.caption(f"{props.succeeded} succeeded · {props.failed} failed · {props.total} finished runs")


@renders("job-history/StatusCounts")
def render_status_counts(props: StatusCountsProps, ctx: RenderContext) -> None:
    if not props.counts:
        st.caption("No runs yet")
        return
    with st.container(horizontal=True, gap="small"):
        for status, count in props.counts.items():
            st.badge(f"{STATUS_LABELS[status]} {count}", color=STATUS_BADGE_COLORS[status])

"""Plotly figures for the JOB_HISTORY charts: ExecutionTimeline and DurationChart.

The figure builders are pure (props in, figure out) so they can be tested without Streamlit.
Times are plotted as wall-clock time in the tree's timezone: Plotly date axes have no notion of
zones, so instants are converted before plotting and the axis title names the zone.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import plotly.graph_objects as go
import streamlit as st

from dashboard.render.registry import renders
from grove_jobs.clock import humanize_duration
from grove_jobs.render.catalogs import DurationChartProps, ExecutionTimelineProps
from grove_jobs.schema.execution import STATUS_LABELS

if TYPE_CHECKING:
    from dashboard.render.registry import RenderContext

STATUS_COLORS = {
    "success": "#2e9d57",
    "partial": "#e8a317",
    "failed": "#d64545",
    "timed_out": "#d64545",
    "cancelled": "#9aa0a6",
    "running": "#1f77d4",
    "queued": "#9ecbf5",
    "retrying": "#9ecbf5",
    "skipped": "#c7cbd1",
}
STATUS_ORDER = tuple(STATUS_COLORS)
_PLOT_FORMAT = "%Y-%m-%d %H:%M:%S"
_HOVER_FORMAT = "%Y-%m-%d %H:%M:%S %Z"
# Runs without a duration (not started, or still queued) still get a visible sliver.
_MIN_BAR_MS = 1_000
PLOTLY_CONFIG = {"displaylogo": False}


def timeline_figure(props: ExecutionTimelineProps) -> go.Figure:
    """Horizontal bars per run over local time, coloured by status, one legend entry each."""
    zone = ZoneInfo(props.timezone)
    labels = [_run_label(run.id) for run in props.runs]
    figure = go.Figure()
    for status in STATUS_ORDER:
        runs = [run for run in props.runs if run.status == status]
        if not runs:
            continue
        figure.add_trace(
            go.Bar(
                orientation="h",
                name=STATUS_LABELS[status],
                y=[_run_label(run.id) for run in runs],
                base=[_local(run.started_at, zone, _PLOT_FORMAT) for run in runs],
                x=[_bar_ms(run.duration_seconds, run.started_at, run.completed_at) for run in runs],
                marker_color=STATUS_COLORS[status],
                customdata=[
                    [
                        _safe(run.id),
                        STATUS_LABELS[run.status],
                        run.trigger,
                        run.attempt,
                        _local(run.started_at, zone, _HOVER_FORMAT),
                        _local(run.completed_at, zone, _HOVER_FORMAT) if run.completed_at else "—",
                        _duration_text(run.duration_seconds),
                    ]
                    for run in runs
                ],
                hovertemplate=(
                    "Run %{customdata[0]}<br>Status: %{customdata[1]}<br>"
                    "Trigger: %{customdata[2]}<br>Attempt: %{customdata[3]}<br>"
                    "Start: %{customdata[4]}<br>End: %{customdata[5]}<br>"
                    "Duration: %{customdata[6]}<extra></extra>"
                ),
            )
        )
    figure.update_layout(
        barmode="overlay",
        height=min(600, 120 + 24 * len(labels)),
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend_title_text="Status",
    )
    figure.update_xaxes(type="date", title_text=f"Local time ({props.timezone})")
    # Earliest run on top, in start order (the transform sorts runs by start).
    figure.update_yaxes(
        type="category", categoryorder="array", categoryarray=labels, autorange="reversed"
    )
    return figure


def duration_figure(props: DurationChartProps) -> go.Figure:
    """Duration per finished run (in start order) coloured by status, with p50/p95 lines."""
    zone = ZoneInfo(props.timezone)
    labels = [_run_label(run.id) for run in props.runs]
    figure = go.Figure()
    for status in STATUS_ORDER:
        runs = [run for run in props.runs if run.status == status]
        if not runs:
            continue
        figure.add_trace(
            go.Bar(
                name=STATUS_LABELS[status],
                x=[_run_label(run.id) for run in runs],
                y=[run.duration_seconds for run in runs],
                marker_color=STATUS_COLORS[status],
                customdata=[
                    [
                        _safe(run.id),
                        STATUS_LABELS[run.status],
                        _local(run.started_at, zone, _HOVER_FORMAT),
                        humanize_duration(run.duration_seconds),
                    ]
                    for run in runs
                ],
                hovertemplate=(
                    "Run %{customdata[0]}<br>Status: %{customdata[1]}<br>"
                    "Start: %{customdata[2]}<br>Duration: %{customdata[3]}<extra></extra>"
                ),
            )
        )
    for name, value, color in (("p50", props.p50, "#555555"), ("p95", props.p95, "#d64545")):
        if value is not None:
            figure.add_hline(
                y=value,
                line_dash="dash",
                line_color=color,
                annotation_text=f"{name} {humanize_duration(value)}",
                annotation_position="top left",
            )
    figure.update_layout(
        height=320,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend_title_text="Status",
        bargap=0.2,
    )
    figure.update_xaxes(
        type="category",
        categoryorder="array",
        categoryarray=labels,
        title_text=f"Runs by start ({props.timezone})",
    )
    figure.update_yaxes(title_text="Duration (s)", rangemode="tozero")
    return figure


@renders("job-history/ExecutionTimeline")
def render_timeline(props: ExecutionTimelineProps, ctx: RenderContext) -> None:
    if not props.runs:
        st.caption("No runs yet")
        return
    st.plotly_chart(timeline_figure(props), key=ctx.widget_key("timeline"), config=PLOTLY_CONFIG)


@renders("job-history/DurationChart")
def render_durations(props: DurationChartProps, ctx: RenderContext) -> None:
    if not props.runs:
        st.caption("No finished runs yet")
        return
    st.plotly_chart(duration_figure(props), key=ctx.widget_key("durations"), config=PLOTLY_CONFIG)


def _run_label(run_id: str | int) -> str:
    return f"#{_safe(run_id)}"


def _safe(value: Any) -> str:
    # Plotly renders a subset of HTML in labels and hover text; ids may be arbitrary strings.
    return html.escape(str(value), quote=False)


def _local(value: datetime, zone: ZoneInfo, fmt: str) -> str:
    return value.astimezone(zone).strftime(fmt)


def _bar_ms(duration: float | None, start: datetime, end: datetime | None) -> float:
    if duration is None and end is not None:
        duration = (end - start).total_seconds()
    return max(_MIN_BAR_MS, (duration or 0) * 1000)


def _duration_text(duration: float | None) -> str:
    return "—" if duration is None else humanize_duration(duration)

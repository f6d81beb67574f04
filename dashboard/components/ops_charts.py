"""Plotly figures of the operator pages: the Runs timeline and the Upcoming schedule.

Pure builders (data in, figure out), so they are testable without Streamlit. Every text from
data goes through ``html.escape``: Plotly renders a subset of HTML in labels and hover text.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import plotly.graph_objects as go

from dashboard.render.charts import STATUS_COLORS, STATUS_ORDER
from grove_jobs.clock import humanize_duration
from grove_jobs.configs.upcoming import ScheduledConfig, Upcoming
from grove_jobs.schema.execution import STATUS_LABELS, Execution

_PLOT = "%Y-%m-%d %H:%M:%S"
_MIN_BAR_MS = 2_000  # a run without a duration still gets a visible, clickable sliver
# A config firing more often than this in the window is drawn as one band, not as markers.
DENSE_FIRES = 150
SHADE_COLOR = "#c7cbd1"
FIRE_COLOR = "#1f77d4"


def runs_timeline_figure(
    runs: Sequence[Execution], titles: Mapping[str, str], timezone: str, now: datetime
) -> go.Figure:
    """A bar per run from start (or queue time) to end (or now), one row per job, coloured
    by status; each bar's customdata is its run id (a click selects the run)."""
    zone = ZoneInfo(timezone)
    figure = go.Figure()
    for status in STATUS_ORDER:
        chosen = [run for run in runs if run.status == status]
        if not chosen:
            continue
        starts = [run.started_at or run.queued_at for run in chosen]
        ends = [run.completed_at or (now if run.status == "running" else None) for run in chosen]
        figure.add_trace(
            go.Bar(
                orientation="h",
                name=STATUS_LABELS[status],
                y=[html.escape(titles.get(run.job_config_id, run.job_config_id)) for run in chosen],
                base=[start.astimezone(zone).strftime(_PLOT) for start in starts],
                x=[
                    max(_MIN_BAR_MS, (end - start).total_seconds() * 1000) if end else _MIN_BAR_MS
                    for start, end in zip(starts, ends, strict=True)
                ],
                customdata=[run.id for run in chosen],
                hovertext=[_hover(run, titles) for run in chosen],
                hovertemplate="%{hovertext}<extra></extra>",
                marker_color=STATUS_COLORS[status],
            )
        )
    figure.update_layout(
        barmode="overlay",
        height=max(220, min(640, 90 + 22 * len({run.job_config_id for run in runs}))),
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        # Above the plot: below it, the legend covered the time axis and its date line.
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "left", "x": 0},
        xaxis={"type": "date", "title": f"time ({timezone})"},
        yaxis={"automargin": True, "categoryorder": "category descending"},
        clickmode="event+select",
    )
    return figure


def upcoming_figure(data: Upcoming, configs: Sequence[ScheduledConfig], timezone: str) -> go.Figure:
    """Fire times per config (markers; a band for dense schedules), disabled configs shaded,
    DST transitions as dashed lines, pauses and maintenance windows as shaded stretches."""
    zone = ZoneInfo(timezone)
    figure = go.Figure()
    for config in configs:
        fires = data.fires.get(config.id, ())
        if not fires:
            continue
        label = html.escape(f"{config.title} ({config.id})")
        color = SHADE_COLOR if config.disabled else FIRE_COLOR
        state = " · disabled" if config.disabled else ""
        hover = html.escape(f"{config.title} · {config.cron} {config.timezone}{state}")
        if len(fires) > DENSE_FIRES:
            figure.add_trace(
                go.Scatter(
                    x=[_local(fires[0], zone), _local(fires[-1], zone)],
                    y=[label, label],
                    mode="lines",
                    line={"color": color, "width": 10},
                    opacity=0.45 if config.disabled else 0.8,
                    hovertemplate=f"{hover}<br>{len(fires):,} runs<extra></extra>",
                    showlegend=False,
                )
            )
            continue
        figure.add_trace(
            go.Scatter(
                x=[_local(instant, zone) for instant in fires],
                y=[label] * len(fires),
                mode="markers",
                marker={"color": color, "size": 9, "symbol": "line-ns-open", "line": {"width": 2}},
                opacity=0.45 if config.disabled else 1.0,
                hovertemplate=f"{hover}<br>%{{x}}<extra></extra>",
                showlegend=False,
            )
        )
    _decorate(figure, data, zone)
    rows = sum(1 for c in configs if data.fires.get(c.id))
    figure.update_layout(
        height=max(220, min(900, 80 + 20 * rows)),
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis={"type": "date", "title": f"time ({timezone})"},
        yaxis={"automargin": True, "categoryorder": "category descending"},
    )
    return figure


def per_hour_figure(data: Upcoming, timezone: str) -> go.Figure:
    """Runs per hour of the enabled configs, stacked on the fires a pause or window skips, with
    the same DST lines and shading."""
    zone = ZoneInfo(timezone)
    figure = go.Figure()
    series = [("runs", data.per_hour, FIRE_COLOR, "runs")]
    if data.skipped:
        series.append(
            ("skipped (pause or maintenance)", data.skipped_per_hour, SHADE_COLOR, "skipped")
        )
    for name, counts, color, noun in series:
        figure.add_trace(
            go.Bar(
                name=name,
                x=[_local(hour, zone) for hour, _ in counts],
                y=[count for _, count in counts],
                marker_color=color,
                hovertemplate=f"%{{x}}<br>%{{y}} {noun}<extra></extra>",
            )
        )
    _decorate(figure, data, zone)
    figure.update_layout(
        height=280 if data.skipped else 260,
        margin={"l": 10, "r": 10, "t": 50 if data.skipped else 30, "b": 10},
        xaxis={"type": "date", "title": f"hour ({timezone})"},
        yaxis={"title": "runs"},
        bargap=0.1,
        barmode="stack",
        showlegend=bool(data.skipped),
        # Above the shades' labels, in stacking order (runs below, skipped on top).
        legend={
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.16,
            "xanchor": "left",
            "x": 0,
            "traceorder": "normal",
        },
    )
    return figure


def _decorate(figure: go.Figure, data: Upcoming, zone: ZoneInfo) -> None:
    for instant, name in data.dst_transitions:
        figure.add_vline(
            x=_local(instant, zone),
            line={"dash": "dash", "color": "#e8a317"},
            annotation_text=html.escape(f"DST {name}"),
        )
    for shade in data.shades:
        if shade.config_id is None:  # a pause or window, not one disabled config's row
            figure.add_vrect(
                x0=_local(shade.start, zone),
                x1=_local(shade.end, zone),
                fillcolor=SHADE_COLOR,
                opacity=0.35,
                line_width=0,
                annotation_text=html.escape(shade.label),
                # Above the plot area: inside it, tall bars covered the label.
                annotation_yanchor="bottom",
            )


def _hover(run: Execution, titles: Mapping[str, str]) -> str:
    took = run.duration_seconds
    parts = [
        f"#{run.id} · {titles.get(run.job_config_id, run.job_config_id)}",
        f"{STATUS_LABELS[run.status]} · attempt {run.attempt} of {run.max_attempts}",
        f"trigger {run.trigger}",
        f"duration {humanize_duration(took) if took is not None else '—'}",
    ]
    return "<br>".join(html.escape(part) for part in parts)


def _local(instant: datetime, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).strftime(_PLOT)

"""Upcoming: when every config fires over the next 24 hours or 7 days, from the sidecar's own
schedule code; runs per hour; DST transitions flagged; disabled configs, pauses and maintenance
windows shaded, and the fires they skip marked."""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

import streamlit as st

from dashboard import data
from dashboard.components.layout import section
from dashboard.components.ops_charts import per_hour_figure, upcoming_figure
from dashboard.components.pause_banner import render_banner
from dashboard.context import database
from grove_jobs.clock import utcnow
from grove_jobs.configs.upcoming import ScheduledConfig, Upcoming, is_dst_change, upcoming
from grove_jobs.pauses.windows import blackouts_between

WINDOWS = {"Next 24 hours": 24, "Next 7 days": 24 * 7}
TIMEZONE = "UTC"
LIST_ROWS = 200
CHART_CONFIGS = 60


def render() -> None:
    """Draw the Upcoming page."""
    st.title("Upcoming", anchor=False)
    render_banner()
    configs = data.scheduled()
    with st.container(horizontal=True, key="upcoming-filters", vertical_alignment="bottom"):
        window = st.segmented_control(
            "Window", list(WINDOWS), default="Next 24 hours", key="upcoming-window"
        )
        types = st.multiselect(
            "Type", sorted({c.job_type for c in configs}), key="upcoming-type", width=260
        )
        tags = st.multiselect(
            "Tag", sorted({t for c in configs for t in c.tags}), key="upcoming-tag", width=260
        )
        show_disabled = st.toggle("Show disabled", value=True, key="upcoming-disabled")
    chosen = [
        c
        for c in configs
        if (not types or c.job_type in types)
        and (not tags or set(tags) & set(c.tags))
        and (show_disabled or not c.disabled)
    ]
    # Floored to the minute so reruns within it reuse the computed fire times.
    start = utcnow().replace(second=0, microsecond=0)
    end = start + timedelta(hours=WINDOWS[window or "Next 24 hours"])
    result = upcoming(chosen, start, end, blackouts_between(database(), start, end))
    enabled = sum(not c.disabled for c in chosen)
    skipped = (
        f", {result.skipped_total:,} skipped by a pause or maintenance" if result.skipped else ""
    )
    st.caption(
        f"{result.runs:,} runs of {enabled:,} enabled configs{skipped}"
        f" ({len(chosen) - enabled:,} disabled, shaded) · times in {TIMEZONE}"
    )
    if result.dst_transitions:
        changes = ", ".join(
            f"{zone} at {instant.strftime('%Y-%m-%d %H:%M')} UTC"
            for instant, zone in result.dst_transitions
        )
        st.warning(f"DST changes in this window: {changes}", icon=":material/schedule:")
    section("Runs per hour")
    st.plotly_chart(per_hour_figure(result, TIMEZONE), key="upcoming-per-hour")
    section("Schedule")
    plotted = _soonest(chosen, result)[:CHART_CONFIGS]
    if plotted:
        st.plotly_chart(upcoming_figure(result, plotted, TIMEZONE), key="upcoming-timeline")
        if len(plotted) < len(chosen):
            st.caption(f"The chart shows the {len(plotted)} configs that fire soonest.")
    section("Next fire times")
    _fire_list(chosen, result)


def _soonest(configs: list[ScheduledConfig], result: Upcoming) -> list[ScheduledConfig]:
    with_fires = [c for c in configs if result.fires.get(c.id)]
    return sorted(with_fires, key=lambda c: (c.disabled, result.fires[c.id][0], c.id))


def _state(config: ScheduledConfig, skipped_by: str | None) -> str:
    if config.disabled:
        return "disabled"
    return f"skipped ({skipped_by})" if skipped_by else "runs"


def _fire_list(configs: list[ScheduledConfig], result: Upcoming) -> None:
    by_id = {c.id: c for c in configs}
    # Each config's fires are sorted: merge them lazily and stop after LIST_ROWS.
    streams = [_entries(c.id, result.fires[c.id]) for c in configs]
    entries = list(islice(heapq.merge(*streams, key=lambda e: (e[0], e[1])), LIST_ROWS + 1))
    total = sum(len(result.fires[c.id]) for c in configs)
    rows = []
    for instant, config_id, previous in entries[:LIST_ROWS]:
        config = by_id[config_id]
        local = instant.astimezone(ZoneInfo(config.timezone))
        rows.append(
            {
                "When (UTC)": instant,
                "Local time": local.strftime("%Y-%m-%d %H:%M %Z"),
                "Job": f"{config.title} ({config.id})",
                "Type": config.job_type,
                "Tags": ", ".join(config.tags),
                "State": _state(config, result.skipped.get(config_id, {}).get(instant)),
                "DST change": "yes" if is_dst_change(instant, previous, config.timezone) else "",
            }
        )
    if not rows:
        st.info("Nothing fires in this window.", icon=":material/event_busy:")
        return
    st.dataframe(
        rows,
        key="upcoming-list",
        hide_index=True,
        width="stretch",
        column_config={
            "When (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
            "State": st.column_config.TextColumn(width="medium"),
        },
    )
    if total > LIST_ROWS:
        st.caption(f"The first {LIST_ROWS} of {total:,} fire times.")


def _entries(
    config_id: str, fires: tuple[datetime, ...]
) -> Iterator[tuple[datetime, str, datetime | None]]:
    """(fire, config id, the config's previous fire) in order (a generator per config)."""
    previous = None
    for instant in fires:
        yield instant, config_id, previous
        previous = instant


if __name__ == "__main__":
    render()

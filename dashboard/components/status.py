"""The Execution Status tab: the latest run drawn from its RenderTree (live while it runs),
the run history with logs / retry / cancel, and the history tree's charts."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard import actions, data
from dashboard.components.dialogs import open_dialog
from dashboard.components.feedback import toast_later
from dashboard.components.layout import section
from dashboard.display import (
    RETRYABLE_STATUSES,
    duration_text,
    first_line,
    items_text,
    literal,
    local_time,
    safe,
)
from dashboard.permissions import Allowed
from dashboard.render import Registry, default_registry, render_tree
from dashboard.render.components import EXECUTION_BADGES
from grove_jobs.clock import utcnow
from grove_jobs.db.records import ConfigRecord
from grove_jobs.exceptions import GroveError
from grove_jobs.executions.redact import shown_to
from grove_jobs.render import JOB_HISTORY, JOB_STATUS, execution_tree, history_tree
from grove_jobs.schema.execution import Execution

PERMANENT_HELP = "Failed with a permanent error: not retried, whatever attempts were left."
LIVE_INTERVAL_SECONDS = 1.0
HISTORY_PAGE = 15
CHART_RUNS = 200
_COLUMNS = [0.55, 1.05, 1.55, 0.9, 1.0, 0.8, 1.6, 1.9]
_HEADERS = ["Run", "Status", "Started", "Duration", "Items", "Trigger", "Requested by", ""]


@st.cache_resource(show_spinner=False)
def registry() -> Registry:
    """The Streamlit renderer registry, built once."""
    return default_registry()


def timezone_of(record: ConfigRecord) -> str:
    """The zone runs are shown in: the config's schedule zone, else UTC."""
    schedule = getattr(record.object.payload, "schedule", None)
    return getattr(schedule, "timezone", None) or "UTC"


def render_status(record: ConfigRecord, allowed: Allowed) -> None:
    """Draw the Execution Status tab (Retry / Cancel only for users who may use them)."""
    timezone = timezone_of(record)
    latest = data.latest_execution(record.id)
    active = latest is not None and latest.is_active
    section("Latest run")
    # Polls only while a run is active; the fragment reruns alone, not the page.
    live = st.fragment(_live_status, run_every=LIVE_INTERVAL_SECONDS if active else None)
    live(record.id, timezone, active, allowed("run.cancel"), allowed("run.traceback"))
    section("History")
    _history_table(record.id, timezone, allowed)
    section("Trends")
    _charts(record.id, timezone)


def _live_status(
    config_id: str, timezone: str, was_active: bool, can_cancel: bool, full_errors: bool
) -> None:
    latest = data.latest_execution(config_id)
    record = data.config(config_id)
    with st.container(border=True, key="latest-run"):
        if latest is None:
            st.info("No runs yet. Run Now starts one.", icon=":material/info:")
            return
        who = latest.requested_by or "the scheduler"
        st.caption(safe(f"Run #{latest.id} · {latest.trigger} · requested by ") + literal(who))
        tree = execution_tree(
            shown_to(latest, full_errors=full_errors),
            data.tail_logs(latest.id),
            next_run_at=record.next_run_at if record is not None else None,
            timezone=timezone,
            at=utcnow(),
        )
        render_tree(
            tree, JOB_STATUS, registry=registry(), key=f"live-{config_id}", timezone=timezone
        )
        if latest.is_active and can_cancel:
            st.button(
                "Cancel run",
                key=f"cancel-live:{latest.id}",
                icon=":material/stop_circle:",
                on_click=_cancel,
                args=(latest.id,),
            )
    if was_active != latest.is_active:
        # The run ended (or a new one began): drop the cached history, then a full rerun
        # redraws it and stops (or starts) the polling.
        data.clear()
        st.rerun()


def _history_table(config_id: str, timezone: str, allowed: Allowed) -> None:
    cursor_key = f"history-cursor:{config_id}"
    cursors: list[int | None] = st.session_state.setdefault(cursor_key, [None])
    page = data.history_page(config_id, cursors[-1], HISTORY_PAGE)
    if not page.items:
        st.caption("No runs yet.")
        return
    with st.container(key="history"):
        header = st.columns(_COLUMNS)
        for column, title in zip(header, _HEADERS, strict=True):
            column.caption(title)
        for run in page.items:
            _history_row(run, timezone, allowed)
    shown_from = sum(HISTORY_PAGE for _ in cursors[1:]) + 1
    with st.container(horizontal=True, vertical_alignment="center"):
        if st.button(
            "Newer", key="history-newer", disabled=len(cursors) == 1, icon=":material/chevron_left:"
        ):
            cursors.pop()
            st.rerun()
        st.caption(f"Runs {shown_from:,} to {shown_from + len(page.items) - 1:,} of {page.total:,}")
        if st.button(
            "Older",
            key="history-older",
            disabled=page.next_before_id is None,
            icon=":material/chevron_right:",
            icon_position="right",
        ):
            cursors.append(page.next_before_id)
            st.rerun()


def _history_row(run: Execution, timezone: str, allowed: Allowed) -> None:
    label, color, icon = EXECUTION_BADGES.get(run.status, (run.status, "gray", ":material/help:"))
    with st.container(key=f"run-{run.id}"):
        cells = st.columns(_COLUMNS, vertical_alignment="center")
        cells[0].text(f"#{run.id}")
        cells[1].badge(label, color=color, icon=icon)  # type: ignore[arg-type]
        if run.error_kind == "permanent":
            cells[1].badge("permanent", color="red", icon=":material/block:", help=PERMANENT_HELP)
        cells[2].text(local_time(run.started_at or run.queued_at, timezone))
        cells[3].text(duration_text(run.duration_seconds))
        cells[4].text(items_text(run.items_processed, run.items_total) or "—")
        cells[5].text(run.trigger)
        if run.scheduled_for is not None:  # the tick the run processes, also when late
            cells[5].caption(f"for {local_time(run.scheduled_for, timezone)}")
        cells[6].text(run.requested_by or "scheduler")
        with cells[7], st.container(horizontal=True, gap="xsmall"):
            st.button(
                "Logs",
                key=f"logs:{run.id}",
                icon=":material/article:",
                type="tertiary",
                on_click=open_dialog,
                args=("logs", run.job_config_id, run.id, timezone),
            )
            if run.status in RETRYABLE_STATUSES and allowed("run.retry"):
                st.button(
                    "Retry",
                    key=f"retry:{run.id}",
                    icon=":material/replay:",
                    type="tertiary",
                    on_click=_retry,
                    args=(run.id,),
                )
            if run.is_active and allowed("run.cancel"):
                st.button(
                    "Cancel",
                    key=f"cancel:{run.id}",
                    icon=":material/stop_circle:",
                    type="tertiary",
                    on_click=_cancel,
                    args=(run.id,),
                )
        if run.error and run.status in RETRYABLE_STATUSES | {"retrying"}:
            st.caption(f":red[{safe(first_line(run.error))}]")


def _retry(execution_id: int) -> None:
    try:
        queued = actions.retry(execution_id)
    except GroveError as exc:
        st.toast(safe(str(exc)), icon=":material/error:")
        return
    run = queued.execution
    verb = "was already retried as" if queued.repeated else "retried as"
    toast_later(safe(f"Run #{execution_id} {verb} run #{run.id}"), icon=":material/replay:")


def _cancel(execution_id: int) -> None:
    try:
        run = actions.cancel(execution_id)
    except GroveError as exc:
        st.toast(safe(str(exc)), icon=":material/error:")
        return
    state = "cancelled" if run.status == "cancelled" else "cancel requested"
    toast_later(f"Run #{execution_id}: {state}", icon=":material/stop_circle:")


def _charts(config_id: str, timezone: str) -> None:
    runs = data.recent_executions(config_id, CHART_RUNS)
    if not runs:
        st.caption("Charts appear after the first run.")
        return
    tree = history_tree(runs, timezone=timezone, at=utcnow()).to_json_dict()
    by_type = {child["type"]: child for child in tree["children"]}
    st.caption(f"The last {len(runs)} runs, times in {timezone}.")
    left, right = st.columns([1, 2], vertical_alignment="center")
    with left:
        _draw(tree, [by_type.get("SuccessRate")], f"rate-{config_id}", timezone)
    with right:
        _draw(tree, [by_type.get("StatusCounts")], f"counts-{config_id}", timezone)
    left, right = st.columns(2)
    with left:
        _draw(tree, [by_type.get("ExecutionTimeline")], f"timeline-{config_id}", timezone)
    with right:
        _draw(tree, [by_type.get("DurationChart")], f"durations-{config_id}", timezone)


def _draw(tree: dict[str, Any], children: list[Any], key: str, timezone: str) -> None:
    """Draw some of a tree's elements (the layout puts them in different columns)."""
    part = {**tree, "children": [c for c in children if c is not None]}
    render_tree(part, JOB_HISTORY, registry=registry(), key=key, timezone=timezone)

"""Runs: every execution across jobs, newest first, filtered and keyset-paged, under a
timeline of the window; the selected run's status tree; retry / cancel many runs at once."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import streamlit as st

from dashboard import actions, data, permissions
from dashboard.components.feedback import toast_later
from dashboard.components.layout import section
from dashboard.components.ops_charts import runs_timeline_figure
from dashboard.components.pause_banner import render_banner
from dashboard.components.status import registry
from dashboard.display import RETRYABLE_STATUSES, first_line, safe
from dashboard.nav import CONFIG_PARAM, INSPECTOR
from dashboard.permissions import Allowed
from dashboard.render import render_tree
from dashboard.render.components import EXECUTION_BADGES
from grove_jobs.clock import utcnow
from grove_jobs.exceptions import GroveError
from grove_jobs.executions.runs import RunFilter
from grove_jobs.render import JOB_STATUS, execution_tree
from grove_jobs.schema.execution import ACTIVE_STATUSES, ExecutionStatus

PER_PAGE = 50
TIMELINE_RUNS = 300
TIMEZONE = "UTC"
WINDOWS = {"1 hour": 1, "24 hours": 24, "7 days": 24 * 7, "30 days": 24 * 30, "All time": None}
TRIGGERS = ["schedule", "manual", "api", "retry", "misfire"]
RUN_PARAM = "run"
TIMELINE_KEY = "runs-timeline"
_CURSORS = "runs-cursors"
_SELECTED = "runs-selected"  # ids of the runs selected in the table, for its next rows
_ACTIVE = {s.value for s in ACTIVE_STATUSES}


def render() -> None:
    """Draw the Runs page."""
    st.title("Runs", anchor=False)
    render_banner()  # while paused, runs wait: the reason is the first thing to see
    allowed = permissions.allowed()
    _select_clicked_run()
    runs = _filters()
    cursors: list[int | None] = st.session_state.setdefault(_CURSORS, [None])
    if st.session_state.get("runs-filter") != runs:
        st.session_state["runs-filter"] = runs
        cursors[:] = [None]  # new filters start from the newest run
    page = data.runs_page(runs, cursors[-1], PER_PAGE)
    titles = {c[0]: c[2] for c in data.config_choices()}
    # The timeline is drawn last into its place above the table: the browser then renders
    # the filters and the table before it fetches and parses Plotly (4.7 MB of script).
    timeline = st.container()
    count = f"{page.count:,}{'+' if page.capped else ''}"
    noun = "run matches" if page.count == 1 else "runs match"
    st.caption(f"{count} {noun} · times in {TIMEZONE}")
    if not page.items:
        st.info("No runs match. Widen the time window or clear filters.", icon=":material/search:")
    else:
        selected = _table(page.items, titles)
        _pager(cursors, page.next_before_id, len(page.items))
        _bulk_actions(selected, {run.id: run.status for run in page.items}, allowed)
    # The selected run, whether or not the filters match it (an alert's link names a run of
    # any age).
    _detail(allowed)
    with timeline:
        _timeline(runs, titles)


def _filters() -> RunFilter:
    jobs = data.job_types()
    with st.container(horizontal=True, key="runs-filters", vertical_alignment="bottom"):
        statuses = st.multiselect(
            "Status", [s.value for s in ExecutionStatus], key="runs-status", width=260
        )
        chosen_jobs = st.multiselect("Job", sorted(jobs), key="runs-job", width=260)
        types = st.multiselect("Type", sorted(set(jobs.values())), key="runs-type", width=220)
        triggers = st.multiselect("Trigger", TRIGGERS, key="runs-trigger", width=200)
        window = st.selectbox("Window", list(WINDOWS), index=1, key="runs-window", width=130)
        text = st.text_input(
            "Search", key="runs-text", placeholder="run id, job, actor, error", width=240
        )
    hours = WINDOWS[window]
    since = None
    if hours is not None:
        # Floored to the minute: reruns within a minute share one cached query.
        since = (utcnow() - timedelta(hours=hours)).replace(second=0, microsecond=0)
    return RunFilter(
        statuses=tuple(statuses),
        config_ids=tuple(chosen_jobs),
        job_types=tuple(types),
        triggers=tuple(triggers),
        since=since,
        text=text.strip() or None,
    )


def _select_clicked_run() -> None:
    """A bar clicked on the timeline selects its run. Read from the chart's state when the
    rerun starts: the timeline itself is drawn after the run's detail (see render)."""
    event = st.session_state.get(TIMELINE_KEY)
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    clicked = [p.get("customdata") for p in points if p.get("customdata") is not None]
    if clicked:
        picked = clicked[-1]
        picked = picked[0] if isinstance(picked, list) else picked
        if st.query_params.get(RUN_PARAM) != str(picked):
            st.query_params[RUN_PARAM] = str(picked)


def _timeline(runs: RunFilter, titles: dict[str, str]) -> None:
    shown = data.runs_page(runs, None, TIMELINE_RUNS).items
    if not shown:
        return
    figure = runs_timeline_figure(shown, titles, TIMEZONE, utcnow())
    st.plotly_chart(
        figure,
        key=TIMELINE_KEY,
        on_select="rerun",
        selection_mode="points",
        config={"displaylogo": False},
    )
    if len(shown) == TIMELINE_RUNS:
        st.caption(f"The timeline shows the newest {TIMELINE_RUNS} matching runs.")


def _table(items: list[Any], titles: dict[str, str]) -> list[int]:
    jobs = data.job_types()
    # What an operator scans for first (which job, how it ended, why) comes before the rest,
    # so it is in view without scrolling the table sideways.
    rows = [
        {
            "Run": run.id,
            "Job": titles.get(run.job_config_id, run.job_config_id),
            "Status": EXECUTION_BADGES.get(run.status, (run.status,))[0],
            "Attempt": f"{run.attempt} of {run.max_attempts}",
            "Started": run.started_at,
            "Duration (s)": run.duration_seconds,
            "Error": first_line(run.error, 120),
            "Trigger": run.trigger,
            "Type": jobs.get(run.job_config_id, ""),
            "Requested by": run.requested_by or "scheduler",
            "Queued": run.queued_at,
        }
        for run in items
    ]
    # Streamlit keeps a keyed table's selection as row positions, whatever rows it shows next:
    # a run arriving on top, or another page, would shift the selection onto other runs. So
    # the key names the rows shown, and a new set of rows starts from the runs selected before
    # that are still among them.
    shown = [run.id for run in items]
    picked = set(st.session_state.get(_SELECTED, ()))
    keep = [i for i, run_id in enumerate(shown) if run_id in picked]
    event = st.dataframe(
        rows,
        key="runs-table-" + hashlib.blake2s(repr(shown).encode(), digest_size=8).hexdigest(),
        on_select="rerun",
        selection_mode="multi-row",
        selection_default={"selection": {"rows": keep}} if keep else None,
        hide_index=True,
        width="stretch",
        column_config={
            "Run": st.column_config.NumberColumn(format="#%d", width="small"),
            "Queued": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss"),
            "Started": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss"),
            "Duration (s)": st.column_config.NumberColumn(format="%.1f"),
            "Error": st.column_config.TextColumn(width="medium"),
        },
    )
    indices = event.selection.rows if event else []
    selected = [items[i].id for i in indices if i < len(items)]
    st.session_state[_SELECTED] = selected
    if len(selected) == 1 and st.query_params.get(RUN_PARAM) != str(selected[0]):
        st.query_params[RUN_PARAM] = str(selected[0])
    return selected


def _pager(cursors: list[int | None], next_before: int | None, shown: int) -> None:
    first = (len(cursors) - 1) * PER_PAGE + 1
    with st.container(horizontal=True, vertical_alignment="center"):
        if st.button("Newer", key="runs-newer", disabled=len(cursors) == 1):
            cursors.pop()
            st.rerun()
        st.caption(f"Runs {first:,} to {first + shown - 1:,}")
        if st.button("Older", key="runs-older", disabled=next_before is None):
            cursors.append(next_before)
            st.rerun()


def _bulk_actions(selected: list[int], statuses: dict[int, str], allowed: Allowed) -> None:
    if not selected:
        st.caption("Select rows to retry or cancel several runs at once.")
        return
    retryable = [i for i in selected if statuses.get(i) in RETRYABLE_STATUSES]
    cancellable = [i for i in selected if statuses.get(i) in _ACTIVE]
    with st.container(horizontal=True, key="runs-bulk"):
        if allowed("run.retry"):
            st.button(
                f"Retry {len(retryable)} failed",
                key="runs-retry",
                icon=":material/replay:",
                disabled=not retryable,
                on_click=_bulk,
                args=("retry", retryable),
            )
        if allowed("run.cancel"):
            st.button(
                f"Cancel {len(cancellable)} active",
                key="runs-cancel",
                icon=":material/stop_circle:",
                disabled=not cancellable,
                on_click=_bulk,
                args=("cancel", cancellable),
            )
        st.caption(f"{len(selected)} selected")


def _bulk(kind: str, ids: list[int]) -> None:
    try:
        outcome = actions.retry_many(ids) if kind == "retry" else actions.cancel_many(ids)
    except GroveError as exc:
        st.toast(safe(str(exc)), icon=":material/error:")
        return
    verb = "retried" if kind == "retry" else "cancelled"
    message = f"{len(outcome.done)} {verb}"
    if outcome.refused:
        message += f", {len(outcome.refused)} refused (their state changed)"
    toast_later(safe(message), icon=":material/done_all:")


def _detail(allowed: Allowed) -> None:
    raw = st.query_params.get(RUN_PARAM)
    run = data.execution(int(raw)) if raw and raw.isdigit() else None
    if run is None:
        return
    section(safe(f"Run #{run.id}"))
    with st.container(border=True, key="runs-detail"):
        with st.container(horizontal=True, vertical_alignment="center"):
            st.page_link(
                INSPECTOR,
                label=safe(f"Open {run.job_config_id} in the inspector"),
                icon=":material/tune:",
                query_params={CONFIG_PARAM: run.job_config_id, "tab": "Execution Status"},
            )
        tree = execution_tree(
            run, data.tail_logs(run.id), next_run_at=None, timezone=TIMEZONE, at=utcnow()
        )
        render_tree(tree, JOB_STATUS, registry=registry(), key=f"runs-{run.id}", timezone=TIMEZONE)


if __name__ == "__main__":
    render()

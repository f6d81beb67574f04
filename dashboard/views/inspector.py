"""The inspector: one config (``?config=<id>&tab=<tab>``, a shareable URL) with its
Configuration, Execution Status (job configs only) and History of changes tabs."""

from __future__ import annotations

import streamlit as st

from dashboard import actions, data, permissions
from dashboard.components.card import run_now_message, type_icon
from dashboard.components.dialogs import open_dialog, show_open_dialog, title_of
from dashboard.components.editor import render_configuration
from dashboard.components.feedback import toast_later
from dashboard.components.pause_banner import render_banner
from dashboard.components.revisions import render_revisions
from dashboard.components.status import render_status, timezone_of
from dashboard.display import card_status, colored, safe
from dashboard.nav import CONFIG_PARAM, CONSOLE
from dashboard.permissions import Allowed
from grove_jobs.db.records import ConfigRecord
from grove_jobs.exceptions import GroveError
from grove_jobs.schema.job_config import JobConfigPayload
from grove_jobs.schema.registry import get_type, json_path_get

TAB_KEY = "tab"
CONFIGURATION = "Configuration"
EXECUTION_STATUS = "Execution Status"
CHANGES = "History of changes"


def render() -> None:
    """Draw the inspector page."""
    config_id = st.query_params.get(CONFIG_PARAM)
    record = data.config(config_id) if config_id else None
    _picker(config_id)
    render_banner()  # why a config's runs wait, on the page that shows them
    if record is None:
        if config_id:
            st.warning(safe(f"No config with id {config_id}."), icon=":material/search_off:")
        else:
            st.info("Pick a config above, or open one from the console.", icon=":material/tune:")
        return
    title = title_of(record)
    allowed = permissions.allowed()
    _header(record, title, allowed)
    # Only job configs run; other types (advancement rules) have no execution status.
    runnable = isinstance(record.object.payload, JobConfigPayload)
    names = [CONFIGURATION, EXECUTION_STATUS, CHANGES] if runnable else [CONFIGURATION, CHANGES]
    tabs = dict(zip(names, st.tabs(names, key=TAB_KEY, bind="query-params"), strict=True))
    # Only the open tab runs: hidden ones cost nothing (and poll nothing).
    if tabs[CONFIGURATION].open is not False:
        with tabs[CONFIGURATION]:
            render_configuration(record, allowed)
    if runnable and tabs[EXECUTION_STATUS].open is not False:
        with tabs[EXECUTION_STATUS]:
            render_status(record, allowed)
    if tabs[CHANGES].open is not False:
        with tabs[CHANGES]:
            render_revisions(record, allowed, timezone_of(record))


def _alerts(config_id: str) -> None:
    """Open alert incidents of this config, one line each; data is escaped, never HTML."""
    alerts = data.active_alerts().get(config_id, ())
    if not alerts:
        return
    lines = [
        f"- **{safe(a.label)}** since {safe(a.opened_at.strftime('%Y-%m-%d %H:%M:%S UTC'))}: "
        f"{safe(a.summary)}"
        for a in alerts
    ]
    heading = f"{len(alerts)} open alert{'s' if len(alerts) != 1 else ''}"
    st.warning(f"**{heading}**\n\n" + "\n".join(lines), icon=":material/notifications_active:")


def _picker(config_id: str | None) -> None:
    choices = data.config_choices()
    ids = [c[0] for c in choices]
    labels = {c[0]: f"{c[2]} ({c[0]}) · {get_type(c[1]).label}" for c in choices}
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.page_link(CONSOLE, label="Console", icon=":material/arrow_back:")
        # No key: the widget follows the URL whenever ?config= changes.
        picked = st.selectbox(
            "Config",
            ids,
            index=ids.index(config_id) if config_id in ids else None,
            format_func=lambda i: labels.get(i, i),
            placeholder="Choose a config",
            label_visibility="collapsed",
            width=480,
        )
    if picked is not None and picked != config_id:
        st.query_params[CONFIG_PARAM] = picked
        st.rerun()


def _header(record: ConfigRecord, title: str, allowed: Allowed) -> None:
    experience = get_type(record.type)
    payload = record.object.payload
    enabled = None
    if experience.enabled_path:
        enabled = bool(json_path_get(record.object.to_json_dict(), experience.enabled_path))
    latest = data.latest_execution(record.id) if isinstance(payload, JobConfigPayload) else None
    label, color, icon = card_status(
        enabled, record.object.meta.status, latest.status if latest else None
    )
    with st.container(horizontal=True, vertical_alignment="center"):
        st.header(f"{type_icon(experience)} {safe(title)}", anchor=False, width="content")
        st.badge(label, color=color, icon=icon)  # type: ignore[arg-type]
    job = f" · {safe(payload.job_type)}" if isinstance(payload, JobConfigPayload) else ""
    st.caption(
        f"{colored(safe(experience.label), experience.color)}{job} · {safe(record.id)}"
        f" · version {record.version}"
    )
    _alerts(record.id)
    with st.container(horizontal=True, key="inspector-actions"):
        if isinstance(payload, JobConfigPayload) and allowed("run.start"):
            st.button(
                "Run Now",
                type="primary",
                icon=":material/play_arrow:",
                key="inspector-run",
                on_click=_run_now,
                args=(record.id, title),
                disabled=record.object.meta.status == "archived",
            )
            st.button(
                "Run with overrides…",
                icon=":material/tune:",
                key="inspector-override",
                on_click=open_dialog,
                args=("overrides", record.id),
            )
        if isinstance(payload, JobConfigPayload) and allowed("run.backfill"):
            st.button(
                "Backfill…",
                icon=":material/history:",
                key="inspector-backfill",
                on_click=open_dialog,
                args=("backfill", record.id),
                disabled=record.object.meta.status == "archived",
            )
        if allowed("config.duplicate") and st.button(
            "Duplicate", icon=":material/content_copy:", key="inspector-duplicate"
        ):
            _duplicate(record.id, title)
        if allowed("config.archive"):
            st.button(
                "Delete",
                icon=":material/delete:",
                key="inspector-delete",
                on_click=open_dialog,
                args=("archive", record.id),
            )
    show_open_dialog(record.id)


def _run_now(config_id: str, title: str) -> None:
    try:
        queued = actions.start_run(config_id)
    except GroveError as exc:
        st.toast(safe(f"Could not run: {exc}"), icon=":material/error:")
        return
    toast_later(run_now_message(title, queued), icon=":material/play_arrow:")
    # Show the run where it can be watched.
    st.session_state[TAB_KEY] = EXECUTION_STATUS


def _duplicate(config_id: str, title: str) -> None:
    try:
        copy = actions.duplicate(config_id)
    except GroveError as exc:
        st.error(safe(f"Could not duplicate: {exc}"))
        return
    toast_later(safe(f"Duplicated {title} as {copy.id} (disabled)"), icon=":material/content_copy:")
    st.query_params[CONFIG_PARAM] = copy.id
    st.rerun()


if __name__ == "__main__":
    render()

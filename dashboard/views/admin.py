"""Admin (admins only): scheduler pause and maintenance windows, API tokens, user roles and
the log of every admin action."""

from __future__ import annotations

import streamlit as st

from dashboard import admin_actions
from dashboard.components.admin_access import render_tokens, render_users
from dashboard.components.admin_form import (
    SCOPE,
    field_error,
    form_error,
    parse_time,
    submit,
    value,
)
from dashboard.components.feedback import show_flash
from dashboard.components.pause_banner import render_banner, scheduler_status
from dashboard.context import database
from dashboard.display import safe
from dashboard.identity import current_identity
from grove_jobs.auth.admin_audit import list_admin_events
from grove_jobs.exceptions import FieldError, ValidationFailed
from grove_jobs.pauses.windows import WindowSpec, list_windows


def render() -> None:
    """Draw the Admin page, or refuse when the user is not an admin."""
    st.title("Admin", anchor=False)
    who = current_identity()
    if not who.can("admin"):  # the router hides the page; this covers any other way in
        st.error(f"The Admin page needs the admin role; you are {who.role.value}.")
        st.stop()
        return
    show_flash(SCOPE)
    # Bound to ?admin_tab=, so a rerun after a form keeps its tab and a tab has a URL; only
    # the open tab is drawn (and queried).
    drawers = {
        "Scheduler": _render_scheduler,
        "Tokens": render_tokens,
        "Users": render_users,
        "Audit log": _render_log,
    }
    tabs = st.tabs(list(drawers), key="admin_tab", bind="query-params", on_change="rerun")
    for tab, draw in zip(tabs, drawers.values(), strict=True):
        if tab.open is not False:
            with tab:
                draw()


def _render_scheduler() -> None:
    scheduler_status.clear()  # this page must show the state its own buttons just changed
    render_banner()
    status, _ = scheduler_status()
    if status.paused:
        st.button("Resume", on_click=_resume, type="primary", icon=":material/play_arrow:")
    else:
        with st.form("pause", border=True):
            st.markdown("**Pause every schedule**")
            st.text_input("Reason", key="pause_reason", placeholder="database migration")
            field_error("pause", "reason")
            st.text_input("Until (optional)", key="pause_until", placeholder="2026-12-01T04:00Z")
            field_error("pause", "until")
            st.checkbox("Hold manual and API runs too", key="pause_hold")
            st.form_submit_button("Pause", on_click=_pause, icon=":material/pause:")
    form_error("pause")
    st.subheader("Maintenance windows", anchor=False)
    found = list_windows(database())
    if not found:
        st.caption("No maintenance windows. Add one below.")
    else:
        st.dataframe(
            [
                {
                    "Name": w.spec.name,
                    "When": w.describe(),
                    "Covers": f"tag {w.spec.tag}" if w.spec.tag else "all configs",
                    "Created by": w.created_by,
                }
                for w in found
            ],
            hide_index=True,
            width="stretch",
            key="window-table",
        )
        with st.container(horizontal=True, vertical_alignment="bottom"):
            st.selectbox("Window to remove", [w.spec.name for w in found], key="window_remove")
            st.button("Remove window", on_click=_remove_window, icon=":material/delete:")
    form_error("window-remove")
    _window_form()


def _window_form() -> None:
    with st.form("window-add", border=True):
        st.markdown("**New maintenance window**")
        st.text_input("Name", key="window_name", placeholder="nightly backup")
        field_error("window", "name")
        st.radio("Kind", ["One-off", "Recurring"], key="window_kind", horizontal=True)
        left, right = st.columns(2)
        with left:
            st.text_input("Start (one-off)", key="window_start", placeholder="2026-12-01T02:00Z")
            field_error("window", "start")
            st.text_input("Cron (recurring)", key="window_cron", placeholder="0 2 * * SUN")
            field_error("window", "cron")
            st.text_input("Timezone (recurring)", value="UTC", key="window_tz")
            field_error("window", "timezone")
        with right:
            st.text_input("End (one-off)", key="window_end", placeholder="2026-12-01T04:00Z")
            field_error("window", "end")
            st.number_input(
                "Duration, minutes (recurring)", min_value=0, value=60, key="window_duration"
            )
            field_error("window", "duration")
            st.text_input("Only configs tagged (blank: all)", key="window_tag")
            field_error("window", "tag")
        st.form_submit_button("Add window", on_click=_add_window, icon=":material/add:")
    form_error("window")


def _pause() -> None:
    def action() -> str:
        admin_actions.pause(
            value("pause_reason") or "",
            parse_time(value("pause_until"), "until"),
            bool(value("pause_hold")),
        )
        reason = value("pause_reason")
        st.session_state["pause_reason"] = ""
        return f"Paused: {safe(reason)}."

    submit("pause", action, name_field="")


def _resume() -> None:
    def action() -> str:
        resumed = admin_actions.resume()
        return "Resumed: schedules run again." if resumed else "The scheduler was not paused."

    submit("pause", action, name_field="")


def _add_window() -> None:
    def action() -> str:
        recurring = value("window_kind") == "Recurring"
        if recurring and not (value("window_cron") or "").strip():
            raise ValidationFailed([FieldError("cron", "a recurring window needs a cron")])
        spec = WindowSpec(
            name=value("window_name") or "",
            starts_at=None if recurring else parse_time(value("window_start"), "start"),
            ends_at=None if recurring else parse_time(value("window_end"), "end"),
            cron_expression=(value("window_cron") or None) if recurring else None,
            duration_minutes=int(value("window_duration") or 0) or None,
            timezone=value("window_tz") or "UTC",
            tag=value("window_tag") or None,
        )
        window = admin_actions.add_window(spec)
        for key in ("window_name", "window_cron", "window_start", "window_end", "window_tag"):
            st.session_state[key] = ""
        return f"Added maintenance window {safe(window.spec.name)}: {safe(window.describe())}."

    submit("window", action)


def _remove_window() -> None:
    def action() -> str:
        window = admin_actions.remove_window(value("window_remove"))
        return f"Removed maintenance window {safe(window.spec.name)}."

    submit("window-remove", action, name_field="")


def _render_log() -> None:
    events = list_admin_events(database(), limit=200)
    if not events:
        st.info("No admin actions yet.", icon=":material/history:")
        return
    st.dataframe(
        [
            {
                "When": e.at,
                "Who": e.actor,
                "Via": e.source,
                "Action": e.action,
                "Target": e.target,
                "Detail": ", ".join(
                    f"{k}={v}" for k, v in (e.detail or {}).items() if v is not None
                ),
            }
            for e in events
        ],
        hide_index=True,
        width="stretch",
        key="audit-table",
    )


if __name__ == "__main__":
    render()

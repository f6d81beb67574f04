"""Alerts: open and recent incidents across jobs, with acknowledge and links to their runs."""

from __future__ import annotations

import streamlit as st

from dashboard import actions, data, permissions
from dashboard.components.feedback import toast_later
from dashboard.data import Incident
from dashboard.display import ago_text, literal, safe
from dashboard.nav import CONFIG_PARAM, INSPECTOR, RUNS
from grove_jobs.clock import utcnow
from grove_jobs.exceptions import GroveError

STATES = {"Open": "open", "Resolved": "resolved", "All": "all"}
LIMIT = 100


def render() -> None:
    """Draw the Alerts page."""
    st.title("Alerts", anchor=False)
    can_ack = permissions.allowed()("alert.ack")
    state = st.segmented_control("Show", list(STATES), default="Open", key="alerts-state")
    incidents = data.incidents(STATES[state or "Open"], LIMIT)
    open_count = sum(1 for i in incidents if i.resolved_at is None)
    if not incidents:
        st.success("No incidents here. Every job is behaving.", icon=":material/check_circle:")
        return
    noun = "incident" if len(incidents) == 1 else "incidents"
    st.caption(f"{len(incidents)} {noun}, {open_count} open · newest first")
    now = utcnow()
    for incident in incidents:
        _incident(incident, now, can_ack)


def _incident(incident: Incident, now, can_ack: bool) -> None:
    resolved = incident.resolved_at is not None
    with st.container(border=True, key=f"incident-{incident.id}"):
        with st.container(horizontal=True, vertical_alignment="center"):
            if resolved:
                st.badge("Resolved", color="green", icon=":material/check_circle:")
            else:
                st.badge("Open", color="red", icon=":material/notifications_active:")
            st.markdown(f"**{safe(incident.label)}** · {literal(incident.config_id)}")
            st.caption(safe(f"opened {ago_text(incident.opened_at, now)}"), width="content")
        if incident.summary:
            st.text(incident.summary)
        notes = [f"Opened {incident.opened_at:%Y-%m-%d %H:%M:%S} UTC"]
        if incident.resolved_at is not None:
            notes.append(f"resolved {incident.resolved_at:%Y-%m-%d %H:%M:%S} UTC")
        if incident.acknowledged_at is not None:
            notes.append(
                f"acknowledged by {incident.acknowledged_by} "
                f"at {incident.acknowledged_at:%Y-%m-%d %H:%M:%S} UTC"
            )
        st.caption(safe(" · ".join(notes)))
        with st.container(horizontal=True, vertical_alignment="center"):
            if incident.execution_id is not None:
                st.page_link(
                    RUNS,
                    label=f"Run #{incident.execution_id}",
                    icon=":material/history:",
                    query_params={"run": str(incident.execution_id)},
                )
            st.page_link(
                INSPECTOR,
                label="Config",
                icon=":material/tune:",
                query_params={CONFIG_PARAM: incident.config_id},
            )
            if not resolved and incident.acknowledged_at is None and can_ack:
                st.button(
                    "Acknowledge",
                    key=f"ack-{incident.id}",
                    icon=":material/front_hand:",
                    on_click=_acknowledge,
                    args=(incident.id,),
                )


def _acknowledge(incident_id: int) -> None:
    try:
        ack = actions.acknowledge(incident_id)
    except GroveError as exc:
        st.toast(safe(str(exc)), icon=":material/error:")
        return
    toast_later(safe(f"Acknowledged by {ack.by}"), icon=":material/front_hand:")


if __name__ == "__main__":
    render()

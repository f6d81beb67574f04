"""A console card: header, summary, chips and actions for one stored object.

Everything is drawn from a cached ``CardRow``; only the Enabled toggle and Run Now write, each
through ``dashboard.actions`` in a widget callback (so the click is handled exactly once,
before the rerun that redraws the grid).
"""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from dashboard import actions, data
from dashboard.components.feedback import toast_later
from dashboard.components.pause_banner import next_run_note
from dashboard.data import CardRow
from dashboard.display import (
    EXECUTION_BADGES,
    ago_text,
    card_status,
    colored,
    describe,
    duration_text,
    items_text,
    next_run_text,
    safe,
)
from dashboard.nav import CONFIG_PARAM, INSPECTOR
from dashboard.permissions import Allowed
from grove_jobs.exceptions import GroveError
from grove_jobs.jobs.registry import UnknownJobType
from grove_jobs.schema.registry import ExperienceType


def card_key(config_id: str) -> str:
    """The card container's key (CSS class ``st-key-card-<id>``)."""
    return f"card-{config_id}"


def render_card(row: CardRow, experience: ExperienceType, now: datetime, allowed: Allowed) -> None:
    """Draw one card; controls the user may not use are disabled or left out."""
    with st.container(border=True, key=card_key(row.id)):
        _header(row, experience)
        if row.job_type is not None:
            _job_summary(row, now)
            _job_chips(row)
        else:
            _generic_summary(row)
        _actions(row, allowed)


def type_icon(experience: ExperienceType) -> str:
    """The type's material icon in the type's colour (markdown), e.g. an orange hourglass."""
    return colored(experience.icon, experience.color)


def _header(row: CardRow, experience: ExperienceType) -> None:
    label, color, icon = card_status(row.enabled, row.status, row.last_status)
    # One markdown block, so a long title wraps with the badge instead of pushing it away.
    st.markdown(
        f"{type_icon(experience)} **{safe(row.title)}** &nbsp;:{color}-badge[{icon} {label}]"
    )
    detail = f"{safe(row.job_type)} · " if row.job_type else f"{safe(experience.label)} · "
    st.caption(f"{detail}{safe(row.id)}")
    if not row.job_type_installed:
        st.badge(
            "job type not installed",
            color="red",
            icon=":material/extension_off:",
            help=safe(str(UnknownJobType(row.job_type or ""))),
        )
    _alerts(row.id)


def _alerts(config_id: str) -> None:
    """A red badge per open alert incident (its rule), with the details on hover."""
    alerts = data.active_alerts().get(config_id, ())
    if alerts:
        with st.container(horizontal=True, gap="small", key=f"card-alerts-{config_id}"):
            for alert in alerts:
                st.badge(
                    safe(alert.label),
                    color="red",
                    icon=":material/notifications_active:",
                    help=safe(alert.summary),
                )


def _job_summary(row: CardRow, now: datetime) -> None:
    if row.next_run_at is not None:
        when = next_run_text(row.next_run_at, now, row.timezone)
        countdown, _, local = when.partition(" · ")
        text = (
            f"Next run **{safe(local or countdown)}** · {safe(countdown)}"
            if local
            else (f"Next run {safe(countdown)}")
        )
    else:
        text = "Next run — schedule off" if row.enabled is False else "Next run — not scheduled"
    st.markdown(f":small[:material/event: {text}]")
    if row.enabled and (
        note := next_run_note(row.cron, row.timezone, row.next_run_at, frozenset(row.tags))
    ):
        st.markdown(f":small[:orange[:material/construction: {safe(note)}]]")
    if row.last_status is None:
        st.markdown(":small[:material/history: No runs yet]")
        return
    status_label, status_color, status_icon = EXECUTION_BADGES.get(
        row.last_status, (row.last_status, "gray", ":material/help:")
    )
    parts = [
        part
        for part in (
            items_text(row.last_items, row.last_items_total),
            duration_text(row.last_duration) if row.last_duration is not None else "",
            ago_text(row.last_at, now),
        )
        if part
    ]
    rest = f" · {safe(' · '.join(parts))}" if parts else ""
    st.markdown(
        f":small[:material/history: Last run :{status_color}-badge[{status_icon} "
        f"{safe(status_label)}]{rest}]"
    )


def _job_chips(row: CardRow) -> None:
    schedule = describe(row.cron or "", row.timezone or "UTC")
    retries = f"{row.max_attempts} attempt{'s' if row.max_attempts != 1 else ''} · {row.backoff}"
    with st.container(horizontal=True, gap="small"):
        st.badge(safe(schedule), color="gray", icon=":material/schedule:")
        st.badge(f"Batch {row.batch_size:,}", color="gray", icon=":material/inventory_2:")
        st.badge(safe(retries), color="gray", icon=":material/replay:")


def _generic_summary(row: CardRow) -> None:
    if row.description:
        st.caption(safe(row.description))
    if row.chips:
        with st.container(horizontal=True, gap="small"):
            for key, value in row.chips:
                st.badge(safe(f"{key}: {value}"), color="gray")


def _actions(row: CardRow, allowed: Allowed) -> None:
    with st.container(horizontal=True, vertical_alignment="center", gap="xsmall"):
        if row.enabled is not None:
            key = f"enabled:{row.id}:v{row.version}"
            st.toggle(
                "Enabled",
                value=row.enabled,
                key=key,
                on_change=_toggle,
                args=(row.id, row.version, key),
                disabled=not allowed("config.enable"),
            )
        if row.runnable and allowed("run.start"):
            st.button(
                "Run Now",
                key=f"run:{row.id}",
                on_click=_run_now,
                args=(row.id, row.title),
                disabled=row.status == "archived",
            )
        st.page_link(
            INSPECTOR,
            label="Configure",
            query_params={CONFIG_PARAM: row.id},
        )


def _toggle(config_id: str, version: int, key: str) -> None:
    enabled = bool(st.session_state[key])
    try:
        actions.set_enabled(config_id, enabled, expected_version=version)
    except GroveError as exc:
        data.clear()
        st.toast(safe(f"Could not switch {config_id}: {exc}"), icon=":material/error:")
        return
    state = "enabled" if enabled else "disabled"
    toast_later(safe(f"{config_id} {state}"))


def run_now_message(title: str, queued: actions.Queued) -> str:
    """'Run #12 of Nightly queued' or, for a repeated click, 'already queued'."""
    run = queued.execution
    if queued.repeated:
        return safe(f"Run #{run.id} of {title} was already requested ({run.status})")
    return safe(f"Run #{run.id} of {title} queued")


def _run_now(config_id: str, title: str) -> None:
    try:
        queued = actions.start_run(config_id)
    except GroveError as exc:
        st.toast(safe(f"Could not run {config_id}: {exc}"), icon=":material/error:")
        return
    toast_later(run_now_message(title, queued), icon=":material/play_arrow:")

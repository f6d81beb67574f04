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
from dashboard.data import ActiveAlert, CardRow
from dashboard.display import (
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
from dashboard.render.components import EXECUTION_BADGES
from grove_jobs.exceptions import GroveError
from grove_jobs.jobs.registry import UnknownJobType
from grove_jobs.schema.registry import ExperienceType


def card_key(config_id: str) -> str:
    """The card container's key (CSS class ``st-key-card-<id>``)."""
    return f"card-{config_id}"


def render_card(row: CardRow, experience: ExperienceType, now: datetime, allowed: Allowed) -> None:
    """Draw one card; controls the user may not use are disabled or left out."""
    with st.container(border=True, key=card_key(row.id)):
        # The card's text is one markdown block (a paragraph per line): the browser parses and
        # lays out every markdown element on its own, and cards of eight elements each were
        # most of the console's load time. Badges with hover help stay elements of their own.
        head = _header_lines(row, experience)
        body = _job_lines(row, now) if row.job_type is not None else _generic_lines(row)
        alerts = data.active_alerts().get(row.id, ())
        if row.job_type_installed and not alerts:
            head, body = head + body, []  # no badge between them: one block
        st.markdown("\n\n".join(head))
        _problem_badges(row, alerts)
        if body:
            st.markdown("\n\n".join(body))
        _actions(row, allowed)


def type_icon(experience: ExperienceType) -> str:
    """The type's material icon in the type's colour (markdown), e.g. an orange hourglass."""
    return colored(experience.icon, experience.color)


def _header_lines(row: CardRow, experience: ExperienceType) -> list[str]:
    label, color, icon = card_status(row.enabled, row.status, row.last_status)
    detail = f"{safe(row.job_type)} · " if row.job_type else f"{safe(experience.label)} · "
    return [
        f"{type_icon(experience)} **{safe(row.title)}** &nbsp;:{color}-badge[{icon} {label}]",
        f":small[:gray[{detail}{safe(row.id)}]]",
    ]


def _problem_badges(row: CardRow, alerts: tuple[ActiveAlert, ...]) -> None:
    """A missing job type, and a red badge per open alert incident, with details on hover."""
    if not row.job_type_installed:
        st.badge(
            "job type not installed",
            color="red",
            icon=":material/extension_off:",
            help=safe(str(UnknownJobType(row.job_type or ""))),
        )
    if alerts:
        with st.container(horizontal=True, gap="small", key=f"card-alerts-{row.id}"):
            for alert in alerts:
                st.badge(
                    safe(alert.label),
                    color="red",
                    icon=":material/notifications_active:",
                    help=safe(alert.summary),
                )


def _job_lines(row: CardRow, now: datetime) -> list[str]:
    lines = [f":small[:material/event: {_next_run(row, now)}]"]
    if row.enabled and (
        note := next_run_note(row.cron, row.timezone, row.next_run_at, frozenset(row.tags))
    ):
        lines.append(f":small[:orange[:material/construction: {safe(note)}]]")
    lines.append(f":small[:material/history: {_last_run(row, now)}]")
    schedule = describe(row.cron or "", row.timezone or "UTC")
    retries = f"{row.max_attempts} attempt{'s' if row.max_attempts != 1 else ''} · {row.backoff}"
    lines.append(
        chips(
            (":material/schedule:", schedule),
            (":material/inventory_2:", f"Batch {row.batch_size:,}"),
            (":material/replay:", retries),
        )
    )
    return lines


def _next_run(row: CardRow, now: datetime) -> str:
    if row.next_run_at is None:
        return "Next run — schedule off" if row.enabled is False else "Next run — not scheduled"
    when = next_run_text(row.next_run_at, now, row.timezone)
    countdown, _, local = when.partition(" · ")
    if local:
        return f"Next run **{safe(local)}** · {safe(countdown)}"
    return f"Next run {safe(countdown)}"


def _last_run(row: CardRow, now: datetime) -> str:
    if row.last_status is None:
        return "No runs yet"
    label, color, icon = EXECUTION_BADGES.get(
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
    return f"Last run :{color}-badge[{icon} {safe(label)}]{rest}"


def _generic_lines(row: CardRow) -> list[str]:
    # One line: a blank line inside the description would end the markdown directive early.
    description = " ".join(row.description.split())
    lines = [f":small[:gray[{safe(description)}]]"] if description else []
    if row.chips:
        lines.append(chips(*(("", f"{key}: {value}") for key, value in row.chips)))
    return lines


def chips(*items: tuple[str, str]) -> str:
    """Gray badges in one markdown line, as ``(icon, text)`` pairs (the text is escaped)."""
    return " ".join(
        f":gray-badge[{icon} {safe(text)}]" if icon else f":gray-badge[{safe(text)}]"
        for icon, text in items
    )


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

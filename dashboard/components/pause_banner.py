"""The console's pause banner and the cards' "next run after maintenance" note."""

from __future__ import annotations

from datetime import datetime, timedelta

import streamlit as st

from dashboard.context import database
from dashboard.display import local_time, safe
from grove_jobs import schedule as cron
from grove_jobs.clock import utcnow
from grove_jobs.pauses.blackout import Blackouts, load_blackouts
from grove_jobs.pauses.store import PauseStatus, pause_status

HORIZON = timedelta(days=7)  # how far ahead a card looks for its first run after a blackout
STATUS_TTL = 2  # seconds: a pause shows up on the next rerun, and 24 cards share one query


@st.cache_data(ttl=STATUS_TTL, show_spinner=False)
def scheduler_status() -> tuple[PauseStatus, Blackouts]:
    """The pause status now and every blackout over the coming week (two small queries)."""
    now = utcnow()
    with database().read() as session:
        blackouts = load_blackouts(session, now, now + HORIZON)
    return pause_status(database(), at=now), blackouts


def render_banner() -> None:
    """A warning while paused, an info line per maintenance window in force."""
    status, _ = scheduler_status()
    if status.paused:
        until = (
            f" until {local_time(status.until, 'UTC', '%b %d %H:%M %Z')}" if status.until else ""
        )
        held = " Manual runs are held too." if status.hold_manual else " Manual runs still start."
        st.warning(
            f"**Scheduler paused**{until} by {safe(status.by)}: {safe(status.reason)}. "
            f"Fire times are recorded as skipped; running runs go on.{held}",
            icon=":material/pause_circle:",
        )
    for window in status.active_windows:
        scope = f"configs tagged {safe(window.tag)}" if window.tag else "all configs"
        end = local_time(window.end, "UTC", "%b %d %H:%M %Z") if window.end else "further notice"
        st.info(
            f"**Maintenance window {safe(window.name)}** until {end} ({scope}): their fire "
            "times are skipped.",
            icon=":material/construction:",
        )


def next_run_note(
    cron_expression: str | None,
    timezone: str | None,
    next_run_at: datetime | None,
    tags: frozenset[str],
) -> str | None:
    """When the config's next fire falls in a pause or window: when it really runs next."""
    if not cron_expression or not timezone or next_run_at is None:
        return None
    _, blackouts = scheduler_status()
    hit = blackouts.blocking(next_run_at, tags)
    if hit is None:
        return None
    kind = "maintenance" if hit.kind == "maintenance" else "the pause"
    for fire in cron.fire_times(cron_expression, timezone, next_run_at, 500):
        if blackouts.blocking(fire, tags) is None:
            return f"Next run after {kind} · {local_time(fire, timezone, '%b %d %H:%M %Z')}"
    return f"Next run after {kind}"

"""The Schedule section: cron with syntax help, timezone picker, active switch, misfire policy,
and a live description with the next five runs in the config's local time."""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

import streamlit as st

from dashboard.components.fields import Form, field_input, field_key_class
from dashboard.display import safe
from grove_jobs import schedule as cron
from grove_jobs.clock import utcnow
from grove_jobs.schedule_checks import HOST_ZONES
from grove_jobs.schema.job_config import ScheduleSpec

PREVIEW_COUNT = 5
CRON_HELP = """Five fields separated by spaces, evaluated in the timezone below:

`minute` (0-59) · `hour` (0-23) · `day of month` (1-31) · `month` (1-12 or jan-dec) ·
`day of week` (0-7 or sun-sat; 0 and 7 are Sunday)

Each field takes `*` (any), a value `5`, a list `1,15`, a range `1-5` or a step `*/15`.
Examples: `0 2 * * *` daily at 02:00 · `*/5 * * * *` every five minutes ·
`30 8 * * 1-5` weekdays at 08:30.

Macros: `@hourly`, `@daily` (`@midnight`), `@weekly`, `@monthly`, `@yearly` (`@annually`)."""
MISFIRE_HELP = """What happens to fire times missed while no scheduler was running:
`skip` records them as skipped; `run_once` runs the newest missed one;
`run_all` runs every missed one. Runs late by less than the grace period always run."""
LABELS = {
    "misfirePolicy": "Misfire policy",
    "misfireGraceSeconds": "Misfire grace (seconds)",
}


@lru_cache(maxsize=1)
def timezones() -> list[str]:
    """Every IANA zone name, sorted, UTC first."""
    zones = available_timezones() - HOST_ZONES - {"UTC"}
    return ["UTC", *sorted(zones)]


def schedule_section(form: Form, value: dict[str, Any], path: str = "payload.schedule") -> dict:
    """Draw the section; returns the edited schedule JSON."""
    result = dict(value)
    with st.container(key=field_key_class(f"{path}.cronExpression")):
        key = form.seed(f"{path}.cronExpression", value.get("cronExpression", ""))
        expression = st.text_input(
            "Cron expression",
            key=key,
            help=CRON_HELP,
            placeholder="minute hour day-of-month month day-of-week",
            disabled=form.disabled,
        )
        form.keep(key, expression)
        form.show_errors(f"{path}.cronExpression")
    result["cronExpression"] = expression
    with st.container(key=field_key_class(f"{path}.timezone")):
        zone = _timezone_picker(form, f"{path}.timezone", value.get("timezone") or "UTC")
        form.show_errors(f"{path}.timezone")
    result["timezone"] = zone
    with st.container(key=field_key_class(f"{path}.isEnabled")):
        key = form.seed(f"{path}.isEnabled", bool(value.get("isEnabled")))
        result["isEnabled"] = st.toggle(
            "Active",
            key=key,
            help="When off, the scheduler never fires this config.",
            disabled=form.disabled,
        )
        form.keep(key, result["isEnabled"])
        form.show_errors(f"{path}.isEnabled")
    # After a failed save the fields carry the errors; the live hint would only repeat them.
    quiet = any(p in form.errors for p in (f"{path}.cronExpression", f"{path}.timezone"))
    _preview(expression, zone, bool(result["isEnabled"]), quiet=quiet)
    policy, grace = st.columns(2)
    for column, name in ((policy, "misfire_policy"), (grace, "misfire_grace_seconds")):
        info = ScheduleSpec.model_fields[name]
        alias = info.alias or name
        with column:
            result[alias] = field_input(
                form,
                f"{path}.{alias}",
                info.annotation,
                info,
                value.get(alias, info.default),
                label=LABELS[alias],
                help_text=MISFIRE_HELP,
            )
    return result


def _timezone_picker(form: Form, path: str, current: str) -> str:
    options = timezones()
    if current not in options:
        options = [current, *options]  # keep an unknown stored zone visible, so it can be fixed
    key = form.seed(path, current)
    if st.session_state[key] not in options:
        options = [st.session_state[key], *options]
    zone = st.selectbox(
        "Timezone",
        options,
        key=key,
        accept_new_options=True,
        help="IANA timezone the cron is evaluated in (DST handled); type to search.",
        disabled=form.disabled,
    )
    form.keep(key, zone)
    return str(zone or "")


def _preview(expression: str, zone: str, enabled: bool, *, quiet: bool) -> None:
    """Live description and next runs; problems are shown here as hints, errors on Save."""
    try:
        description = cron.describe(expression, zone)
        fires = cron.preview(expression, zone, utcnow(), PREVIEW_COUNT)
    except ValueError as exc:
        if not quiet:
            st.warning(safe(str(exc)), icon=":material/warning:")
        return
    st.info(safe(description), icon=":material/schedule:")
    heading = "Next runs" if enabled else "Next runs (if it were active)"
    lines = []
    for fire in fires:
        flag = (
            "  ⚠ DST change: UTC offset now " + fire.local.strftime("%z") if fire.dst_change else ""
        )
        lines.append(f"{fire.local:%a %b %d %Y  %I:%M %p %Z}{flag}")
    with st.container(key="schedule-preview"):
        st.caption(heading)
        # st.text, not st.code: a code block makes the browser fetch Streamlit's 1.5 MB
        # syntax highlighter before the inspector is usable, for five lines of dates.
        st.text("\n".join(lines))

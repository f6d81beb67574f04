"""Modal dialogs: run logs, delete (archive) confirmation, Run Now with parameter overrides,
backfill.

A dialog stays open across full reruns (a finished run refreshing the page, a toggle
elsewhere) because which one is open lives in session state: buttons call
:func:`open_dialog`, the page calls :func:`show_open_dialog` on every run, and closing the
dialog (X, Escape, or its own action) clears it.
"""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from dashboard import actions, data, identity
from dashboard.components.card import run_now_message
from dashboard.components.feedback import toast_later
from dashboard.components.fields import Form, discard, model_form
from dashboard.display import duration_text, local_time, safe
from dashboard.nav import CONSOLE
from grove_jobs.clock import utcnow
from grove_jobs.db.records import ConfigRecord
from grove_jobs.exceptions import GroveError, ValidationFailed
from grove_jobs.executions.redact import shown_to
from grove_jobs.jobs.registry import find_job_type
from grove_jobs.schema.job_config import JobConfigPayload

_OVERRIDE_ERRORS = "_override_errors"
_OPEN = "_open_dialog"


def open_dialog(kind: str, config_id: str, *args: object) -> None:
    """Open a dialog of ``kind`` ("logs", "archive", "overrides") for ``config_id``."""
    st.session_state[_OPEN] = (kind, config_id, args)


def close_dialog() -> None:
    st.session_state.pop(_OPEN, None)


def show_open_dialog(config_id: str) -> None:
    """Draw the dialog the user opened on this config's page, if any."""
    opened = st.session_state.get(_OPEN)
    if not opened:
        return
    kind, owner, args = opened
    if owner != config_id:
        close_dialog()  # opened on another config's page; that page is gone
        return
    DIALOGS[kind](config_id, *args)


@st.dialog("Run logs", width="large", on_dismiss=close_dialog)
def logs_dialog(config_id: str, execution_id: int, timezone: str) -> None:
    """Every log line of one run, as plain text (never interpreted)."""
    run = data.execution(execution_id)
    if run is not None:
        run = shown_to(run, full_errors=identity.can("run.traceback"))
        started = local_time(run.started_at or run.queued_at, timezone)
        st.caption(
            safe(
                f"Run #{run.id} · {run.status} · attempt {run.attempt} of {run.max_attempts} · "
                f"started {started} · took {duration_text(run.duration_seconds)}"
            )
        )
        if run.error:
            st.caption("Error")
            st.code(run.error, language=None, wrap_lines=True)
    lines = data.logs(execution_id)
    st.caption(f"{len(lines)} log line{'s' if len(lines) != 1 else ''}")
    if lines:
        text = "\n".join(
            f"{local_time(line.at, timezone, '%H:%M:%S')}  {line.level.upper():<5}  "
            f"[attempt {line.attempt}]  {line.message}"
            for line in lines
        )
        st.code(text, language=None, wrap_lines=True, height=420 if len(lines) > 20 else "content")


@st.dialog("Delete config", on_dismiss=close_dialog)
def archive_dialog(config_id: str) -> None:
    """Confirm, then archive: no more runs, history kept."""
    record = data.config(config_id)
    if record is None:
        close_dialog()
        return
    title = title_of(record)
    st.markdown(f"Delete **{safe(title)}**?")
    st.caption(
        "The config is archived: it stops running and disappears from the console. Its "
        "execution history and revisions are kept."
    )
    with st.container(horizontal=True):
        if st.button("Delete", type="primary", icon=":material/delete:", key="archive-confirm"):
            try:
                actions.archive(record.id)
            except GroveError as exc:
                st.error(safe(str(exc)))
                return
            close_dialog()
            toast_later(safe(f"{title} deleted (archived)"), icon=":material/delete:")
            st.switch_page(CONSOLE)
        if st.button("Cancel", key="archive-cancel"):
            close_dialog()
            st.rerun()


@st.dialog("Run now with parameter overrides", width="large", on_dismiss=close_dialog)
def overrides_dialog(config_id: str) -> None:
    """Edit this run's parameters; only the values that differ are sent as overrides."""
    record = data.config(config_id)
    if record is None:
        close_dialog()
        return
    title = title_of(record)
    payload = record.object.payload
    if not isinstance(payload, JobConfigPayload):
        st.error("This object cannot be run.")
        return
    kind = find_job_type(payload.job_type)
    if kind is None:
        st.error(safe(f"Job type {payload.job_type!r} is not installed here."))
        return
    current = payload.parameters_json()
    ns = f"ov:{record.id}:v{record.version}"
    errors: dict[str, list[str]] = st.session_state.get(_OVERRIDE_ERRORS, {}).get(ns, {})
    form = Form(ns, errors=errors)
    st.caption(safe(f"Parameters for this run of {title} only; the saved config is unchanged."))
    edited = model_form(form, kind.parameters, current, "parameters", columns=2)
    overrides = {k: v for k, v in edited.items() if k != "jobType" and current.get(k) != v}
    for path, message in form.unclaimed():
        st.error(safe(f"{path}: {message}"))
    if overrides:
        st.caption("Overrides")
        st.code("\n".join(f"{k} = {v!r}" for k, v in overrides.items()), language=None)
    else:
        st.caption("No overrides: this is the same as Run Now.")
    if st.button("Run now", type="primary", icon=":material/play_arrow:", key="override-run"):
        try:
            queued = actions.start_run(record.id, overrides)
        except ValidationFailed as exc:
            grouped: dict[str, list[str]] = {}
            for error in exc.errors:
                grouped.setdefault(error.path, []).append(error.message)
            st.session_state.setdefault(_OVERRIDE_ERRORS, {})[ns] = grouped
            st.rerun()  # the dialog stays open (session state) and shows the errors
        except GroveError as exc:
            st.error(safe(str(exc)))
            return
        st.session_state.get(_OVERRIDE_ERRORS, {}).pop(ns, None)
        discard(ns)
        close_dialog()
        toast_later(run_now_message(title, queued), icon=":material/play_arrow:")
        st.rerun()


def title_of(record: ConfigRecord) -> str:
    """What a config is called: meta.title, else the payload's display name, else its id."""
    payload = record.object.payload
    return record.object.meta.title or getattr(payload, "display_name", None) or record.id


@st.dialog("Backfill", width="large", on_dismiss=close_dialog)
def backfill_dialog(config_id: str) -> None:
    """Pick a range, preview its fire times, confirm: one run per fire time."""
    record = data.config(config_id)
    if record is None or not isinstance(record.object.payload, JobConfigPayload):
        close_dialog()
        return
    schedule = record.object.payload.schedule
    zone = schedule.timezone
    st.caption(
        safe(
            f"One run of {title_of(record)} per fire time of {schedule.cron_expression} "
            f"({zone}) from the first day's midnight up to, not including, the last day's. "
            "Ticks that already ran are left alone; skipped ones run."
        )
    )
    today = utcnow().date()
    with st.container(horizontal=True):
        start = st.date_input("From (included)", value=today - timedelta(days=7), key="bf-from")
        end = st.date_input("To (excluded)", value=today, key="bf-to")
    try:
        preview = actions.backfill(config_id, str(start), str(end), dry_run=True)
    except ValidationFailed as exc:
        for error in exc.errors:
            st.error(safe(f"{error.path}: {error.message}"), icon=":material/error:")
        return
    fresh = len(preview.fire_times) - len(preview.existing)
    st.markdown(
        f"**{len(preview.fire_times):,} fire times**, {len(preview.existing):,} already ran: "
        f"**{fresh:,} runs** will be queued, oldest first."
    )
    shown = [local_time(t, zone) for t in preview.fire_times[:50]]
    if shown:
        more = len(preview.fire_times) - len(shown)
        st.code("\n".join(shown) + (f"\n… and {more:,} more" if more else ""), language=None)
    if st.button(
        f"Queue {fresh:,} runs",
        type="primary",
        icon=":material/history:",
        key="bf-confirm",
        disabled=fresh == 0,
    ):
        try:
            result = actions.backfill(config_id, str(start), str(end), dry_run=False)
        except GroveError as exc:
            st.error(safe(str(exc)))
            return
        close_dialog()
        toast_later(
            f"Backfill: created {len(result.created):,}, already there {len(result.existing):,}",
            icon=":material/history:",
        )
        st.rerun()


DIALOGS = {
    "logs": logs_dialog,
    "archive": archive_dialog,
    "overrides": overrides_dialog,
    "backfill": backfill_dialog,
}

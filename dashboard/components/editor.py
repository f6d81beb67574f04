"""The Configuration tab: a sectioned form over a stored object, with validated, conflict-safe
saving.

The form edits a snapshot: the object as stored at the version the user started from. Widget
keys carry that version (``ed:<id>:v<version>|<json path>``), so a save by someone else never
rewrites what the user is typing; the save then fails with VersionConflict and the user chooses
to reload or to overwrite. Save validates the whole object with ``parse_grove_object`` and, on
failure, shows every error next to its field and writes nothing.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from dashboard import actions, data
from dashboard.components.feedback import clear_flash, flash, show_flash, toast_later
from dashboard.components.fields import Form, discard, field_input, field_key_class, model_form
from dashboard.components.layout import section
from dashboard.components.schedule_form import schedule_section
from dashboard.context import database
from dashboard.display import duration_text, humanize_key, literal, safe, when_text
from dashboard.permissions import Allowed
from grove_jobs import schedule as cron
from grove_jobs.clock import utcnow
from grove_jobs.configs.store import find_config
from grove_jobs.configs.transfer import diff_json
from grove_jobs.db.records import ConfigRecord
from grove_jobs.engine.retry import delays
from grove_jobs.exceptions import FieldError, GroveError, ValidationFailed, VersionConflict
from grove_jobs.jobs.registry import UnknownJobType, find_job_type
from grove_jobs.schema.grove_object import GroveObject, parse_grove_object
from grove_jobs.schema.job_config import Alerts, Limits, Retention, RetryPolicy
from grove_jobs.schema.meta import GroveMeta
from grove_jobs.schema.registry import get_type

STATE = "_editors"
LIMIT_LABELS = {
    "batchSize": "Batch size (max items per run)",
    "timeoutSeconds": "Timeout (seconds, hard limit)",
    "maxConcurrent": "Max concurrent runs",
    "overlapPolicy": "When a run is still active",
}
RETRY_LABELS = {"maxAttempts": "Max attempts (including the first)", "jitter": "Jitter (+≤10%)"}
RETENTION_LABELS = {"keepLast": "Keep last N runs", "keepDays": "Keep runs for (days)"}
ALERT_LABELS = {
    "consecutiveFailures": "Alert after N failures in a row",
    "slowRunFactor": "Alert when a run exceeds k x p95",
    "missedScheduleGraceSeconds": "Missed-schedule grace (s)",
    "targets": "Alert targets (one per line)",
}
ALERT_HELP = {
    "targets": "Names of GROVE_ALERT_URLS entries (e.g. team-slack); never URLs.",
}
LIMIT_HELP = {
    "overlapPolicy": "A scheduled tick while maxConcurrent runs are active is skipped "
    "(recorded as skipped) or queued. Run Now always queues.",
}


@dataclass
class Conflict:
    """Someone saved ``actual`` while the user edited ``expected``."""

    expected: int
    actual: int
    actor: str
    changes: list[str]


@dataclass
class EditorState:
    """Per config: the snapshot being edited and the outcome of the last save attempt."""

    version: int
    base: dict[str, Any]
    errors: dict[str, list[str]] = field(default_factory=dict)
    conflict: Conflict | None = None
    dirty: bool = False

    @property
    def ns(self) -> str:
        return f"ed:{self.base['meta']['id']}:v{self.version}"


def _snapshot(record: ConfigRecord) -> EditorState:
    return EditorState(version=record.version, base=record.object.to_json_dict())


def editor_state(record: ConfigRecord) -> EditorState:
    """The user's editor for ``record``; follows newer stored versions only while clean."""
    states: dict[str, EditorState] = st.session_state.setdefault(STATE, {})
    state = states.get(record.id)
    if state is None or (
        state.version != record.version and not state.dirty and state.conflict is None
    ):
        if state is not None:
            discard(state.ns)
        state = states[record.id] = _snapshot(record)
    return state


def reload(record: ConfigRecord) -> None:
    """Drop the user's edits and start over from ``record``."""
    states: dict[str, EditorState] = st.session_state.setdefault(STATE, {})
    old = states.get(record.id)
    if old is not None:
        discard(old.ns)
    states[record.id] = _snapshot(record)


def render_configuration(record: ConfigRecord, allowed: Allowed) -> None:
    """Draw the Configuration tab for ``record`` (read-only without ``config.edit``)."""
    state = editor_state(record)
    editable = allowed("config.edit")
    form = Form(state.ns, errors=state.errors, disabled=not editable)
    show_flash(f"config:{record.id}")
    if state.version != record.version and state.conflict is None:
        st.warning(
            safe(
                f"Version {record.version} was saved since you started editing version "
                f"{state.version}; saving will ask whether to overwrite it."
            ),
            icon=":material/history:",
        )
    base = copy.deepcopy(state.base)
    experience = get_type(record.type)
    job_type = base["payload"].get("jobType") if "schedule" in base["payload"] else None
    if job_type is not None and find_job_type(job_type) is None:
        # Nothing here can validate its parameters: show it as stored, refuse to edit it.
        st.error(
            safe(f"Editing is refused: {UnknownJobType(job_type)}."),
            icon=":material/extension_off:",
        )
        st.json(base["payload"], expanded=False)
        return
    left, right = st.columns(2, gap="large")
    with left:
        meta, display_name = _identity(form, record, base)
    if job_type is not None:
        payload = dict(base["payload"])
        payload["displayName"] = display_name
        with left, st.container(border=True):
            section("Schedule")
            payload["schedule"] = schedule_section(form, base["payload"]["schedule"])
        with right:
            payload.update(_job_sections(form, base["payload"]))
        with right, st.container(border=True):
            section("Parameters")
            kind = find_job_type(job_type)
            st.caption(safe(f"For job type {kind.title} ({job_type})."))
            parameters = dict(base["payload"].get("parameters") or {})
            parameters.pop("jobType", None)
            payload["parameters"] = model_form(
                form, kind.parameters, parameters, "payload.parameters", columns=2
            )
    else:
        with right, st.container(border=True):
            section(safe(experience.label))
            payload = model_form(form, experience.payload_model, base["payload"], "payload")
    edited = {"meta": meta, "payload": payload}
    state.dirty = _comparable(edited) != _comparable(base)
    if editable:
        _save_bar(form, record, state, edited)
    else:
        st.caption("Read-only: your role can view this config but not change it.")


def _identity(form: Form, record: ConfigRecord, base: dict[str, Any]) -> tuple[dict, Any]:
    meta = dict(base["meta"])
    fields = GroveMeta.model_fields
    display_name = base["payload"].get("displayName")
    with st.container(border=True):
        section("Identity")
        st.text_input(
            "ID",
            value=record.id,
            disabled=True,
            help="The stable id used in URLs, "
            "the CLI and the API; duplicate the config to get a different one.",
        )
        meta["title"] = field_input(
            form,
            "meta.title",
            fields["title"].annotation,
            fields["title"],
            meta.get("title"),
            label="Title",
        )
        if "displayName" in base["payload"]:
            display_name = field_input(
                form,
                "payload.displayName",
                str,
                None,
                display_name,
                label="Display name",
                help_text="The job's name in logs and notifications.",
            )
        meta["description"] = field_input(
            form,
            "meta.description",
            fields["description"].annotation,
            fields["description"],
            meta.get("description"),
            label="Description",
        )
        meta["tags"] = _tags(form, meta.get("tags") or [])
        statuses = ["active", "draft"] + (["archived"] if meta.get("status") == "archived" else [])
        with st.container(key=field_key_class("meta.status")):
            key = form.seed("meta.status", meta.get("status", "active"))
            meta["status"] = st.selectbox(
                "Status",
                statuses,
                key=key,
                help="Drafts are never scheduled.",
                disabled=form.disabled,
            )
            form.keep(key, meta["status"])
            form.show_errors("meta.status")
        st.caption(safe(_provenance(record)))
    return meta, display_name


def _tags(form: Form, tags: list[str]) -> list[str]:
    with st.container(key=field_key_class("meta.tags")):
        key = form.seed("meta.tags", list(tags))
        options = sorted({*tags, *st.session_state[key]})
        value = st.multiselect(
            "Tags",
            options,
            key=key,
            accept_new_options=True,
            placeholder="Add a tag",
            disabled=form.disabled,
        )
        form.keep(key, value)
        form.show_errors("meta.tags")
    return list(value)


def _provenance(record: ConfigRecord) -> str:
    meta = record.object.meta
    who = f" by {meta.created_by}" if meta.created_by else ""
    created = f"{record.created_at:%Y-%m-%d %H:%M} UTC"
    updated = f"{record.updated_at:%Y-%m-%d %H:%M} UTC"
    label = get_type(record.type).label
    return f"{label} · version {record.version} · created{who} {created} · updated {updated}"


def _job_sections(form: Form, payload: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    with st.container(border=True):
        section("Execution limits")
        result["limits"] = model_form(
            form,
            Limits,
            payload.get("limits"),
            "payload.limits",
            labels=LIMIT_LABELS,
            helps=LIMIT_HELP,
            columns=2,
        )
    with st.container(border=True):
        section("Retry policy")
        result["retry"] = model_form(
            form, RetryPolicy, payload.get("retry"), "payload.retry", labels=RETRY_LABELS, columns=2
        )
        _retry_delays(result["retry"])
    with st.container(border=True):
        section("Retention")
        result["retention"] = model_form(
            form,
            Retention,
            payload.get("retention"),
            "payload.retention",
            labels=RETENTION_LABELS,
            columns=2,
        )
    with st.container(border=True):
        section("Alerts")
        result["alerts"] = model_form(
            form,
            Alerts,
            payload.get("alerts"),
            "payload.alerts",
            labels=ALERT_LABELS,
            helps=ALERT_HELP,
            columns=3,
        )
        st.caption("0 switches a rule off.")
        result["owners"] = field_input(
            form,
            "payload.owners",
            list[str],
            None,
            payload.get("owners") or [],
            label="Owners (emails, one per line)",
            help_text="They get a mail when an alert opens or resolves.",
        )
    return result


def _retry_delays(retry: dict[str, Any]) -> None:
    try:
        policy = RetryPolicy.model_validate(retry)
    except ValueError:
        return  # the field errors explain it on Save
    waits = delays(policy)
    if not waits:
        st.caption("No retries: a failed attempt fails the run.")
        return
    steps = " → ".join(duration_text(w) for w in waits)
    jitter = " (plus up to 10% jitter)" if policy.jitter else ""
    st.caption(safe(f"Waits before attempts 2 to {policy.max_attempts}: {steps}{jitter}"))


def _comparable(data_: dict[str, Any]) -> Any:
    """The edited JSON without server-managed meta fields, for change detection."""
    meta = {
        k: v for k, v in data_["meta"].items() if k not in ("createdAt", "updatedAt", "createdBy")
    }
    return {"meta": meta, "payload": data_["payload"]}


# --------------------------------------------------------------------------- saving


def _save_bar(form: Form, record: ConfigRecord, state: EditorState, edited: dict) -> None:
    for path, message in form.unclaimed():
        st.error(safe(f"{path or 'config'}: {message}"), icon=":material/error:")
    if state.conflict is not None:
        _conflict_box(record, state, edited)
        return
    with st.container(horizontal=True, vertical_alignment="center", key="save-bar"):
        if st.button("Save changes", type="primary", icon=":material/save:", key="save"):
            _save(record, state, edited, expected=state.version)
        if st.button("Discard changes", key="discard", disabled=not state.dirty):
            reload(data.config(record.id) or record)
            st.rerun()
        st.caption("Unsaved changes" if state.dirty else "No unsaved changes")


def _conflict_box(record: ConfigRecord, state: EditorState, edited: dict) -> None:
    conflict = state.conflict
    assert conflict is not None
    with st.container(border=True, key="conflict"):
        st.error(
            f"{literal(conflict.actor)} "
            + safe(
                f"saved version {conflict.actual} while you were editing version "
                f"{conflict.expected}. Nothing was saved; your edits are still here."
            ),
            icon=":material/sync_problem:",
        )
        if conflict.changes:
            st.caption("Their changes:")
            st.code("\n".join(conflict.changes), language=None)
        with st.container(horizontal=True):
            if st.button(
                f"Overwrite with my edits (save as version {conflict.actual + 1})",
                type="primary",
                key="overwrite",
            ):
                _save(record, state, edited, expected=conflict.actual)
            if st.button(f"Load version {conflict.actual} (discard my edits)", key="reload"):
                latest = find_config(database(), record.id)
                if latest is not None:
                    reload(latest)
                data.clear()
                st.rerun()


def _save(record: ConfigRecord, state: EditorState, edited: dict, *, expected: int) -> None:
    clear_flash(f"config:{record.id}")
    try:
        obj = parse_grove_object(edited)
        saved = actions.save(obj, expected_version=expected)
    except ValidationFailed as exc:
        state.errors = _group(exc.errors)
        st.rerun()
    except VersionConflict as exc:
        state.conflict = _conflict(record.id, state, exc)
        state.errors = {}
        st.rerun()
    except GroveError as exc:
        state.errors = {"": [str(exc)]}
        st.rerun()
    message = _confirmation(state.base, obj, saved)
    reload(saved)
    toast_later(message)
    flash(f"config:{record.id}", message)
    st.rerun()


def _group(errors: list[FieldError]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for error in errors:
        grouped.setdefault(error.path, []).append(error.message)
    return grouped


def _conflict(config_id: str, state: EditorState, exc: VersionConflict) -> Conflict:
    latest = find_config(database(), config_id)
    revision = data.latest_revision(config_id)
    changes: list[str] = []
    if latest is not None:
        theirs = _comparable(latest.object.to_json_dict())
        for path, before, after in diff_json(_comparable(state.base), theirs):
            changes.append(f"{path}: {before!r} → {after!r}")
    return Conflict(
        expected=state.version,
        actual=latest.version if latest is not None else exc.actual,
        actor=revision.actor if revision is not None else "someone else",
        changes=changes[:20],
    )


def _confirmation(before: dict[str, Any], obj: GroveObject, saved: ConfigRecord) -> str:
    """'Schedule updated — next run Tomorrow 3:00 AM PDT' or 'Saved version 4: Batch size'."""
    changes = diff_json(_comparable(before), obj.comparable())
    paths = [path for path, _, _ in changes]
    if any(p.startswith("payload.schedule.") for p in paths):
        schedule = obj.payload.schedule  # type: ignore[attr-defined]
        now = utcnow()
        if saved.next_run_at is not None:
            when = when_text(saved.next_run_at, now, schedule.timezone)
            return safe(f"Schedule updated — next run {when}")
        would = cron.next_fire(schedule.cron_expression, schedule.timezone, now)
        return safe(
            "Schedule updated — the schedule is off; when active, the next run would be "
            f"{when_text(would, now, schedule.timezone)}"
        )
    names = ", ".join(dict.fromkeys(humanize_key(p.rsplit(".", 1)[-1]) for p in paths))
    if not names:
        return safe(f"Nothing changed (version {saved.version})")
    return safe(f"Saved version {saved.version}: {names}")

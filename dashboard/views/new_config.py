"""New config: any registered type, from the registry's default payload; a job config also
gets its job type's parameter form, so types with required parameters can be created."""

from __future__ import annotations

import streamlit as st
from pydantic import ValidationError

from dashboard import actions, permissions
from dashboard.components.fields import Form, field_key_class, model_form
from dashboard.display import describe, safe
from dashboard.nav import CONFIG_PARAM, INSPECTOR
from grove_jobs.configs.transfer import new_object
from grove_jobs.exceptions import AlreadyExists, FieldError, ValidationFailed
from grove_jobs.jobs.registry import get_job_type, job_type_names
from grove_jobs.schema.grove_object import pydantic_errors
from grove_jobs.schema.job_config import default_job_config_json
from grove_jobs.schema.registry import get_type, registered_types

_ERRORS = "_new_config_errors"


def render() -> None:
    """Draw the new-config page."""
    st.title("New config", anchor=False)
    st.caption(
        "Starts from the type's default payload, switched off. After creating it you land in "
        "the inspector to adjust schedule, limits and parameters."
    )
    if not permissions.allowed()("config.create"):
        st.info("Your role can view configs but not create them.", icon=":material/lock:")
        return
    experiences = registered_types()
    errors: dict[str, list[str]] = st.session_state.get(_ERRORS, {})
    with st.container(border=True, width=720):
        type_name = st.selectbox(
            "Type",
            [e.type for e in experiences],
            format_func=lambda t: get_type(t).label,
            key="new.type",
        )
        experience = get_type(type_name)
        st.caption(safe(experience.description))
        defaults: dict[str, str] = {}
        parameters = None
        if experience.schedulable:
            defaults["job_type"] = st.selectbox(
                "Job type",
                job_type_names(),
                format_func=lambda name: f"{get_job_type(name).title} ({name})",
                key="new.job_type",
            )
        with st.container(key=field_key_class("meta.id")):
            config_id = st.text_input(
                "ID",
                key="new.id",
                placeholder="nightly-cleanup",
                help="Lowercase letters, digits and single hyphens; it appears in URLs and "
                "the CLI and cannot be changed later.",
            )
            _errors(errors, "meta.id")
        with st.container(key=field_key_class("meta.title")):
            title = st.text_input("Title", key="new.title")
            _errors(errors, "meta.title")
        if experience.schedulable:
            parameters = _parameters_form(defaults["job_type"], errors)
        shown = ("meta.id", "meta.title")
        for path in [
            p for p in errors if p not in shown and not p.startswith("payload.parameters")
        ]:
            _errors(errors, path, prefix=f"{path}: ")
        _preview(type_name, defaults)
        if st.button("Create", type="primary", icon=":material/add_circle:", key="new.create"):
            _create(
                type_name, (config_id or "").strip(), (title or "").strip(), defaults, parameters
            )


def _parameters_form(job_type: str, errors: dict[str, list[str]]) -> dict:
    """The job type's parameters, starting from its defaults; errors show at their fields."""
    kind = get_job_type(job_type)
    if kind.description:
        st.caption(safe(kind.description))
    st.markdown("**Parameters**")
    form = Form(f"new:{job_type}", errors=errors)
    initial = default_job_config_json(job_type)["parameters"]
    return model_form(form, kind.parameters, initial, "payload.parameters", columns=2)


def _errors(errors: dict[str, list[str]], path: str, prefix: str = "") -> None:
    for message in errors.get(path, []):
        st.error(safe(prefix + message), icon=":material/error:")


def _preview(type_name: str, defaults: dict[str, str]) -> None:
    try:
        payload = get_type(type_name).default_payload(**defaults)
    except (TypeError, ValueError):
        return
    schedule = getattr(payload, "schedule", None)
    if schedule is not None:
        st.caption(
            safe(
                f"Default schedule: {describe(schedule.cron_expression, schedule.timezone)}, "
                "off until you switch it on."
            )
        )


def _create(
    type_name: str, config_id: str, title: str, defaults: dict[str, str], parameters: dict | None
) -> None:
    try:
        payload = None
        if parameters is not None:  # a job config: its type's defaults with the form's values
            payload = {**default_job_config_json(defaults["job_type"]), "parameters": parameters}
        obj = new_object(
            type_name, config_id or "-", title=title or None, payload=payload, **defaults
        )
        if not config_id:
            raise ValidationFailed([FieldError("meta.id", "an id is required")])
        actions.create(obj)
    except ValidationError as exc:
        _fail(pydantic_errors(exc, "meta"))
    except ValidationFailed as exc:
        _fail(exc.errors)
    except AlreadyExists:
        _fail([FieldError("meta.id", f"{config_id!r} is taken; choose another id")])
    st.session_state.pop(_ERRORS, None)
    st.switch_page(INSPECTOR, query_params={CONFIG_PARAM: config_id})


def _fail(errors: list[FieldError]) -> None:
    grouped: dict[str, list[str]] = {}
    for error in errors:
        grouped.setdefault(error.path, []).append(error.message)
    st.session_state[_ERRORS] = grouped
    st.rerun()


if __name__ == "__main__":
    render()

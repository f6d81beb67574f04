"""What the Admin page's forms share: field errors shown next to their field, and a submit
handler that turns grove-jobs errors into those messages.

Forms submit through ``on_click`` callbacks, which run before the page is drawn again, so an
error is known by the time its field is drawn and appears right under it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import streamlit as st

from dashboard.components.feedback import flash
from dashboard.display import safe
from grove_jobs.exceptions import (
    AlreadyExists,
    FieldError,
    GroveError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)

_ERRORS = "_admin_errors"
SCOPE = "admin"  # the flash scope of the page


def field_error(form: str, field: str) -> None:
    """Draw the error recorded for ``form``'s ``field``, if any."""
    message = st.session_state.get(_ERRORS, {}).get(form, {}).get(field)
    if message:
        st.markdown(f":red[:material/error: {safe(message)}]", help=None)


def form_error(form: str) -> None:
    """Errors of ``form`` that belong to no field (permission, conflicts)."""
    field_error(form, "")


def value(key: str) -> Any:
    return st.session_state.get(key)


def parse_time(text: str | None, field: str) -> datetime | None:
    """An ISO 8601 time from a text input (UTC when it names no offset)."""
    if not text or not text.strip():
        return None
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(
            [FieldError(field, f"{text!r} is not a time such as 2026-12-01T02:00Z")]
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def submit(form: str, action: Callable[[], str], *, name_field: str = "name") -> None:
    """Run ``action`` (it returns the success message); record its errors by field."""
    errors: dict[str, str] = {}
    try:
        flash(SCOPE, action())
    except ValidationFailed as exc:
        for error in exc.errors:
            errors.setdefault(error.path, error.message)
    except (AlreadyExists, NotFound) as exc:
        errors[name_field] = str(exc)
    except PermissionDenied as exc:
        errors[""] = str(exc)
    except GroveError as exc:
        errors[""] = str(exc)
    st.session_state.setdefault(_ERRORS, {})[form] = errors

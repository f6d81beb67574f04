"""Who is acting, and whether they may. The auth work replaces these two functions.

Every write path in the dashboard calls :func:`require` before touching the database, so adding
roles later is a change here only.
"""

from __future__ import annotations

from typing import Literal

from dashboard.context import settings

Action = Literal[
    "config.create",
    "config.edit",
    "config.enable",
    "config.duplicate",
    "config.archive",
    "run.start",
    "run.retry",
    "run.cancel",
]


def current_user() -> str:
    """The acting user; for now the configured local user (``GROVE_LOCAL_USER``)."""
    return settings().local_user


def require(action: Action, resource: str | None = None) -> None:
    """Raise ``grove_jobs.exceptions.PermissionDenied`` when the current user may not do
    ``action`` (on ``resource``, a config id). Everyone may do everything until roles exist."""
    del action, resource  # no roles yet: every local user is an operator

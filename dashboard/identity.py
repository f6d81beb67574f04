"""Who is acting, and whether they may.

Identity, in order: Streamlit's OIDC login (``st.login``) when ``.streamlit/secrets.toml`` has
an ``[auth]`` section; else a trusted reverse-proxy header when ``GROVE_TRUSTED_USER_HEADER``
names one (read from ``st.context.headers``); else the local user (``GROVE_LOCAL_USER``,
with the role ``GROVE_ANONYMOUS_ROLE`` unless granted otherwise: viewer by default, admin
under ``make run``). Roles come from the database
(``grove-jobs users grant EMAIL ROLE``) on every check.

Every write path in the dashboard calls :func:`require` right before the service call, on the
server; hiding buttons (:func:`can`) is only a courtesy.
"""

from __future__ import annotations

from typing import Literal, NoReturn

import streamlit as st

from dashboard.context import database, settings
from dashboard.render import escape_markdown
from grove_jobs.auth.identity import Identity, authorize, resolve_identity
from grove_jobs.auth.roles import Role
from grove_jobs.exceptions import GroveError, PermissionDenied

Action = Literal[
    "config.create",
    "config.edit",
    "config.enable",
    "config.duplicate",
    "config.archive",
    "config.restore",
    "run.start",
    "run.retry",
    "run.cancel",
    "run.backfill",
    "alert.ack",
    "run.traceback",
    "run.destructive",
    "admin",
]


def current_user() -> str:
    """The acting user's email, as revisions and runs record it."""
    return current_identity().actor


def require(action: Action, resource: str | None = None) -> None:
    """Raise ``grove_jobs.exceptions.PermissionDenied`` when the current user may not do
    ``action`` (on ``resource``, a config or execution id). Re-reads the role every time, so
    a revoked grant takes effect on the next click."""
    del resource  # roles are global; the argument keeps call sites ready for per-config rules
    authorize(current_identity(), action)


def can(action: Action) -> bool:
    """Whether to offer a control at all (the write path still calls :func:`require`)."""
    return current_identity().can(action)


def current_identity() -> Identity:
    """The signed-in user with their role; stops the page when nobody is signed in."""
    if _oidc_configured():
        return _oidc_identity()
    header = settings().trusted_user_header
    if header:
        email = _request_header(header)
        if not email:
            _refuse(
                f"Sign-in required: this dashboard expects the {header} header from its "
                "authenticating proxy, and the request did not carry it."
            )
        return _resolve(email, "proxy")
    return _resolve(settings().local_user, "local", default_role=Role(settings().anonymous_role))


def render_identity() -> None:
    """Sidebar block: who is signed in, how, and their role (plus Log out for OIDC)."""
    identity = current_identity()
    how = {"oidc": "Signed in", "proxy": "Signed in via proxy", "local": "Local user"}
    st.caption(f"{how[identity.source]} · {identity.role.value}")
    st.text(identity.label)
    if identity.source == "oidc":
        st.button("Log out", on_click=st.logout, key="_grove_logout")


# --------------------------------------------------------------------------- sources


def _refuse(message: str) -> NoReturn:
    """Show why and end the script run; outside a running page (tests, bare calls) st.stop()
    is a no-op, so the refusal is also raised."""
    st.error(escape_markdown(message))  # the message may quote proxy or OIDC-supplied text
    st.stop()
    raise PermissionDenied("anonymous", "sign in")


def _resolve(
    email: str,
    source: Literal["oidc", "proxy", "local"],
    name: str | None = None,
    default_role: Role | None = None,
) -> Identity:
    try:
        return resolve_identity(
            database(), email=email, source=source, name=name, default_role=default_role
        )
    except GroveError as exc:  # an unusable email from the proxy or provider
        _refuse(f"Cannot sign you in: {exc}")


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, KeyError, st.errors.StreamlitSecretNotFoundError):
        return False


def _oidc_identity() -> Identity:
    user = st.user
    if not user.is_logged_in:
        st.title("grove-jobs")
        st.write("Sign in to continue.")
        st.button("Log in", on_click=st.login, type="primary", key="_grove_login")
        st.stop()
        raise PermissionDenied("anonymous", "sign in")
    email = user.get("email")
    if not isinstance(email, str) or not email:
        _refuse("Your identity provider did not send an email address; ask for the email scope.")
    name = user.get("name")
    return _resolve(email, "oidc", name if isinstance(name, str) else None)


def _request_header(name: str) -> str | None:
    """A header of the request that opened this session (the proxy sets it on every request)."""
    value = st.context.headers.get(name)
    return value.strip() if value else None

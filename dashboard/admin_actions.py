"""The Admin page's write paths: each re-checks the admin role on the server, then calls the
core with the signed-in user as actor and ``dashboard`` as source (both audited)."""

from __future__ import annotations

from datetime import datetime

from dashboard.context import database
from dashboard.identity import current_user, require
from grove_jobs.auth import roles, tokens
from grove_jobs.pauses import store, windows
from grove_jobs.pauses.windows import WindowSpec


def create_token(name: str, scopes: set[str], expires: str | None) -> tuple[tokens.ApiToken, str]:
    """A new token and its secret (shown once)."""
    require("admin")
    lifetime = tokens.parse_duration(expires) if expires else None
    return tokens.create_token(
        database(),
        name=name,
        scopes=scopes,
        created_by=current_user(),
        expires_in=lifetime,
        source="dashboard",
    )


def revoke_token(name_or_id: str) -> tokens.ApiToken:
    require("admin")
    return tokens.revoke_token(
        database(), name_or_id, revoked_by=current_user(), source="dashboard"
    )


def grant_role(email: str, role: str) -> roles.RoleGrant:
    require("admin")
    return roles.grant_role(database(), email, role, granted_by=current_user(), source="dashboard")


def revoke_role(email: str) -> None:
    require("admin")
    roles.revoke_role(database(), email, revoked_by=current_user(), source="dashboard")


def pause(reason: str, until: datetime | None, hold_manual: bool) -> store.PauseStatus:
    require("admin")
    return store.pause(
        database(),
        reason=reason,
        until=until,
        hold_manual=hold_manual,
        by=current_user(),
        source="dashboard",
    )


def resume() -> bool:
    require("admin")
    return store.resume(database(), by=current_user(), source="dashboard")


def add_window(spec: WindowSpec) -> windows.Window:
    require("admin")
    return windows.add_window(database(), spec, by=current_user(), source="dashboard")


def remove_window(name: str) -> windows.Window:
    require("admin")
    return windows.remove_window(database(), name, by=current_user(), source="dashboard")

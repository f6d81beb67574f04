"""Who is using the dashboard, and the server-side permission check every write goes through.

The dashboard works out *how* someone signed in (OIDC, a trusted proxy header, or the local
user); this module turns that into an :class:`Identity` with a role from the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from grove_jobs.auth.roles import Role, allows, normalize_email, required_role, role_of
from grove_jobs.db.engine import Database
from grove_jobs.exceptions import PermissionDenied

IdentitySource = Literal["oidc", "proxy", "local"]

# Without a grant, anyone may only look. The "local" source is a visitor without OIDC or a
# trusted header: its default comes from GROVE_ANONYMOUS_ROLE (``make run`` sets admin).
DEFAULT_ROLES: dict[IdentitySource, Role] = {
    "local": Role.VIEWER,
    "oidc": Role.VIEWER,
    "proxy": Role.VIEWER,
}


@dataclass(frozen=True)
class Identity:
    """A dashboard user: email (the key for roles), how they signed in, and their role."""

    email: str
    role: Role
    source: IdentitySource
    name: str | None = None

    @property
    def actor(self) -> str:
        """How revisions and runs record this user."""
        return self.email

    @property
    def label(self) -> str:
        """Sidebar text; the local user is marked as such so nobody mistakes it for a login."""
        who = self.name or self.email
        return f"{who} (local)" if self.source == "local" else who

    def can(self, action: str) -> bool:
        """Whether this user's role allows ``action`` (for showing or hiding controls)."""
        return allows(self.role, action)

    def __str__(self) -> str:
        return self.email


def resolve_identity(
    db: Database,
    *,
    email: str,
    source: IdentitySource,
    name: str | None = None,
    default_role: Role | None = None,
) -> Identity:
    """An identity with its role: the database grant, else ``default_role``, else the
    default for ``source``."""
    email = normalize_email(email)
    role = role_of(db, email) or default_role or DEFAULT_ROLES[source]
    return Identity(email=email, role=role, source=source, name=name)


def authorize(identity: Identity | None, action: str) -> Identity:
    """Raise PermissionDenied unless ``identity`` may perform ``action``; returns it."""
    if identity is None:
        raise PermissionDenied("anonymous", action)
    if not identity.can(action):
        needed = required_role(action).value
        raise PermissionDenied(
            f"{identity.email} ({identity.role.value})", f"{needed} role for {action}"
        )
    return identity

"""Dashboard roles: viewer < operator < editor < admin, stored per email, checked per action."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import delete, select

from grove_jobs.auth.admin_audit import AdminSource, record_admin
from grove_jobs.auth.tables import UserRoleRow
from grove_jobs.clock import utcnow
from grove_jobs.db.engine import Database
from grove_jobs.exceptions import FieldError, NotFound, ValidationFailed


class Role(StrEnum):
    VIEWER = "viewer"  # read everything
    OPERATOR = "operator"  # also Run Now, Retry, Cancel
    EDITOR = "editor"  # also create, edit, restore, archive and delete configs
    ADMIN = "admin"  # also tokens, roles, pause and maintenance

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


_RANK = {Role.VIEWER: 1, Role.OPERATOR: 2, Role.EDITOR: 3, Role.ADMIN: 4}

# Action names the dashboard passes to ``require`` ("config.edit", "run.start", ...), plus plain
# verbs for other callers. Anything not listed needs admin: deny by default.
ACTIONS: dict[str, Role] = {
    **dict.fromkeys(("view", "read", "config.view", "run.view"), Role.VIEWER),
    **dict.fromkeys(
        (
            "run",
            "run_now",
            "trigger",
            "retry",
            "cancel",
            "backfill",
            "run.start",
            "run.retry",
            "run.cancel",
            "run.backfill",
            "alert.ack",
        ),
        Role.OPERATOR,
    ),
    **dict.fromkeys(
        (
            "config.create",
            "config.edit",
            "config.enable",
            "config.duplicate",
            "config.archive",
            "config.delete",
            "config.restore",
            "config.apply",
            # A handler's traceback names server files and code; overriding a destructive
            # parameter (dryRun: false, ...) is an edit of what a run does.
            "run.traceback",
            "run.destructive",
        ),
        Role.EDITOR,
    ),
    **dict.fromkeys(
        (
            "edit",
            "save",
            "write",
            "create",
            "update",
            "delete",
            "duplicate",
            "archive",
            "restore",
            "enable",
            "disable",
            "toggle",
            "favorite",
            "apply",
            "import",
        ),
        Role.EDITOR,
    ),
    **dict.fromkeys(
        ("admin", "tokens", "roles", "users", "tokens.manage", "users.manage", "scheduler.pause"),
        Role.ADMIN,
    ),
}


def normalize_action(action: str) -> str:
    return action.strip().lower().replace("-", "_").replace(" ", "_")


def required_role(action: str) -> Role:
    """The least role allowed to perform ``action`` (admin for unknown actions)."""
    return ACTIONS.get(normalize_action(action), Role.ADMIN)


def allows(role: Role | None, action: str) -> bool:
    """Whether ``role`` may perform ``action``; no role may do nothing."""
    return role is not None and role.at_least(required_role(action))


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        names = ", ".join(r.value for r in Role)
        raise ValidationFailed([FieldError("role", f"{value!r} is not one of {names}")]) from None


def normalize_email(email: str) -> str:
    """Emails are matched case-insensitively; surrounding whitespace is never meaningful."""
    value = (email or "").strip().lower()
    if not value or len(value) > 320 or any(ord(c) < 32 or c.isspace() for c in value):
        raise ValidationFailed([FieldError("email", f"{email!r} is not an email address")])
    return value


@dataclass(frozen=True)
class RoleGrant:
    email: str
    role: Role
    granted_by: str
    granted_at: datetime


def grant_role(
    db: Database,
    email: str,
    role: Role | str,
    *,
    granted_by: str,
    at: datetime | None = None,
    source: AdminSource = "cli",
) -> RoleGrant:
    """Set a user's role (replacing any previous one); audited as ``role.grant``."""
    email, role = normalize_email(email), parse_role(str(role))
    at = at or utcnow()
    with db.write() as session:
        row = session.get(UserRoleRow, email)
        if row is None:
            row = UserRoleRow(email=email)
            session.add(row)
        detail = {"role": role.value, "previous": row.role}
        row.role, row.granted_by, row.granted_at = role.value, granted_by, at
        record_admin(
            session,
            actor=granted_by,
            source=source,
            action="role.grant",
            target=email,
            detail=detail,
            at=at,
        )
    return RoleGrant(email, role, granted_by, at)


def revoke_role(
    db: Database, email: str, *, revoked_by: str = "cli", source: AdminSource = "cli"
) -> None:
    """Remove a user's grant: they fall back to the default role for their identity source.
    Audited as ``role.revoke``."""
    email = normalize_email(email)
    with db.write() as session:
        result = session.execute(delete(UserRoleRow).where(UserRoleRow.email == email))
        if result.rowcount == 0:
            raise NotFound("role grant", email)
        record_admin(session, actor=revoked_by, source=source, action="role.revoke", target=email)


def list_roles(db: Database) -> list[RoleGrant]:
    """Every grant, by email."""
    with db.read() as session:
        rows = session.scalars(select(UserRoleRow).order_by(UserRoleRow.email))
        return [RoleGrant(r.email, Role(r.role), r.granted_by, r.granted_at) for r in rows]


def role_of(db: Database, email: str) -> Role | None:
    """The granted role of ``email``, or None when nothing was granted."""
    with db.read() as session:
        row = session.get(UserRoleRow, normalize_email(email))
        return Role(row.role) if row is not None else None
